//! The `duet` binary: the command line, logging, and the runtime.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod folder;

use anyhow::{Context, bail};
use chrono::Local;
use clap::{Args, Parser, Subcommand};
use duet::model::{Identity, Level, Model};
use duet::{app, history};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sync::net::NetConfig;
use sync::proto::OneDoc;
use sync::session::running_ticket;
use sync::store::StoreError;
use sync::ticket::DocTicket;
use sync::{Event, Opened, Session, SessionConfig, SyncError};

/// duet: write together in the terminal, peer to peer.
///
/// `duet notes.md` opens (or creates) notes.md; `duet DIR` opens a folder, every file of it
/// shared (Ctrl-E picks a file); Ctrl-T in the editor shows the ticket others join with (`duet
/// join TICKET`). Edits are kept in a store beside the file
/// (.duet/notes.md/), so nothing is lost when offline or on a crash. F1 in the editor lists
/// the keys; keymap.toml and theme.toml in the config directory override the defaults.
#[derive(Parser, Debug)]
#[command(name = "duet", version, subcommand_negates_reqs = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The file to edit (created if it does not exist), or a folder to share and edit.
    #[arg(required = true)]
    file: Option<PathBuf>,
    /// Only show the file: no editing, no store, no network. Also what opens, instead of an
    /// error, when the file or its folder is not writable.
    #[arg(long)]
    read_only: bool,
    #[command(flatten)]
    opts: Opts,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Join a shared document and edit it (keeps a local replica, so `duet FILE` opens it
    /// later, also offline). A folder's ticket creates the folder with every shared file and
    /// opens it in the editor (without a terminal: keeps it in sync, as `duet serve DIR`
    /// does). Without a ticket (or with `-`), the ticket is read from standard
    /// input, or asked for: that keeps it out of the process list, where other users of the
    /// machine could read it. Joining a file that already holds the document adds the
    /// ticket's addresses to the peers it knows.
    Join {
        /// The ticket the sharer gave you (Ctrl-T in their duet, or `duet ticket FILE`);
        /// `-` or nothing: read it from standard input.
        ticket: Option<String>,
        /// Where to keep the document (default: the sharer's file name, made unique with
        /// " (2)" and so on if taken), or the folder (default: the sharer's folder name).
        file: Option<PathBuf>,
    },
    /// Print the ticket of a document (its current addresses if a duet has it open).
    Ticket {
        /// The document's file.
        file: PathBuf,
    },
    /// Keep a document — or a whole folder (DIR) — online without a UI: peers can sync with it at any time, and FILE is
    /// kept up to date as they edit (and what other programs write to FILE is shared). Stops
    /// on Ctrl-C or SIGTERM.
    Serve {
        /// The document's file.
        file: PathBuf,
        /// Join the document of this ticket first (`-`: read it from standard input), as
        /// `duet join` does, then serve it: an always-on peer started from a script.
        #[arg(long, value_name = "TICKET")]
        join: Option<String>,
    },
    /// The editing sessions of a document, newest first: number (1 = the oldest; numbers
    /// never change), start and end, author, characters inserted (+) and deleted (-).
    /// Reads the store without opening it: works while a duet has the document open.
    Log {
        /// The document's file.
        file: PathBuf,
    },
    /// Every line of a document with the time and author of its last change, then who else
    /// wrote characters of it.
    Blame {
        /// The document's file.
        file: PathBuf,
    },
    /// A document's text as it was, on standard output.
    Show {
        /// The document's file.
        file: PathBuf,
        /// A session number from `duet log` (the text just after it), or a moment: RFC 3339
        /// (`2026-11-30T10:15:00Z`) or local `YYYY-MM-DD HH:MM[:SS]`.
        #[arg(long, value_name = "N|TIME")]
        at: String,
    },
    /// `Co-authored-by:` lines for everyone who wrote text still in the document, ready for a
    /// git commit message.
    Authors {
        /// The document's file.
        file: PathBuf,
    },
}

