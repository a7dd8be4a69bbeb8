//! Trained zstd dictionaries (migration 0020) for the store's small, alike
//! texts: the skeletons and zstd texts of incoming mails (`messages.raw`,
//! kind `mail`), our outgoing mails (`outbox.raw`, kind `outbox`) and the
//! processing trails of incoming mails (`message_trails.data`, kind
//! `trail`: 6.9x smaller than as text, a trail being ~800 bytes of the same
//! stage names and rule texts; since 2026-12 followed by the mail's new
//! text, see [`put_trail`]). A
//! skeleton is about 2.6 KB of headers and text, an outgoing mail 7 KB of
//! our templates: alone, zstd finds little to share in them; with 64 KB of
//! what such mails usually say it packs them 3–5 times smaller.
//!
//! - Training: once a kind has [`SAMPLES`] rows (`store.dictionary_samples`)
//!   and no current dictionary,
//!   [`tick`] trains one on the newest of them (the first 4 KB of each, so
//!   a few MB at most), outside any transaction, and stores it with the
//!   range of rows it learned from.
//! - Writing: [`pack`] compresses with the kind's current dictionary, or
//!   without one while there is none.
//! - Reading: [`unpack`] finds the dictionary by the ID zstd writes into
//!   each frame's header; a frame without one is plain zstd, as before.
//! - Recompression: when a kind's current dictionary changes (trained,
//!   retired), the rows made before are recompressed in batches of
//!   [`BATCH`] rows, each its own transaction, resumable (state key
//!   `dict.<kind>.pass`: the last row done and the last row to do). When a
//!   pass ends, retired dictionaries no row uses any more are deleted.
//! - Erasure: a dictionary holds pieces of the mails it learned from.
//!   `forget` drops at once (in its transaction, before its VACUUM) every
//!   dictionary trained on a row it erases or whose bytes name the person:
//!   the rows made with it are recompressed without a dictionary; a new one
//!   is trained later from the rows that stay ([`drop_now`]).
//! - Retention: removing a row a dictionary learned from retires it
//!   ([`retire_touching`]): a new one is trained from the newest rows, the
//!   rows are recompressed in batches, then the retired one is deleted.
//!
//! Invariant: every reader still goes through `compact::raw_bytes`,
//! `compact::outbox_raw` or `store::blob`, which read through [`unpack`].

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use zstd::zstd_safe;

use super::{get_state, set_state, ts};

/// What a dictionary is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `messages.raw`: skeletons and zstd texts of incoming mails.
    Mail,
    /// `outbox.raw`: our outgoing mails.
    Outbox,
    /// `message_trails.data`: what each stage decided about a mail (JSON).
    Trail,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Mail, Kind::Outbox, Kind::Trail];
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Mail => "mail",
            Kind::Outbox => "outbox",
            Kind::Trail => "trail",
        }
    }
    fn table(self) -> &'static str {
        match self {
            Kind::Mail => "messages",
            Kind::Outbox => "outbox",
            Kind::Trail => "message_trails",
        }
    }
    /// The column of the row's number (the `messages` row for a trail).
    fn id(self) -> &'static str {
        match self {
            Kind::Mail | Kind::Outbox => "id",
            Kind::Trail => "message_row",
        }
    }
    /// The column of the compressed values.
    fn col(self) -> &'static str {
        match self {
            Kind::Mail | Kind::Outbox => "raw",
            Kind::Trail => "data",
        }
    }
    /// Rows holding a compressed value of this kind.
    fn stored(self) -> &'static str {
        match self {
            Kind::Mail | Kind::Outbox => "raw_format IN (1, 2)",
            Kind::Trail => "1",
        }
    }
    /// Rows whose value is worth learning from or moving (not removed).
    fn live(self) -> &'static str {
        match self {
            Kind::Mail | Kind::Outbox => "raw_removed_at IS NULL AND raw_format IN (1, 2)",
            Kind::Trail => "1",
        }
    }
    fn pass_key(self) -> String {
        format!("dict.{}.pass", self.as_str())
    }
    fn next_try_key(self) -> String {
        format!("dict.{}.next_try", self.as_str())
    }
}

