//! `mailbox.kind = "imap"` in the daemon: connect, fetch by UID, process +
//! commit, only then acknowledge; IDLE (or poll) in between; reconnect with
//! exponential backoff and jitter on any error.
//!
//! State kept in the store's `state` table, per folder:
//!
//! - `imap.<folder>.uidvalidity`: the UIDVALIDITY the UIDs below belong to;
//! - `imap.<folder>.last_uid`: the highest UID whose mail is committed;
//! - `imap.<folder>.unacked`: UIDs committed but not yet acknowledged on the
//!   server (set in the batch's transaction, cleared after the MOVE/STORE),
//!   so a connection lost between commit and acknowledge is repaired on the
//!   next connect instead of leaving the mail in the INBOX forever. In a
//!   backlog, a batch's MOVE runs while the next batch is processed, and the
//!   next batch's transaction lists both batches' UIDs.
//!
//! All three are written in the same transaction as the batch's mails, so a
//! crash re-fetches at most what was not committed. When UIDVALIDITY changes,
//! `last_uid` goes back to 0; the pipeline's Message-ID + content-hash dedupe
//! turns re-fetched mail into `duplicate` rows (no ticket, no answer).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, anyhow};
use chrono::Utc;
use tokio::sync::{Notify, watch};
use tracing::{debug, error, info, warn};

use crate::config::{Config, Endpoint, MailboxConfig, Security};
use crate::imap::{self, ImapMailbox, ImapSettings};
use crate::pipeline::{self, SharedPipeline};
use crate::store::{self, Store};
use crate::watchdog::Heartbeat;

/// Mails per fetch and per transaction, at most (and beyond the first
/// mail at most `imap::FETCH_BYTES` of them).
pub const BATCH: usize = 200;
/// A connection's first fetch asks for this many mails at most, and each
/// next one for [`BATCH_GROWTH`] times as many, up to [`BATCH`]: the first
/// mails are being stored while the next, larger batch is fetched, instead
/// of the store waiting for a whole batch to arrive (a fetch of 200 mails
/// of 8 KB took 50 ms on loopback TLS, storing 16 takes about 12 ms).
pub const FIRST_BATCH: usize = 16;
pub const BATCH_GROWTH: usize = 4;
/// Longest IDLE before it is re-issued (RFC 2177: below 29 minutes).
pub const IDLE_MAX: Duration = Duration::from_secs(25 * 60);
/// In a backlog, the outbox is woken at most this long after the first batch.
const BACKLOG_NOTIFY: Duration = Duration::from_secs(5);
/// First reconnect delay; doubles per failure up to [`BACKOFF_MAX`].
pub const BACKOFF_MIN: Duration = Duration::from_secs(1);
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// The IMAP part of a config.
#[derive(Debug, Clone)]
pub struct ImapSource {
    pub settings: ImapSettings,
    pub idle: bool,
    pub poll_interval: Duration,
}

/// Maps `config::Security` to the IMAP/SMTP edge's spelling.
pub fn security(s: Security) -> imap::Security {
    match s {
        Security::Tls => imap::Security::Tls,
        Security::StartTls => imap::Security::StartTls,
        Security::Plain => imap::Security::Plain,
    }
}

impl ImapSource {
    /// `None` when the mailbox is not IMAP.
    pub fn from_config(cfg: &Config) -> Option<Result<ImapSource>> {
        let MailboxConfig::Imap { endpoint, folder, processed_folder, idle, poll_interval_secs } = &cfg.mailbox else {
            return None;
        };
        Some(Self::build(cfg, endpoint, folder, processed_folder, *idle, *poll_interval_secs))
    }