#[derive(Args, Debug, Clone, Default)]
struct Opts {
    /// Your name, shown beside your cursor on the others' screens.
    #[arg(long, env = "DUET_NAME", global = true)]
    name: Option<String>,
    /// Your email, recorded with your edits (shown by `duet log` and `duet authors`).
    #[arg(long, env = "DUET_EMAIL", global = true)]
    email: Option<String>,
    /// Your colour: a name (red, green…), 0-255, or #rrggbb.
    #[arg(long, env = "DUET_COLOR", global = true)]
    color: Option<String>,
    /// Address to listen on (default 0.0.0.0). Use 127.0.0.1 to stay on this machine.
    #[arg(long, value_name = "IP", global = true)]
    bind: Option<IpAddr>,
    /// UDP port to listen on (default: any free port). A fixed port keeps tickets valid
    /// across restarts.
    #[arg(long, global = true)]
    port: Option<u16>,
    /// A relay server for peers that cannot reach each other directly (behind NATs).
    #[arg(long, value_name = "URL", global = true)]
    relay: Option<String>,
    /// Certificates (PEM) to trust for the relay's TLS, beside the public ones: for a relay
    /// you run with a private CA or a self-signed certificate.
    #[arg(long, value_name = "PEM_FILE", global = true, requires = "relay")]
    relay_ca: Option<PathBuf>,
    /// Find peers of this document on the local network (mDNS). Needs a duet built with
    /// `--features lan`.
    #[arg(long, global = true)]
    lan: bool,
    /// Do not use the network at all: edit locally; edits are exchanged next time.
    #[arg(long, global = true)]
    offline: bool,
}

impl Opts {
    fn net(&self) -> anyhow::Result<Option<NetConfig>> {
        if self.offline {
            return Ok(None);
        }
        let ip = self.bind.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let relay = match &self.relay {
            Some(url) => Some(
                url.parse()
                    .with_context(|| format!("--relay {url}: not a relay URL"))?,
            ),
            None => None,
        };
        let relay_roots = match &self.relay_ca {
            Some(path) => relay_roots(path)?,
            None => Vec::new(),
        };
        Ok(Some(NetConfig {
            bind: vec![SocketAddr::new(ip, self.port.unwrap_or(0))],
            relay,
            relay_roots,
            mdns: self.lan,
        }))
    }

    fn session(&self, file: &Path, join: Option<DocTicket>) -> anyhow::Result<SessionConfig> {
        let mut config = SessionConfig::new(file);
        config.join = join;
        config.net = self.net()?;
        config.name = user_name(self);
        config.author = self.author(&config.name);
        Ok(config)
    }

    /// Who the user is in recorded history: their name and email, and an id derived from
    /// their identity key. Without a usable identity, edits are recorded under the replica.
    fn author(&self, name: &str) -> Option<crdt_text::Author> {
        let home = sync::identity::home_dir()
            .inspect_err(|e| tracing::warn!("no author for recorded history: {e}"))
            .ok()?;
        sync::identity::author(&home, name, self.email.as_deref().filter(|e| !e.is_empty()))
            .inspect_err(|e| tracing::warn!("no author for recorded history: {e}"))
            .ok()
    }
}

/// The certificates in a PEM file (at least one).
fn relay_roots(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let shown = path.display();
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("--relay-ca {shown}: cannot read it"))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("--relay-ca {shown}: not a PEM certificate file"))?;
    if certs.is_empty() {
        bail!("--relay-ca {shown}: no certificate in it");
    }
    Ok(certs)
}

fn main() {
    let cli = parse_cli();
    let _log = init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("duet: cannot start: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(cli)) {
        duet::terminal::restore();
        let e = sync::error_chain(e.as_ref());
        tracing::error!("{e}");
        eprintln!("duet: {e}");
        std::process::exit(1);
    }
}

