//! Driving real `duet` binaries for end-to-end tests: editors in pseudo-terminals (screens
//! parsed by a terminal emulator, so tests assert on what the user sees), headless `duet
//! serve` peers (their printed lines collected), and a scratch folder per test.
//!
//! Every wait gives up after [`WAIT`] and panics with what was on screen; every process is
//! killed when its handle is dropped; every peer listens on loopback only (`--bind`). A test
//! that fails keeps its scratch folder (the files, the stores and each process's `DUET_LOG`)
//! and names it in the output.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

/// The terminal size every editor gets.
pub const COLS: u16 = 100;
/// See [`COLS`].
pub const ROWS: u16 = 24;
/// Every wait gives up after this long.
pub const WAIT: Duration = Duration::from_secs(30);
/// The query for the terminal's primary device attributes.
const DA1: &[u8] = b"\x1b[c";
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(20);

/// Keys as the terminal sends them.
pub mod key {
    /// Ctrl-S: save.
    pub const SAVE: &[u8] = b"\x13";
    /// Ctrl-T: show the ticket.
    pub const TICKET: &[u8] = b"\x14";
    /// Ctrl-K: cut the current line.
    pub const CUT_LINE: &[u8] = b"\x0b";
    /// Ctrl-Z: undo.
    pub const UNDO: &[u8] = b"\x1a";
    /// Escape (sent alone, so the editor sees it after its escape timeout).
    pub const ESC: &[u8] = b"\x1b";
    /// Enter.
    pub const ENTER: &[u8] = b"\r";
    /// Arrow down.
    pub const DOWN: &[u8] = b"\x1b[B";
    /// Ctrl-End: end of the document.
    pub const DOC_END: &[u8] = b"\x1b[1;5F";
    /// Ctrl-P: the peers panel.
    pub const PEERS: &[u8] = b"\x10";
    /// Alt-G: go to the next peer's cursor.
    pub const GOTO_PEER: &[u8] = b"\x1bg";
    /// Alt-F: follow a peer.
    pub const FOLLOW: &[u8] = b"\x1bf";
    /// Ctrl-E: the file picker of a shared folder.
    pub const PICK: &[u8] = b"\x05";
}

/// The `duet` binary under test.
pub fn duet_bin() -> &'static str {
    env!("CARGO_BIN_EXE_duet")
}

/// Polls `cond` until it gives a value; panics after [`WAIT`] with `what` and `detail()`.
pub fn wait_until<T>(
    what: &str,
    mut cond: impl FnMut() -> Option<T>,
    detail: impl Fn() -> String,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = cond() {
            return v;
        }
        if start.elapsed() > WAIT {
            panic!("timed out waiting for {what}:\n{}", detail());
        }
        std::thread::sleep(POLL);
    }
}

/// A test's own folder, removed afterwards unless the test failed: then it is kept, with the
/// stores and logs in it, and its path printed.
pub struct Scratch {
    dir: Option<tempfile::TempDir>,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix("duet-e2e-")
            .tempdir()
            .unwrap();
        Scratch { dir: Some(dir) }
    }

    pub fn path(&self) -> &Path {
        self.dir.as_ref().unwrap().path()
    }

    /// A folder in it, created.
    pub fn dir(&self, name: &str) -> PathBuf {
        let d = self.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(dir) = self.dir.take()
        {
            eprintln!("kept the failed test's files in {}", dir.keep().display());
        }
    }
}

/// Who runs a process: `DUET_HOME` (the per-user directory, which also receives the log
/// `duet-NAME.log`) and the name shown to others.
#[derive(Clone, Debug)]
pub struct User {
    pub name: &'static str,
    pub home: PathBuf,
}

impl User {
    /// A user whose per-user directory is `home`.
    pub fn new(name: &'static str, home: &Path) -> User {
        User {
            name,
            home: home.to_path_buf(),
        }
    }

    /// The log file of this user's processes.
    pub fn log(&self) -> PathBuf {
        self.home.join(format!("duet-{}.log", self.name))
    }

    fn env(&self) -> [(&'static str, std::ffi::OsString); 4] {
        [
            ("DUET_HOME", self.home.clone().into()),
            ("DUET_LOG", self.log().into()),
            ("DUET_LOG_LEVEL", "debug".into()),
            ("DUET_NAME", self.name.into()),
        ]
    }
}

/// A `duet` process in a pseudo-terminal, with its screen parsed by a terminal emulator.
pub struct Duet {
    pub name: &'static str,
    child: Box<dyn Child + Send + Sync>,
    writer: Arc<Mutex<Box<dyn Write + Send>>>,
    screen: Arc<Mutex<vt100::Parser>>,
    _master: Box<dyn MasterPty + Send>,
}

impl Duet {
    /// Runs `duet ARGS` in `cwd` for a user whose per-user directory is `cwd` too.
    pub fn spawn(name: &'static str, cwd: &Path, args: &[&str]) -> Duet {
        Duet::spawn_as(&User::new(name, cwd), cwd, args)
    }

