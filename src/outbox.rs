//! The outbox worker: queued rows -> transport -> sent / retry later / failed.
//!
//! A row is the unit of retry. The attempt is counted (and committed) before
//! the send by claiming the row (a conditional UPDATE, so two processes on
//! one store never both send it), so a crash mid-send is visible; a row
//! marked `sent` is never sent again (only `queued` rows are due). A crash
//! between the server's 250 and `mark_sent` sends that row once more after
//! the lease: at-least-once, the only honest promise without 2PC.
//!
//! A destination that cannot be reached at all (relay down, TLS broken: a
//! [`SendError::Unreachable`]) ends the pass after that one attempt: the
//! other queued rows are not tried (nor counted) and the caller suspends the
//! destination and tries the queue as a whole again later (the daemon:
//! [`RELAY_RETRY_MIN`] doubling to [`RELAY_RETRY_MAX`], one log line per
//! round), instead of trying and logging every queued mail.

use std::sync::{Arc, Mutex};

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use tracing::{error, info, warn};

use crate::status;
use crate::store::{self, Store};
use crate::transport::{SendError, Transport};

/// Give up on a row after this many attempts with temporary failures.
pub const MAX_ATTEMPTS: i64 = 12;
/// A permanent (5xx) failure is retried this many times before the row fails.
pub const MAX_PERMANENT_ATTEMPTS: i64 = 3;
/// A claimed row is due again after this if its sender died mid-send
/// (longer than one SMTP send may take; the daemon releases its own dead
/// claims at start, see [`store::outbox_release_claims`]).
pub const LEASE: Duration = Duration::minutes(3);

/// First wait after the destination could not be reached; doubles per round.
pub const RELAY_RETRY_MIN: std::time::Duration = std::time::Duration::from_secs(10);
/// Longest wait between two rounds while the destination is down.
pub const RELAY_RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(300);

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub retry: usize,
    pub failed: usize,
    /// The destination could not be reached: the pass stopped there (the
    /// error; the row tried is counted in `retry` or `failed`).
    pub unreachable: Option<String>,
}

/// `<a@b>,<c@d>`: recipients as Postfix writes them.
pub fn angle_list(addrs: &[String]) -> String {
    addrs.iter().map(|a| format!("<{a}>")).collect::<Vec<_>>().join(",")
}

/// Backoff after `attempts` failed attempts: 1, 2, 4, … minutes, at most an hour.
pub fn backoff(attempts: i64) -> Duration {
    Duration::minutes(1i64 << attempts.clamp(1, 7).saturating_sub(1)).min(Duration::hours(1))
}

/// Send every row due at `now()`, in batches, until none is due; then
/// close the connections to the relay (a one-off pass: `ingest`, `--once`).
pub async fn deliver_due(
    store: &Arc<Mutex<Store>>,
    transport: &Transport,
    from: &str,
    now: impl Fn() -> DateTime<Utc>,
) -> Result<Pass> {
    let pass = deliver_due_until(store, transport, from, now, || false).await;
    transport.close_idle().await;
    pass
}

/// [`deliver_due`], but `stop()` is asked before each row: the daemon's
/// SIGTERM ends the pass after the send in hand, never in the middle of one.
pub async fn deliver_due_until(
    store: &Arc<Mutex<Store>>,
    transport: &Transport,
    from: &str,
    now: impl Fn() -> DateTime<Utc>,
    stop: impl Fn() -> bool,
) -> Result<Pass> {
    deliver_due_with(store, transport, from, now, stop, |_| {}).await
}