/// Parses the command line; `--help` also says where the configuration and the log are.
fn parse_cli() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let place = |p: Option<PathBuf>| {
        p.map_or_else(|| "(none found)".to_owned(), |p| p.display().to_string())
    };
    let config = place(duet::config::config_dir());
    let log = place(log_path());
    let command = Cli::command().after_help(format!(
        "Config directory (config.toml, keymap.toml, theme.toml): {config}\nLog file: {log}\n\
         Environment: DUET_NAME, DUET_COLOR, DUET_HOME (per-user directory), DUET_LOG, DUET_LOG_LEVEL"
    ));
    Cli::from_arg_matches(&command.get_matches()).unwrap_or_else(|e| e.exit())
}

fn log_path() -> Option<PathBuf> {
    match std::env::var_os("DUET_LOG") {
        Some(p) => Some(PathBuf::from(p)),
        None => sync::identity::home_dir().ok().map(|h| h.join("duet.log")),
    }
}

/// Logs go to a file (never to the terminal the editor draws on): `$DUET_LOG`, else
/// `duet.log` in the per-user directory. `DUET_LOG_LEVEL` sets the filter (default `info`).
fn init_logging() -> Option<()> {
    let path = log_path()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).ok()?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .ok()?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("DUET_LOG_LEVEL")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .ok()
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => {
            let file = cli.file.context("which file? try `duet notes.md`")?;
            if file.is_dir() {
                need_terminal(
                    "duet DIR",
                    &format!("`duet serve {}` to share the folder", file.display()),
                )?;
                return folder::edit(&file, None, None, &cli.opts).await;
            }
            need_terminal("duet FILE", "`duet serve FILE`")?;
            if !cli.read_only
                && let Some((dir, path)) = folder::shared_folder_of(&file)
            {
                return folder::edit(&dir, Some(path), None, &cli.opts).await;
            }
            if cli.read_only {
                return view_only(&file, "opened with --read-only", &cli.opts).await;
            }
            // A file with a store opens from it (its unsaved edits shown; saving then says
            // why it cannot); one without opens as a view.
            let has_store = sync::store::store_dir_of(&file).is_ok_and(|dir| dir.is_dir());
            if let Some(why) = not_writable(&file).filter(|_| !has_store) {
                return view_only(&file, &why, &cli.opts).await;
            }
            edit(&file, None, &cli.opts).await
        }
        Some(Command::Join { ticket, file }) => {
            let ticket = parse_ticket(ticket)?;
            if let Some(name) = ticket.folder_name() {
                let dir = file.unwrap_or_else(|| PathBuf::from(name));
                // Without a terminal (a script), the folder is kept online as `duet serve`
                // does.
                if need_terminal("", "").is_err() {
                    return folder::serve(&dir, Some(ticket), &cli.opts).await;
                }
                return folder::edit(&dir, None, Some(ticket), &cli.opts).await;
            }
            need_terminal("duet join", "`duet serve --join TICKET FILE`")?;
            let file = file.unwrap_or_else(|| join_file(&ticket));
            edit(&file, Some(ticket), &cli.opts).await
        }
        Some(Command::Ticket { file }) => ticket(&file, &cli.opts).await,
        Some(Command::Serve { file, join }) => {
            let join = join.map(|t| parse_ticket(Some(t))).transpose()?;
            if file.is_dir() || join.as_ref().is_some_and(|t| t.folder_name().is_some()) {
                return folder::serve(&file, join, &cli.opts).await;
            }
            serve(&file, join, &cli.opts).await
        }
        Some(Command::Log { file }) => print(&history::log(&stored(&file)?, &Local)),
        Some(Command::Blame { file }) => print(&history::blame(&stored(&file)?, &Local)),
        Some(Command::Show { file, at }) => {
            let at = history::parse_at(&at, &Local)?;
            print(&history::show(&stored(&file)?, at)?)
        }
        Some(Command::Authors { file }) => print(&history::authors(&stored(&file)?)),
    }
}