/// Rows a dictionary is trained on (the newest of the kind), unless
/// `store.dictionary_samples` says otherwise.
pub const SAMPLES: usize = 1000;
/// Bytes of each sample used: the start of a mail (headers, greeting, our
/// templates) is what mails share; 4 KB gave the same ratio as whole mails
/// (2.95 against 2.94 on outgoing mails) and bounds the training's memory.
const SAMPLE_PREFIX: usize = 4096;
/// The most sample bytes a training holds (more samples: shorter prefixes).
const SAMPLE_BYTES: usize = 4 << 20;
/// Dictionary size: 64 KB packed our outgoing mails 2.9x better than none,
/// 32 KB 2.7x, 110 KB 3.0x (2026-12-06, 4,787 outgoing mails of bench_scale).
const DICT_BYTES: usize = 64 * 1024;
/// zstd level with a dictionary: 1. A prepared dictionary at level 3 took
/// 474 KB (its match tables), at level 1 113 KB, three of them held for the
/// process's life; with a dictionary level 1 packs about as well (1,000
/// training and ~4,800 test rows: outgoing mails 3.27 against 3.28 MB,
/// trails 0.32 against 0.32 MB, skeletons 0.77 against 0.71 MB).
const LEVEL: i32 = 1;
/// Rows recompressed per transaction.
pub const BATCH: usize = 200;
/// Prepared dictionaries kept per process (each kind's current one and one
/// on its way out; about 110 KB each for compression, 90 KB to decompress).
const CACHED: usize = 4;

/// Prepared dictionaries by ID. The ID is a hash of the dictionary's bytes
/// (zstd derives it so), so one ID names the same dictionary in any store.
static ENCODERS: Mutex<Vec<(u32, zstd_safe::CDict<'static>)>> = Mutex::new(Vec::new());
static DECODERS: Mutex<Vec<(u32, Arc<zstd_safe::DDict<'static>>)>> = Mutex::new(Vec::new());

thread_local! {
    /// One compression and one decompression context per thread, reused.
    static CCTX: std::cell::RefCell<Option<zstd_safe::CCtx<'static>>> = const { std::cell::RefCell::new(None) };
    static DCTX: std::cell::RefCell<Option<zstd_safe::DCtx<'static>>> = const { std::cell::RefCell::new(None) };
}

fn zstd_err(what: &str, code: usize) -> anyhow::Error {
    anyhow::anyhow!("{what}: {}", zstd_safe::get_error_name(code))
}

fn cached<T: Clone>(cache: &Mutex<Vec<(u32, T)>>, id: u32) -> Option<T> {
    let c = cache.lock().unwrap_or_else(|e| e.into_inner());
    c.iter().find(|(i, _)| *i == id).map(|(_, t)| t.clone())
}

fn keep<T>(cache: &Mutex<Vec<(u32, T)>>, id: u32, t: T) {
    let mut c = cache.lock().unwrap_or_else(|e| e.into_inner());
    c.retain(|(i, _)| *i != id);
    if c.len() >= CACHED {
        c.remove(0);
    }
    c.push((id, t));
}

/// Forget a dictionary's prepared forms in this process (it was deleted).
fn evict(id: u32) {
    ENCODERS.lock().unwrap_or_else(|e| e.into_inner()).retain(|(i, _)| *i != id);
    DECODERS.lock().unwrap_or_else(|e| e.into_inner()).retain(|(i, _)| *i != id);
}

fn data_of(conn: &Connection, id: u32) -> Result<Vec<u8>> {
    conn.prepare_cached("SELECT data FROM dictionaries WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?
        .with_context(|| format!("the zstd dictionary {id} of a stored mail is not in the store"))
}

fn encoder(conn: &Connection, id: u32) -> Result<zstd_safe::CDict<'static>> {
    if let Some(d) = cached(&ENCODERS, id) {
        return Ok(d);
    }
    let d = zstd_safe::CDict::try_create(&data_of(conn, id)?, LEVEL)
        .with_context(|| format!("preparing the zstd dictionary {id}"))?;
    keep(&ENCODERS, id, d.clone());
    Ok(d)
}

fn decoder(conn: &Connection, id: u32) -> Result<Arc<zstd_safe::DDict<'static>>> {
    if let Some(d) = cached(&DECODERS, id) {
        return Ok(d);
    }
    let d = Arc::new(
        zstd_safe::DDict::try_create(&data_of(conn, id)?)
            .with_context(|| format!("preparing the zstd dictionary {id}"))?,
    );
    keep(&DECODERS, id, d.clone());
    Ok(d)
}

/// The ID of a kind's current dictionary.
pub fn current(conn: &Connection, kind: Kind) -> Result<Option<u32>> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM dictionaries WHERE kind = ?1 AND retired_at IS NULL ORDER BY created_at DESC, id LIMIT 1",
        )?
        .query_row([kind.as_str()], |r| r.get(0))
        .optional()?)
}