    /// Runs `duet ARGS` in `cwd` as `user`.
    pub fn spawn_as(user: &User, cwd: &Path, args: &[&str]) -> Duet {
        Duet::spawn_program(user, cwd, duet_bin(), args)
    }

    /// Runs `program ARGS` (e.g. a shell that runs duet) in `cwd` as `user`.
    pub fn spawn_program(user: &User, cwd: &Path, program: &str, args: &[&str]) -> Duet {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        for (k, v) in user.env() {
            cmd.env(k, v);
        }
        cmd.env("TERM", "xterm-256color");
        cmd.cwd(cwd);
        let child = pty.slave.spawn_command(cmd).expect("spawn duet");
        let mut reader = pty.master.try_clone_reader().expect("pty reader");
        let writer: Arc<Mutex<Box<dyn Write + Send>>> =
            Arc::new(Mutex::new(pty.master.take_writer().expect("pty writer")));
        let screen = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0)));
        let (feed, answer) = (Arc::clone(&screen), Arc::clone(&writer));
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            // The end of the previous read, so a query split across two reads is seen.
            let mut seen = Vec::new();
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                feed.lock().unwrap().process(&buf[..n]);
                seen.extend_from_slice(&buf[..n]);
                // Answer "which terminal are you?" (DA1) as a real terminal does: the editor
                // asks it at start (to learn whether the terminal reports keys precisely)
                // and waits two seconds for an answer the emulator never gives.
                if let Some(at) = seen.windows(DA1.len()).position(|w| w == DA1) {
                    let mut w = answer.lock().unwrap();
                    let _ = w.write_all(b"\x1b[?62;22c");
                    let _ = w.flush();
                    seen.drain(..at + DA1.len());
                }
                let keep = seen.len().saturating_sub(DA1.len());
                seen.drain(..keep);
            }
        });
        Duet {
            name: user.name,
            child,
            writer,
            screen,
            _master: pty.master,
        }
    }

    /// The whole screen as text.
    pub fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    /// The rows of the screen, trailing blanks cut.
    pub fn rows(&self) -> Vec<String> {
        self.screen
            .lock()
            .unwrap()
            .screen()
            .rows(0, COLS)
            .map(|r| r.trim_end().to_owned())
            .collect()
    }

    /// Where `text` (ASCII) first appears on screen: row and column.
    pub fn find(&self, text: &str) -> Option<(u16, u16)> {
        self.rows().iter().enumerate().find_map(|(row, line)| {
            let col = line.find(text)?;
            Some((u16::try_from(row).ok()?, u16::try_from(col).ok()?))
        })
    }

    /// The foreground and background colours of the cell at `row`, `col`, as the terminal
    /// shows them.
    pub fn colours(&self, row: u16, col: u16) -> (vt100::Color, vt100::Color) {
        let parser = self.screen.lock().unwrap();
        let cell = parser.screen().cell(row, col).expect("a cell on screen");
        (cell.fgcolor(), cell.bgcolor())
    }

    /// The bottom row: file, status, peers, sync state and the latest message.
    pub fn status_line(&self) -> String {
        self.rows().pop().unwrap_or_default()
    }

    /// The text area (every row but the status line), with the name labels that follow
    /// other peers' cursors (`  NAME ` after a row's text) removed, for comparing what two
    /// users see of the document.
    pub fn text_rows(&self, labels: &[&str]) -> Vec<String> {
        let mut rows = self.rows();
        rows.pop();
        // The rows above the status line that are not text: the summary of changes made
        // while away, the blame view's legend.
        while rows
            .last()
            .is_some_and(|r| r.starts_with(" While you were away:") || r.starts_with(" Blame "))
        {
            rows.pop();
        }
        // Those rows take room from the text: rows past the end of the document do not count.
        while rows.last().is_some_and(|r| r.trim() == "~") {
            rows.pop();
        }
        rows.into_iter()
            .map(|mut row| {
                for name in labels {
                    if let Some(cut) = row.strip_suffix(&format!("  {name}")) {
                        row = cut.trim_end().to_owned();
                    }
                }
                row
            })
            .collect()
    }

    /// Waits until the screen satisfies `pred`, and returns that screen; panics with the
    /// screen after [`WAIT`].
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        wait_until(
            &format!("{}: {what}", self.name),
            || Some(self.contents()).filter(|s| pred(s)),
            || format!("screen:\n{}", self.contents()),
        )
    }

    /// Waits until the status line satisfies `pred`, and returns it.
    pub fn wait_for_status(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        wait_until(
            &format!("{}: {what} in the status line", self.name),
            || Some(self.status_line()).filter(|s| pred(s)),
            || format!("screen:\n{}", self.contents()),
        )
    }

    /// Types `s` one character at a time, as a person would.
    pub fn type_str(&mut self, s: &str) {
        for c in s.chars() {
            let mut b = [0; 4];
            self.send(c.encode_utf8(&mut b).as_bytes());
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends raw bytes (keys from [`key`]).
    pub fn send(&mut self, bytes: &[u8]) {
        let mut w = self.writer.lock().unwrap();
        w.write_all(bytes).unwrap();
        w.flush().unwrap();
    }

    /// Ctrl-S, then waits until `file` holds `pred`; returns its text.
    pub fn save(&mut self, file: &Path, pred: impl Fn(&str) -> bool) -> String {
        self.send(key::SAVE);
        wait_until(
            &format!("{}: {} to be saved", self.name, file.display()),
            || std::fs::read_to_string(file).ok().filter(|s| pred(s)),
            || {
                format!(
                    "file: {:?}\nscreen:\n{}",
                    std::fs::read_to_string(file),
                    self.contents()
                )
            },
        )
    }

    /// Ctrl-Q, and `q` (quit without writing the file) once asked; waits for a clean exit.
    pub fn quit(mut self) {
        self.send(b"\x11");
        let mut answered = false;
        let screen = Arc::clone(&self.screen);
        let status = wait_until(
            &format!("{} to exit", self.name),
            || {
                if let Ok(Some(status)) = self.child.try_wait() {
                    return Some(status);
                }
                if !answered && self.contents().contains("Quit?") {
                    self.send(b"q");
                    answered = true;
                }
                None
            },
            || format!("screen:\n{}", screen.lock().unwrap().screen().contents()),
        );
        assert!(status.success(), "{} exited with {status:?}", self.name);
    }

    /// Waits for the process to exit by itself; returns whether it succeeded.
    pub fn wait_exit(mut self) -> bool {
        let name = self.name;
        let screen = Arc::clone(&self.screen);
        let status = wait_until(
            &format!("{name} to exit"),
            || self.child.try_wait().ok().flatten(),
            || format!("screen:\n{}", screen.lock().unwrap().screen().contents()),
        );
        status.success()
    }
}

impl Duet {
    /// `kill -9`: no chance to write anything more.
    pub fn kill_hard(mut self) {
        let pid = self.child.process_id().expect("a running editor has a pid");
        let status = Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "could not kill {}", self.name);
        let _ = self.child.wait();
    }
}