/// The document stored for `file`, read without opening its store.
fn stored(file: &Path) -> anyhow::Result<crdt_text::Doc> {
    sync::store::read_document(file)
        .with_context(|| format!("cannot read the history of {}", file.display()))?
        .with_context(|| {
            format!(
                "{} is not a duet document: it has no history (open it with `duet {}` first)",
                file.display(),
                file.display()
            )
        })
}

/// Writes `text` to standard output (a closed pipe, as with `| head`, is not an error).
fn print(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// The ticket given (`None` or `-`: read from standard input).
fn parse_ticket(given: Option<String>) -> anyhow::Result<DocTicket> {
    let ticket = match given.filter(|t| t != "-") {
        Some(ticket) => ticket,
        None => read_ticket()?,
    };
    ticket.trim().parse().context("this ticket cannot be used")
}

/// Reads a ticket from standard input: asked for on a terminal, else the first line.
fn read_ticket() -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Paste the ticket and press Enter: ");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the ticket from standard input")?;
    if line.trim().is_empty() {
        bail!("no ticket given: pass it as `duet join TICKET` or on standard input");
    }
    Ok(line)
}

/// Fails with a clear message unless duet can draw on a terminal and read keys from one
/// (rather than "No such device or address" from deep inside the terminal library).
fn need_terminal(what: &str, instead: &str) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let keys = std::io::stdin().is_terminal() || std::fs::File::open("/dev/tty").is_ok();
    if std::io::stdout().is_terminal() && keys {
        return Ok(());
    }
    bail!(
        "{what} needs a terminal to show the editor in, and this process has none; to keep a \
         document online without one, run {instead}"
    )
}

/// Why `file` (or its folder) cannot be written, if it cannot: then it opens as a read-only
/// view instead of failing. A file that does not exist yet is judged by its folder when the
/// store is made.
fn not_writable(file: &Path) -> Option<String> {
    let denied = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
        )
    };
    match std::fs::OpenOptions::new().append(true).open(file) {
        Err(e) if denied(&e) => Some(format!("{} is not writable", file.display())),
        _ => None,
    }
}

/// `duet join TICKET` without a file: the sharer's file name, or `NAME (2).EXT` and so on if
/// that name is taken by another file or document (a file that already holds this document
/// is joined again); `duet-<id>.txt` for a ticket without a name.
fn join_file(ticket: &DocTicket) -> PathBuf {
    let Some(name) = &ticket.name else {
        let id = ticket.doc.to_string();
        return PathBuf::from(format!("duet-{}.txt", &id[..id.len().min(8)]));
    };
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
        _ => (name.as_str(), String::new()),
    };
    let mut candidate = PathBuf::from(name);
    for n in 2..1000 {
        match sync::store::stored_document(&candidate) {
            Some(doc) if doc == ticket.doc => return candidate,
            None if std::fs::symlink_metadata(&candidate).is_err() => return candidate,
            _ => candidate = PathBuf::from(format!("{stem} ({n}){ext}")),
        }
    }
    candidate
}

/// The user's name: `--name`, `DUET_NAME`, then `$USER`.
fn user_name(opts: &Opts) -> String {
    opts.name
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "anonymous".into())
}

/// Opens the session, turning a locked store into a clear message.
async fn open(config: SessionConfig, file: &Path) -> anyhow::Result<Opened> {
    match Session::open(config).await {
        Ok(opened) => Ok(opened),
        Err(SyncError::Store(StoreError::Locked { .. })) => bail!(
            "{} is already open in another duet on this machine; close it there first \
             (`duet ticket {}` prints its ticket, `duet --read-only {}` shows the file)",
            file.display(),
            file.display(),
            file.display()
        ),
        Err(e) => Err(anyhow::Error::new(e).context(format!("cannot open {}", file.display()))),
    }
}

