//! The SQLite store: open + migrate, and the reads and writes of tickets,
//! messages, events, outbox rows and attachments.
//!
//! Invariant: the connection is owned by one thread; writers wrap their
//! work in one transaction (see `pipeline`), so a ticket change and the mails
//! it causes commit together or not at all.

use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

pub mod changes;
pub mod checkpoint;
pub mod claims;
pub use claims::{CLAIM_MARK, outbox_claim, outbox_extend_claim, outbox_release_claims};
pub mod compact;
pub mod dict;
pub mod erasure;
pub mod events;
pub use events::{Event, events, insert_event, ticket_events};
pub mod listing;
pub mod report;
pub mod report_months;
pub use report::{ReportRow, ReportRows, report_rows, report_rows_of, ticket_subject};
pub mod retention;
pub use changes::{Change, changes, changes_needing_reminder, insert_change, mark_change_reminded, set_change_state};
pub use compact::{insert_packed, insert_raw, put_blob, raw_bytes, repack_raw};

/// Append-only, numbered migrations. `PRAGMA user_version` is the count applied.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_initial", include_str!("migrations/0001_initial.sql")),
    ("0002_message_refs", include_str!("migrations/0002_message_refs.sql")),
    ("0003_workflow", include_str!("migrations/0003_workflow.sql")),
    ("0004_outbox_ticket_index", include_str!("migrations/0004_outbox_ticket_index.sql")),
    ("0005_trail", include_str!("migrations/0005_trail.sql")),
    ("0006_reports", include_str!("migrations/0006_reports.sql")),
    ("0007_inflight", include_str!("migrations/0007_inflight.sql")),
    ("0008_requester_name", include_str!("migrations/0008_requester_name.sql")),
    ("0009_outbox_held", include_str!("migrations/0009_outbox_held.sql")),
    ("0010_arrived_at", include_str!("migrations/0010_arrived_at.sql")),
    ("0011_inflight_alone", include_str!("migrations/0011_inflight_alone.sql")),
    ("0012_security_flag", include_str!("migrations/0012_security_flag.sql")),
    ("0013_compact_store", include_str!("migrations/0013_compact_store.sql")),
    ("0014_incremental_vacuum", include_str!("migrations/0014_incremental_vacuum.sql")),
    ("0015_listing_indexes", include_str!("migrations/0015_listing_indexes.sql")),
    ("0016_retention_erasure", include_str!("migrations/0016_retention_erasure.sql")),
    ("0017_firstlevel", include_str!("migrations/0017_firstlevel.sql")),
    ("0018_counters", include_str!("migrations/0018_counters.sql")),
    ("0019_report_months", include_str!("migrations/0019_report_months.sql")),
    ("0020_dictionaries", include_str!("migrations/0020_dictionaries.sql")),
    ("0021_fewer_ticket_indexes", include_str!("migrations/0021_fewer_ticket_indexes.sql")),
    ("0022_dictionary_current", include_str!("migrations/0022_dictionary_current.sql")),
    ("0023_outbox_rcpt_without_rowid", include_str!("migrations/0023_outbox_rcpt_without_rowid.sql")),
    ("0024_blob_tails", include_str!("migrations/0024_blob_tails.sql")),
    ("0025_outbox_rcpt_kind", include_str!("migrations/0025_outbox_rcpt_kind.sql")),
];

/// The schema [`MIGRATIONS`] build, as one script: a new store is created
/// with it (tests/migrations.rs proves it equal and writes it anew).
pub const FRESH_SCHEMA: &str = include_str!("fresh_schema.sql");

/// The migrations of the compact store, retention and erasure (see [`Store::ensure_lifecycle_schema`]).
const LIFECYCLE_MIGRATIONS: &[(&str, &str)] = &[
    ("0013_compact_store", include_str!("migrations/0013_compact_store.sql")),
    ("0014_incremental_vacuum", include_str!("migrations/0014_incremental_vacuum.sql")),
    ("0015_listing_indexes", include_str!("migrations/0015_listing_indexes.sql")),
    ("0016_retention_erasure", include_str!("migrations/0016_retention_erasure.sql")),
];

/// State key of the Message-ID secret (generated with the schema, see [`Store::migrate`]).
pub const SECRET_KEY: &str = "message_id_secret";
/// State key written into a backup copy only (`supportd backup`): the time
/// the backup was taken. A store that carries it was restored from a backup.
pub const BACKUP_TAKEN_KEY: &str = "backup.taken_at";
/// State key set when a restored store was first opened: "<backup time> opened <time>, <n> outgoing mails held".
pub const RESTORED_FROM_KEY: &str = "restored_from";

/// State key of migration 0014: the file still needs its one VACUUM.
pub const VACUUM_PENDING_KEY: &str = "vacuum.pending";

/// Run a long one-time step (a conversion at the first start of a new
/// version) while telling systemd every 20 s that the start takes longer
/// (`EXTEND_TIMEOUT_USEC`): a unit's start timeout must not kill it and
/// restart it into the same step for ever. Outside systemd a no-op.
fn keep_systemd_waiting<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let what = what.to_string();
    let pinger = std::thread::spawn(move || {
        loop {
            let _ = sd_notify::notify(&[
                sd_notify::NotifyState::ExtendTimeoutUsec(60_000_000),
                sd_notify::NotifyState::Status(&what),
            ]);
            if done_rx.recv_timeout(std::time::Duration::from_secs(20)).is_ok() {
                return;
            }
        }
    });
    let out = f();
    let _ = done_tx.send(());
    let _ = pinger.join();
    out
}

/// Bytes free for an unprivileged writer on the file system of `path`.
fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid NUL-terminated path and a zeroed out-struct.
    (unsafe { libc::statvfs(c.as_ptr(), &mut st) } == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

/// How long a connection waits for another process's write lock.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How often [`Store::open`] tries again when the new store is locked.
const OPEN_BUSY_RETRIES: u64 = 50;

/// The store was locked by another process (`SQLITE_BUSY`/`SQLITE_LOCKED`).
fn is_busy(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::SqliteFailure(f, _))
                if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    })
}

/// A schema version this binary can work with (not newer than it knows).
fn check_version(version: i64) -> Result<()> {
    if version as usize > MIGRATIONS.len() || version < 0 {
        anyhow::bail!(
            "the database has schema version {version}, this supportd knows {}: refusing to run an older binary on it",
            MIGRATIONS.len()
        );
    }
    Ok(())
}

/// `bytes` random bytes from the kernel, hex.
fn random_hex(bytes: usize) -> Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf)).context("reading /dev/urandom")?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// A store restored from a backup (it carries [`BACKUP_TAKEN_KEY`], which
/// only `supportd backup` writes, into the copy): every outgoing mail still
/// queued in it was queued when the backup was taken and may well have been
/// sent since, so each is held until an operator releases or discards it;
/// the marker is replaced by [`RESTORED_FROM_KEY`]. Returns the backup time
/// and how many were held, or `None` for a store that is not a fresh restore.
pub fn hold_restored(conn: &Connection, now: DateTime<Utc>) -> Result<Option<(String, usize)>> {
    let Some(taken) = get_state(conn, BACKUP_TAKEN_KEY)? else { return Ok(None) };
    let n = conn.execute(
        "UPDATE outbox SET held = ?1 WHERE state = 'queued' AND held IS NULL",
        [format!("restored from the backup of {taken}: maybe sent already")],
    )?;
    conn.execute("DELETE FROM state WHERE key = ?1", [BACKUP_TAKEN_KEY])?;
    set_state(conn, RESTORED_FROM_KEY, &format!("backup of {taken}, opened {}, {n} outgoing mails held", ts(now)))?;
    Ok(Some((taken, n)))
}

