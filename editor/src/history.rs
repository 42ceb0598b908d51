//! The history commands: `duet log`, `duet blame`, `duet show --at`, `duet authors`. Pure
//! text from a [`Doc`] and a time zone; `main.rs` reads the store and prints.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDateTime, TimeZone};
use crdt_text::{Doc, Who};

/// What `duet show --at` asks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum At {
    /// The text just after session N (a number from `duet log`).
    Session(usize),
    /// The text as it was at this moment (Unix seconds).
    Time(u64),
}

/// Why `--at` or a session number is not usable.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum AtError {
    /// Not a number, an RFC 3339 time or a local `YYYY-MM-DD HH:MM[:SS]`.
    #[error(
        "--at {0}: not a session number, an RFC 3339 time (2026-11-30T10:15:00Z) or a local \
         time (2026-11-30 10:15[:00])"
    )]
    Unparsable(String),
    /// A local time that does not exist (skipped by a daylight saving change) or is before 1970.
    #[error("--at {0}: no such moment in the local time zone")]
    NoSuchTime(String),
    /// No session has that number.
    #[error("there is no session {asked}: {}", sessions_hint(*.count))]
    NoSession {
        /// The number asked for.
        asked: usize,
        /// How many sessions there are.
        count: usize,
    },
}

fn sessions_hint(count: usize) -> String {
    match count {
        0 => "the document has no history yet".into(),
        1 => "the document has session 1 only (see duet log)".into(),
        n => format!("sessions are numbered 1 to {n} (see duet log)"),
    }
}

/// Parses `--at`: a session number, an RFC 3339 time, or a local `YYYY-MM-DD HH:MM[:SS]`
/// (a `T` between date and time works too) in `tz`.
pub fn parse_at<Tz: TimeZone>(given: &str, tz: &Tz) -> Result<At, AtError> {
    let s = given.trim();
    if let Ok(n) = s.parse::<usize>() {
        return Ok(At::Session(n));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return u64::try_from(t.timestamp())
            .map(At::Time)
            .map_err(|_| AtError::NoSuchTime(given.into()));
    }
    let naive = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    .ok_or_else(|| AtError::Unparsable(given.into()))?;
    let local = tz
        .from_local_datetime(&naive)
        .earliest()
        .ok_or_else(|| AtError::NoSuchTime(given.into()))?;
    u64::try_from(local.timestamp())
        .map(At::Time)
        .map_err(|_| AtError::NoSuchTime(given.into()))
}

/// The text `at` asks for.
pub fn show(doc: &Doc, at: At) -> Result<String, AtError> {
    match at {
        At::Time(t) => Ok(doc.text_at_time(t)),
        At::Session(n) => {
            let sessions = doc.sessions();
            let s = n
                .checked_sub(1)
                .and_then(|i| sessions.get(i))
                .ok_or(AtError::NoSession {
                    asked: n,
                    count: sessions.len(),
                })?;
            Ok(doc.text_after(s))
        }
    }
}

/// A name for `who`: the author's, or the replica's for edits without an author.
pub fn name(doc: &Doc, who: Who) -> String {
    match (doc.author(who), who) {
        (Some(a), _) if !a.name.is_empty() => a.name.clone(),
        (Some(a), _) => format!("author {}", a.id),
        (None, Who::Author(id)) => format!("author {id}"),
        (None, Who::Replica(r)) => format!("replica {r}"),
    }
}

/// `Name <email>`, or just the name.
fn name_email(doc: &Doc, who: Who) -> String {
    match doc.author(who).and_then(|a| a.email.as_deref()) {
        Some(email) => format!("{} <{email}>", name(doc, who)),
        None => name(doc, who),
    }
}

/// A time as `YYYY-MM-DD HH:MM` in `tz` (`unknown` for 0).
fn date<Tz: TimeZone>(t: u64, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    i64::try_from(t)
        .ok()
        .filter(|&t| t > 0)
        .and_then(|t| tz.timestamp_opt(t, 0).single())
        .map_or_else(
            || format!("{:<16}", "unknown time"),
            |d| d.format("%Y-%m-%d %H:%M").to_string(),
        )
}