impl Drop for Duet {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A headless `duet serve` peer, its standard output collected line by line.
pub struct Serve {
    child: std::process::Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Serve {
    /// Runs `duet --bind 127.0.0.1 serve FILE` (and `extra` arguments) in `cwd` as `user`;
    /// what it prints on standard error goes to `duet-NAME.stderr` in the user's directory.
    pub fn spawn(user: &User, cwd: &Path, file: &str, extra: &[&str]) -> Serve {
        let mut args = vec!["serve", file];
        args.extend_from_slice(extra);
        Serve::spawn_args(user, cwd, &args)
    }

    /// Runs `duet --bind 127.0.0.1 ARGS` headless (e.g. `join FOLDER-TICKET DIR`), as
    /// [`spawn`](Self::spawn) does.
    pub fn spawn_args(user: &User, cwd: &Path, args: &[&str]) -> Serve {
        let mut child = Command::new(duet_bin())
            .args(["--bind", "127.0.0.1"])
            .args(args)
            .envs(user.env())
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(user.home.join(format!("duet-{}.stderr", user.name)))
                    .unwrap(),
            ))
            .spawn()
            .expect("spawn duet serve");
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let out = child.stdout.take().unwrap();
        let sink = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Serve {
            child,
            lines,
            reader: Some(reader),
        }
    }

    /// Everything printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until a printed line satisfies `pred`; returns it.
    pub fn wait_line(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        wait_until(
            &format!("serve to print {what}"),
            || self.lines().into_iter().find(|l| pred(l)),
            || format!("output: {:#?}", self.lines()),
        )
    }

    /// The ticket it printed.
    pub fn ticket(&self) -> String {
        self.wait_line("its ticket", |l| l.starts_with("duet join "))
            .trim_start_matches("duet join ")
            .trim()
            .to_owned()
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`: no chance to close connections or the store.
    pub fn kill_hard(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits for a clean exit; returns everything it printed.
    pub fn stop(mut self) -> Vec<String> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "could not signal serve");
        let (child, lines) = (&mut self.child, &self.lines);
        let exit = wait_until(
            "serve to stop on SIGTERM",
            || child.try_wait().unwrap(),
            || format!("output: {:#?}", lines.lock().unwrap()),
        );
        assert!(exit.success(), "serve exited with {exit:?}");
        // Its output ends when it exits: wait for the reader to take the last line.
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.lines()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The ticket a running duet published for `file` (in `folder`), once it is shareable.
pub fn ticket_of(folder: &Path, file: &str) -> String {
    let path = folder.join(".duet").join(file).join("ticket");
    wait_until(
        &format!("{} to be written", path.display()),
        || {
            std::fs::read_to_string(&path)
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        },
        String::new,
    )
}

/// Waits until `file` holds text satisfying `pred`; returns it.
pub fn wait_for_file(file: &Path, what: &str, pred: impl Fn(&str) -> bool) -> String {
    wait_until(
        &format!("{} to hold {what}", file.display()),
        || std::fs::read_to_string(file).ok().filter(|s| pred(s)),
        || format!("file: {:?}", std::fs::read_to_string(file)),
    )
}
