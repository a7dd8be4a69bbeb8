//! The claim of an outgoing mail while it is being sent: a row is claimed
//! for one attempt (its `next_attempt_at` pushed to the end of a lease), so
//! a second sender (a concurrent `supportd ingest`) leaves it alone, and a
//! row whose sender died becomes due again.

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::ts;

/// Claim a due row for one send attempt: counts the attempt and pushes
/// `next_attempt_at` to `lease_until` (when a crashed sender's row becomes
/// due again), but only if the row is still queued and due at `now`. False:
/// another process (a concurrent `supportd ingest`) claimed it first or it
/// was sent meanwhile: do not send it.
pub fn outbox_claim(conn: &Connection, id: i64, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?1, last_error = ?4 \
         WHERE id = ?2 AND state = 'queued' AND held IS NULL AND next_attempt_at <= ?3",
        )?
        .execute(params![ts(lease_until), id, ts(now), format!("{CLAIM_MARK} {}", ts(now))])?;
    Ok(n == 1)
}

/// `last_error` of a row while a send is in flight (retry overwrites it,
/// sent clears it); a row still marked after a crash was claimed by a dead
/// process.
pub const CLAIM_MARK: &str = "sending since";

/// At daemon start: rows whose send was in flight when the previous process
/// died are due now instead of after the lease. Returns how many.
pub fn outbox_release_claims(conn: &Connection, now: DateTime<Utc>) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE outbox SET next_attempt_at = ?1, last_error = 'interrupted (process ended during the send)' \
         WHERE state = 'queued' AND last_error LIKE ?2 AND next_attempt_at > ?1",
        params![ts(now), format!("{CLAIM_MARK}%")],
    )?)
}

/// A claimed row's lease, moved to `lease_until`: a send that may take
/// longer than the lease (a large mail, see `smtp::send_bound`) keeps it,
/// or another sender could claim the row and send it a second time.
pub fn outbox_extend_claim(conn: &Connection, id: i64, lease_until: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached("UPDATE outbox SET next_attempt_at = ?1 WHERE id = ?2 AND state = 'queued'")?
        .execute(params![ts(lease_until), id])?;
    Ok(())
}
