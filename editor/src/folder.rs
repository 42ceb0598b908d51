//! `duet DIR`, `duet DIR/FILE` and `duet join FOLDER-TICKET [DIR]`: a shared folder in the
//! editor; `duet serve DIR` (and a join without a terminal): kept online without a UI,
//! printing what happens.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use duet::model::Level;
use duet::workspace::Workspace;
use sync::share::{FolderConfig, FolderEvent, FolderSession};
use sync::store::{StoreError, is_shared_folder};
use sync::ticket::DocTicket;

use super::{Opts, model_for, tell_at_start, user_name};

/// The shared folder `file` is in, and its path there, if it is in one.
pub fn shared_folder_of(file: &Path) -> Option<(PathBuf, String)> {
    let abs = std::path::absolute(file).ok()?;
    let name = abs.file_name()?.to_str()?.to_string();
    let parent = abs.parent()?.canonicalize().ok()?;
    let mut rel = vec![name];
    let mut dir = parent.as_path();
    loop {
        if is_shared_folder(dir) {
            rel.reverse();
            return Some((dir.to_path_buf(), rel.join("/")));
        }
        rel.push(dir.file_name()?.to_str()?.to_string());
        dir = dir.parent()?;
    }
}

/// Opens the folder `dir` in the editor (joining the ticket's folder first, creating `dir`
/// if needed), showing `first` or the file picker.
pub async fn edit(
    dir: &Path,
    first: Option<String>,
    join: Option<DocTicket>,
    opts: &Opts,
) -> anyhow::Result<()> {
    let mut config = FolderConfig::new(dir);
    config.net = opts.net()?;
    config.name = user_name(opts);
    config.join = join;
    let network = match config.net {
        Some(_) => sync::Network::On,
        None => sync::Network::Off,
    };
    // A new file in the folder: created on disk, so that opening the folder shares it.
    if let Some(path) = &first {
        let file = dir.join(path);
        if !file.exists() {
            std::fs::write(&file, "")
                .with_context(|| format!("cannot create {}", file.display()))?;
        }
    }
    let (session, events) = match FolderSession::open(config).await {
        Ok(opened) => opened,
        Err(sync::share::FolderError::Store(StoreError::Locked { .. })) => bail!(
            "{} is already open in another duet on this machine (or served by `duet serve`); \
             close it there first",
            dir.display()
        ),
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("cannot open {}", dir.display())));
        }
    };
    let name = session.root().file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    // Until a file is picked, an empty page that cannot be typed in.
    let page = crdt_text::Doc::new(crdt_text::ReplicaId::from(1));
    let (mut model, problems) = model_for(page, Path::new(&format!("{name}/")), opts)?;
    model.read_only = Some("no file is open: Ctrl-E picks one".into());
    let notes: Vec<String> = events
        .iter()
        .filter(|e| matches!(e, FolderEvent::Problem(_)))
        .map(ToString::to_string)
        .collect();
    tell_at_start(&mut model, None, &problems, &notes);
    if let Some(path) = &first
        && session.doc_of(path).is_none()
    {
        let why = session
            .skipped()
            .find(|(p, _)| p == path)
            .map_or_else(|| "it is ignored".to_string(), |(_, r)| r.to_string());
        model.notify(
            Level::Warn,
            format!("{path} is not shared in this folder: {why}"),
        );
    }
    let first = first.filter(|path| session.doc_of(path).is_some());
    let config = duet::config::load().config;
    let (workspace, note) = Workspace::new(session, network, config);
    if let Some(note) = note {
        model.notify(Level::Warn, note);
    }
    workspace.run(model, first).await
}

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