/// Prepared statements kept per connection (`prepare_cached`).
const STATEMENT_CACHE: usize = 64;

pub use crate::domain::{parse_ts, ts};

/// An open, migrated database.
pub struct Store {
    /// The checkpoint thread (stopped first: closing `conn` checkpoints last).
    checkpointer: Option<checkpoint::Checkpointer>,
    conn: Connection,
    /// The in-flight marker of `run` and `ingest` (`None`: not guarded): an
    /// `inflight::Guard`, held here without naming its type so that the
    /// store does not import `inflight`, which imports the store.
    inflight: Option<Box<dyn std::any::Any + Send>>,
}

impl Store {
    /// Open (creating the file and its directory if needed) and migrate.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating the store directory {}", dir.display()))?;
        }
        // Processes that open a new store at the same moment (the daemon and
        // an operator's commands during an install) can find it locked in a
        // step SQLite does not wait for (switching a fresh file to WAL); the
        // preparation is idempotent, so it is tried again for a while.
        let mut attempt = 0;
        let mut store = loop {
            let conn = Connection::open(path).with_context(|| format!("opening the store {}", path.display()))?;
            match Store::init(conn) {
                Ok(store) => break store,
                Err(e) if attempt < OPEN_BUSY_RETRIES && is_busy(&e) => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20 * attempt.min(10)));
                }
                Err(e) => return Err(e.context(format!("preparing the store {}", path.display()))),
            }
        };
        store.finish_conversion(path).with_context(|| format!("compacting the store {}", path.display()))?;
        Ok(store)
    }

    /// The in-place conversions migrations 0013 and 0014 ask for: compress
    /// the rows of an older store in batches ([`compact::convert_pending`]),
    /// then switch the file to incremental vacuum with one `VACUUM` when the
    /// file system has room for the copy it writes (else later, logged).
    fn finish_conversion(&mut self, path: &Path) -> Result<()> {
        let plain: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM messages WHERE raw_format = 0) OR EXISTS (SELECT 1 FROM outbox WHERE raw_format = 0)",
            [],
            |r| r.get(0),
        )? || get_state(&self.conn, compact::BLOB_CURSOR_KEY)?.is_some();
        if plain {
            let conn = &mut self.conn;
            let n = keep_systemd_waiting("compacting the store (migration 0013)", || compact::convert_pending(conn))?;
            tracing::info!("compacted the store {}: {n} rows converted", path.display());
        }
        if get_state(&self.conn, VACUUM_PENDING_KEY)?.is_none() {
            return Ok(());
        }
        let mode: i64 = self.conn.pragma_query_value(None, "auto_vacuum", |r| r.get(0))?;
        if mode != 2 {
            let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            let free = free_bytes(path).unwrap_or(0);
            if free < size.saturating_mul(2) + (64 << 20) {
                tracing::warn!(
                    "the store {} ({size} bytes) needs one VACUUM to hand freed pages back (auto_vacuum=incremental), \
                     but its file system has only {free} bytes free: postponed to a later start",
                    path.display()
                );
                return Ok(());
            }
            tracing::info!("switching the store {} to incremental vacuum (one VACUUM of {size} bytes)", path.display());
            self.conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
            let conn = &self.conn;
            keep_systemd_waiting("rewriting the store once (migration 0014)", || conn.execute_batch("VACUUM"))?;
        }
        self.conn.execute("DELETE FROM state WHERE key = ?1", [VACUUM_PENDING_KEY])?;
        Ok(())
    }

    /// Open an existing store read-write (an operator's command that
    /// changes it, like `outbox release`): a store that does not exist is an
    /// error naming the path, never created.
    pub fn open_existing_writable(path: &Path) -> Result<Store> {
        if !path.is_file() {
            anyhow::bail!("the store {} does not exist (check store.path in the config)", path.display());
        }
        Store::open(path)
    }

    /// Open an existing store for a command that only reads it: a store
    /// that does not exist is an error naming the path (a mistyped
    /// `store.path` must not create an empty store and report zero counts).
    /// The connection is read-only; a store at an older schema version is
    /// opened read-write once and migrated (as the daemon would at start).
    pub fn open_existing(path: &Path) -> Result<Store> {
        if !path.is_file() {
            anyhow::bail!(
                "the store {} does not exist (check store.path in the config; this command only reads the store and does not create it)",
                path.display()
            );
        }
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .with_context(|| format!("opening the store {} read-only", path.display()))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .with_context(|| format!("reading the store {}", path.display()))?;
        check_version(version).with_context(|| format!("the store {}", path.display()))?;
        let lifecycle: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM pragma_table_info('messages') WHERE name = 'raw_format')",
            [],
            |r| r.get(0),
        )?;
        if (version as usize) < MIGRATIONS.len() || !lifecycle {
            drop(conn);
            return Store::open(path);
        }
        conn.pragma_update(None, "cache_size", -1024)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Store { checkpointer: None, conn, inflight: None })
    }

    /// A private in-memory store (tests, `classify`).
    pub fn open_in_memory() -> Result<Store> {
        Store::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Takes effect only on a file without tables (a new store); an
        // older file switches with one VACUUM (migration 0014).
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if mode != "wal" && mode != "memory" {
            anyhow::bail!("journal_mode is {mode}, WAL was asked for");
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // What is deleted or overwritten is zeroed in the file, not left in
        // free space (retention, erasure: nothing of a mail stays findable).
        conn.pragma_update(None, "secure_delete", "ON")?;
        // 1 MiB of page cache instead of SQLite's 2 MB: the writes append,
        // the lookups (duplicates, threading) touch a few index pages, and
        // the kernel caches the file anyway. -1.3 MB peak RSS.
        conn.pragma_update(None, "cache_size", -1024)?;
        // The per-mail SAVEPOINT and the statement journals live in memory
        // instead of a temp file: they only undo work inside the open
        // transaction (nothing of them is needed after a crash), and each is
        // small because the savepoint is released after every mail.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // Plans that do not depend on bound values: otherwise a cached
        // statement whose plan looked at a parameter is re-compiled on every
        // use (rusqlite clears the bindings when it returns it to the cache).
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        // Every statement of the per-mail path fits (the default holds 16).
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let mut store = Store { checkpointer: None, conn, inflight: None };
        store.migrate()?;
        store.ensure_lifecycle_schema()?;
        Ok(store)
    }

    /// Apply the migrations not yet applied, each in its own transaction
    /// (all of them in one for a new store), then make sure the store has
    /// its Message-ID secret and hold the outbox of a restored backup
    /// ([`hold_restored`]).
    ///
    /// Safe to race: several processes may open a fresh store at the same
    /// moment (the daemon and a monitoring command during an install). Each
    /// step runs in a `BEGIN IMMEDIATE` transaction (one writer at a time;
    /// the others wait up to the busy timeout) and reads `user_version`
    /// again inside it, so a migration another process applied meanwhile is
    /// skipped, never applied twice.
    pub fn migrate(&mut self) -> Result<()> {
        let version: i64 = self.conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        check_version(version)?;
        if version as usize == MIGRATIONS.len()
            && get_state(&self.conn, SECRET_KEY)?.is_some()
            && get_state(&self.conn, BACKUP_TAKEN_KEY)?.is_none()
        {
            return Ok(());
        }
        loop {
            let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            check_version(version)?;
            let Some(migration) = MIGRATIONS.get(version as usize) else {
                if get_state(&tx, SECRET_KEY)?.is_none() {
                    set_state(&tx, SECRET_KEY, &random_hex(32)?)?;
                }
                let held = hold_restored(&tx, Utc::now())?;
                tx.commit()?;
                if let Some((taken, n)) = held {
                    tracing::warn!(
                        "this store was restored from a backup taken at {taken}: {n} outgoing mails that were queued \
                         then are held (supportd outbox list --state held; outbox release --all or outbox delete --all)"
                    );
                }
                return Ok(());
            };
            // A new store gets the whole schema in one step: what the
            // migrations build one after the other, 3x faster to create.
            let applied = if version == 0 {
                tx.execute_batch(FRESH_SCHEMA).context("the schema of a new store")?;
                MIGRATIONS.len()
            } else {
                tx.execute_batch(migration.1).with_context(|| format!("migration {}", migration.0))?;
                1
            };
            tx.pragma_update(None, "user_version", version + applied as i64)?;
            tx.commit()?;
        }
    }

    /// Migrations 0013–0016 (compact store, vacuum, listing indexes,
    /// retention and erasure) were numbered while other branches reserved
    /// those numbers with no-op placeholders: a store whose `user_version`
    /// went past them with the placeholders lacks their schema. Applied
    /// here, once, in one transaction, when `messages.raw_format` is missing.
    fn ensure_lifecycle_schema(&mut self) -> Result<()> {
        let has: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM pragma_table_info('messages') WHERE name = 'raw_format')",
            [],
            |r| r.get(0),
        )?;
        if has {
            return Ok(());
        }
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let again: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM pragma_table_info('messages') WHERE name = 'raw_format')",
            [],
            |r| r.get(0),
        )?;
        if !again {
            tracing::warn!("the store skipped the compact-store migrations (placeholders): applying them now");
            // 0024 (run already) put blobs' tail columns before 0013's codec:
            // they go and come back after it, in a fresh store's order. No
            // body here has a tail: the binary that ran the placeholders
            // never wrote one.
            let tails: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM pragma_table_info('blobs') WHERE name = 'tail_first')",
                [],
                |r| r.get(0),
            )?;
            if tails {
                tx.execute_batch(
                    "ALTER TABLE blobs DROP COLUMN tail_first; ALTER TABLE blobs DROP COLUMN tail_pieces;",
                )?;
            }
            for (name, sql) in LIFECYCLE_MIGRATIONS {
                tx.execute_batch(sql).with_context(|| format!("migration {name} (applied late)"))?;
            }
            if tails {
                tx.execute_batch(
                    "ALTER TABLE blobs ADD COLUMN tail_first INTEGER; \
                     ALTER TABLE blobs ADD COLUMN tail_pieces INTEGER NOT NULL DEFAULT 0;",
                )?;
            }
            // 0015's index on outbox_rcpt(outbox_id) went with 0023, which this store ran already.
            tx.execute_batch("DROP INDEX IF EXISTS outbox_rcpt_outbox")?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Watch this store's batches with an in-flight marker (`inflight::guard`).
    pub fn set_inflight(&mut self, guard: Box<dyn std::any::Any + Send>) {
        self.inflight = Some(guard);
    }

    /// The connection and the in-flight guard, borrowed together (a batch
    /// holds its transaction and writes the marker).
    /// The guard is what `set_inflight` was given (`inflight::Batch::begin` takes it back by type).
    pub fn parts_mut(&mut self) -> (&mut Connection, Option<&mut (dyn std::any::Any + Send)>) {
        (&mut self.conn, self.inflight.as_deref_mut())
    }

    /// SQLite's page cache for this connection, in MiB: `store.cache_mib`, or
    /// [`auto_cache_mib`] of the store's size now when unset. Returns the MiB.
    /// More cache, fewer pages read through the kernel in a large store
    /// (README, "Years of mail": 4 MiB at 200,000 mails, +3 MB RSS).
    pub fn set_cache_mib(&self, setting: Option<usize>) -> Result<usize> {
        let mib = match setting {
            Some(n) => n.clamp(1, 1024),
            None => auto_cache_mib(
                self.conn
                    .query_row("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()", [], |r| {
                        r.get::<_, i64>(0)
                    })?
                    .max(0) as u64,
            ),
        };
        self.conn.pragma_update(None, "cache_size", -((mib * 1024) as i64))?;
        Ok(mib)
    }

    /// Checkpoint the store at `path` (its file) on a thread of its own from
    /// now on ([`checkpoint`]): for `ingest` and the daemon.
    pub fn checkpoint_in_background(&mut self, path: &Path) -> Result<()> {
        if self.checkpointer.is_none() {
            self.conn.pragma_update(None, "wal_autocheckpoint", checkpoint::WRITER_PAGES)?;
            self.checkpointer = Some(checkpoint::Checkpointer::start(path)?);
        }
        Ok(())
    }

    /// `PRAGMA integrity_check` result ("ok" when healthy).
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }
}