/// Whether opening failed for want of permission to write (then the file is shown
/// read-only instead).
fn is_permission_error(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        let io = match cause.downcast_ref::<SyncError>() {
            Some(SyncError::Store(StoreError::Io { error, .. })) => Some(error),
            _ => match cause.downcast_ref::<StoreError>() {
                Some(StoreError::Io { error, .. }) => Some(error),
                _ => cause.downcast_ref::<std::io::Error>(),
            },
        };
        io.is_some_and(|e| {
            matches!(
                e.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            )
        })
    })
}

/// The user's configuration, their colour, and a model of `doc` with its settings.
pub(crate) fn model_for(
    doc: crdt_text::Doc,
    file: &Path,
    opts: &Opts,
) -> anyhow::Result<(Model, Vec<String>)> {
    let loaded = duet::config::load();
    let name = user_name(opts);
    let color = match &opts.color {
        Some(c) => duet::theme::parse_color(c)
            .with_context(|| format!("--color {c}: not a colour (a name, 0-255 or #rrggbb)"))?,
        None => loaded.theme.color_for(&name),
    };
    let file_name = file.file_name().map_or_else(
        || file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let settings = loaded.config.settings_for(&file_name, &doc);
    let mut model = Model::new(
        doc,
        file_name,
        Identity { name, color },
        loaded.keymap,
        loaded.theme,
    );
    model.settings = settings;
    for problem in &loaded.problems {
        tracing::warn!("{problem}");
    }
    Ok((model, loaded.problems))
}

/// Shows what went wrong at start: a recovery report and configuration problems in a popup,
/// other notes in the status line (all of it in the log too).
pub(crate) fn tell_at_start(
    model: &mut Model,
    report: Option<String>,
    problems: &[String],
    notes: &[String],
) {
    for note in notes {
        tracing::warn!("{note}");
    }
    let mut text = report.clone().unwrap_or_default();
    if !problems.is_empty() {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str("Your configuration has problems (the rest of it is used):\n");
        for p in problems {
            text.push_str(&format!("  {p}\n"));
        }
    }
    if !text.is_empty() {
        let title = if report.is_some() {
            "duet recovered this document"
        } else {
            "Configuration"
        };
        model.mode = duet::model::Mode::Popup(duet::model::Popup::Report {
            title: title.into(),
            text,
            scroll: 0,
        });
    }
    if !notes.is_empty() {
        model.notify(Level::Warn, notes.join(" · "));
        if let Some(m) = &mut model.message {
            m.ticks_left *= 3;
        }
    }
}

async fn edit(file: &Path, join: Option<DocTicket>, opts: &Opts) -> anyhow::Result<()> {
    let config = opts.session(file, join.clone())?;
    let opened = match open(config, file).await {
        Ok(opened) => opened,
        Err(e) if join.is_none() && is_permission_error(&e) => {
            return view_only(file, &sync::error_chain(e.as_ref()), opts).await;
        }
        Err(e) => return Err(e),
    };
    let (mut model, problems) = model_for(opened.doc, file, opts)?;
    if !opened.saved {
        model.saved_version = None;
    }
    let mut notes: Vec<String> = match opened.report {
        Some(_) => Vec::new(),
        None => opened.warnings.iter().map(ToString::to_string).collect(),
    };
    notes.extend(model.take_editor_state(opened.editor));
    if let sync::Network::Unavailable(reason) = opened.session.network() {
        notes.push(format!("Networking is unavailable: {reason}"));
    }
    let report = opened.report.map(|r| r.to_string());
    tell_at_start(&mut model, report, &problems, &notes);
    let open = app::Open {
        session: opened.session,
        id: opened.id,
    };
    app::run(model, Some(open)).await
}

/// A read-only view of `file` as it is on disk: no store, no network, no editing.
async fn view_only(file: &Path, why: &str, opts: &Opts) -> anyhow::Result<()> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    if size > sync::store::MAX_PLAIN_FILE {
        bail!("{} is too large to show ({size} bytes)", file.display());
    }
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot show {}: not a UTF-8 text file", file.display()))?;
    let text = duet::edit::normalize_newlines(text.strip_prefix('\u{feff}').unwrap_or(&text));
    // Never stored or sent: any replica id does.
    let mut doc = crdt_text::Doc::new(crdt_text::ReplicaId::from(1));
    if !text.is_empty() {
        // A read-only view: the op is never sent.
        let _ = doc.insert(0, &text);
    }
    let (mut model, problems) = model_for(doc, file, opts)?;
    model.read_only = Some(why.to_owned());
    tracing::info!("showing {} read-only: {why}", file.display());
    let note = format!("Read-only view: {why}");
    tell_at_start(&mut model, None, &problems, &[note]);
    app::run(model, None).await
}