/// [`deliver_due_until`]; `expect(d)` before each group of sends: they end
/// within `d` (`smtp::send_bound` of its largest mail; the daemon's
/// watchdog waits that long).
pub async fn deliver_due_with(
    store: &Arc<Mutex<Store>>,
    transport: &Transport,
    from: &str,
    now: impl Fn() -> DateTime<Utc>,
    stop: impl Fn() -> bool,
    expect: impl Fn(std::time::Duration),
) -> Result<Pass> {
    let mut pass = Pass::default();
    loop {
        let t = now();
        let due = {
            let s = store.lock().map_err(|_| anyhow::anyhow!("store lock poisoned"))?;
            store::due_outbox(s.conn(), t, 50)?
        };
        if due.is_empty() {
            return Ok(pass);
        }
        let mut claimed_any = false;
        let mut due = due.into_iter().peekable();
        while due.peek().is_some() {
            // Up to `max_concurrency` rows, each claimed right before its
            // send (at most that many are in flight, and leased, when the
            // process dies), then sent at once.
            let mut group = Vec::new();
            // A row's raw bytes are read once it is claimed: at most
            // `max_concurrency` outgoing mails are in memory, not the 50 due
            // ones (a queue of notifications that carry 20 MB attachments).
            while group.len() < transport.concurrency() {
                let Some(row) = due.next() else { break };
                if stop() || !transport.wait_for_slot(&stop).await {
                    break;
                }
                let raw = {
                    let s = store.lock().map_err(|_| anyhow::anyhow!("store lock poisoned"))?;
                    let t = now();
                    if !store::outbox_claim(s.conn(), row.id, t, t + LEASE)? {
                        continue;
                    }
                    match store::outbox_raw(s.conn(), row.id) {
                        Ok(Some(raw)) => {
                            // A send that may outlast the lease keeps its claim.
                            let lease = chrono::Duration::from_std(crate::smtp::send_bound(raw.len()))?
                                + chrono::Duration::minutes(1);
                            if lease > LEASE {
                                store::outbox_extend_claim(s.conn(), row.id, t + lease)?;
                            }
                            raw
                        }
                        Ok(None) => continue,
                        Err(e) => {
                            // Not readable now, not readable later: this row
                            // fails, the rest of the queue goes on.
                            let e = format!("the stored mail cannot be read: {e:#}");
                            store::outbox_mark_failed(s.conn(), row.id, &e)?;
                            error!(
                                outbox = row.id,
                                kind = row.kind,
                                status = "failed",
                                "failed outbox={}: {e}",
                                row.id
                            );
                            pass.failed += 1;
                            continue;
                        }
                    }
                };
                group.push((row, raw));
            }
            if group.is_empty() {
                if stop() {
                    return Ok(pass);
                }
                continue;
            }
            claimed_any = true;
            expect(group.iter().map(|(_, raw)| crate::smtp::send_bound(raw.len())).max().unwrap_or_default());
            let results = futures::future::join_all(
                group.iter().map(|(row, raw)| transport.send(row.id, &row.kind, from, &row.recipients, raw)),
            )
            .await;
            let mut unreachable = false;
            for ((row, _), result) in group.iter().zip(results) {
                unreachable |= settle(store, row, result, now(), &mut pass)?;
            }
            if unreachable || stop() {
                return Ok(pass);
            }
        }
        if !claimed_any {
            // Every due row was taken by another process: do not spin.
            return Ok(pass);
        }
    }
}

/// Record one send's result: sent, retry later, or failed for good.
/// Returns whether the destination as a whole could not be reached (the
/// caller ends the pass; the row is due again at once).
fn settle(
    store: &Arc<Mutex<Store>>,
    row: &store::OutboxEntry,
    result: Result<(), SendError>,
    now: DateTime<Utc>,
    pass: &mut Pass,
) -> Result<bool> {
    let attempts = row.attempts + 1;
    let s = store.lock().map_err(|_| anyhow::anyhow!("store lock poisoned"))?;
    let (id, kind, to) = (row.id, row.kind.as_str(), angle_list(&row.recipients));
    let err = match result {
        Ok(()) => {
            store::outbox_mark_sent(s.conn(), row.id, now)?;
            status::HEALTH.relay_ok(now);
            info!(outbox = id, kind, to, status = "sent", "sent outbox={id} kind={kind} to={to} status=sent");
            pass.sent += 1;
            return Ok(false);
        }
        Err(e) => e,
    };
    status::HEALTH.send_failed(&err.to_string(), now);
    if let SendError::Unreachable(m) = err {
        // Not this mail's fault: never given up for it. Due again at
        // once, so the next round (the caller decides when) takes
        // the queue as a whole; the caller logs one line for the round.
        store::outbox_mark_retry(s.conn(), row.id, now, &format!("unreachable: {m}"))?;
        pass.retry += 1;
        pass.unreachable = Some(m);
        return Ok(true);
    }
    let permanent = matches!(err, SendError::Permanent(_));
    if (permanent && attempts >= MAX_PERMANENT_ATTEMPTS) || attempts >= MAX_ATTEMPTS {
        store::outbox_mark_failed(s.conn(), row.id, &err.to_string())?;
        warn!(
            outbox = id,
            kind,
            to,
            status = "failed",
            "failed outbox={id} kind={kind} to={to} status=failed attempts={attempts} (given up): {err}"
        );
        pass.failed += 1;
    } else {
        let next = now + backoff(attempts);
        store::outbox_mark_retry(s.conn(), row.id, next, &err.to_string())?;
        pass.retry += 1;
        warn!(
            outbox = id,
            kind,
            to,
            status = "deferred",
            "deferred outbox={id} kind={kind} to={to} status=deferred attempts={attempts} next={}: {err}",
            store::ts(next)
        );
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::minutes(1));
        assert_eq!(backoff(2), Duration::minutes(2));
        assert_eq!(backoff(4), Duration::minutes(8));
        assert_eq!(backoff(30), Duration::hours(1));
    }
}