    fn build(
        cfg: &Config,
        e: &Endpoint,
        folder: &str,
        processed_folder: &Option<String>,
        idle: bool,
        poll_interval_secs: u64,
    ) -> Result<ImapSource> {
        let username =
            e.username.clone().ok_or_else(|| anyhow!("{}: mailbox.username is required for IMAP", cfg.source))?;
        let password = match (&e.token, &e.password) {
            (Some(_), _) => String::new(),
            (None, Some(p)) => p.clone(),
            (None, None) => {
                return Err(anyhow!(
                    "{}: mailbox.password or mailbox.password_file is required for IMAP (or auth = \"xoauth2\")",
                    cfg.source
                ));
            }
        };
        Ok(ImapSource {
            settings: ImapSettings {
                host: e.host.clone(),
                port: e.port,
                security: security(e.security),
                username,
                password,
                token: e.token.clone(),
                ca_file: e.ca_file.clone(),
                folder: folder.to_string(),
                processed_folder: processed_folder.clone(),
            },
            idle,
            poll_interval: Duration::from_secs(poll_interval_secs.max(1)),
        })
    }

    fn key(&self, what: &str) -> String {
        format!("imap.{}.{what}", self.settings.folder)
    }
}

/// Where the folder stands in the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Position {
    pub uid_validity: Option<u32>,
    pub last_uid: u32,
    pub unacked: Vec<u32>,
}

fn load_position(src: &ImapSource, conn: &rusqlite::Connection) -> Result<Position> {
    let num = |k: &str| -> Result<Option<u32>> {
        Ok(store::get_state(conn, &src.key(k))?.and_then(|v| v.trim().parse::<u32>().ok()))
    };
    let unacked = store::get_state(conn, &src.key("unacked"))?
        .unwrap_or_default()
        .split(',')
        .filter_map(|u| u.trim().parse::<u32>().ok())
        .collect();
    Ok(Position { uid_validity: num("uidvalidity")?, last_uid: num("last_uid")?.unwrap_or(0), unacked })
}

fn save_position(src: &ImapSource, conn: &rusqlite::Connection, p: &Position) -> Result<()> {
    if let Some(v) = p.uid_validity {
        store::set_state(conn, &src.key("uidvalidity"), &v.to_string())?;
    }
    store::set_state(conn, &src.key("last_uid"), &p.last_uid.to_string())?;
    let unacked: Vec<String> = p.unacked.iter().map(u32::to_string).collect();
    store::set_state(conn, &src.key("unacked"), &unacked.join(","))?;
    Ok(())
}

/// Runs `f` with the locked store on the blocking pool (rusqlite's
/// connection must not be held across an `.await`).
async fn with_store<T: Send + 'static>(
    store: &Arc<Mutex<Store>>,
    f: impl FnOnce(&mut Store) -> Result<T> + Send + 'static,
) -> Result<T> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        let mut s = store.lock().map_err(|_| anyhow!("store lock poisoned"))?;
        f(&mut s)
    })
    .await
    .context("store task")?
}

/// Reconnect delay: `base` minus up to a quarter of it as jitter from the
/// clock's nanoseconds (spreads many daemons after a shared outage and
/// never exceeds the cap).
pub fn with_jitter(base: Duration) -> Duration {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let quarter = base.as_millis() as u64 / 4;
    base - Duration::from_millis(if quarter == 0 { 0 } else { u64::from(nanos) % quarter })
}

/// Health of the connection for "log once per state change".
struct Health {
    failing: bool,
    backoff: Duration,
}

impl Health {
    fn ok(&mut self, what: &str) {
        crate::status::HEALTH.mailbox_ok(Utc::now());
        if self.failing {
            info!("IMAP mailbox: {what}, working again");
        }
        self.failing = false;
        self.backoff = BACKOFF_MIN;
    }
}

/// A connection being opened while the daemon starts (see [`connect_ahead`]).
pub type Ahead = tokio::task::JoinHandle<Result<ImapMailbox>>;

/// Starts connecting (TCP, TLS, login, SELECT: several round trips to the
/// server) at once, so that it runs while the store opens and the
/// classifier is built; [`run`] takes the connection over. A failure is the
/// first session's failure (logged, backoff, reconnect).
pub fn connect_ahead(src: &ImapSource) -> Ahead {
    let settings = src.settings.clone();
    tokio::spawn(async move { ImapMailbox::connect(&settings).await })
}

