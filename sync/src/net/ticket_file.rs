//! The ticket of a running session, kept in the document's store folder so that
//! `duet ticket FILE` can print it while another duet process has the document open.
//!
//! Format: the ticket string ([`DocTicket`]'s `Display`) and a newline, in the file `ticket`
//! of the store folder, mode `0600` (it carries the document secret, like the store itself).
//! Written atomically on start and whenever the session's addresses change; removed on
//! shutdown. A leftover file from a crashed session is recognised because the store is then
//! not locked.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::store::STORE_DIR;
use crate::ticket::DocTicket;

/// Name of the file in the store folder.
pub(crate) const FILE_NAME: &str = "ticket";

/// The ticket file of the document whose plain file is `file`.
pub(crate) fn path_for(file: &Path) -> Option<PathBuf> {
    let name = file.file_name()?;
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(parent.join(STORE_DIR).join(name).join(FILE_NAME))
}

/// Atomically replaces the ticket file.
pub(crate) fn write(path: &Path, ticket: &DocTicket) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let result = (|| {
        let mut f = options.open(&tmp)?;
        writeln!(f, "{ticket}")?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Reads the ticket file, if there is one.
pub(crate) fn read(path: &Path) -> std::io::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s.trim().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