/// The page cache when `store.cache_mib` is unset: 1 MiB per started GiB of
/// store file, 1 to 4 MiB (1 under 1 GiB, about 40,000 mails; 4 at 200,000).
pub fn auto_cache_mib(store_bytes: u64) -> usize {
    const GIB: u64 = 1 << 30;
    store_bytes.div_ceil(GIB).clamp(1, 4) as usize
}

pub use crate::domain::Ticket;

const TICKET_COLS: &str = "id, subject, category, level, priority, status, customer, requester, billable, confidence, \
    low_confidence, language, assignee, created_at, updated_at, first_response_due, resolution_due, \
    first_response_at, closed_at, merged_into, linked_to, sla_warned_at, escalated_at, requester_name, security_flag";

fn ticket_from_row(r: &rusqlite::Row) -> rusqlite::Result<Ticket> {
    Ok(Ticket {
        id: r.get(0)?,
        subject: r.get(1)?,
        category: r.get(2)?,
        level: r.get(3)?,
        priority: r.get(4)?,
        status: r.get(5)?,
        customer: r.get(6)?,
        requester: r.get(7)?,
        billable: r.get::<_, i64>(8)? != 0,
        confidence: r.get(9)?,
        low_confidence: r.get::<_, i64>(10)? != 0,
        language: r.get(11)?,
        assignee: r.get(12)?,
        created_at: r.get(13)?,
        updated_at: r.get(14)?,
        first_response_due: r.get(15)?,
        resolution_due: r.get(16)?,
        first_response_at: r.get(17)?,
        closed_at: r.get(18)?,
        merged_into: r.get(19)?,
        linked_to: r.get(20)?,
        sla_warned_at: r.get(21)?,
        escalated_at: r.get(22)?,
        requester_name: r.get(23)?,
        security_flag: r.get::<_, i64>(24)? != 0,
    })
}

pub fn get_ticket(conn: &Connection, id: i64) -> Result<Option<Ticket>> {
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("SELECT {TICKET_COLS} FROM tickets WHERE id = ?1"));
    Ok(conn.prepare_cached(&SQL)?.query_row([id], ticket_from_row).optional()?)
}

/// Tickets, newest first, optionally filtered.
pub fn list_tickets(conn: &Connection, status: Option<&str>, customer: Option<&str>) -> Result<Vec<Ticket>> {
    let f = listing::Filter {
        status: status.map(str::to_string),
        customer: customer.map(str::to_string),
        ..Default::default()
    };
    listing::tickets(conn, &f)
}

/// [`waiting_intervals`] from a status history already read (status, at), oldest first.
pub fn waiting_from_history(history: &[(String, String)], now: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    let mut start: Option<DateTime<Utc>> = None;
    for (status, at) in history {
        let Some(at) = parse_ts(at) else { continue };
        match (status == "waiting", start) {
            (true, None) => start = Some(at),
            (false, Some(s)) => {
                out.push((s, at));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, now));
    }
    out
}