async fn ticket(file: &Path, opts: &Opts) -> anyhow::Result<()> {
    match running_ticket(file) {
        Ok(ticket) => {
            println!("{ticket}");
            return Ok(());
        }
        Err(SyncError::NotShared(_)) => {}
        Err(e) => {
            return Err(anyhow::Error::new(e)
                .context(format!("cannot read the ticket of {}", file.display())));
        }
    }
    // No duet has the document open: make a ticket with the addresses this machine would
    // listen on — for a document that exists (a typo must not create one).
    let has_store = sync::store::store_dir_of(file).is_ok_and(|dir| dir.is_dir());
    if !has_store {
        bail!(
            "{} is not a duet document yet: open it with `duet {}` first",
            file.display(),
            file.display()
        );
    }
    let mut config = opts.session(file, None)?;
    config.watch = false;
    let Opened {
        session,
        id,
        mut doc,
        ..
    } = open(config, file).await?;
    let result = session.ticket(&id);
    session
        .shutdown(&mut OneDoc { id, doc: &mut doc })
        .await
        .ok();
    let ticket = result.context("no ticket")?;
    println!("{ticket}");
    if opts.port.is_none() {
        eprintln!(
            "note: no duet has {} open, so this ticket only works once `duet {}` or \
             `duet serve {}` runs on the port it names; pass the same --port to both",
            file.display(),
            file.display(),
            file.display()
        );
    }
    Ok(())
}

/// `duet serve`: the same loop as the editor's without a terminal. It owns the document and
/// the session, keeps the file current (autosave) and merges what other programs write to it.
async fn serve(file: &Path, join: Option<DocTicket>, opts: &Opts) -> anyhow::Result<()> {
    let mut config = opts.session(file, join)?;
    config.autosave = Some(Duration::from_millis(500));
    let Opened {
        mut session,
        id,
        mut doc,
        warnings,
        report,
        ..
    } = open(config, file).await?;
    match report {
        Some(report) => eprintln!("{report}"),
        None => warnings.iter().for_each(|w| eprintln!("warning: {w}")),
    }
    match session.ticket(&id) {
        Ok(ticket) => println!(
            "serving {} — join with:\nduet join {ticket}",
            file.display()
        ),
        Err(e) => {
            session
                .shutdown(&mut OneDoc { id, doc: &mut doc })
                .await
                .ok();
            bail!("cannot serve {}: {e}", file.display());
        }
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut names = std::collections::HashMap::new();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            wake = session.next() => {
                for event in session.handle(&mut OneDoc { id, doc: &mut doc }, wake) {
                    tell(&event, file, &mut names);
                }
            }
        }
    }
    println!("stopping: saving {}", file.display());
    session
        .shutdown(&mut OneDoc { id, doc: &mut doc })
        .await
        .context("while closing the document")?;
    Ok(())
}