/// The dictionary a stored value was compressed with (`None`: none).
pub fn dict_of(data: &[u8]) -> Option<u32> {
    zstd_safe::get_dict_id_from_frame(data).map(|i| i.get())
}

fn compress_with(d: &zstd_safe::CDict<'static>, bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(zstd_safe::compress_bound(bytes.len()));
    CCTX.with(|c| {
        let mut c = c.borrow_mut();
        let cctx = match &mut *c {
            Some(x) => x,
            None => c.insert(zstd_safe::CCtx::try_create().context("creating a zstd context")?),
        };
        cctx.compress_using_cdict(&mut out, bytes, d).map_err(|e| zstd_err("compressing with a dictionary", e))
    })?;
    Ok(out)
}

/// Compress a value of `kind` for the store: with the kind's current
/// dictionary, or plain zstd while it has none.
pub fn pack(conn: &Connection, kind: Kind, bytes: &[u8]) -> Result<Vec<u8>> {
    pack_for(conn, current(conn, kind)?, bytes)
}

fn pack_for(conn: &Connection, dict: Option<u32>, bytes: &[u8]) -> Result<Vec<u8>> {
    match dict {
        Some(id) => compress_with(&encoder(conn, id)?, bytes),
        None => super::compact::pack_before_dictionary(bytes),
    }
}

/// Decompress a stored value, with the dictionary its frame names.
pub fn unpack(conn: &Connection, data: &[u8]) -> Result<Vec<u8>> {
    let Some(id) = dict_of(data) else { return super::compact::unpack(data) };
    match zstd_safe::get_frame_content_size(data) {
        Ok(Some(n)) if n <= super::compact::ONE_PIECE => {
            let d = decoder(conn, id)?;
            let mut out = Vec::with_capacity(n as usize);
            DCTX.with(|c| {
                let mut c = c.borrow_mut();
                let dctx = match &mut *c {
                    Some(x) => x,
                    None => c.insert(zstd_safe::DCtx::try_create().context("creating a zstd context")?),
                };
                dctx.decompress_using_ddict(&mut out, data, &d)
                    .map_err(|e| zstd_err("decompressing a stored mail with its dictionary", e))
            })?;
            Ok(out)
        }
        _ => {
            use std::io::Read;
            let mut out = Vec::new();
            zstd::stream::read::Decoder::with_dictionary(data, &data_of(conn, id)?)?
                .read_to_end(&mut out)
                .context("decompressing a stored mail with its dictionary")?;
            Ok(out)
        }
    }
}

/// Ends a trail's JSON in `message_trails.data` when the mail's new text
/// follows (JSON text never holds a raw NUL: the first one is this mark).
const NEW_TEXT_MARK: u8 = 0;

