//! When to make appended ops durable: a pure timing helper the driver consults.
//!
//! Policy: the first op appended after a sync opens a window of [`FlushPolicy::delay`]
//! (50 ms by default); when it closes, the driver calls [`Store::sync`](super::Store::sync),
//! which writes every op appended meanwhile as one frame and `fdatasync`s once. A burst of
//! keystrokes (or a batch of remote ops) thus costs one fsync per window instead of one per
//! op, and nothing waits longer than the window to become durable.
//!
//! The store tracks this itself (see [`Store::sync_deadline`](super::Store::sync_deadline));
//! a driver sleeps until the deadline, then syncs. The type is public so simulations can
//! drive it with their own clock.

use std::time::{Duration, Instant};

/// The default window between the first unsynced append and its sync.
pub const DEFAULT_DELAY: Duration = Duration::from_millis(50);

/// Tracks the oldest unsynced append and says when a sync is due.
#[derive(Clone, Copy, Debug)]
pub struct FlushPolicy {
    delay: Duration,
    oldest_unsynced: Option<Instant>,
}

impl Default for FlushPolicy {
    fn default() -> Self {
        FlushPolicy::new(DEFAULT_DELAY)
    }
}

impl FlushPolicy {
    /// A policy syncing at most `delay` after the first unsynced append.
    pub fn new(delay: Duration) -> Self {
        FlushPolicy {
            delay,
            oldest_unsynced: None,
        }
    }

    /// The window length.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// Notes an append at `now`.
    pub fn appended(&mut self, now: Instant) {
        self.oldest_unsynced.get_or_insert(now);
    }

    /// Notes that everything appended so far is durable.
    pub fn synced(&mut self) {
        self.oldest_unsynced = None;
    }

    /// When the next sync is due; `None` when nothing waits.
    pub fn deadline(&self) -> Option<Instant> {
        self.oldest_unsynced.map(|t| t + self.delay)
    }

    /// Whether a sync is due at `now`.
    pub fn due(&self, now: Instant) -> bool {
        self.deadline().is_some_and(|d| now >= d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_appends_is_due_once_the_first_is_a_window_old() {
        let t0 = Instant::now();
        let mut policy = FlushPolicy::default();
        assert_eq!(policy.deadline(), None);
        assert!(!policy.due(t0 + Duration::from_secs(10)));
        policy.appended(t0);
        policy.appended(t0 + Duration::from_millis(30));
        assert!(!policy.due(t0 + Duration::from_millis(49)));
        assert!(policy.due(t0 + Duration::from_millis(50)));
        assert_eq!(policy.deadline(), Some(t0 + DEFAULT_DELAY));
        policy.synced();
        assert!(!policy.due(t0 + Duration::from_millis(80)));
        policy.appended(t0 + Duration::from_millis(90));
        assert_eq!(policy.deadline(), Some(t0 + Duration::from_millis(140)));
    }
}
