//! The threads that write stores for a session's loop (the single document's store thread,
//! the folder's saver). The loop hands them work at every save and must not lose its core
//! when one wakes.

use std::thread::JoinHandle;

/// Starts a thread named `name` that writes to disk for the loop and runs `work` on it.
pub(crate) fn spawn_writer(
    name: &str,
    work: impl FnOnce() + Send + 'static,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            yield_to_the_loop();
            work();
        })
}

/// On Linux the writer takes the batch policy (`SCHED_BATCH`): the same share of the CPU,
/// but waking it does not preempt the thread that woke it. On two cores, handing a save to a
/// writer otherwise cost the loop 0.13–0.26 ms about one time in three, on a keystroke's way
/// to the peers. Best effort: if the system refuses, the writer runs as before.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn yield_to_the_loop() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `sched_setscheduler` only reads `param`, which outlives the call; pid 0 is the
    // calling thread; no other memory is touched.
    let refused = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) } != 0;
    if refused {
        tracing::debug!("the writer thread keeps the normal scheduling policy");
    }
}

#[cfg(not(target_os = "linux"))]
fn yield_to_the_loop() {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn a_writer_thread_runs_with_the_batch_policy() {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = super::spawn_writer("duet-test-writer", move || {
            let sched = std::fs::read_to_string("/proc/thread-self/sched").unwrap_or_default();
            let _ = tx.send(sched);
        })
        .unwrap();
        let sched = rx.recv().unwrap();
        thread.join().unwrap();
        let policy = sched
            .lines()
            .find(|l| l.starts_with("policy"))
            .and_then(|l| l.split(':').nth(1))
            .map(str::trim);
        assert_eq!(policy, Some("3"), "SCHED_BATCH is policy 3:\n{sched}");
    }
}