/// Keep the trail of stored mail `row` and its new text (in
/// `message_trails`, zstd with the `trail` dictionary: the JSON of the
/// trail, then, when there is a new text, [`NEW_TEXT_MARK`] and the text;
/// `messages.trail` and `messages.new_text` are left NULL). The new text
/// (about 200 bytes of a customer's words) packs about 4x with the trail's
/// dictionary; as a column it was 37 MiB at 200,000 stored mails.
pub fn put_trail(conn: &Connection, row: i64, trail: &[String], new_text: Option<&str>) -> Result<()> {
    let mut bytes = serde_json::to_vec(trail)?;
    if let Some(t) = new_text {
        bytes.push(NEW_TEXT_MARK);
        bytes.extend_from_slice(t.as_bytes());
    }
    let packed = pack(conn, Kind::Trail, &bytes)?;
    conn.prepare_cached(
        "INSERT INTO message_trails (message_row, data) VALUES (?1, ?2) \
         ON CONFLICT (message_row) DO UPDATE SET data = excluded.data",
    )?
    .execute(params![row, packed])?;
    Ok(())
}

/// The packed trail of stored mail `row`, unpacked (trail JSON, maybe the new text).
fn packed_trail(conn: &Connection, row: i64) -> Result<Option<Vec<u8>>> {
    let packed: Option<Vec<u8>> = conn
        .prepare_cached("SELECT data FROM message_trails WHERE message_row = ?1")?
        .query_row([row], |r| r.get(0))
        .optional()?;
    packed.map(|p| unpack(conn, &p)).transpose()
}

/// An unpacked `message_trails.data` split into the trail's JSON and the new text after the mark.
fn split_packed(mut bytes: Vec<u8>) -> Result<(String, Option<String>)> {
    let text = bytes.iter().position(|&b| b == NEW_TEXT_MARK).map(|end| {
        let text = String::from_utf8_lossy(&bytes[end + 1..]).into_owned();
        bytes.truncate(end);
        text
    });
    Ok((String::from_utf8(bytes).context("a stored trail")?, text))
}

/// The trail of stored mail `row` as JSON text and its new text, from one
/// read: packed (`message_trails`), or in a row from before migration 0020
/// `messages.trail`. `column`: the row's `messages.new_text`, which an old
/// row holds (then it is the new text).
pub fn trail_and_new_text(
    conn: &Connection,
    row: i64,
    column: Option<String>,
) -> Result<(Option<String>, Option<String>)> {
    if let Some(bytes) = packed_trail(conn, row)? {
        let (trail, text) = split_packed(bytes)?;
        return Ok((Some(trail), column.or(text)));
    }
    let trail = conn
        .prepare_cached("SELECT trail FROM messages WHERE id = ?1")?
        .query_row([row], |r| r.get(0))
        .optional()?
        .flatten();
    Ok((trail, column))
}

/// The trail of stored mail `row` as JSON text (see [`trail_and_new_text`]).
pub fn trail_of(conn: &Connection, row: i64) -> Result<Option<String>> {
    Ok(trail_and_new_text(conn, row, None)?.0)
}

/// The new text of stored mail `row`: the column (rows stored before
/// 2026-12), else what follows the trail in its packed form.
pub fn new_text_of(conn: &Connection, row: i64, column: Option<String>) -> Result<Option<String>> {
    if column.is_some() {
        return Ok(column);
    }
    Ok(match packed_trail(conn, row)? {
        Some(bytes) => split_packed(bytes)?.1,
        None => None,
    })
}

/// What one [`tick`] did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Work {
    /// Dictionaries trained.
    pub trained: usize,
    /// Rows recompressed (to the current dictionary or to none).
    pub recompressed: usize,
    /// Retired dictionaries deleted (no row used them any more).
    pub deleted: usize,
}