/// Everything a new ticket row needs.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub subject: String,
    pub category: String,
    pub level: i64,
    pub priority: String,
    pub status: String,
    pub customer: Option<String>,
    pub requester: String,
    pub billable: bool,
    pub confidence: f64,
    pub low_confidence: bool,
    pub language: String,
    pub first_response_due: Option<String>,
    pub resolution_due: Option<String>,
    pub linked_to: Option<i64>,
    /// The requester's display name, if the mail gave one.
    pub requester_name: Option<String>,
    /// The classifier's security suspicion.
    pub security_flag: bool,
}

impl NewTicket {
    /// The row [`insert_ticket`] writes for this ticket under `id` at `now`,
    /// as [`get_ticket`] would read it back (saves that read).
    pub fn as_inserted(&self, id: i64, now: DateTime<Utc>) -> Ticket {
        let now = ts(now);
        Ticket {
            id,
            subject: self.subject.clone(),
            category: self.category.clone(),
            level: self.level,
            priority: self.priority.clone(),
            status: self.status.clone(),
            customer: self.customer.clone(),
            requester: self.requester.clone(),
            billable: self.billable,
            confidence: self.confidence,
            low_confidence: self.low_confidence,
            language: self.language.clone(),
            assignee: None,
            created_at: now.clone(),
            updated_at: now,
            first_response_due: self.first_response_due.clone(),
            resolution_due: self.resolution_due.clone(),
            first_response_at: None,
            closed_at: None,
            merged_into: None,
            linked_to: self.linked_to,
            sla_warned_at: None,
            escalated_at: None,
            requester_name: self.requester_name.clone(),
            security_flag: self.security_flag,
        }
    }
}

pub fn insert_ticket(conn: &Connection, t: &NewTicket, now: DateTime<Utc>) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO tickets (subject, category, level, priority, status, customer, requester, billable, confidence, \
         low_confidence, language, created_at, updated_at, first_response_due, resolution_due, linked_to, requester_name, \
         security_flag) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, ?14, ?15, ?16, ?17)",
    )?
    .execute(params![
        t.subject,
        t.category,
        t.level,
        t.priority,
        t.status,
        t.customer,
        t.requester,
        t.billable as i64,
        t.confidence,
        t.low_confidence as i64,
        t.language,
        ts(now),
        t.first_response_due,
        t.resolution_due,
        t.linked_to,
        t.requester_name,
        t.security_flag as i64,
    ])?;
    let id = conn.last_insert_rowid();
    conn.prepare_cached("INSERT INTO status_history (ticket_id, status, at) VALUES (?1, ?2, ?3)")?.execute(params![
        id,
        t.status,
        ts(now)
    ])?;
    Ok(id)
}

/// Set one column of a ticket (names are fixed by the callers, never user input).
pub fn set_ticket_field(
    conn: &Connection,
    id: i64,
    column: &str,
    value: &dyn rusqlite::ToSql,
    now: DateTime<Utc>,
) -> Result<()> {
    const ALLOWED: &[&str] = &[
        "status",
        "level",
        "category",
        "priority",
        "assignee",
        "billable",
        "first_response_at",
        "requester_name",
        "closed_at",
        "merged_into",
        "first_response_due",
        "resolution_due",
        "low_confidence",
        "security_flag",
        "sla_warned_at",
        "escalated_at",
    ];
    anyhow::ensure!(ALLOWED.contains(&column), "set_ticket_field: column {column} is not updatable");
    conn.prepare_cached(&format!("UPDATE tickets SET {column} = ?1, updated_at = ?2 WHERE id = ?3"))?
        .execute(params![value, ts(now), id])?;
    Ok(())
}

pub fn touch_ticket(conn: &Connection, id: i64, now: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached("UPDATE tickets SET updated_at = ?1 WHERE id = ?2")?.execute(params![ts(now), id])?;
    Ok(())
}

pub fn add_participant(conn: &Connection, ticket: i64, address: &str, role: &str) -> Result<()> {
    conn.prepare_cached("INSERT OR IGNORE INTO participants (ticket_id, address, role) VALUES (?1, ?2, ?3)")?
        .execute(params![ticket, address.to_ascii_lowercase(), role])?;
    Ok(())
}

pub fn participants(conn: &Connection, ticket: i64) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached("SELECT address, role FROM participants WHERE ticket_id = ?1 ORDER BY rowid")?;
    let rows = stmt.query_map([ticket], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The parsed facts and the outcome of a stored mail.
#[derive(Debug, Clone, Default)]
pub struct MessageFacts {
    pub message_id: Option<String>,
    pub from_addr: Option<String>,
    pub subject: Option<String>,
    pub sent_date: Option<String>,
    pub in_reply_to: Option<String>,
    pub refs: Option<String>,
    pub new_text: Option<String>,
    pub disposition: String,
    pub reason: Option<String>,
    pub ticket_id: Option<i64>,
    /// What each stage decided, in order.
    pub trail: Vec<String>,
    /// When the mail reached our server (see `pipeline::arrival`).
    pub arrived_at: Option<String>,
}

pub fn finish_message(conn: &Connection, row: i64, f: &MessageFacts) -> Result<()> {
    conn.prepare_cached(
        "UPDATE messages SET message_id = ?1, from_addr = ?2, subject = ?3, sent_date = ?4, in_reply_to = ?5, refs = ?6, \
         new_text = NULL, disposition = ?8, reason = ?9, ticket_id = ?10, trail = NULL, arrived_at = coalesce(?12, arrived_at) \
         WHERE id = ?11",
    )?
    .execute(params![
        f.message_id,
        f.from_addr,
        f.subject,
        f.sent_date,
        f.in_reply_to,
        f.refs,
        // ?7: the new text is kept packed with the trail (dict::put_trail).
        None::<String>,
        f.disposition,
        f.reason,
        f.ticket_id,
        row,
        f.arrived_at,
    ])?;
    dict::put_trail(conn, row, &f.trail, f.new_text.as_deref())?;
    Ok(())
}

/// Change a ticket's status: the row, `closed_at`, the status history and an event.
pub fn set_status(
    conn: &Connection,
    ticket: i64,
    status: crate::domain::Status,
    now: DateTime<Utc>,
    actor: &str,
    message_row: Option<i64>,
) -> Result<Option<String>> {
    let old: String =
        conn.prepare_cached("SELECT status FROM tickets WHERE id = ?1")?.query_row([ticket], |r| r.get(0))?;
    if old == status.as_str() {
        return Ok(None);
    }
    let closed_at = (!status.is_open()).then(|| ts(now));
    conn.prepare_cached("UPDATE tickets SET status = ?1, closed_at = ?2, updated_at = ?3 WHERE id = ?4")?
        .execute(params![status.as_str(), closed_at, ts(now), ticket])?;
    conn.prepare_cached("INSERT INTO status_history (ticket_id, status, at) VALUES (?1, ?2, ?3)")?.execute(params![
        ticket,
        status.as_str(),
        ts(now)
    ])?;
    insert_event(conn, Some(ticket), message_row, now, actor, "status", &format!("{old} -> {status}"))?;
    Ok(Some(old))
}

/// The intervals in which a ticket was `waiting` on the customer (open ones end at `now`).
pub fn waiting_intervals(
    conn: &Connection,
    ticket: i64,
    now: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
    let mut stmt = conn.prepare_cached("SELECT status, at FROM status_history WHERE ticket_id = ?1 ORDER BY at, id")?;
    let rows: Vec<(String, String)> =
        stmt.query_map([ticket], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
    let mut out = Vec::new();
    let mut start: Option<DateTime<Utc>> = None;
    for (status, at) in rows {
        let Some(at) = parse_ts(&at) else { continue };
        match (status == "waiting", start) {
            (true, None) => start = Some(at),
            (false, Some(s)) => {
                out.push((s, at));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, now));
    }
    Ok(out)
}

/// The Message-ID of the newest mail of `from` on a ticket.
pub fn last_message_from(conn: &Connection, ticket: i64, from: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT message_id FROM messages WHERE ticket_id = ?1 AND from_addr = ?2 AND message_id IS NOT NULL ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![ticket, from], |r| r.get(0))
        .optional()?)
}