/// Prints what a headless peer's user should know, naming peers as they announced themselves.
fn tell(event: &Event, file: &Path, names: &mut std::collections::HashMap<sync::PeerId, String>) {
    let who = |names: &std::collections::HashMap<sync::PeerId, String>, peer: &sync::PeerId| {
        names
            .get(peer)
            .map_or_else(|| peer.to_string(), |n| format!("{n} ({peer})"))
    };
    match event {
        Event::PeerJoined { peer, name, .. } => {
            if let Some(name) = name {
                names.insert(*peer, name.clone());
            }
            println!("joined: {}", who(names, peer));
        }
        Event::Presence {
            peer,
            presence: Some(p),
            ..
        } if !p.name.is_empty() => {
            names.insert(*peer, p.name.clone());
        }
        Event::PeerLeft { peer, why, .. } => {
            use sync::proto::Departure;
            let why = match why {
                Departure::Quit => String::new(),
                Departure::Restarted => " (restarted)".into(),
                Departure::Lost => " (connection lost)".into(),
                Departure::Error(e) => format!(" ({e})"),
            };
            println!("left: {}{why}", who(names, peer));
        }
        Event::Refused { peer, error, .. } => println!("refused: {} ({error})", who(names, peer)),
        Event::Unreachable { peer, error } => {
            println!("cannot reach {} yet: {error}", who(names, peer))
        }
        Event::Diverged { peer, .. } => {
            eprintln!("error: {event} ({})", who(names, peer))
        }
        Event::Saved { .. } => println!("wrote {}", file.display()),
        Event::SaveFailed { error, .. } => {
            eprintln!("error: cannot write {}: {error}", file.display())
        }
        Event::OutsideEdits { .. } | Event::Moved { .. } => println!("{event}"),
        Event::MoveFailed { error, .. } => eprintln!("error: {error}"),
        Event::StoreFailed { error, .. } => {
            eprintln!("error: cannot write duet's store: {error} (retrying)")
        }
        Event::Remote { .. } | Event::Presence { .. } | Event::Status { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{Cli, Command};

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn options_go_before_or_after_the_subcommand() {
        let cli = Cli::parse_from([
            "duet",
            "--bind",
            "127.0.0.1",
            "join",
            "duet1abc",
            "x.md",
            "--port",
            "7",
        ]);
        assert!(matches!(cli.command, Some(Command::Join { .. })));
        assert_eq!(cli.opts.port, Some(7));
        assert!(cli.opts.bind.is_some());
        let cli = Cli::parse_from(["duet", "notes.md", "--offline"]);
        assert!(cli.command.is_none() && cli.opts.offline);
        assert!(Cli::try_parse_from(["duet"]).is_err(), "a file is required");
    }

    #[test]
    fn a_relay_ca_needs_a_relay_and_a_pem_file_with_certificates() {
        assert!(Cli::try_parse_from(["duet", "x.md", "--relay-ca", "ca.pem"]).is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = super::relay_roots(&path).unwrap_err().to_string();
        assert!(err.contains("no certificate"), "{err}");
        let missing = super::relay_roots(&dir.path().join("nope.pem")).unwrap_err();
        assert!(missing.to_string().contains("cannot read"), "{missing}");
        let (certs, _) = iroh_relay::server::testing::self_signed_tls_certs_and_config();
        let pem = certs.iter().map(|c| pem_block(c)).collect::<String>();
        std::fs::write(&path, pem).unwrap();
        assert_eq!(super::relay_roots(&path).unwrap(), certs);
    }

    #[test]
    fn an_error_that_prints_its_cause_tells_it_once() {
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        let e = anyhow::Error::new(sync::identity::IdentityError::Io {
            path: "id.key".into(),
            source: missing,
        })
        .context("cannot open notes.md");
        assert_eq!(
            sync::error_chain(e.as_ref()),
            "cannot open notes.md: identity file id.key: entity not found"
        );
    }

    fn pem_block(cert: &rustls_pki_types::CertificateDer<'_>) -> String {
        use std::fmt::Write as _;
        let b64 = data_encoding::BASE64.encode(cert);
        let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            let _ = writeln!(out, "{}", std::str::from_utf8(line).unwrap());
        }
        out.push_str("-----END CERTIFICATE-----\n");
        out
    }
}