/// The dictionary work, each step its own short transaction: train a
/// kind's dictionary on `samples` rows once it has that many and none (at
/// most once per `samples` new rows; 0: never), then recompress up to
/// `batches` batches of rows made with another dictionary. Run by the
/// writer before each batch of mails (`batches` 1) and by the daemon's clock.
pub fn tick(conn: &mut Connection, now: DateTime<Utc>, samples: usize, batches: usize) -> Result<Work> {
    let mut w = Work::default();
    for kind in Kind::ALL {
        if samples > 0 && current(conn, kind)?.is_none() {
            w.trained += train(conn, kind, samples, now)? as usize;
        }
        for _ in 0..batches {
            let (n, done, deleted) = recompress_batch(conn, kind)?;
            w.recompressed += n;
            w.deleted += deleted;
            if done {
                break;
            }
        }
    }
    Ok(w)
}

/// [`tick`], a failure logged (the dictionaries never stop the mail).
pub fn tick_logged(conn: &mut Connection, now: DateTime<Utc>, samples: usize, batches: usize) {
    match tick(conn, now, samples, batches) {
        Ok(w) if w.trained > 0 || w.deleted > 0 => tracing::info!(
            "store dictionaries: {} trained, {} rows recompressed, {} retired ones deleted",
            w.trained,
            w.recompressed,
            w.deleted
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!("store dictionaries: {e:#}"),
    }
}

fn max_row(conn: &Connection, kind: Kind) -> Result<i64> {
    Ok(conn.query_row(&format!("SELECT coalesce(max({}), 0) FROM {}", kind.id(), kind.table()), [], |r| r.get(0))?)
}

/// Train and store a dictionary of `kind` if it has enough rows; returns
/// whether one was stored.
fn train(conn: &mut Connection, kind: Kind, wanted: usize, now: DateTime<Utc>) -> Result<bool> {
    let max = max_row(conn, kind)?;
    let next: i64 = get_state(conn, &kind.next_try_key())?.and_then(|v| v.parse().ok()).unwrap_or(wanted as i64);
    if max < next {
        return Ok(false);
    }
    // The samples: the start of each of the newest rows, one row in memory
    // at a time, laid end to end as zstd's trainer takes them.
    let (mut flat, mut sizes, mut first, mut last) = (Vec::new(), Vec::with_capacity(wanted), i64::MAX, 0i64);
    let prefix = (SAMPLE_BYTES / wanted.max(1)).clamp(256, SAMPLE_PREFIX);
    {
        let mut st = conn.prepare(&format!(
            "SELECT {id}, {} FROM {} WHERE {} ORDER BY {id} DESC LIMIT ?1",
            kind.col(),
            kind.table(),
            kind.live(),
            id = kind.id()
        ))?;
        let mut rows = st.query([wanted as i64])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let raw: Vec<u8> = r.get(1)?;
            let bytes = unpack(conn, &raw)?;
            if bytes.len() < 64 {
                continue;
            }
            let sample = &bytes[..bytes.len().min(prefix)];
            if flat.len() + sample.len() > SAMPLE_BYTES {
                break;
            }
            flat.extend_from_slice(sample);
            sizes.push(sample.len());
            first = first.min(id);
            last = last.max(id);
        }
    }
    let later = |conn: &Connection| set_state(conn, &kind.next_try_key(), &(max + wanted as i64).to_string());
    let n_samples = sizes.len();
    if n_samples < wanted / 2 {
        later(conn)?;
        return Ok(false);
    }
    let started = std::time::Instant::now();
    let dict = match train_fast_cover(&flat, &sizes) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!("training a zstd dictionary for {}: {e}", kind.table());
            later(conn)?;
            return Ok(false);
        }
    };
    drop((flat, sizes));
    let Some(id) = zstd_safe::get_dict_id(&dict).map(|i| i.get()) else {
        later(conn)?;
        return Ok(false);
    };
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if current(&tx, kind)?.is_some() {
        return Ok(false);
    }
    let n = tx.execute(
        "INSERT OR IGNORE INTO dictionaries (id, kind, data, first_row, last_row, samples, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![id, kind.as_str(), dict, first, last, n_samples as i64, ts(now)],
    )?;
    if n == 0 {
        later(&tx)?;
        tx.commit()?;
        return Ok(false);
    }
    start_pass(&tx, kind)?;
    tx.commit()?;
    tracing::info!(
        "trained a zstd dictionary for {} ({} bytes, rows {first}..{last}, {} ms)",
        kind.table(),
        dict.len(),
        started.elapsed().as_millis()
    );
    Ok(true)
}