/// Record the Message-IDs a stored mail refers to.
pub fn insert_refs(conn: &Connection, row: i64, refs: &[String]) -> Result<()> {
    let mut stmt = conn.prepare_cached("INSERT INTO message_refs (message_row, ref_id) VALUES (?1, ?2)")?;
    for r in refs {
        stmt.execute(params![row, r])?;
    }
    Ok(())
}

/// The ticket of an earlier mail that referred to `message_id` (a reply read before its parent).
pub fn ticket_of_replies_to(conn: &Connection, message_id: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT m.ticket_id FROM message_refs r JOIN messages m ON m.id = r.message_row \
             WHERE r.ref_id = ?1 AND m.ticket_id IS NOT NULL ORDER BY m.id LIMIT 1",
        )?
        .query_row([message_id], |r| r.get(0))
        .optional()?)
}

/// An earlier stored mail with the same Message-ID and the same bytes.
pub fn find_duplicate(
    conn: &Connection,
    message_id: &str,
    hash: &str,
    this_row: i64,
) -> Result<Option<(i64, Option<i64>)>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, ticket_id FROM messages WHERE message_id = ?1 AND content_hash = ?2 AND id <> ?3 \
             AND disposition IS NOT NULL AND disposition <> 'quarantined' ORDER BY id LIMIT 1",
        )?
        .query_row(params![message_id, hash, this_row], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// The ticket of a stored mail (incoming or ours) with one of these Message-IDs.
pub fn ticket_for_message_ids(conn: &Connection, ids: &[String]) -> Result<Option<i64>> {
    // Newest reference first: it points at the most recent state of the thread.
    for id in ids.iter().rev() {
        let found: Option<i64> = conn
            .prepare_cached("SELECT ticket_id FROM outbox WHERE message_id = ?1 AND ticket_id IS NOT NULL")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
        let found: Option<i64> = conn
            .prepare_cached(
                "SELECT ticket_id FROM messages WHERE message_id = ?1 AND ticket_id IS NOT NULL ORDER BY id LIMIT 1",
            )?
            .query_row([id], |r| r.get(0))
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// Link an attachment whose body is in `blobs` already (by its SHA-256) to its message.
pub fn insert_attachment_row(conn: &Connection, message_row: i64, a: &crate::parse::Attachment) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO attachments (message_row, filename, content_type, size, sha256, flag) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![message_row, a.filename, a.content_type, a.data.len() as i64, a.sha256, a.flag])?;
    Ok(())
}

/// An outgoing mail ready to queue.
#[derive(Debug, Clone)]
pub struct OutRow {
    pub kind: String,
    pub ticket_id: Option<i64>,
    pub message_id: String,
    pub recipients: Vec<String>,
    pub subject: String,
    pub raw: Vec<u8>,
    pub in_reply_to: Option<String>,
}

pub fn insert_outbox(conn: &Connection, o: &OutRow, cause_row: Option<i64>, now: DateTime<Utc>) -> Result<i64> {
    let packed = compact::pack_outgoing(conn, &o.raw)?;
    insert_outbox_packed(conn, o, packed, cause_row, now)
}

/// [`insert_outbox`] for a mail we built with `files` attached (SHA-256,
/// bytes; see [`compact::pack_outgoing_files`]): not parsed again.
pub fn insert_outbox_files(
    conn: &Connection,
    o: &OutRow,
    files: &[(&str, &[u8])],
    cause_row: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i64> {
    let packed = compact::pack_outgoing_files(conn, &o.raw, files)?;
    insert_outbox_packed(conn, o, packed, cause_row, now)
}

fn insert_outbox_packed(
    conn: &Connection,
    o: &OutRow,
    (format, packed): (i64, Vec<u8>),
    cause_row: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i64> {
    let now_s = ts(now);
    conn.prepare_cached(
        "INSERT INTO outbox (kind, ticket_id, message_id, recipients, subject, raw, raw_format, raw_size, in_reply_to, \
         state, attempts, next_attempt_at, created_at, cause_row) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?11, ?7, ?8, 'queued', 0, ?9, ?9, ?10)",
    )?
    .execute(params![
        o.kind,
        o.ticket_id,
        o.message_id,
        serde_json::to_string(&o.recipients)?,
        o.subject,
        packed,
        o.raw.len() as i64,
        o.in_reply_to,
        now_s,
        cause_row,
        format
    ])?;
    let id = conn.last_insert_rowid();
    for r in &o.recipients {
        // OR IGNORE: a recipient named twice is one row (the key).
        conn.prepare_cached(
            "INSERT OR IGNORE INTO outbox_rcpt (outbox_id, address, created_at, kind) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![id, r.to_ascii_lowercase(), now_s, o.kind])?;
    }
    Ok(id)
}

/// How many mails of the given `kinds` went (or are queued) to `addr` since
/// `recent` and since `earlier`, in one range read of `outbox_rcpt` (the
/// per-sender caps count only the automatic kinds, never relayed agent
/// answers or status mails).
pub fn auto_mails_to_since(
    conn: &Connection,
    addr: &str,
    kinds: &[&str],
    recent: DateTime<Utc>,
    earlier: DateTime<Utc>,
) -> Result<(u32, u32)> {
    // `user+anything@domain` is the same mailbox as `user@domain` (RFC 5233
    // subaddressing): the cap counts them together. The `+` variants are a
    // range of the index on address: from `user+` up to `user,` (the next
    // character), then the domain.
    let addr = addr.to_ascii_lowercase();
    let (local, domain) = addr.rsplit_once('@').unwrap_or((addr.as_str(), ""));
    let base_local = local.split('+').next().unwrap_or(local);
    let base = format!("{base_local}@{domain}");
    let (lo, hi) = (format!("{base_local}+"), format!("{base_local},"));
    let at_domain = format!("@{domain}");
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FILTER (WHERE created_at >= ?2), count(*) FROM outbox_rcpt \
             WHERE (address = ?1 OR (address >= ?4 AND address < ?5 AND substr(address, -length(?6)) = ?6)) \
             AND created_at >= ?3 AND instr(?7, ',' || kind || ',') > 0",
        )?
        .query_row(
            params![base, ts(recent), ts(earlier.min(recent)), lo, hi, at_domain, format!(",{},", kinds.join(","))],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
}

/// An outbox row as listed.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    pub id: i64,
    pub kind: String,
    pub ticket_id: Option<i64>,
    pub message_id: String,
    pub recipients: Vec<String>,
    pub subject: String,
    pub state: String,
    pub attempts: i64,
    pub in_reply_to: Option<String>,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    /// Held (why and since when): not sent until released (`None`: not held).
    pub held: Option<String>,
}

impl OutboxEntry {
    /// The state as listed: `queued`, `held`, `sent` or `failed`.
    pub fn shown_state(&self) -> &str {
        if self.held.is_some() && self.state == "queued" { "held" } else { &self.state }
    }
}

/// The states `outbox list --state` accepts.
pub const OUTBOX_STATES: [&str; 4] = ["queued", "held", "sent", "failed"];

fn outbox_from_row(r: &rusqlite::Row) -> rusqlite::Result<OutboxEntry> {
    let rcpt: String = r.get(4)?;
    Ok(OutboxEntry {
        id: r.get(0)?,
        kind: r.get(1)?,
        ticket_id: r.get(2)?,
        message_id: r.get(3)?,
        recipients: serde_json::from_str(&rcpt).unwrap_or_default(),
        subject: r.get(5)?,
        state: r.get(6)?,
        attempts: r.get(7)?,
        in_reply_to: r.get(8)?,
        next_attempt_at: r.get(9)?,
        last_error: r.get(10)?,
        held: r.get(11)?,
    })
}

const OUTBOX_COLS: &str = "id, kind, ticket_id, message_id, recipients, subject, state, attempts, in_reply_to, next_attempt_at, last_error, held";

pub fn list_outbox(conn: &Connection, ticket: Option<i64>) -> Result<Vec<OutboxEntry>> {
    // Two statements: `(?1 IS NULL OR ticket_id = ?1)` cannot use the index
    // on ticket_id and read the whole outbox (its raw mails included) for one ticket.
    let f = listing::Filter { ticket, ..Default::default() };
    listing::outbox(conn, &f)
}

/// Outbox rows in one listed state (see [`OutboxEntry::shown_state`]), oldest first.
pub fn list_outbox_in_state(conn: &Connection, state: &str) -> Result<Vec<OutboxEntry>> {
    let filter = match state {
        "queued" => "state = 'queued' AND held IS NULL",
        "held" => "state = 'queued' AND held IS NOT NULL",
        "sent" => "state = 'sent'",
        "failed" => "state = 'failed'",
        other => anyhow::bail!("outbox state {other:?}: must be one of {}", OUTBOX_STATES.join(", ")),
    };
    let mut stmt = conn.prepare(&format!("SELECT {OUTBOX_COLS} FROM outbox WHERE {filter} ORDER BY id"))?;
    let rows = stmt.query_map([], outbox_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Which rows an operator's outbox command applies to.
#[derive(Debug, Clone, Copy)]
pub enum Rows<'a> {
    Ids(&'a [i64]),
    /// Every row the command can apply to.
    All,
}

fn each_row(conn: &Connection, rows: Rows, sql_one: &str, sql_all: &str, now: &str) -> Result<Vec<i64>> {
    Ok(match rows {
        Rows::All => {
            let mut stmt = conn.prepare(sql_all)?;
            stmt.query_map(params![now], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?
        }
        Rows::Ids(ids) => {
            let mut done = Vec::new();
            let mut stmt = conn.prepare(sql_one)?;
            for id in ids {
                if stmt.query_row(params![now, id], |r| r.get::<_, i64>(0)).optional()?.is_some() {
                    done.push(*id);
                }
            }
            done
        }
    })
}

/// Hold queued rows: they are not sent until released. Returns the rows held.
pub fn outbox_hold(conn: &Connection, rows: Rows, now: DateTime<Utc>) -> Result<Vec<i64>> {
    let why = format!("held by the operator at {}", ts(now));
    each_row(
        conn,
        rows,
        "UPDATE outbox SET held = ?1 WHERE id = ?2 AND state = 'queued' AND held IS NULL RETURNING id",
        "UPDATE outbox SET held = ?1 WHERE state = 'queued' AND held IS NULL RETURNING id",
        &why,
    )
}

/// Release held rows: they are due at once. Returns the rows released.
pub fn outbox_release(conn: &Connection, rows: Rows, now: DateTime<Utc>) -> Result<Vec<i64>> {
    each_row(
        conn,
        rows,
        "UPDATE outbox SET held = NULL, next_attempt_at = ?1 WHERE id = ?2 AND state = 'queued' AND held IS NOT NULL RETURNING id",
        "UPDATE outbox SET held = NULL, next_attempt_at = ?1 WHERE state = 'queued' AND held IS NOT NULL RETURNING id",
        &ts(now),
    )
}

/// How `last_error` of a row the operator deleted begins.
pub const OPERATOR_DELETED: &str = "deleted by the operator";

/// Discard unsent rows (by id: queued or held; `All`: every held row): they
/// are never sent; each stays as a record in state `failed` with the reason
/// (its Message-ID still threads replies). Returns the rows discarded.
pub fn outbox_delete(conn: &Connection, rows: Rows, now: DateTime<Utc>) -> Result<Vec<i64>> {
    let why = format!("{OPERATOR_DELETED} at {} (never sent)", ts(now));
    each_row(
        conn,
        rows,
        "UPDATE outbox SET state = 'failed', held = NULL, last_error = ?1 WHERE id = ?2 AND state = 'queued' RETURNING id",
        "UPDATE outbox SET state = 'failed', held = NULL, last_error = ?1 WHERE state = 'queued' AND held IS NOT NULL RETURNING id",
        &why,
    )
}

/// Every queued (not held) row due now, also those waiting for a retry. Returns how many.
pub fn outbox_flush(conn: &Connection, now: DateTime<Utc>) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE outbox SET next_attempt_at = ?1 WHERE state = 'queued' AND held IS NULL AND next_attempt_at > ?1",
        [ts(now)],
    )?)
}

/// Queued rows due at `now`, oldest first (their raw bytes: [`outbox_raw`],
/// read one at a time as each is sent).
pub fn due_outbox(conn: &Connection, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {OUTBOX_COLS} FROM outbox WHERE state = 'queued' AND held IS NULL AND next_attempt_at <= ?1 \
         ORDER BY next_attempt_at, id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![ts(now), limit as i64], outbox_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The earliest `next_attempt_at` of a queued row.
pub fn next_outbox_due(conn: &Connection) -> Result<Option<DateTime<Utc>>> {
    let s: Option<String> =
        conn.query_row("SELECT min(next_attempt_at) FROM outbox WHERE state = 'queued' AND held IS NULL", [], |r| {
            r.get(0)
        })?;
    Ok(s.as_deref().and_then(parse_ts))
}

/// Count an attempt before trying it (so a crash mid-send still counts).
pub fn outbox_count_attempt(conn: &Connection, id: i64) -> Result<()> {
    conn.prepare_cached("UPDATE outbox SET attempts = attempts + 1 WHERE id = ?1")?.execute([id])?;
    Ok(())
}

/// Mark a row sent (the server said 250). The first `agent_reply` that
/// reaches the customer is the ticket's first response (SLA).
pub fn outbox_mark_sent(conn: &Connection, id: i64, now: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached(
        "UPDATE tickets SET first_response_at = ?1 WHERE first_response_at IS NULL \
         AND id = (SELECT ticket_id FROM outbox WHERE id = ?2 AND kind = 'agent_reply' AND state = 'queued')",
    )?
    .execute(params![ts(now), id])?;
    conn.prepare_cached("UPDATE outbox SET state = 'sent', sent_at = ?1, last_error = NULL WHERE id = ?2")?
        .execute(params![ts(now), id])?;
    Ok(())
}

pub fn outbox_mark_retry(conn: &Connection, id: i64, next: DateTime<Utc>, error: &str) -> Result<()> {
    conn.prepare_cached("UPDATE outbox SET next_attempt_at = ?1, last_error = ?2 WHERE id = ?3")?.execute(params![
        ts(next),
        error,
        id
    ])?;
    Ok(())
}

pub fn outbox_mark_failed(conn: &Connection, id: i64, error: &str) -> Result<()> {
    conn.prepare_cached("UPDATE outbox SET state = 'failed', last_error = ?1 WHERE id = ?2")?
        .execute(params![error, id])?;
    Ok(())
}

/// A stored incoming mail as listed.
#[derive(Debug, Clone)]
pub struct MessageEntry {
    pub id: i64,
    pub message_id: Option<String>,
    pub from_addr: Option<String>,
    pub subject: Option<String>,
    pub disposition: Option<String>,
    pub reason: Option<String>,
    pub ticket_id: Option<i64>,
    pub received_at: String,
    pub source: String,
    /// When the mail reached our server (None for rows stored before 0010).
    pub arrived_at: Option<String>,
}

const MESSAGE_COLS: &str =
    "id, message_id, from_addr, subject, disposition, reason, ticket_id, received_at, source, arrived_at";

fn message_from_row(r: &rusqlite::Row) -> rusqlite::Result<MessageEntry> {
    Ok(MessageEntry {
        id: r.get(0)?,
        message_id: r.get(1)?,
        from_addr: r.get(2)?,
        subject: r.get(3)?,
        disposition: r.get(4)?,
        reason: r.get(5)?,
        ticket_id: r.get(6)?,
        received_at: r.get(7)?,
        source: r.get(8)?,
        arrived_at: r.get(9)?,
    })
}

pub fn list_messages(conn: &Connection, ticket: Option<i64>, disposition: Option<&str>) -> Result<Vec<MessageEntry>> {
    let f = listing::Filter { ticket, status: disposition.map(str::to_string), ..Default::default() };
    listing::messages(conn, &f)
}

/// The Message-IDs of a ticket's mails, incoming and outgoing, in order of time.
/// The Message-IDs of the mails a ticket's customer side has seen (their
/// own mails and what we sent them), oldest first, at most the newest
/// `limit`: the `References` of a mail to the customer never name internal
/// notes, team notifications or an agent's own mail.
pub fn customer_thread_ids(conn: &Connection, ticket: i64, limit: usize) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT message_id FROM (SELECT message_id, coalesce(arrived_at, received_at) AS t, 0 AS o, id FROM messages WHERE ticket_id = ?1 \
         AND message_id IS NOT NULL AND disposition IN ('new_ticket', 'follow_up') \
         UNION ALL SELECT message_id, created_at AS t, 1 AS o, id FROM outbox WHERE ticket_id = ?1 \
         AND kind IN ('ack', 'status', 'agent_reply', 'change')) ORDER BY t DESC, o DESC, id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![ticket, limit as i64], |r| r.get::<_, String>(0))?;
    let mut ids: Vec<String> = rows.collect::<rusqlite::Result<_>>()?;
    ids.reverse();
    Ok(ids)
}

/// A stored attachment of a ticket's mail (its bytes: [`blob`]).
#[derive(Debug, Clone)]
pub struct StoredAttachment {
    pub message_row: i64,
    pub filename: String,
    pub content_type: String,
    pub size: usize,
    pub sha256: String,
}

/// The attachments of a ticket's mails, oldest first (at most `limit`),
/// without their bytes.
pub fn ticket_attachments(conn: &Connection, ticket: i64, limit: usize) -> Result<Vec<StoredAttachment>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.message_row, a.filename, a.content_type, a.size, a.sha256 FROM attachments a \
         JOIN messages m ON m.id = a.message_row WHERE m.ticket_id = ?1 ORDER BY a.id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![ticket, limit as i64], |r| {
        Ok(StoredAttachment {
            message_row: r.get(0)?,
            filename: r.get(1)?,
            content_type: r.get(2)?,
            size: r.get::<_, i64>(3)? as usize,
            sha256: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The bytes of a stored attachment, by its SHA-256.
pub fn blob(conn: &Connection, sha256: &str) -> Result<Option<Vec<u8>>> {
    let got: Option<(i64, Vec<u8>, Option<i64>, i64)> = conn
        .prepare_cached("SELECT codec, data, tail_first, tail_pieces FROM blobs WHERE sha256 = ?1 AND codec <> 2")?
        .query_row([sha256], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    got.map(|(codec, data, first, pieces)| compact::unpack_blob(codec, compact::with_tail(conn, data, first, pieces)?))
        .transpose()
}

/// The raw bytes of an outgoing mail, decompressed (`None`: no such row).
pub fn outbox_raw(conn: &Connection, id: i64) -> Result<Option<Vec<u8>>> {
    let got: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT raw_format, raw FROM outbox WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    got.map(|(f, raw)| compact::outbox_raw(conn, f, raw)).transpose()
}

/// The internal notes of a ticket, oldest first: (when, who, text).
pub fn ticket_notes(conn: &Connection, ticket: i64) -> Result<Vec<(String, String, String)>> {
    let mut stmt =
        conn.prepare_cached("SELECT at, actor, detail FROM events WHERE ticket_id = ?1 AND kind = 'note' ORDER BY id")?;
    let rows = stmt.query_map([ticket], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The new text of stored mail `row` (the column of an old row, else packed with its trail).
pub fn message_new_text(conn: &Connection, row: i64) -> Result<Option<String>> {
    let column: Option<String> = conn
        .prepare_cached("SELECT new_text FROM messages WHERE id = ?1")?
        .query_row([row], |r| r.get(0))
        .optional()?
        .flatten();
    dict::new_text_of(conn, row, column)
}

/// The new text of a ticket's first (`newest`: last) mail that meets
/// `filter` (`AND …` on `messages`, or empty); empty when there is none.
pub fn ticket_new_text(conn: &Connection, ticket: i64, filter: &str, newest: bool) -> Result<String> {
    let order = if newest { "DESC" } else { "" };
    let sql = format!("SELECT id, new_text FROM messages WHERE ticket_id = ?1 {filter} ORDER BY id {order} LIMIT 1");
    let row: Option<(i64, Option<String>)> =
        conn.prepare_cached(&sql)?.query_row([ticket], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
    Ok(match row {
        Some((id, column)) => dict::new_text_of(conn, id, column)?.unwrap_or_default(),
        None => String::new(),
    })
}

/// The new text of the customer side's latest mail on a ticket (the current problem).
pub fn latest_customer_text(conn: &Connection, ticket: i64) -> Result<Option<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, new_text FROM messages WHERE ticket_id = ?1 AND disposition IN ('new_ticket', 'follow_up') \
         ORDER BY id DESC",
    )?;
    let mut rows = stmt.query([ticket])?;
    // The newest with a text: an erased mail has none.
    while let Some(r) = rows.next()? {
        if let Some(t) = dict::new_text_of(conn, r.get(0)?, r.get(1)?)? {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

/// The Message-IDs of a ticket's mails, incoming and outgoing, in order of
/// time: an incoming mail's arrival, an outgoing one's creation (the arrival
/// of the mail that caused it), so a backlog threads as it would live.
pub fn ticket_message_ids(conn: &Connection, ticket: i64) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT message_id, t FROM (SELECT message_id, coalesce(arrived_at, received_at) AS t, 0 AS o, id FROM messages WHERE ticket_id = ?1 \
         AND message_id IS NOT NULL AND disposition <> 'duplicate' \
         UNION ALL SELECT message_id, created_at AS t, 1 AS o, id FROM outbox WHERE ticket_id = ?1) ORDER BY t, o, id",
    )?;
    let rows = stmt.query_map([ticket], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One stored mail with its raw bytes and trail.
#[derive(Debug, Clone)]
pub struct MessageDetail {
    pub entry: MessageEntry,
    pub raw: Vec<u8>,
    pub size: usize,
    pub new_text: Option<String>,
    pub trail: Vec<String>,
    /// When retention or erasure removed the raw bytes (then `raw` is empty).
    pub raw_removed_at: Option<String>,
    /// The length of the mail as it came (None: an old row).
    pub raw_size: Option<i64>,
}

pub fn get_message(conn: &Connection, id: i64) -> Result<Option<MessageDetail>> {
    let sql = format!("SELECT {MESSAGE_COLS}, new_text, raw_removed_at, raw_size FROM messages WHERE id = ?1");
    conn.query_row(&sql, [id], |r| {
        Ok(MessageDetail {
            entry: message_from_row(r)?,
            size: 0,
            raw: Vec::new(),
            new_text: r.get(10)?,
            trail: Vec::new(),
            raw_removed_at: r.get(11)?,
            raw_size: r.get(12)?,
        })
    })
    .optional()?
    .map(|mut d| -> Result<MessageDetail> {
        let (trail, new_text) = dict::trail_and_new_text(conn, id, d.new_text.take())?;
        d.trail = trail.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
        d.new_text = new_text;
        d.raw = compact::raw_bytes(conn, id)?.unwrap_or_default();
        d.size = d.raw.len();
        Ok(d)
    })
    .transpose()
}

/// Queue an outgoing mail (failed or waiting for a retry, not held) to be sent now.
pub fn outbox_retry(conn: &Connection, id: i64, now: DateTime<Utc>) -> Result<bool> {
    let n = conn.execute(
        "UPDATE outbox SET state = 'queued', next_attempt_at = ?1 WHERE id = ?2 AND state IN ('queued', 'failed') \
         AND held IS NULL AND raw_removed_at IS NULL",
        params![ts(now), id],
    )?;
    Ok(n == 1)
}

/// `outbox retry --all-failed`: every row the transport gave up on is
/// queued again, due now, for one more attempt each (like `retry ID`: a
/// mail that fails again is failed again, nothing loops). Rows the operator
/// deleted ([`OPERATOR_DELETED`]) and rows whose bytes retention or
/// erasure removed stay failed. Returns the rows queued.
pub fn outbox_retry_failed(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<i64>> {
    let mut st = conn.prepare(
        "UPDATE outbox SET state = 'queued', next_attempt_at = ?1 WHERE state = 'failed' \
         AND held IS NULL AND raw_removed_at IS NULL AND ifnull(last_error, '') NOT LIKE ?2 RETURNING id",
    )?;
    let mut ids: Vec<i64> = st
        .query_map(params![ts(now), format!("{OPERATOR_DELETED}%")], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    ids.sort_unstable();
    Ok(ids)
}

/// A consistent copy of the database (`VACUUM INTO`), safe while others
/// write. The file is created mode 0600 before anything is written into it
/// (it holds every mail and the Message-ID secret) and never overwrites an
/// existing file. The copy carries [`BACKUP_TAKEN_KEY`] (`now`), so the
/// store restored from it holds its queued outgoing mails ([`hold_restored`]),
/// and is a single file (rollback journal mode; the store switches back to
/// WAL when it is opened).
pub fn backup(conn: &Connection, dest: &Path, now: DateTime<Utc>) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let d = dest.to_str().ok_or_else(|| anyhow::anyhow!("{}: not a UTF-8 path", dest.display()))?;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(dest).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!("{} exists: refusing to overwrite a backup", dest.display())
        } else {
            anyhow::anyhow!("creating the backup {}: {e}", dest.display())
        }
    })?;
    let written = (|| -> Result<()> {
        conn.execute("VACUUM INTO ?1", [d]).context("VACUUM INTO")?;
        let copy = Connection::open(dest)?;
        copy.busy_timeout(BUSY_TIMEOUT)?;
        copy.pragma_update(None, "journal_mode", "DELETE")?;
        set_state(&copy, BACKUP_TAKEN_KEY, &ts(now))?;
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(dest);
        return Err(e.context(format!("writing the backup {}", dest.display())));
    }
    Ok(())
}

/// Whether the scheduled report of `customer` for `period` was queued.
pub fn report_scheduled_sent(conn: &Connection, customer: &str, period: &str) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM reports_sent WHERE customer = ?1 AND period = ?2 AND trigger = 'schedule'",
            params![customer, period],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Record a queued report mail (`trigger`: `schedule` or `manual`).
pub fn insert_report_sent(
    conn: &Connection,
    customer: &str,
    period: &str,
    trigger: &str,
    outbox_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO reports_sent (customer, period, trigger, outbox_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![customer, period, trigger, outbox_id, ts(now)])?;
    Ok(conn.last_insert_rowid())
}

/// Status changes of a ticket in order: (status, at).
pub fn status_history(conn: &Connection, ticket: i64) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached("SELECT status, at FROM status_history WHERE ticket_id = ?1 ORDER BY at, id")?;
    let rows = stmt.query_map([ticket], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn get_state(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.prepare_cached("SELECT value FROM state WHERE key = ?1")?.query_row([key], |r| r.get(0)).optional()?)
}

pub fn set_state(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO state (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_from_scratch_and_are_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let s = Store::open(&path).unwrap();
        let v: i64 = s.conn().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
        let mode: String = s.conn().pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        drop(s);
        let s = Store::open(&path).unwrap();
        assert_eq!(s.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn migration_names_are_numbered_in_order() {
        // Append-only and numbered without gaps: entry i is NNNN = i + 1
        // (`user_version` counts applied entries).
        for (i, (name, _)) in MIGRATIONS.iter().enumerate() {
            assert!(name.starts_with(&format!("{:04}_", i + 1)), "{name} out of order (want {:04}_)", i + 1);
        }
        assert_eq!(MIGRATIONS.first().map(|m| m.0), Some("0001_initial"));
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        drop(Store::open(&path).unwrap());
        let c = Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", 999).unwrap();
        drop(c);
        let err = Store::open(&path).err().unwrap();
        assert!(format!("{err:#}").contains("schema version 999"), "{err:#}");
    }

    #[test]
    fn ticket_numbers_are_never_reused() {
        let s = Store::open_in_memory().unwrap();
        let now = Utc::now();
        let t = NewTicket {
            subject: "x".into(),
            category: "usage_question".into(),
            level: 1,
            priority: "normal".into(),
            status: "new".into(),
            customer: None,
            requester: "a@b.de".into(),
            billable: false,
            confidence: 1.0,
            low_confidence: false,
            language: "de".into(),
            first_response_due: None,
            resolution_due: None,
            linked_to: None,
            requester_name: None,
            security_flag: false,
        };
        let a = insert_ticket(s.conn(), &t, now).unwrap();
        s.conn().execute("DELETE FROM status_history WHERE ticket_id = ?1", [a]).unwrap();
        s.conn().execute("DELETE FROM tickets WHERE id = ?1", [a]).unwrap();
        let b = insert_ticket(s.conn(), &t, now).unwrap();
        assert!(b > a);
    }

    #[test]
    fn a_new_ticket_as_inserted_is_the_row_read_back() {
        let s = Store::open_in_memory().unwrap();
        let now = Utc::now();
        let base = NewTicket {
            subject: "Login geht nicht".into(),
            category: "functional_error".into(),
            level: 2,
            priority: "high".into(),
            status: "forwarded".into(),
            customer: Some("Stadtwerke".into()),
            requester: "a@b.de".into(),
            billable: true,
            confidence: 0.123_456_789_012_345_67,
            low_confidence: true,
            language: "en".into(),
            first_response_due: Some(ts(now)),
            resolution_due: Some(ts(now + chrono::Duration::hours(8))),
            linked_to: None,
            requester_name: None,
            security_flag: true,
        };
        let first = insert_ticket(s.conn(), &base, now).unwrap();
        let linked = NewTicket { linked_to: Some(first), customer: None, first_response_due: None, ..base.clone() };
        for t in [base, linked] {
            let id = insert_ticket(s.conn(), &t, now).unwrap();
            let read = get_ticket(s.conn(), id).unwrap().unwrap();
            assert_eq!(serde_json::to_value(t.as_inserted(id, now)).unwrap(), serde_json::to_value(read).unwrap());
        }
    }
}
