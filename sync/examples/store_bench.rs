//! Figures for the local store, on the automerge-paper editing trace (259,778 edits):
//! open time against history size (doubling), store bytes against `Doc::encode`, and the
//! fsync cost of 10,000 single-keystroke batches with and without the 50 ms batching.
//!
//! ```text
//! cargo run --release -p duet-sync --example store_bench [-- TRACE.json.gz [STORE_DIR]]
//! ```
//!
//! The trace defaults to the repository's `traces/sequential/automerge-paper.json.gz`; stores are built in a temporary directory unless one is given (give
//! one on the disk you care about: fsync costs depend on it).

use std::error::Error;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crdt_text::Doc;
use duet_sync::store::{FlushPolicy, Store};

/// One trace edit: at `pos`, delete `del` chars, then insert `ins`.
struct Patch {
    pos: usize,
    del: usize,
    ins: String,
}

fn load_trace(path: &Path) -> Result<(Vec<Patch>, String), Box<dyn Error>> {
    let mut json = String::new();
    flate2::read::GzDecoder::new(File::open(path)?).read_to_string(&mut json)?;
    let value: serde_json::Value = serde_json::from_str(&json)?;
    let mut patches = Vec::new();
    for txn in value["txns"].as_array().ok_or("no txns")? {
        for p in txn["patches"].as_array().ok_or("no patches")? {
            patches.push(Patch {
                pos: p[0].as_u64().ok_or("bad pos")? as usize,
                del: p[1].as_u64().ok_or("bad del")? as usize,
                ins: p[2].as_str().ok_or("bad ins")?.to_string(),
            });
        }
    }
    let end = value["endContent"]
        .as_str()
        .ok_or("no endContent")?
        .to_string();
    Ok((patches, end))
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Sizes of a built store.
struct Built {
    file: PathBuf,
    ops: u64,
    snapshot: u64,
    tail: u64,
    encode: u64,
}

/// Replays the first `n` patches into a new store the way the editor would: every edit
/// appended, a sync and a `compact` check every 50 edits (one batching window of fast
/// typing), the plain file saved at the end.
fn build(dir: &Path, patches: &[Patch], n: usize) -> Result<Built, Box<dyn Error>> {
    let file = dir.join(format!("paper-{n}.tex"));
    let mut o = Store::open(&file)?;
    for (i, p) in patches[..n].iter().enumerate() {
        if p.del > 0 {
            let op = o.doc.delete(p.pos, p.del);
            o.store.append(&[op])?;
        }
        if !p.ins.is_empty() {
            let op = o.doc.insert(p.pos, &p.ins);
            o.store.append(&[op])?;
        }
        if i % 50 == 49 {
            o.store.sync()?;
            o.store.compact(&o.doc)?;
        }
    }
    o.store.sync()?;
    o.store.compact(&o.doc)?;
    o.store.write_plain_file(&o.doc)?;
    let built = Built {
        file,
        ops: o.doc.version().total(),
        snapshot: o.store.snapshot_len(),
        tail: o.store.log_tail_len(),
        encode: o.doc.encode().len() as u64,
    };
    o.store.close()?;
    Ok(built)
}

/// Median wall time of `Store::open` (snapshot decode, log tail replay, plain-file check,
/// lock), over `runs` opens.
fn time_open(file: &Path, runs: usize) -> Result<(Duration, String), Box<dyn Error>> {
    let mut samples = Vec::with_capacity(runs);
    let mut text = String::new();
    for _ in 0..runs {
        let start = Instant::now();
        let o = Store::open(file)?;
        samples.push(start.elapsed());
        if !o.warnings.is_empty() {
            return Err(format!("unexpected warnings: {:?}", o.warnings).into());
        }
        text = o.doc.text();
        o.store.close()?;
    }
    Ok((median(samples), text))
}

/// Types `keys` single characters with `gap` between keystrokes (virtual time), syncing when
/// the flush policy says so (`batched`) or after every keystroke. Returns (fsyncs, time spent
/// in `sync`).
fn keystrokes(
    dir: &Path,
    keys: usize,
    gap: Duration,
    batched: bool,
) -> Result<(usize, Duration), Box<dyn Error>> {
    let file = dir.join(format!("typing-{batched}-{}.txt", gap.as_millis()));
    let mut o = Store::open(&file)?;
    let mut policy = FlushPolicy::default();
    let t0 = Instant::now();
    let mut spent = Duration::ZERO;
    let mut syncs = 0;
    for k in 0..keys {
        let now = t0 + gap * k as u32;
        if batched && policy.due(now) {
            let start = Instant::now();
            o.store.sync()?;
            spent += start.elapsed();
            syncs += 1;
            policy.synced();
        }
        let op = o.doc.insert(o.doc.len(), "x");
        o.store.append(&[op])?;
        policy.appended(now);
        if !batched {
            let start = Instant::now();
            o.store.sync()?;
            spent += start.elapsed();
            syncs += 1;
        }
    }
    let start = Instant::now();
    if !o.store.sync()?.is_empty() {
        syncs += 1;
    }
    spent += start.elapsed();
    o.store.close()?;
    Ok((syncs, spent))
}

/// Appends `keys` single-keystroke batches as fast as they come (a paste, a replay, a peer's
/// backlog), syncing whenever the store's own 50 ms deadline has passed, on the real clock.
/// Returns (fsyncs, time spent in `sync`, total time).
fn back_to_back(dir: &Path, keys: usize) -> Result<(usize, Duration, Duration), Box<dyn Error>> {
    let mut o = Store::open(&dir.join("back-to-back.txt"))?;
    let t0 = Instant::now();
    let mut spent = Duration::ZERO;
    let mut syncs = 0;
    let mut sync = |store: &mut Store| -> Result<(), Box<dyn Error>> {
        let start = Instant::now();
        if !store.sync()?.is_empty() {
            syncs += 1;
        }
        spent += start.elapsed();
        Ok(())
    };
    for _ in 0..keys {
        let op = o.doc.insert(o.doc.len(), "x");
        o.store.append(&[op])?;
        if o.store.sync_deadline().is_some_and(|d| Instant::now() >= d) {
            sync(&mut o.store)?;
        }
    }
    sync(&mut o.store)?;
    let elapsed = t0.elapsed();
    o.store.close()?;
    Ok((syncs, spent, elapsed))
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let trace = args.next().map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../traces/sequential/automerge-paper.json.gz")
    });
    let tmp = tempfile::tempdir()?;
    let dir = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().into());
    std::fs::create_dir_all(&dir)?;
    let (patches, end) = load_trace(&trace)?;
    println!("trace: {} ({} edits)", trace.display(), patches.len());

    println!("\nopen time vs history size (median of 21 opens; store as left by the editor)");
    println!(
        "{:>8} {:>9} {:>10} {:>10} {:>10} {:>10} {:>7}",
        "edits", "ops", "open", "encode B", "snap B", "tail B", "store/enc"
    );
    let full = patches.len();
    for n in [full / 16, full / 8, full / 4, full / 2, full] {
        let built = build(&dir, &patches, n)?;
        let (open, text) = time_open(&built.file, 21)?;
        if n == full && text != end {
            return Err("replayed text differs from the trace's endContent".into());
        }
        println!(
            "{:>8} {:>9} {:>8.2}ms {:>10} {:>10} {:>10} {:>7.2}",
            n,
            built.ops,
            open.as_secs_f64() * 1e3,
            built.encode,
            built.snapshot,
            built.tail,
            (built.snapshot + built.tail) as f64 / built.encode as f64
        );
    }

    // Doc::decode alone, for scale.
    let full_doc = {
        let o = Store::open(&dir.join(format!("paper-{full}.tex")))?;
        let encoded = o.doc.encode();
        o.store.close()?;
        encoded
    };
    let decode = median(
        (0..21)
            .map(|_| {
                let start = Instant::now();
                let doc = Doc::decode(&full_doc, crdt_text::ReplicaId::from(1));
                let took = start.elapsed();
                assert!(doc.is_ok());
                took
            })
            .collect(),
    );
    println!(
        "Doc::decode alone (full history): {:.2}ms",
        decode.as_secs_f64() * 1e3
    );

    println!("\nfsync cost of 10,000 single-keystroke batches");
    let (syncs, spent, elapsed) = back_to_back(&dir, 10_000)?;
    println!(
        "  {:<28} {:>6} fdatasyncs, {:>8.1}ms in sync ({:.1}ms for the whole run)",
        "back to back, real clock",
        syncs,
        spent.as_secs_f64() * 1e3,
        elapsed.as_secs_f64() * 1e3
    );
    for (gap_ms, batched) in [(10, true), (30, true), (100, true), (10, false)] {
        let gap = Duration::from_millis(gap_ms);
        let (syncs, spent) = keystrokes(&dir, 10_000, gap, batched)?;
        println!(
            "  {:<28} {:>6} fdatasyncs, {:>8.1}ms in sync ({:.3}ms each)",
            if batched {
                format!("batched, a key every {gap_ms}ms")
            } else {
                "unbatched (sync per key)".to_string()
            },
            syncs,
            spent.as_secs_f64() * 1e3,
            spent.as_secs_f64() * 1e3 / syncs as f64
        );
    }
    Ok(())
}
