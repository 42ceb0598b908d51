//! End to end: two real `duet` binaries in pseudo-terminals on loopback. The host opens a
//! file, the guest joins with the host's ticket; both type, both screens converge and show
//! the other's cursor; the guest quits, the host edits on, the guest restarts and catches up.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

const COLS: u16 = 100;
const ROWS: u16 = 24;
/// Every wait in this test gives up after this long.
const WAIT: Duration = Duration::from_secs(30);

/// A `duet` process in a pseudo-terminal, with its screen parsed by a terminal emulator.
struct Duet {
    name: &'static str,
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    screen: Arc<Mutex<vt100::Parser>>,
    _master: Box<dyn MasterPty + Send>,
}

impl Duet {
    fn spawn(name: &'static str, home: &Path, args: &[&str]) -> Duet {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_duet"));
        cmd.args(args);
        cmd.env("DUET_HOME", home);
        cmd.env("DUET_LOG", home.join("duet.log"));
        cmd.env("DUET_LOG_LEVEL", "debug");
        cmd.env("DUET_NAME", name);
        cmd.env("TERM", "xterm-256color");
        cmd.cwd(home);
        let child = pty.slave.spawn_command(cmd).expect("spawn duet");
        let mut reader = pty.master.try_clone_reader().expect("pty reader");
        let writer = pty.master.take_writer().expect("pty writer");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0)));
        let feed = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                feed.lock().unwrap().process(&buf[..n]);
            }
        });
        Duet {
            name,
            child,
            writer,
            screen,
            _master: pty.master,
        }
    }

    fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    /// Waits until the screen satisfies `pred`; panics with the screen after [`WAIT`].
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) {
        let start = Instant::now();
        loop {
            let screen = self.contents();
            if pred(&screen) {
                return;
            }
            if start.elapsed() > WAIT {
                panic!(
                    "{}: timed out waiting for {what}; screen:\n{screen}",
                    self.name
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn type_str(&mut self, s: &str) {
        for c in s.chars() {
            let mut b = [0; 4];
            self.writer
                .write_all(c.encode_utf8(&mut b).as_bytes())
                .unwrap();
            self.writer.flush().unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
    }

    /// Ctrl-Q, and `q` (quit without writing the file) once asked; waits for the exit.
    fn quit(&mut self) {
        self.send(b"\x11");
        let start = Instant::now();
        let mut answered = false;
        while start.elapsed() < WAIT {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "{} exited with {status:?}", self.name);
                return;
            }
            if !answered && self.contents().contains("Quit?") {
                self.send(b"q");
                answered = true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{} did not exit; screen:\n{}", self.name, self.contents());
    }
}

impl Drop for Duet {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
    }
}

fn wait_for_file(path: &Path) -> String {
    let start = Instant::now();
    while start.elapsed() < WAIT {
        if let Ok(s) = std::fs::read_to_string(path)
            && !s.trim().is_empty()
        {
            return s.trim().to_owned();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} never appeared", path.display());
}

fn dir(root: &Path, name: &str) -> PathBuf {
    let d = root.join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn two_duets_edit_together_and_catch_up_after_a_restart() {
    let root = std::env::temp_dir().join(format!("duet-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (a, b) = (dir(&root, "a"), dir(&root, "b"));
    std::fs::write(a.join("notes.md"), "shared notes\n").unwrap();

    let mut host = Duet::spawn("hostie", &a, &["--bind", "127.0.0.1", "notes.md"]);
    host.wait_for("the document", |s| s.contains("shared notes"));
    let ticket = wait_for_file(&a.join(".duet/notes.md/ticket"));

    let mut guest = Duet::spawn(
        "guesto",
        &b,
        &["--bind", "127.0.0.1", "join", &ticket, "notes.md"],
    );
    guest.wait_for("the host's text", |s| s.contains("shared notes"));
    guest.wait_for("the host in the status line", |s| s.contains("hostie"));

    host.type_str("host was here ");
    guest.send(b"\x1b[B"); // down: to the empty last line
    guest.type_str("guest too");
    for duet in [&host, &guest] {
        duet.wait_for("both edits", |s| {
            s.contains("host was here shared notes") && s.contains("guest too")
        });
    }
    host.wait_for("the guest's cursor label", |s| s.contains("guesto"));
    guest.wait_for("the host's cursor label", |s| s.contains("hostie"));

    // The guest quits; the host keeps editing; the guest comes back and catches up.
    guest.quit();
    host.wait_for("the guest to leave", |s| {
        s.contains("guesto left") || s.contains("○guesto")
    });
    host.type_str("while you were away ");
    let mut guest = Duet::spawn("guesto", &b, &["--bind", "127.0.0.1", "notes.md"]);
    guest.wait_for("the edits made while it was away", |s| {
        s.contains("while you were away")
    });
    host.wait_for("the guest to return", |s| s.contains("●guesto"));

    guest.quit();
    host.quit();
    let _ = std::fs::remove_dir_all(&root);
}

/// `duet serve`: a headless peer prints its ticket, keeps its file up to date on disk as a
/// joined editor types, and on SIGTERM saves and exits cleanly.
#[test]
fn serve_keeps_the_file_current_and_stops_cleanly_on_sigterm() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let root = std::env::temp_dir().join(format!("duet-e2e-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (a, b) = (dir(&root, "a"), dir(&root, "b"));
    std::fs::write(a.join("served.md"), "served text\n").unwrap();

    let mut server = Command::new(env!("CARGO_BIN_EXE_duet"))
        .args(["--bind", "127.0.0.1", "serve", "served.md"])
        .env("DUET_HOME", &a)
        .env("DUET_LOG", a.join("duet.log"))
        .env("DUET_NAME", "server")
        .current_dir(&a)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn duet serve");
    // Read its output on a thread: the ticket first, then peer events.
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let out = server.stdout.take().unwrap();
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let wait_line = |what: &str, pred: &dyn Fn(&str) -> bool| -> String {
        let start = Instant::now();
        while start.elapsed() < WAIT {
            if let Some(l) = lines.lock().unwrap().iter().find(|l| pred(l)) {
                return l.clone();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "serve never printed {what}; output: {:?}",
            lines.lock().unwrap()
        );
    };
    let ticket = wait_line("its ticket", &|l| l.starts_with("duet join "))
        .trim_start_matches("duet join ")
        .trim()
        .to_owned();

    let mut guest = Duet::spawn(
        "guesto",
        &b,
        &["--bind", "127.0.0.1", "join", &ticket, "served.md"],
    );
    guest.wait_for("the served text", |s| s.contains("served text"));
    // The guest's name may arrive after it joins (with its presence): its id is printed.
    wait_line("the guest joining", &|l| l.starts_with("joined: "));
    guest.type_str("typed remotely ");

    // The server writes its file (debounced) with the guest's edit.
    let start = Instant::now();
    loop {
        let on_disk = std::fs::read_to_string(a.join("served.md")).unwrap_or_default();
        if on_disk == "typed remotely served text\n" {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "served file never caught up: {on_disk:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    guest.quit();
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "could not signal the server");
    let start = Instant::now();
    let exit = loop {
        if let Some(exit) = server.try_wait().unwrap() {
            break exit;
        }
        assert!(start.elapsed() < WAIT, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "serve exited with {exit:?}");
    wait_line("that it is stopping", &|l| {
        l.starts_with("stopping: saving")
    });
    assert_eq!(
        std::fs::read_to_string(a.join("served.md")).unwrap(),
        "typed remotely served text\n"
    );
    let _ = std::fs::remove_dir_all(&root);
}