/// The daemon's mailbox loop for IMAP; returns when `stop` turns true.
/// `queued` is poked after every committed batch (the outbox worker wakes).
/// `ahead`: the first connection, when it was started ahead.
pub async fn run(
    src: ImapSource,
    mut ahead: Option<Ahead>,
    pipeline: Arc<SharedPipeline>,
    store: Arc<Mutex<Store>>,
    queued: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    beat: Arc<Heartbeat>,
) -> Result<()> {
    let mut health = Health { failing: false, backoff: BACKOFF_MIN };
    loop {
        if *stop.borrow() {
            if let Some(a) = ahead.take() {
                a.abort();
            }
            return Ok(());
        }
        beat.working();
        let link = Link { ahead: ahead.take(), once: false };
        match session(&src, link, &pipeline, &store, &queued, &mut stop, &mut health, &beat).await {
            Ok(_) => return Ok(()),
            Err(e) => {
                crate::status::HEALTH.mailbox_failed(&format!("{e:#}"), Utc::now());
                if health.failing {
                    debug!("IMAP mailbox still failing: {e:#}");
                } else {
                    error!(
                        "IMAP mailbox {}:{}: {e:#}; reconnecting with backoff",
                        src.settings.host, src.settings.port
                    );
                }
                health.failing = true;
                let wait = with_jitter(health.backoff);
                health.backoff = (health.backoff * 2).min(BACKOFF_MAX);
                beat.waiting(wait);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => return Ok(()),
                }
            }
        }
    }
}

/// `supportd run --once`: one connection, everything waiting is processed
/// and acknowledged, then LOGOUT. Returns the number of mails.
pub async fn drain_once(src: &ImapSource, pipeline: &Arc<SharedPipeline>, store: &Arc<Mutex<Store>>) -> Result<usize> {
    let (_tx, mut stop) = watch::channel(false);
    let mut health = Health { failing: false, backoff: BACKOFF_MIN };
    let beat = Arc::new(Heartbeat::new("mailbox"));
    let link = Link { ahead: None, once: true };
    session(src, link, pipeline, store, &Arc::new(Notify::new()), &mut stop, &mut health, &beat).await
}

/// How a session gets its connection and when it ends.
struct Link {
    /// A connection started ahead, else the session connects itself.
    ahead: Option<Ahead>,
    /// Return as soon as the folder is drained (`run --once`).
    once: bool,
}

