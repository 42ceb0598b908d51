//! `duet serve DIR` and `duet join FOLDER-TICKET [DIR]`: a shared folder kept online without a
//! UI, printing what happens.

use std::path::Path;

use anyhow::{Context, bail};
use sync::share::{FolderConfig, FolderEvent, FolderSession};
use sync::ticket::DocTicket;

use super::{Opts, user_name};

/// Shares the folder `dir` (joining the ticket's folder first, creating `dir` if needed) until
/// Ctrl-C or SIGTERM.
pub async fn serve(dir: &Path, join: Option<DocTicket>, opts: &Opts) -> anyhow::Result<()> {
    if join.is_none() && !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    if let Some(ticket) = &join
        && ticket.folder_name().is_none()
    {
        bail!(
            "this ticket is for a single document, not a folder: `duet join TICKET FILE` opens it"
        );
    }
    let mut config = FolderConfig::new(dir);
    config.net = opts.net()?;
    config.name = user_name(opts);
    let joining = join.is_some();
    config.join = join;
    let (mut session, events) = FolderSession::open(config)
        .await
        .with_context(|| format!("cannot share {}", dir.display()))?;
    for event in &events {
        tell(event);
    }
    match session.ticket() {
        Some(ticket) if joining => println!(
            "joined folder {} — others can join with:\nduet join {ticket}",
            dir.display()
        ),
        Some(ticket) => println!(
            "serving folder {} ({} files) — join with:\nduet join {ticket}",
            dir.display(),
            session.paths().len()
        ),
        None => println!("serving folder {} offline", dir.display()),
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            wake = session.next() => {
                for event in session.handle(wake) {
                    tell(&event);
                }
            }
        }
    }
    println!("stopping: saving {}", dir.display());
    for event in session.shutdown().await {
        tell(&event);
    }
    Ok(())
}

fn tell(event: &FolderEvent) {
    match event {
        FolderEvent::Problem(_) => eprintln!("{event}"),
        _ => println!("{event}"),
    }
}