/// A dictionary of [`DICT_BYTES`] from samples laid end to end (`sizes`:
/// each one's length). zstd's `ZDICT_trainFromBuffer` (what
/// `zstd::dict::from_samples` calls) is fastCover with f = 20: its tables
/// took 18 MB of a 1,000-sample training, above the ingest's whole working
/// set. f = 16 takes 6 x 2^16 bytes (384 KB) per candidate and trained as
/// good a dictionary on our outgoing mails (4.49 against 4.48 MB for 46 MB
/// of test mails; peak RSS of the training 14.3 against 23.6 MB).
fn train_fast_cover(flat: &[u8], sizes: &[usize]) -> Result<Vec<u8>> {
    use zstd_safe::zstd_sys as sys;
    let mut dict = vec![0u8; DICT_BYTES];
    // Safety: an all-zero parameter block is zstd's "default" for every
    // field but those set here (zdict.h).
    let mut p: sys::ZDICT_fastCover_params_t = unsafe { std::mem::zeroed() };
    p.d = 8;
    p.f = 16;
    p.steps = 4;
    p.accel = 1;
    p.nbThreads = 1;
    p.zParams.compressionLevel = LEVEL;
    // Safety: `dict` is writable for its length, `flat` holds exactly the
    // sum of `sizes` bytes, and `sizes` has `sizes.len()` entries.
    let n = unsafe {
        sys::ZDICT_optimizeTrainFromBuffer_fastCover(
            dict.as_mut_ptr().cast(),
            dict.len(),
            flat.as_ptr().cast(),
            sizes.as_ptr(),
            sizes.len() as u32,
            &mut p,
        )
    };
    // Safety: plain functions of the returned code.
    if unsafe { sys::ZDICT_isError(n) } != 0 {
        let name = unsafe { std::ffi::CStr::from_ptr(sys::ZDICT_getErrorName(n)) };
        anyhow::bail!("{}", name.to_string_lossy());
    }
    dict.truncate(n);
    Ok(dict)
}

/// Every row of `kind` up to the newest is to be recompressed to whatever
/// is the current dictionary when the pass reaches it.
fn start_pass(conn: &Connection, kind: Kind) -> Result<()> {
    set_state(conn, &kind.pass_key(), &format!("0 {}", max_row(conn, kind)?))
}

/// One batch of the pass of `kind`: (rows recompressed, pass over,
/// dictionaries deleted).
fn recompress_batch(conn: &mut Connection, kind: Kind) -> Result<(usize, bool, usize)> {
    let Some(pass) = get_state(conn, &kind.pass_key())? else { return Ok((0, true, 0)) };
    let mut it = pass.split(' ').map(|v| v.parse::<i64>().unwrap_or(0));
    let (cursor, end) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let target = current(&tx, kind)?;
    let rows = ids_after(&tx, kind, kind.live(), cursor, end)?;
    let mut n = 0;
    for &id in &rows {
        let raw = value_of(&tx, kind, id)?;
        if dict_of(&raw) == target {
            continue;
        }
        set_value(&tx, kind, id, &pack_for(&tx, target, &unpack(&tx, &raw)?)?)?;
        n += 1;
    }
    let done = rows.len() < BATCH;
    let mut deleted = 0;
    if done {
        tx.execute("DELETE FROM state WHERE key = ?1", [kind.pass_key()])?;
        deleted = delete(&tx, kind, "retired_at IS NOT NULL")?;
    } else if let Some(last) = rows.last() {
        set_state(&tx, &kind.pass_key(), &format!("{last} {end}"))?;
    }
    tx.commit()?;
    if done {
        // The pages the smaller rows freed go back to the file system (an
        // upgraded store shrinks once its rows have moved).
        super::retention::vacuum(conn)?;
    }
    Ok((n, done, deleted))
}

