//! Liveness of the daemon's loops for the systemd watchdog.
//!
//! A task that has not ended is not necessarily alive: one stuck on the
//! store lock or in a network call without an answer looks the same from
//! the outside. So every loop announces, before each piece of work or wait,
//! by when it will announce again ([`Heartbeat::working`],
//! [`Heartbeat::waiting`]). The daemon sends `WATCHDOG=1` only while every
//! loop is running and none is past its announced time ([`unhealthy`]);
//! otherwise systemd's `WatchdogSec=` runs out and it restarts the service.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The longest one piece of work may take: a batch of mails, one outgoing
/// send of a mail up to about 2.9 MB (`smtp::send_bound`; a group of larger
/// ones announces its own bound), one clock tick, an IMAP
/// connect or command (bounded by their timeouts). An IMAP fetch or move
/// that keeps receiving data renews it (`ImapMailbox::on_progress`).
pub const WORK_LIMIT: Duration = Duration::from_secs(300);
/// Slack on top of an announced wait (timer jitter, a busy machine).
pub const GRACE: Duration = Duration::from_secs(30);

/// One loop's promise to show a sign of life by a deadline.
#[derive(Debug)]
pub struct Heartbeat {
    name: &'static str,
    origin: Instant,
    /// Deadline in milliseconds after `origin`.
    deadline_ms: AtomicU64,
}

impl Heartbeat {
    /// A new loop: it has [`WORK_LIMIT`] for its first piece of work.
    pub fn new(name: &'static str) -> Heartbeat {
        let hb = Heartbeat { name, origin: Instant::now(), deadline_ms: AtomicU64::new(0) };
        hb.working();
        hb
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// About to do a piece of work (at most [`WORK_LIMIT`]).
    pub fn working(&self) {
        self.expect_within(WORK_LIMIT);
    }

    /// About to wait up to `wait` (a sleep, IMAP IDLE, a backoff).
    pub fn waiting(&self, wait: Duration) {
        self.expect_within(wait.saturating_add(GRACE));
    }

    /// The next sign of life comes within `d` from now.
    pub fn expect_within(&self, d: Duration) {
        let at = self.origin.elapsed().saturating_add(d);
        self.deadline_ms.store(u64::try_from(at.as_millis()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Past its announced time at `now`?
    pub fn overdue_at(&self, now: Instant) -> bool {
        let elapsed = u64::try_from(now.saturating_duration_since(self.origin).as_millis()).unwrap_or(u64::MAX);
        elapsed > self.deadline_ms.load(Ordering::Relaxed)
    }
}

/// Why `WATCHDOG=1` must not be sent at `now`, or `None` when every loop is
/// running (`finished` false) and on time.
pub fn unhealthy(loops: &[(&Heartbeat, bool)], now: Instant) -> Option<String> {
    for (hb, finished) in loops {
        if *finished {
            return Some(format!("the {} loop has ended", hb.name));
        }
        if hb.overdue_at(now) {
            return Some(format!("the {} loop is overdue (hung?)", hb.name));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves: a loop that announced a wait is healthy until the wait plus
    /// the grace is over, then it is reported as overdue by name.
    #[test]
    fn a_loop_past_its_announced_time_is_overdue() {
        let hb = Heartbeat::new("mailbox");
        hb.waiting(Duration::from_secs(10));
        let now = Instant::now();
        assert!(!hb.overdue_at(now));
        assert!(!hb.overdue_at(now + Duration::from_secs(39)));
        assert!(hb.overdue_at(now + Duration::from_secs(41)));
        assert_eq!(unhealthy(&[(&hb, false)], now), None);
        let why = unhealthy(&[(&hb, false)], now + Duration::from_secs(41)).unwrap();
        assert!(why.contains("mailbox") && why.contains("overdue"), "{why}");
    }

    /// Proves: a finished loop stops the pings even when its heartbeat is
    /// fresh, and one bad loop among good ones is enough.
    #[test]
    fn an_ended_loop_or_any_overdue_loop_stops_the_pings() {
        let (a, b) = (Heartbeat::new("outbox"), Heartbeat::new("clock"));
        let now = Instant::now();
        assert_eq!(unhealthy(&[(&a, false), (&b, false)], now), None);
        assert!(unhealthy(&[(&a, false), (&b, true)], now).unwrap().contains("clock loop has ended"));
        b.expect_within(Duration::ZERO);
        assert!(unhealthy(&[(&a, false), (&b, false)], now + Duration::from_millis(5)).unwrap().contains("clock"));
        // a new piece of work makes it healthy again
        b.working();
        assert_eq!(unhealthy(&[(&a, false), (&b, false)], Instant::now()), None);
    }
}