/// `duet log`: the editing sessions, newest first, one line each: number, start and end,
/// author, characters inserted and deleted.
pub fn log<Tz: TimeZone>(doc: &Doc, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let sessions = doc.sessions();
    let width = sessions.len().to_string().len();
    let mut out = String::new();
    for s in sessions.iter().rev() {
        let (start, end) = (date(s.start, tz), date(s.end, tz));
        let end = match end.split_once(' ') {
            Some((day, time)) if start.starts_with(day) => time.to_owned(),
            _ => end,
        };
        let _ = writeln!(
            out,
            "{:>width$}  {start} - {end:<5}  {}  +{} -{}",
            s.number,
            name_email(doc, s.who),
            s.inserted,
            s.deleted,
        );
    }
    out
}

/// `duet blame`: every line of the current text with who made its last change and when, and
/// who else wrote characters of it.
pub fn blame<Tz: TimeZone>(doc: &Doc, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let blame = doc.blame();
    let text = doc.text();
    let names: Vec<String> = blame
        .lines
        .iter()
        .map(|l| {
            let mut who = vec![name(doc, l.who)];
            who.extend(
                l.authors
                    .iter()
                    .filter(|&&w| w != l.who)
                    .map(|&w| name(doc, w)),
            );
            who.join(", ")
        })
        .collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let num = blame.lines.len().to_string().len();
    let mut out = String::new();
    for (i, (line, text)) in blame
        .lines
        .iter()
        .zip(text.split_inclusive('\n'))
        .enumerate()
    {
        let text = text.strip_suffix('\n').unwrap_or(text);
        let _ = writeln!(
            out,
            "{:>num$}  {}  {:<width$}  {text}",
            i + 1,
            date(line.time, tz),
            names[i],
        );
    }
    out
}

/// `duet authors`: a `Co-authored-by:` line for everyone who wrote text still present, most
/// text first (authors with no name are left out: git needs one).
pub fn authors(doc: &Doc) -> String {
    let mut out = String::new();
    for (who, _) in doc.blame().authors() {
        let Some(a) = doc.author(who).filter(|a| !a.name.is_empty()) else {
            continue;
        };
        let _ = match &a.email {
            Some(email) => writeln!(out, "Co-authored-by: {} <{email}>", a.name),
            None => writeln!(out, "Co-authored-by: {}", a.name),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, Utc};

    use super::*;

    #[test]
    fn at_takes_a_session_an_rfc_3339_time_or_a_local_time() {
        let paris = FixedOffset::east_opt(3600).unwrap();
        assert_eq!(parse_at("3", &Utc), Ok(At::Session(3)));
        let t = 1_796_033_700; // 2026-11-30T10:15:00Z
        assert_eq!(parse_at("2026-11-30T10:15:00Z", &paris), Ok(At::Time(t)));
        assert_eq!(parse_at("2026-11-30T11:15:00+01:00", &Utc), Ok(At::Time(t)));
        assert_eq!(parse_at("2026-11-30 11:15", &paris), Ok(At::Time(t)));
        assert_eq!(parse_at("2026-11-30 11:15:07", &paris), Ok(At::Time(t + 7)));
        assert_eq!(parse_at("2026-11-30T10:15", &Utc), Ok(At::Time(t)));
        assert!(matches!(
            parse_at("yesterday", &Utc),
            Err(AtError::Unparsable(_))
        ));
        assert!(matches!(
            parse_at("1960-01-01 00:00", &Utc),
            Err(AtError::NoSuchTime(_))
        ));
    }

    #[test]
    fn a_session_that_does_not_exist_says_which_do() {
        let doc = Doc::new(crdt_text::ReplicaId::from(1));
        let e = show(&doc, At::Session(1)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "there is no session 1: the document has no history yet"
        );
        assert!(show(&doc, At::Session(0)).is_err());
    }
}