/// One connection: connect, repair, then fetch/process/ack/wait until stop
/// (Ok) or an error (Err: the caller backs off and reconnects). With `once`
/// it returns as soon as the folder is drained. Ok holds the mail count.
#[allow(clippy::too_many_arguments)]
async fn session(
    src: &ImapSource,
    link: Link,
    pipeline: &Arc<SharedPipeline>,
    store: &Arc<Mutex<Store>>,
    queued: &Arc<Notify>,
    stop: &mut watch::Receiver<bool>,
    health: &mut Health,
    beat: &Arc<Heartbeat>,
) -> Result<usize> {
    let once = link.once;
    let mut mb = match link.ahead {
        Some(mut ahead) => tokio::select! {
            r = &mut ahead => r.context("IMAP connect task")??,
            _ = stop.changed() => {
                ahead.abort();
                return Ok(0);
            }
        },
        None => tokio::select! {
            r = ImapMailbox::connect(&src.settings) => r?,
            _ = stop.changed() => return Ok(0),
        },
    };
    // A large mail on a slow link is work in progress, not a hang.
    let alive = beat.clone();
    mb.on_progress(move || alive.working());
    if !src.idle {
        mb.forget_capability("IDLE");
    }
    info!(
        "IMAP connected to {}:{} as {}, folder {} (UIDVALIDITY {}), {}",
        src.settings.host,
        src.settings.port,
        src.settings.username,
        src.settings.folder,
        mb.uid_validity(),
        if mb.supports_idle() {
            "waiting with IDLE".to_string()
        } else {
            format!("polling every {:?}", src.poll_interval)
        }
    );
    let result = serve(src, &mut mb, pipeline, store, queued, stop, health, beat, once).await;
    if result.is_ok() {
        // Stopping: say goodbye, but do not hold the shutdown up for it.
        let _ = tokio::time::timeout(Duration::from_secs(2), mb.logout()).await;
    }
    result
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    src: &ImapSource,
    mb: &mut ImapMailbox,
    pipeline: &Arc<SharedPipeline>,
    store: &Arc<Mutex<Store>>,
    queued: &Arc<Notify>,
    stop: &mut watch::Receiver<bool>,
    health: &mut Health,
    beat: &Heartbeat,
    once: bool,
) -> Result<usize> {
    let mut total = 0;
    let validity = mb.uid_validity();
    let mut pos = {
        let src = src.clone();
        with_store(store, move |s| load_position(&src, s.conn())).await?
    };
    if pos.uid_validity != Some(validity) {
        if let Some(old) = pos.uid_validity {
            warn!(
                folder = src.settings.folder,
                "UIDVALIDITY changed from {old} to {validity}: reading the folder again from the start \
                 (already stored mails become duplicates)"
            );
        }
        pos = Position { uid_validity: Some(validity), last_uid: 0, unacked: Vec::new() };
        let (s2, p2) = (src.clone(), pos.clone());
        with_store(store, move |s| save_position(&s2, s.conn(), &p2)).await?;
    } else if !pos.unacked.is_empty() {
        // Committed before the last connection broke, never acknowledged.
        info!("acknowledging {} mails committed before the last disconnect", pos.unacked.len());
        mb.acknowledge(&pos.unacked).await?;
        pos.unacked.clear();
        let (s2, p2) = (src.clone(), pos.clone());
        with_store(store, move |s| save_position(&s2, s.conn(), &p2)).await?;
    }

    // The next batch, fetched while the previous one was being processed.
    let mut prefetched: Option<Vec<imap::Fetched>> = None;
    // In a backlog, a committed batch is acknowledged (MOVE) while the next
    // one is processed; until that MOVE is confirmed its UIDs stay listed as
    // unacknowledged in the store (the next batch's transaction lists both).
    let mut in_flight: Vec<u32> = Vec::new();
    // The acknowledged batch is still listed as unacknowledged in the store;
    // the next batch's transaction overwrites that, or it is cleared before
    // waiting for new mail (one commit, i.e. one fsync, less per batch of a
    // backlog; a crash in between only repeats a MOVE of moved UIDs, which
    // the server ignores).
    let mut clear_unacked = false;
    // During a backlog storing comes first: the outbox is woken when the
    // backlog is drained, or every BACKLOG_NOTIFY at the latest.
    let mut notified = std::time::Instant::now();
    // Mails the next fetch asks for (see FIRST_BATCH).
    let mut batch = FIRST_BATCH;
    loop {
        if *stop.borrow() {
            if !in_flight.is_empty() {
                // Committed: tell the server before leaving (else the next start does).
                mb.acknowledge(&in_flight).await?;
            }
            return Ok(total);
        }
        beat.working();
        let fetched = match prefetched.take() {
            Some(f) => f,
            None => tokio::select! {
                r = mb.fetch_after(pos.last_uid, batch) => r?,
                _ = stop.changed() => return Ok(total),
            },
        };
        // A backlog: the fetch left mail on the server (BATCH mails or
        // imap::FETCH_BYTES of them at most).
        let backlog = mb.more_waiting();
        batch = if backlog { (batch * BATCH_GROWTH).min(BATCH) } else { FIRST_BATCH };
        // Healthy means a whole cycle worked: an empty fetch, or a batch
        // committed and acknowledged (a store that keeps failing its commit
        // must not reset the backoff on every successful fetch).
        if fetched.is_empty() {
            health.ok("connected and reading");
        } else {
            let n = fetched.len();
            let uids: Vec<u32> = fetched.iter().map(|f| f.uid).collect();
            let to_ack = std::mem::take(&mut in_flight);
            let next = Position {
                uid_validity: Some(validity),
                last_uid: uids.iter().copied().max().unwrap_or(pos.last_uid).max(pos.last_uid),
                unacked: to_ack.iter().chain(&uids).copied().collect(),
            };
            let folder = src.settings.folder.clone();
            // INTERNALDATE: when the mail reached the mailbox (the customer's clock).
            let arrivals: Vec<Option<chrono::DateTime<Utc>>> = fetched.iter().map(|f| f.internal_date).collect();
            let mails: Vec<(String, Vec<u8>)> =
                fetched.into_iter().map(|f| (format!("imap:{folder}/{validity}/{}", f.uid), f.raw)).collect();
            let (p, s2, n2) = (pipeline.current(), src.clone(), next.clone());
            // Not raced against `stop`: the batch in hand is finished.
            let started = std::time::Instant::now();
            let process = async {
                let r = with_store(store, move |s| {
                    pipeline::process_batch_arrived_then(&p, s, &mails, &arrivals, Utc::now(), |tx, _| {
                        save_position(&s2, tx, &n2)
                    })
                })
                .await;
                debug!("{n} mails processed in {} ms", started.elapsed().as_millis());
                r
            };
            // Meanwhile, on the connection (the processing runs on the
            // blocking pool): the MOVE of the batch committed before, and
            // in a backlog the fetch of the next one.
            let last_uid = next.last_uid;
            let io = async {
                if !to_ack.is_empty() {
                    mb.acknowledge(&to_ack).await?;
                }
                if !backlog {
                    return anyhow::Ok(None);
                }
                let next = mb.fetch_after(last_uid, batch).await?;
                debug!(
                    "MOVE of the batch before and {} mails fetched ahead in {} ms",
                    next.len(),
                    started.elapsed().as_millis()
                );
                Ok(Some(next))
            };
            let (outcomes, io) = tokio::join!(process, io);
            let outcomes = outcomes.context("processing an IMAP batch (left unacknowledged on the server)")?;
            let new = outcomes.iter().filter(|o| !o.queued.is_empty()).count();
            info!(folder = src.settings.folder, "{n} mails committed ({new} answered), up to UID {}", next.last_uid);
            total += n;
            // A failed MOVE or read-ahead is the connection's failure
            // (reconnect); both batches are committed and listed as
            // unacknowledged, so the next connection moves them.
            let ahead = io?;
            in_flight = uids;
            pos = Position { unacked: in_flight.clone(), ..next };
            clear_unacked = true;
            prefetched = ahead.filter(|f| !f.is_empty());
            if prefetched.is_some() {
                health.ok("connected, mail committed");
                if notified.elapsed() >= BACKLOG_NOTIFY {
                    queued.notify_one();
                    notified = std::time::Instant::now();
                }
                continue;
            }
            queued.notify_one();
            notified = std::time::Instant::now();
            // Only now, after the commit, tell the server.
            mb.acknowledge(&in_flight).await?;
            in_flight.clear();
            pos.unacked.clear();
            health.ok("connected, mail committed");
        }
        if clear_unacked {
            let (s2, p2) = (src.clone(), pos.clone());
            with_store(store, move |s| save_position(&s2, s.conn(), &p2)).await?;
            clear_unacked = false;
        }
        if once {
            return Ok(total);
        }
        let max = if mb.supports_idle() { IDLE_MAX } else { src.poll_interval };
        // IDLE ends after `max` at the latest, plus its start and DONE (each bounded).
        beat.waiting(max + 2 * imap::COMMAND_TIMEOUT);
        tokio::select! {
            r = mb.wait(max) => r?,
            _ = stop.changed() => return Ok(total),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_a_quarter() {
        for s in [1, 2, 64, 300] {
            let base = Duration::from_secs(s);
            let w = with_jitter(base);
            assert!(w <= base && w >= base - base / 4, "{w:?} for {base:?}");
        }
    }

    #[test]
    fn position_round_trips_through_the_state_table() {
        let store = Store::open_in_memory().unwrap();
        let src = ImapSource {
            settings: ImapSettings {
                host: "h".into(),
                port: 1,
                security: imap::Security::Plain,
                username: "u".into(),
                password: "p".into(),
                token: None,
                ca_file: None,
                folder: "INBOX".into(),
                processed_folder: None,
            },
            idle: true,
            poll_interval: Duration::from_secs(60),
        };
        assert_eq!(load_position(&src, store.conn()).unwrap(), Position::default());
        let p = Position { uid_validity: Some(7), last_uid: 42, unacked: vec![40, 42] };
        save_position(&src, store.conn(), &p).unwrap();
        assert_eq!(load_position(&src, store.conn()).unwrap(), p);
        assert_eq!(store::get_state(store.conn(), "imap.INBOX.last_uid").unwrap().as_deref(), Some("42"));
    }
}