/// The next [`BATCH`] rows of `kind` after `cursor` up to `end` that
/// match `cond`, by number: only the numbers, so that a batch of large mails
/// is read one value at a time ([`value_of`]), never all at once.
fn ids_after(conn: &Connection, kind: Kind, cond: &str, cursor: i64, end: i64) -> Result<Vec<i64>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {id} FROM {} WHERE {id} > ?1 AND {id} <= ?2 AND {cond} ORDER BY {id} LIMIT ?3",
            kind.table(),
            id = kind.id()
        ))?
        .query_map(params![cursor, end, BATCH as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// The stored (compressed) value of row `id` of `kind`.
fn value_of(conn: &Connection, kind: Kind, id: i64) -> Result<Vec<u8>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {} FROM {} WHERE {} = ?1", kind.col(), kind.table(), kind.id()))?
        .query_row([id], |r| r.get(0))?)
}

/// Replace the stored value of row `id` of `kind`.
fn set_value(conn: &Connection, kind: Kind, id: i64, packed: &[u8]) -> Result<()> {
    conn.prepare_cached(&format!("UPDATE {} SET {} = ?1 WHERE {} = ?2", kind.table(), kind.col(), kind.id()))?
        .execute(params![packed, id])?;
    Ok(())
}

/// Delete the dictionaries of `kind` matching `cond`; returns how many.
fn delete(conn: &Connection, kind: Kind, cond: &str) -> Result<usize> {
    let ids: Vec<u32> = conn
        .prepare(&format!("SELECT id FROM dictionaries WHERE kind = ?1 AND {cond}"))?
        .query_map([kind.as_str()], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in &ids {
        conn.execute("DELETE FROM dictionaries WHERE id = ?1", [id])?;
        evict(*id);
    }
    Ok(ids.len())
}

/// Retention removed the raw bytes of `rows` (of `kind`): each dictionary
/// trained on one of them is retired, and a pass starts that moves every
/// row to the next dictionary (trained from the newest rows) and then
/// deletes it. Returns how many were retired.
pub fn retire_touching(conn: &Connection, kind: Kind, rows: &[i64], now: DateTime<Utc>) -> Result<usize> {
    let mut n = 0;
    for id in rows {
        n += conn
            .prepare_cached(
                "UPDATE dictionaries SET retired_at = ?1 WHERE kind = ?2 AND retired_at IS NULL \
                 AND ?3 BETWEEN first_row AND last_row",
            )?
            .execute(params![ts(now), kind.as_str(), id])?;
    }
    if n > 0 {
        start_pass(conn, kind)?;
    }
    Ok(n)
}

/// The dictionaries of `kind` that erasure must drop: trained on one of
/// `rows` (erased), or holding one of `terms` (an address, a name).
pub fn touched_by(conn: &Connection, kind: Kind, rows: &[i64], terms: &aho_corasick::AhoCorasick) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    let mut st = conn.prepare("SELECT id, first_row, last_row, data FROM dictionaries WHERE kind = ?1")?;
    let mut q = st.query([kind.as_str()])?;
    while let Some(r) = q.next()? {
        let (id, first, last): (u32, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        let data: Vec<u8> = r.get(3)?;
        if rows.iter().any(|x| (first..=last).contains(x)) || terms.is_match(&data) {
            out.push(id);
        }
    }
    Ok(out)
}

/// Erasure: drop the dictionaries `ids` of `kind` now, in the caller's
/// transaction: every row made with one of them is recompressed without
/// a dictionary (in batches of [`BATCH`] rows read at a time), then they are
/// deleted. The next [`tick`] trains a new one from the rows that stay.
pub fn drop_now(conn: &Connection, kind: Kind, ids: &[u32]) -> Result<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut cursor = 0i64;
    loop {
        let rows = ids_after(conn, kind, kind.stored(), cursor, i64::MAX)?;
        for &id in &rows {
            let raw = value_of(conn, kind, id)?;
            if dict_of(&raw).is_some_and(|d| ids.contains(&d)) {
                set_value(conn, kind, id, &super::compact::pack(&unpack(conn, &raw)?)?)?;
            }
        }
        match rows.last() {
            Some(&last) if rows.len() == BATCH => cursor = last,
            _ => break,
        }
    }
    let mut n = 0;
    for id in ids {
        n += conn.execute("DELETE FROM dictionaries WHERE id = ?1 AND kind = ?2", params![id, kind.as_str()])?;
        evict(*id);
    }
    // Rows are plain zstd now; a pass toward a dropped dictionary ends.
    if current(conn, kind)?.is_none() {
        conn.execute("DELETE FROM state WHERE key = ?1", [kind.pass_key()])?;
    }
    conn.execute("DELETE FROM state WHERE key = ?1", [kind.next_try_key()])?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves: a value packed with a trained dictionary names it in its
    /// frame, reads back exactly, and is smaller than without; a value
    /// packed before the dictionary still reads; a frame naming a missing
    /// dictionary is an error, not garbage.
    #[test]
    fn values_read_back_with_and_without_a_dictionary() {
        let mut s = super::super::Store::open_in_memory().unwrap();
        let conn = s.conn_mut();
        let mail = |i: usize| {
            format!(
                "From: Kunde {i} <k{i}@stadtwerke-musterstadt.de>\r\nSubject: [MT-{i:06}] Dienstplan speichert nicht\r\n\
                 Content-Type: text/plain; charset=utf-8\r\n\r\nGuten Tag,\r\n\r\nbeim Speichern des Dienstplans erscheint \
                 seit heute Morgen die Fehlermeldung {i}. Betroffen sind alle Mitarbeiter der Abteilung Bürgerservice.\r\n\r\n\
                 Mit freundlichen Grüßen\r\nKunde {i}\r\n"
            )
            .into_bytes()
        };
        let before = pack(conn, Kind::Mail, &mail(0)).unwrap();
        assert_eq!(dict_of(&before), None);
        let samples: Vec<Vec<u8>> = (0..300).map(mail).collect();
        let d = zstd::dict::from_samples(&samples, 16 * 1024).unwrap();
        let id = zstd_safe::get_dict_id(&d).unwrap().get();
        conn.execute(
            "INSERT INTO dictionaries (id, kind, data, first_row, last_row, samples, created_at) \
             VALUES (?1, 'mail', ?2, 1, 300, 300, '2026-12-06T00:00:00Z')",
            params![id, d],
        )
        .unwrap();
        let m = mail(4711);
        let with = pack(conn, Kind::Mail, &m).unwrap();
        assert_eq!(dict_of(&with), Some(id));
        assert_eq!(unpack(conn, &with).unwrap(), m);
        assert_eq!(unpack(conn, &before).unwrap(), mail(0));
        let plain = super::super::compact::pack(&m).unwrap();
        assert!(with.len() * 2 < plain.len(), "{} with, {} without", with.len(), plain.len());
        assert_eq!(dict_of(&pack(conn, Kind::Outbox, &m).unwrap()), None, "no outbox dictionary yet");
        drop_now(conn, Kind::Mail, &[id]).unwrap();
        let e = unpack(conn, &with).unwrap_err();
        assert!(format!("{e:#}").contains("not in the store"), "{e:#}");
    }
}
