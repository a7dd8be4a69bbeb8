//! Checkpoints on a thread of their own, so that the writer does not copy
//! the WAL into the store file and wait for its `fsync` inside a batch.
//!
//! SQLite's automatic checkpoint runs in the connection that commits: after
//! a commit that leaves at least `wal_autocheckpoint` pages in the WAL, the
//! writer copies them into the file and syncs it before it can begin the next
//! batch. In `ingest` that was a fifth of the writer thread's time (`perf`,
//! 3,000 mails into a 200,000-mail store), and the writer is the thread the
//! mails wait for (the prepare thread is idle two thirds of the time).
//!
//! [`Checkpointer`] opens a second connection to the store and runs a passive
//! checkpoint every [`INTERVAL`]: it copies what was committed without taking
//! a lock the writer waits for. The writer's own automatic checkpoint stays as
//! the bound of the WAL, at [`WRITER_PAGES`] instead of 1,000: when the WAL
//! reaches it, the writer checkpoints the little the thread has not copied
//! yet, and its next transaction starts the WAL from its beginning again.
//! Nothing changes for durability: the commit is what makes a mail safe
//! (`synchronous = FULL` syncs the WAL at every commit), a checkpoint only
//! moves committed pages, and after a crash SQLite replays the WAL.

use anyhow::{Context, Result};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the thread copies the committed pages into the store file
/// while mails are written.
pub const INTERVAL: Duration = Duration::from_millis(25);

/// The longest wait of an idle thread: it doubles its wait from
/// [`INTERVAL`] while the WAL stays as it was (a quiet mailbox does not
/// wake the process forty times a second), and is back at [`INTERVAL`]
/// at the first pass that finds new commits.
pub const IDLE_INTERVAL: Duration = Duration::from_secs(1);

/// The writer connection's `wal_autocheckpoint` while a [`Checkpointer`]
/// runs: the most pages the WAL grows to (40 MB) before the writer
/// checkpoints itself and the WAL starts over.
pub const WRITER_PAGES: i64 = 10_000;

/// The checkpointing thread; stopped and joined on drop.
#[derive(Debug)]
pub struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Start checkpointing the store at `path` (an open WAL store) every
    /// [`INTERVAL`] until dropped.
    pub fn start(path: &Path) -> Result<Checkpointer> {
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .with_context(|| format!("opening {} for the checkpoints", path.display()))?;
        // A checkpoint reads WAL frames and writes pages, it keeps none.
        conn.pragma_update(None, "cache_size", 0)?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("supportd-checkpoint".into())
            .spawn(move || run(conn, &flag))
            .context("starting the checkpoint thread")?;
        Ok(Checkpointer { stop, thread: Some(thread) })
    }
}

fn run(conn: Connection, stop: &(Mutex<bool>, Condvar)) {
    let (lock, wake) = stop;
    let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
    let (mut wait, mut last) = (INTERVAL, None);
    loop {
        let (guard, _) = wake.wait_timeout(stopped, wait).unwrap_or_else(|e| e.into_inner());
        stopped = guard;
        if *stopped {
            return;
        }
        // Passive: copies what no reader still needs, waits for nobody. A
        // failure (the store busy, the disk full) is the writer's to meet
        // at its own checkpoint; this one tries again at the next interval.
        // Its row: busy, the WAL's frames, the frames now in the file.
        let wal =
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)));
        if let Err(e) = &wal {
            tracing::debug!("background checkpoint: {e}");
        }
        let now = wal.ok();
        wait = next_wait(wait, last, now);
        last = now;
    }
}

/// The wait after a pass that left the WAL at `now` (frames, frames in the
/// file; `None`: the pass failed) when the one before left it at `last`:
/// nothing new (or the same failure again) doubles it up to
/// [`IDLE_INTERVAL`], anything else brings it back to [`INTERVAL`].
fn next_wait(wait: Duration, last: Option<(i64, i64)>, now: Option<(i64, i64)>) -> Duration {
    if now == last { (wait * 2).min(IDLE_INTERVAL) } else { INTERVAL }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (lock, wake) = &*self.stop;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use std::time::Instant;

    /// Proves: an idle thread waits longer and longer, up to a second; new
    /// commits (or a first failure) bring it back to 25 ms.
    #[test]
    fn an_idle_thread_waits_up_to_a_second_and_new_commits_wake_it_up() {
        let (a, b) = (Some((10, 10)), Some((14, 14)));
        let mut wait = INTERVAL;
        let mut seen = Vec::new();
        for _ in 0..8 {
            wait = next_wait(wait, a, a);
            seen.push(wait.as_millis());
        }
        assert_eq!(seen, [50, 100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(next_wait(IDLE_INTERVAL, a, b), INTERVAL);
        assert_eq!(next_wait(IDLE_INTERVAL, a, None), INTERVAL);
        assert_eq!(next_wait(INTERVAL, None, None), INTERVAL * 2, "the same failure again backs off too");
    }

    /// 8 MB in 20 commits: 2,000 pages, below the writer's [`WRITER_PAGES`].
    fn write_8mb(s: &Store) {
        s.conn().execute_batch("CREATE TABLE filler (b BLOB)").unwrap();
        for _ in 0..20 {
            s.conn().execute("INSERT INTO filler VALUES (randomblob(400000))", []).unwrap();
        }
    }

    fn file_len(p: &Path) -> u64 {
        std::fs::metadata(p).unwrap().len()
    }

    /// Proves: with the thread, what the writer commits reaches the store
    /// file without the writer checkpointing (its bound is 10,000 pages, and
    /// the same writes without the thread leave the file as it was), and
    /// dropping the store stops the thread and makes the last checkpoint.
    #[test]
    fn the_thread_copies_committed_pages_into_the_file_and_stops_with_the_store() {
        let dir = tempfile::tempdir().unwrap();

        let alone = dir.path().join("alone.sqlite3");
        let s = Store::open(&alone).unwrap();
        s.conn().pragma_update(None, "wal_autocheckpoint", WRITER_PAGES).unwrap();
        let before = file_len(&alone);
        write_8mb(&s);
        std::thread::sleep(INTERVAL * 8);
        assert!(file_len(&alone) < before + 1_000_000, "without the thread nothing is copied yet");
        drop(s);

        let path = dir.path().join("s.sqlite3");
        let mut s = Store::open(&path).unwrap();
        s.checkpoint_in_background(&path).unwrap();
        let pages: i64 = s.conn().pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0)).unwrap();
        assert_eq!(pages, WRITER_PAGES);
        let before = file_len(&path);
        write_8mb(&s);
        let started = Instant::now();
        while file_len(&path) < before + 8_000_000 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the thread copied {} bytes",
                file_len(&path) - before
            );
            std::thread::sleep(INTERVAL);
        }
        drop(s);
        let wal = dir.path().join("s.sqlite3-wal");
        assert!(!wal.exists() || file_len(&wal) == 0, "the last connection's close checkpoints and removes the WAL");
        let s = Store::open(&path).unwrap();
        assert_eq!(s.integrity_check().unwrap(), "ok");
        let n: i64 = s.conn().query_row("SELECT count(*) FROM filler", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 20);
    }
}
