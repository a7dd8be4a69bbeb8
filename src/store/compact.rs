//! The compact form of stored mail: raw incoming and outgoing mails are kept
//! zstd-compressed, and the base64 text of an incoming mail's attachments is
//! not kept at all: the decoded bytes live once in `blobs` (content-addressed
//! by SHA-256, shared by every mail that carried them) and the raw mail is a
//! *skeleton*, its literal bytes with a reference where each attachment's
//! base64 text was. [`raw_bytes`] gives back exactly the bytes that arrived.
//!
//! Formats of `messages.raw` / `outbox.raw` (column `raw_format`):
//! - [`PLAIN`] (0): the bytes as they came (stores before migration 0013;
//!   converted in batches by [`convert_pending`]);
//! - [`ZSTD`] (1): zstd of the bytes;
//! - [`SKELETON`] (2): zstd of a skeleton: `SKL1`, then segments, each a tag
//!   byte: `0` literal (u32 length, the bytes), `1` attachment (64 hex digits
//!   SHA-256, u32 decoded length, u32 line length, u8 line end `0` LF, `1`
//!   CRLF, `2` CR, u32 line ends after the last line). An attachment is
//!   replaced only when encoding its decoded bytes that way gives exactly
//!   the bytes it replaces, so nothing odd is ever lost.
//!
//! The zstd of formats 1 and 2 may be made with a trained dictionary
//! (migration 0020, [`super::dict`]): its frame header names it, and
//! [`super::dict::unpack`] finds it; a frame without one is plain zstd.
//!
//! `blobs.codec`: 0 the bytes, 1 zstd (only kept when it saves a tenth).
//! The stored bytes of a body are `blobs.data` followed by its tail pieces
//! (`blob_tails`, migration 0024; see [`split_at`] and [`with_tail`]).
//!
//! Invariant: every reader of raw bytes goes through [`raw_bytes`],
//! [`outbox_raw`] or [`super::blob`].

use std::ops::Range;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

pub const PLAIN: i64 = 0;
pub const ZSTD: i64 = 1;
pub const SKELETON: i64 = 2;

/// zstd level of raw mails: 3 (zstd's default) packs the generated German
/// mails to about a quarter at ~300 MB/s on one core.
const LEVEL: i32 = 3;

/// What stands in for an attachment whose bytes retention or erasure removed.
pub const REMOVED_MARK: &[u8] = b"[attachment removed from the store]";

thread_local! {
    /// One zstd compression context per thread, reused for every mail,
    /// attachment and outgoing mail: a new context per call allocated and
    /// zeroed its tables every time (`ZSTD_createCCtx` and `memset` were 4 %
    /// of an ingest's cycles, five contexts per mail). It keeps the tables
    /// of the largest input it compressed lately (about 1 MB at level 3).
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
    /// Its counterpart for [`unpack`]: a stream decoder per value allocated
    /// and set up a context each time (`ZSTD_createDCtx`: 3.8 % of the
    /// writer's samples in an `ingest` of 3,000 peer mails, where the rows
    /// from before the first dictionary are recompressed with it; the
    /// outbox worker unpacks every mail it sends too).
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// The largest value decompressed in one piece (its frame says its size),
/// here and with a dictionary (`dict::unpack`); anything else is streamed.
pub(super) const ONE_PIECE: u64 = 1 << 30;

/// zstd of `data` at `level`, with this thread's context.
fn compress(data: &[u8], level: i32) -> std::io::Result<Vec<u8>> {
    COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        let z = match &mut *c {
            Some(z) => z,
            None => c.insert(zstd::bulk::Compressor::new(level)?),
        };
        z.set_compression_level(level)?;
        z.compress(data)
    })
}

/// Compress bytes for a `raw` column.
pub fn pack(raw: &[u8]) -> Result<Vec<u8>> {
    compress(raw, LEVEL).context("compressing a mail")
}

/// Compress a value of a kind that has no trained dictionary yet, at
/// level 1 (the level used with a dictionary): such rows are recompressed
/// with the kind's first dictionary once it is trained (`dict::tick`), so
/// level 3 here only cost time. On a new store's first 500 IMAP mails that
/// compression was a tenth of the writer thread's time (`perf`).
pub fn pack_before_dictionary(bytes: &[u8]) -> Result<Vec<u8>> {
    compress(bytes, 1).context("compressing a stored value")
}

/// Decompress a zstd column value: in one piece with this thread's
/// context when its frame says its size (every frame we write does), else
/// (or if that fails, e.g. more than one frame) streamed.
pub fn unpack(data: &[u8]) -> Result<Vec<u8>> {
    if let Ok(Some(n)) = zstd::zstd_safe::get_frame_content_size(data)
        && n <= ONE_PIECE
    {
        let whole = DECOMPRESSOR.with(|c| {
            let mut c = c.borrow_mut();
            let z = match &mut *c {
                Some(z) => z,
                None => c.insert(zstd::bulk::Decompressor::new()?),
            };
            z.decompress(data, n as usize)
        });
        if let Ok(out) = whole {
            return Ok(out);
        }
    }
    zstd::stream::decode_all(data).context("decompressing a stored mail")
}

/// Blob bytes as stored: (codec, data). zstd only where it saves a tenth
/// (most attachments are PDFs, images, zip files: compressed already).
pub fn pack_blob(data: &[u8]) -> Result<(i64, Vec<u8>)> {
    Ok(match zstd_blob(data)? {
        Some(z) => (1, z),
        None => (0, data.to_vec()),
    })
}

/// The zstd form of an attachment body if it saves a tenth, else `None`
/// (keep the bytes as they are: no copy is made of them here).
pub fn zstd_blob(data: &[u8]) -> Result<Option<Vec<u8>>> {
    if data.len() >= 256 {
        let z = compress(data, 1).context("compressing an attachment")?;
        if z.len() * 10 < data.len() * 9 {
            return Ok(Some(z));
        }
    }
    Ok(None)
}

/// `blobs.codec` of a body retention or erasure removed (the row stays for
/// the attachment rows that name it; `data` is empty).
pub const REMOVED: i64 = 2;

/// Remove an attachment body, keeping its row. Returns whether one was there.
pub fn remove_blob(conn: &Connection, sha256: &str) -> Result<bool> {
    drop_tail(conn, sha256)?;
    Ok(conn
        .prepare_cached(
            "UPDATE blobs SET data = X'', codec = ?1, tail_first = NULL, tail_pieces = 0 WHERE sha256 = ?2 AND codec <> ?1",
        )?
        .execute(params![REMOVED, sha256])?
        == 1)
}

/// Bytes of a tail piece: small rows pack leaf pages densely (at most one
/// piece's room is left at a page's end).
const PIECE: usize = 512;
/// Page geometry SQLite splits a row by (4 KB pages, the store's default):
/// an overflow page holds 4,092 bytes; a table leaf keeps at least 489
/// bytes of a row that overflows (`minLocal`), and then `minLocal + (P -
/// minLocal) % 4092` of a row of `P` bytes when that is at most 4,061.
const OVERFLOW_BYTES: usize = 4092;
const MIN_LOCAL: usize = 489;
/// Room for misjudging the row's own bytes: the leaf part is 489 to ~530 bytes.
const SLACK: usize = 24;

/// How many of a body's `n` stored bytes go into `blobs.data` (the rest is
/// its tail): as many as fill whole overflow pages with only `minLocal`
/// bytes of the row on its leaf page. A body smaller than one overflow
/// page goes wholly into the tail. A store with another page size loses
/// only the packing, never a byte.
pub fn split_at(n: usize, size: usize) -> usize {
    // The row's bytes besides `data` (SQLite's record: header, the
    // SHA-256's 64 hex digits, size, codec, tail_first, tail_pieces).
    let int_len = |v: usize| match v {
        0 | 1 => 0,
        2..=127 => 1,
        128..=32_767 => 2,
        32_768..=8_388_607 => 3,
        8_388_608..=2_147_483_647 => 4,
        _ => 6,
    };
    let own = 8 + 4 + 64 + int_len(size) + 4 + 1;
    if n + own < MIN_LOCAL + SLACK + OVERFLOW_BYTES {
        return 0;
    }
    let pages = (n + own - MIN_LOCAL - SLACK) / OVERFLOW_BYTES;
    pages * OVERFLOW_BYTES + MIN_LOCAL + SLACK - own
}

/// Delete the tail pieces of body `sha256`, if any.
fn drop_tail(conn: &Connection, sha256: &str) -> Result<()> {
    let tail: Option<(Option<i64>, i64)> = conn
        .prepare_cached("SELECT tail_first, tail_pieces FROM blobs WHERE sha256 = ?1")?
        .query_row([sha256], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if let Some((Some(first), pieces)) = tail {
        conn.prepare_cached("DELETE FROM blob_tails WHERE id >= ?1 AND id < ?1 + ?2")?
            .execute(params![first, pieces])?;
    }
    Ok(())
}

/// Store body `sha256` (`size` bytes decoded) as `body` in `codec`: the
/// row, and its tail as pieces ([`split_at`]).
fn write_blob(conn: &Connection, sha256: &str, size: usize, codec: i64, body: &[u8]) -> Result<()> {
    drop_tail(conn, sha256)?;
    let (head, tail) = body.split_at(split_at(body.len(), size));
    let mut first = None;
    let mut pieces = 0i64;
    if !tail.is_empty() {
        let start: i64 =
            conn.prepare_cached("SELECT coalesce(max(id), 0) + 1 FROM blob_tails")?.query_row([], |r| r.get(0))?;
        for piece in tail.chunks(PIECE) {
            conn.prepare_cached("INSERT INTO blob_tails (id, data) VALUES (?1, ?2)")?
                .execute(params![start + pieces, piece])?;
            pieces += 1;
        }
        first = Some(start);
    }
    conn.prepare_cached(
        "INSERT INTO blobs (sha256, size, data, codec, tail_first, tail_pieces) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT(sha256) DO UPDATE SET data = excluded.data, codec = excluded.codec, \
         tail_first = excluded.tail_first, tail_pieces = excluded.tail_pieces",
    )?
    .execute(params![sha256, size as i64, head, codec, first, pieces])?;
    Ok(())
}

/// A body's stored bytes: `data` and its `pieces` tail pieces from `first` on.
pub fn with_tail(conn: &Connection, mut data: Vec<u8>, first: Option<i64>, pieces: i64) -> Result<Vec<u8>> {
    let Some(first) = first else { return Ok(data) };
    let mut st = conn.prepare_cached("SELECT data FROM blob_tails WHERE id >= ?1 AND id < ?1 + ?2 ORDER BY id")?;
    let mut rows = st.query(params![first, pieces])?;
    let mut got = 0;
    while let Some(r) = rows.next()? {
        data.extend_from_slice(r.get_ref(0)?.as_blob()?);
        got += 1;
    }
    anyhow::ensure!(got == pieces, "an attachment body lacks {} of its {pieces} tail pieces", pieces - got);
    Ok(data)
}

/// The stored length of body `sha256` (`data` and tail), unless removed.
pub fn stored_len(conn: &Connection, sha256: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT length(b.data) + coalesce((SELECT sum(length(t.data)) FROM blob_tails t \
             WHERE t.id >= b.tail_first AND t.id < b.tail_first + b.tail_pieces), 0) \
             FROM blobs b WHERE b.sha256 = ?1 AND b.codec <> ?2",
        )?
        .query_row(params![sha256, REMOVED], |r| r.get(0))
        .optional()?)
}

pub fn unpack_blob(codec: i64, data: Vec<u8>) -> Result<Vec<u8>> {
    match codec {
        0 | REMOVED => Ok(data),
        1 => unpack(&data),
        c => anyhow::bail!("unknown blob codec {c}"),
    }
}

/// How an attachment's base64 text was laid out in the mail.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Layout {
    line_len: usize,
    eol: u8,
    tail: u32,
}

fn eol_bytes(eol: u8) -> &'static [u8] {
    match eol {
        1 => b"\r\n",
        2 => b"\r",
        _ => b"\n",
    }
}

/// Calls `f` with each piece of the base64 text of `data` laid out as `l`
/// (its lines and line ends, in order) until `f` says no; whether it never
/// did. Lines are encoded a few KB at a time into one buffer: no copy of
/// the whole text (checking a layout was an encode into a `String`, a copy
/// of it into lines and a compare: 3.4 % of an ingest's cycles).
fn pieces(data: &[u8], l: Layout, mut f: impl FnMut(&[u8]) -> bool) -> bool {
    use base64::Engine;
    let b64 = &base64::engine::general_purpose::STANDARD;
    let eol = eol_bytes(l.eol);
    let line_len = l.line_len.max(1);
    let mut first = true;
    let mut line = |piece: &[u8], f: &mut dyn FnMut(&[u8]) -> bool| {
        let ok = (first || f(eol)) && f(piece);
        first = false;
        ok
    };
    if !line_len.is_multiple_of(4) {
        // Lines that split a 4-character group (a single line: layout_of).
        let text = b64.encode(data);
        for piece in text.as_bytes().chunks(line_len) {
            if !line(piece, &mut f) {
                return false;
            }
        }
    } else {
        // Whole lines encode from whole 3-byte groups of the data.
        let lines = (4096 / line_len).max(1);
        let mut buf = vec![0u8; lines * line_len];
        for chunk in data.chunks(lines * line_len / 4 * 3) {
            let Ok(n) = b64.encode_slice(chunk, &mut buf) else { return false };
            for piece in buf[..n].chunks(line_len) {
                if !line(piece, &mut f) {
                    return false;
                }
            }
        }
    }
    (0..l.tail).all(|_| f(eol))
}

/// The length of [`encode`]'s text of `n` bytes in layout `l` (lines of a
/// multiple of 4 characters).
fn encoded_len(n: usize, l: Layout) -> usize {
    let chars = n.div_ceil(3) * 4;
    let lines = chars.div_ceil(l.line_len.max(1));
    chars + lines.saturating_sub(1) * eol_bytes(l.eol).len() + l.tail as usize * eol_bytes(l.eol).len()
}

/// The base64 text of `data` laid out as `l`.
fn encode(data: &[u8], l: Layout, out: &mut Vec<u8>) {
    pieces(data, l, |p| {
        out.extend_from_slice(p);
        true
    });
}

/// The layout that re-encodes `data` into exactly `text`, if there is one.
fn layout_of(text: &[u8], data: &[u8]) -> Option<Layout> {
    let first_end = text.iter().position(|&b| b == b'\r' || b == b'\n').unwrap_or(text.len());
    let eol = match &text[first_end..] {
        [b'\r', b'\n', ..] => 1,
        [b'\r', ..] => 2,
        _ => 0,
    };
    let e = eol_bytes(eol);
    let mut body = text;
    let mut tail = 0u32;
    while body.ends_with(e) {
        body = &body[..body.len() - e.len()];
        tail += 1;
    }
    let line_len = first_end.min(body.len());
    if line_len == 0 || line_len % 4 != 0 && line_len != body.len() {
        return None;
    }
    let l = Layout { line_len, eol, tail };
    let mut rest = text;
    let same = pieces(data, l, |p| match rest.strip_prefix(p) {
        Some(r) => {
            rest = r;
            true
        }
        None => false,
    });
    (same && rest.is_empty()).then_some(l)
}

/// An attachment of a mail that may be left out of its stored raw bytes.
pub struct Part<'a> {
    /// Where its base64 text lies in the raw mail.
    pub range: Range<usize>,
    pub sha256: &'a str,
    pub data: &'a [u8],
}

/// The skeleton of `raw` without the base64 text of `parts` (not yet
/// compressed: [`super::dict::pack`] does that, with the store's
/// dictionary), or `None` when no part could be left out exactly.
pub fn skeleton(raw: &[u8], parts: &[Part]) -> Result<Option<Vec<u8>>> {
    Ok(skeleton_of(raw, parts)?.map(|(sk, _)| sk))
}

/// [`skeleton`] and the indexes (in `parts`) of the parts it left out.
fn skeleton_of(raw: &[u8], parts: &[Part]) -> Result<Option<(Vec<u8>, Vec<usize>)>> {
    let mut out = Vec::with_capacity(raw.len() / 4 + 64);
    out.extend_from_slice(b"SKL1");
    let mut at = 0usize;
    let mut replaced = Vec::new();
    let mut sorted: Vec<(usize, &Part)> = parts.iter().enumerate().collect();
    sorted.sort_by_key(|(_, p)| p.range.start);
    for (i, p) in sorted {
        if p.range.start < at || p.range.end > raw.len() || p.sha256.len() != 64 {
            continue;
        }
        let Some(l) = layout_of(&raw[p.range.clone()], p.data) else { continue };
        literal(&mut out, &raw[at..p.range.start]);
        out.push(1);
        out.extend_from_slice(p.sha256.as_bytes());
        out.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(l.line_len as u32).to_le_bytes());
        out.push(l.eol);
        out.extend_from_slice(&l.tail.to_le_bytes());
        at = p.range.end;
        replaced.push(i);
    }
    if replaced.is_empty() {
        return Ok(None);
    }
    literal(&mut out, &raw[at..]);
    Ok(Some((out, replaced)))
}

fn literal(out: &mut Vec<u8>, bytes: &[u8]) {
    // Literals longer than 4 GiB cannot occur: mails are capped far below.
    out.push(0);
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn take<'a>(buf: &mut &'a [u8], n: usize) -> Result<&'a [u8]> {
    anyhow::ensure!(buf.len() >= n, "a stored mail's skeleton is cut short");
    let (a, b) = buf.split_at(n);
    *buf = b;
    Ok(a)
}

fn u32_of(buf: &mut &[u8]) -> Result<usize> {
    Ok(u32::from_le_bytes(take(buf, 4)?.try_into().unwrap_or_default()) as usize)
}

/// The SHA-256 of every attachment a stored skeleton refers to.
pub fn skeleton_refs(conn: &Connection, packed: &[u8]) -> Result<Vec<String>> {
    refs_of(&super::dict::unpack(conn, packed)?)
}

/// The SHA-256 of every attachment a skeleton (not compressed) refers to.
fn refs_of(sk: &[u8]) -> Result<Vec<String>> {
    let mut refs = Vec::new();
    walk(sk, |seg| {
        if let Segment::Ref { sha, .. } = seg {
            refs.push(sha.to_string());
        }
        Ok(())
    })?;
    Ok(refs)
}

enum Segment<'a> {
    Literal(&'a [u8]),
    Ref { sha: &'a str, layout: Layout },
}

fn walk<'a>(sk: &'a [u8], mut f: impl FnMut(Segment<'a>) -> Result<()>) -> Result<()> {
    let mut buf = sk;
    anyhow::ensure!(take(&mut buf, 4)? == b"SKL1", "a stored mail's skeleton has an unknown format");
    while !buf.is_empty() {
        match take(&mut buf, 1)?[0] {
            0 => {
                let n = u32_of(&mut buf)?;
                f(Segment::Literal(take(&mut buf, n)?))?;
            }
            1 => {
                let sha = std::str::from_utf8(take(&mut buf, 64)?).context("a skeleton's attachment reference")?;
                let _size = u32_of(&mut buf)?;
                let line_len = u32_of(&mut buf)?;
                let eol = take(&mut buf, 1)?[0];
                let tail = u32_of(&mut buf)? as u32;
                f(Segment::Ref { sha, layout: Layout { line_len, eol, tail } })?;
            }
            t => anyhow::bail!("a stored mail's skeleton has an unknown segment {t}"),
        }
    }
    Ok(())
}

/// The raw bytes of a stored value in `format`; attachments come from `blobs`.
pub fn restore(conn: &Connection, format: i64, data: Vec<u8>) -> Result<Vec<u8>> {
    match format {
        PLAIN => Ok(data),
        ZSTD => super::dict::unpack(conn, &data),
        SKELETON => {
            let sk = super::dict::unpack(conn, &data)?;
            let mut out = Vec::with_capacity(sk.len() * 2);
            walk(&sk, |seg| {
                match seg {
                    Segment::Literal(b) => out.extend_from_slice(b),
                    Segment::Ref { sha, layout } => match super::blob(conn, sha)? {
                        Some(bytes) => encode(&bytes, layout, &mut out),
                        None => {
                            out.extend_from_slice(REMOVED_MARK);
                            for _ in 0..layout.tail.max(1) {
                                out.extend_from_slice(eol_bytes(layout.eol));
                            }
                        }
                    },
                }
                Ok(())
            })?;
            Ok(out)
        }
        f => anyhow::bail!("unknown raw format {f}"),
    }
}

/// The raw bytes of a stored incoming mail (`None`: no such row; an empty
/// vector: retention or erasure removed them).
pub fn raw_bytes(conn: &Connection, row: i64) -> Result<Option<Vec<u8>>> {
    let got: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT raw_format, raw FROM messages WHERE id = ?1")?
        .query_row([row], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match got {
        None => Ok(None),
        Some((f, data)) => restore(conn, f, data).with_context(|| format!("reading stored mail #{row}")).map(Some),
    }
}

/// The raw bytes of an outgoing mail as stored (`raw_format`, `raw`);
/// a skeleton's attachments come from `blobs`.
pub fn outbox_raw(conn: &Connection, format: i64, data: Vec<u8>) -> Result<Vec<u8>> {
    restore(conn, format, data)
}

/// An outgoing mail as stored, for a mail we built with these `files`
/// attached (SHA-256, bytes; in the order they are attached): their base64
/// text is found in `raw` as the mail builder lays it out (76 characters a
/// line, CRLF) without parsing the mail again, and referred to by the
/// skeleton; each body is kept once in `blobs` (usually kept already: the
/// incoming mail's attachments are stored before the mails it causes).
/// A file sent in another transfer encoding (a short text file in
/// quoted-printable) stays in the zstd text.
pub fn pack_outgoing_files(conn: &Connection, raw: &[u8], files: &[(&str, &[u8])]) -> Result<(i64, Vec<u8>)> {
    let mut parts: Vec<Part> = Vec::new();
    let mut from = 0usize;
    // Our mails carry each file in base64, 76-character CRLF lines
    // (templates::build): its text starts with the first line's 76
    // characters and has a known length. Only that line is encoded here;
    // skeleton_of checks the whole text against the file (once), and a
    // text that is not exactly the file's stays in the skeleton.
    let layout = Layout { line_len: 76, eol: 1, tail: 0 };
    for &(sha256, data) in files {
        if data.len() < 1024 || from >= raw.len() {
            continue;
        }
        let mut head = Vec::with_capacity(76);
        encode(&data[..57], layout, &mut head);
        let len = encoded_len(data.len(), layout);
        if let Some(at) = memchr::memmem::find(&raw[from..], &head) {
            let range = from + at..from + at + len;
            if range.end <= raw.len() {
                from = range.end;
                parts.push(Part { range, sha256, data });
            }
        }
    }
    if let Some((sk, replaced)) = skeleton_of(raw, &parts)? {
        for i in replaced {
            put_known_blob(conn, parts[i].sha256, parts[i].data, None, true)?;
        }
        return Ok((SKELETON, super::dict::pack(conn, super::dict::Kind::Outbox, &sk)?));
    }
    Ok((ZSTD, super::dict::pack(conn, super::dict::Kind::Outbox, raw)?))
}

/// Keep an attachment body once by its known SHA-256 (`zstd`: its packed
/// form if [`zstd_blob`] made one already, e.g. on the prepare thread).
/// `revive`: a body retention or erasure removed is kept again (else only
/// a body the store never had is added).
pub fn put_known_blob(
    conn: &Connection,
    sha256: &str,
    data: &[u8],
    zstd: Option<Option<Vec<u8>>>,
    revive: bool,
) -> Result<()> {
    let known: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM blobs WHERE sha256 = ?1 AND (codec <> ?2 OR NOT ?3))")?
        .query_row(params![sha256, REMOVED, revive], |r| r.get(0))?;
    if known {
        return Ok(());
    }
    // New, or removed by retention and now brought again.
    let z = match zstd {
        Some(z) => z,
        None => zstd_blob(data)?,
    };
    let (codec, body): (i64, &[u8]) = match &z {
        Some(z) => (1, z),
        None => (0, data),
    };
    write_blob(conn, sha256, data.len(), codec, body)
}

/// An outgoing mail as stored: (`raw_format`, `raw`). The attachments it
/// passes on that the store keeps already (an agent's or a customer's
/// file relayed, the handover's files) are referred to, not kept again;
/// the rest is zstd. For a mail of unknown make (parsed here); the
/// pipeline's own mails go through [`pack_outgoing_files`].
pub fn pack_outgoing(conn: &Connection, raw: &[u8]) -> Result<(i64, Vec<u8>)> {
    const B64: &[u8] = b"base64";
    if raw.len() > 8 * 1024
        && raw.windows(B64.len()).any(|w| w.eq_ignore_ascii_case(B64))
        && let Some(msg) = mail_parser::MessageParser::default().parse(raw)
    {
        let mut found: Vec<(Range<usize>, String, &[u8])> = Vec::new();
        for part in msg.attachments() {
            let range = part.offset_body as usize..part.offset_end as usize;
            if part.encoding != mail_parser::Encoding::Base64
                || part.contents().len() < 1024
                || range.start >= range.end
                || range.end > raw.len()
            {
                continue;
            }
            found.push((range, crate::parse::sha256_hex(part.contents()), part.contents()));
        }
        let parts: Vec<Part> = found.iter().map(|(r, s, d)| Part { range: r.clone(), sha256: s, data: d }).collect();
        if let Some(sk) = skeleton(raw, &parts)? {
            // Usually kept already (the mail that brought it is written
            // after the answers it causes are queued): kept once either way.
            let refs = refs_of(&sk)?;
            for (_, sha, data) in found.iter().filter(|(_, s, _)| refs.contains(s)) {
                let put = put_blob(conn, data)?;
                debug_assert_eq!(&put, sha);
            }
            return Ok((SKELETON, super::dict::pack(conn, super::dict::Kind::Outbox, &sk)?));
        }
    }
    Ok((ZSTD, super::dict::pack(conn, super::dict::Kind::Outbox, raw)?))
}

/// The attachment bodies queued outgoing mails still need (retention and
/// erasure keep them until the mail is sent or failed).
pub fn needed_by_queued(conn: &Connection) -> Result<std::collections::HashSet<String>> {
    let mut out = std::collections::HashSet::new();
    let mut st = conn.prepare_cached("SELECT raw FROM outbox WHERE state = 'queued' AND raw_format = ?1")?;
    let rows = st.query_map([SKELETON], |r| r.get::<_, Vec<u8>>(0))?;
    for raw in rows {
        out.extend(skeleton_refs(conn, &raw?)?);
    }
    Ok(out)
}

/// A parsed incoming mail in its stored form, made before the writer needs
/// it (on the prepare thread, beside the writer): the first write of the
/// mail is this, not the bytes compressed once and then again. The writer
/// compresses it ([`insert_packed`]): with the store's dictionary, which
/// the prepare thread does not know (a skeleton is a few KB: tens of µs).
pub struct Packed {
    /// `messages.raw_format`: [`SKELETON`] when an attachment's base64 text
    /// was left out (its body goes into `blobs` with the mail), else [`ZSTD`].
    pub format: i64,
    /// The skeleton, not compressed; `None` ([`ZSTD`]): the raw bytes.
    pub skeleton: Option<Vec<u8>>,
    /// For each attachment of the parsed mail, in order: its zstd body if
    /// that saves a tenth ([`zstd_blob`]), `None`: kept as it is.
    pub blobs: Vec<Option<Vec<u8>>>,
}

/// The stored form of `raw`, whose parse gave `atts` (each with its SHA-256).
pub fn pack_mail(raw: &[u8], atts: &[crate::parse::Attachment]) -> Result<Packed> {
    let blobs = atts.iter().map(|a| zstd_blob(&a.data)).collect::<Result<Vec<_>>>()?;
    let parts: Vec<Part> = atts
        .iter()
        .filter_map(|a| a.encoded.clone().map(|range| Part { range, sha256: &a.sha256, data: &a.data }))
        .collect();
    if !parts.is_empty()
        && let Some(sk) = skeleton(raw, &parts)?
    {
        return Ok(Packed { format: SKELETON, skeleton: Some(sk), blobs });
    }
    Ok(Packed { format: ZSTD, skeleton: None, blobs })
}

/// Store the raw bytes of an incoming mail: the first write for every mail.
/// Kept zstd-compressed.
pub fn insert_raw(conn: &Connection, raw: &[u8], hash: &str, source: &str, now: DateTime<Utc>) -> Result<i64> {
    insert_packed(conn, ZSTD, raw, raw.len(), hash, source, now)
}

/// [`insert_raw`] with the stored form made already ([`pack_mail`]):
/// `plain` is the skeleton (or for [`ZSTD`] the raw bytes), compressed
/// here with the store's dictionary; a skeleton's attachment bodies must
/// go into `blobs` in the same transaction ([`put_known_blob`]), or the
/// row is rewritten as zstd before the commit ([`repack_raw`]).
pub fn insert_packed(
    conn: &Connection,
    format: i64,
    plain: &[u8],
    raw_size: usize,
    hash: &str,
    source: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let data = super::dict::pack(conn, super::dict::Kind::Mail, plain)?;
    conn.prepare_cached(
        "INSERT INTO messages (content_hash, raw, raw_format, raw_size, source, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![hash, data, format, raw_size as i64, source, super::ts(now)])?;
    Ok(conn.last_insert_rowid())
}

/// Keep stored mail `row` as zstd of its `raw` bytes (a skeleton whose
/// attachment rows are not written: a duplicate, a quarantined mail).
pub fn repack_raw(conn: &Connection, row: i64, raw: &[u8]) -> Result<()> {
    conn.prepare_cached("UPDATE messages SET raw = ?1, raw_format = ?2 WHERE id = ?3")?.execute(params![
        super::dict::pack(conn, super::dict::Kind::Mail, raw)?,
        ZSTD,
        row
    ])?;
    Ok(())
}

/// Keep an attachment body once (content-addressed); returns its SHA-256.
pub fn put_blob(conn: &Connection, data: &[u8]) -> Result<String> {
    let sha = crate::parse::sha256_hex(data);
    let known: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM blobs WHERE sha256 = ?1 AND codec <> ?2)")?
        .query_row(params![&sha, REMOVED], |r| r.get(0))?;
    if !known {
        // New, or removed by retention and now brought again.
        let (codec, packed) = pack_blob(data)?;
        write_blob(conn, &sha, data.len(), codec, &packed)?;
    }
    Ok(sha)
}

/// State key: the conversion's place among the blobs (rowid), while it runs.
pub const BLOB_CURSOR_KEY: &str = "compact.blob_cursor";

/// Rows converted per transaction by [`convert_pending`].
const BATCH: usize = 200;

/// Convert the mails of a store from before migration 0013 in place:
/// incoming mails to skeletons (or zstd), outgoing mails and attachment
/// blobs to zstd, in batches of [`BATCH`] rows, each its own transaction
/// (an interrupted conversion goes on where it stopped at the next open).
/// Returns how many rows were converted.
pub fn convert_pending(conn: &mut Connection) -> Result<usize> {
    // The batch's row numbers first, then one value at a time: 200 raw
    // mails of up to `limits.max_mail_bytes` each are never held at once.
    fn ids(tx: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<Vec<i64>> {
        Ok(tx.prepare(sql)?.query_map(p, |r| r.get(0))?.collect::<rusqlite::Result<_>>()?)
    }
    fn value(tx: &Connection, sql: &str, id: i64) -> Result<Vec<u8>> {
        Ok(tx.prepare_cached(sql)?.query_row([id], |r| r.get(0))?)
    }
    let mut total = 0;
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let rows = ids(&tx, "SELECT id FROM messages WHERE raw_format = 0 ORDER BY id LIMIT ?1", [BATCH as i64])?;
        let rows_out = if rows.len() < BATCH {
            let left = (BATCH - rows.len()) as i64;
            ids(&tx, "SELECT id FROM outbox WHERE raw_format = 0 ORDER BY id LIMIT ?1", [left])?
        } else {
            Vec::new()
        };
        // Blobs in rowid order after a cursor kept in `state` (so an
        // incompressible one is looked at once, and an interrupted run goes on).
        let cursor: i64 = super::get_state(&tx, BLOB_CURSOR_KEY)?.and_then(|c| c.parse().ok()).unwrap_or(0);
        let blobs = if rows.len() + rows_out.len() < BATCH {
            let left = (BATCH - rows.len() - rows_out.len()) as i64;
            ids(
                &tx,
                "SELECT rowid FROM blobs WHERE rowid > ?1 AND codec = 0 AND tail_first IS NULL ORDER BY rowid LIMIT ?2",
                params![cursor, left],
            )?
        } else {
            Vec::new()
        };
        if rows.is_empty() && rows_out.is_empty() && blobs.is_empty() {
            tx.execute("DELETE FROM state WHERE key = ?1", [BLOB_CURSOR_KEY])?;
            tx.commit()?;
            return Ok(total);
        }
        for &id in &rows {
            let raw = value(&tx, "SELECT raw FROM messages WHERE id = ?1", id)?;
            let (format, data) = convert_message(&tx, id, &raw)?;
            tx.execute("UPDATE messages SET raw = ?1, raw_format = ?2 WHERE id = ?3", params![data, format, id])?;
        }
        for &id in &rows_out {
            let raw = value(&tx, "SELECT raw FROM outbox WHERE id = ?1", id)?;
            let packed = super::dict::pack(&tx, super::dict::Kind::Outbox, &raw)?;
            tx.execute("UPDATE outbox SET raw = ?1, raw_format = 1 WHERE id = ?2", params![packed, id])?;
        }
        for &rowid in &blobs {
            let data = value(&tx, "SELECT data FROM blobs WHERE rowid = ?1", rowid)?;
            let (codec, packed) = pack_blob(&data)?;
            if codec != 0 {
                tx.execute("UPDATE blobs SET data = ?1, codec = ?2 WHERE rowid = ?3", params![packed, codec, rowid])?;
            }
        }
        if let Some(last) = blobs.last() {
            super::set_state(&tx, BLOB_CURSOR_KEY, &last.to_string())?;
        } else if super::get_state(&tx, BLOB_CURSOR_KEY)?.is_none() {
            super::set_state(&tx, BLOB_CURSOR_KEY, "0")?;
        }
        tx.commit()?;
        total += rows.len() + rows_out.len() + blobs.len();
        if total % 10_000 < BATCH {
            tracing::info!("compacting the store: {total} rows converted");
        }
    }
}

/// An old plain row as a skeleton (its attachments are in `blobs` already,
/// stored by the pipeline then) or else zstd.
fn convert_message(conn: &Connection, id: i64, raw: &[u8]) -> Result<(i64, Vec<u8>)> {
    let has: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM attachments WHERE message_row = ?1)")?
        .query_row([id], |r| r.get(0))?;
    if has {
        let msg = mail_parser::MessageParser::default().parse(raw);
        if let Some(msg) = msg {
            let mut found: Vec<(Range<usize>, String, Vec<u8>)> = Vec::new();
            for part in msg.attachments() {
                if part.encoding != mail_parser::Encoding::Base64 {
                    continue;
                }
                let data = part.contents();
                let sha = crate::parse::sha256_hex(data);
                let stored: bool = conn
                    .prepare_cached("SELECT EXISTS (SELECT 1 FROM blobs WHERE sha256 = ?1)")?
                    .query_row([&sha], |r| r.get(0))?;
                let range = part.offset_body as usize..part.offset_end as usize;
                if stored && range.start < range.end && range.end <= raw.len() {
                    found.push((range, sha, data.to_vec()));
                }
            }
            let parts: Vec<Part> =
                found.iter().map(|(r, s, d)| Part { range: r.clone(), sha256: s, data: d }).collect();
            if let Some(sk) = skeleton(raw, &parts)? {
                return Ok((SKELETON, super::dict::pack(conn, super::dict::Kind::Mail, &sk)?));
            }
        }
    }
    Ok((ZSTD, super::dict::pack(conn, super::dict::Kind::Mail, raw)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `unpack` gives back the bytes of every zstd value it may meet: one
    /// frame that says its size (what `pack` writes; the thread's context,
    /// used again for a second value), a frame without a size (a stream
    /// encoder's), two frames one after the other, and an empty frame; and
    /// a value that is not zstd is an error, not bytes.
    #[test]
    fn unpack_reads_one_or_more_frames_with_or_without_their_size() {
        let text: Vec<u8> = "Sehr geehrte Damen und Herren,\r\n".repeat(500).into_bytes();
        let other: Vec<u8> = (0..20_000u32).flat_map(|i| i.to_le_bytes()).collect();
        for value in [&text, &other] {
            let packed = pack(value).unwrap();
            assert!(matches!(zstd::zstd_safe::get_frame_content_size(&packed), Ok(Some(_))));
            assert_eq!(&unpack(&packed).unwrap(), value);
        }
        let mut unsized_frame = Vec::new();
        {
            use std::io::Write;
            let mut enc = zstd::stream::write::Encoder::new(&mut unsized_frame, 3).unwrap();
            enc.write_all(&text).unwrap();
            enc.finish().unwrap();
        }
        assert!(matches!(zstd::zstd_safe::get_frame_content_size(&unsized_frame), Ok(None)));
        assert_eq!(unpack(&unsized_frame).unwrap(), text);
        let mut two = pack(&text).unwrap();
        two.extend(pack(&other).unwrap());
        assert_eq!(unpack(&two).unwrap(), [text.clone(), other.clone()].concat());
        assert_eq!(unpack(&pack(b"").unwrap()).unwrap(), b"");
        assert!(unpack(b"not zstd at all").is_err());
    }

    #[test]
    fn layouts_round_trip_exactly_or_not_at_all() {
        use base64::Engine;
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
        for (len, eol, tail) in
            [(76, "\r\n", 1), (72, "\n", 0), (64, "\r\n", 2), (76, "\r", 1), (b64.len(), "\n", 1), (8192, "\r\n", 0)]
        {
            let text: Vec<u8> = b64
                .as_bytes()
                .chunks(len)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join(eol)
                .into_bytes()
                .into_iter()
                .chain(eol.repeat(tail).into_bytes())
                .collect();
            let l = layout_of(&text, &data).unwrap_or_else(|| panic!("{len} {eol:?} {tail}"));
            let mut again = Vec::new();
            encode(&data, l, &mut again);
            assert_eq!(again, text);
        }
        // An odd line (one shorter line in the middle) is kept literally.
        let mut odd = b64.as_bytes()[..60].to_vec();
        odd.extend_from_slice(b"\r\n");
        odd.extend_from_slice(&b64.as_bytes()[60..]);
        assert!(layout_of(&odd, &data).is_none());
        // One character changed, on either side of the first 4 KB piece: kept literally.
        for at in [10, 4200, b64.len() - 1] {
            let mut changed = b64.clone().into_bytes();
            changed[at] = if changed[at] == b'A' { b'B' } else { b'A' };
            assert!(layout_of(&changed, &data).is_none(), "{at}");
        }
    }

    /// Proves: the length pack_outgoing_files expects for a file's text is
    /// the length of that text, whatever the file's size modulo 3 and 57.
    #[test]
    fn encoded_len_is_the_length_of_the_text() {
        for n in [1, 2, 3, 56, 57, 58, 113, 114, 1024, 1025, 1026, 4096, 40_001] {
            let data = vec![0x5au8; n];
            for l in [Layout { line_len: 76, eol: 1, tail: 0 }, Layout { line_len: 64, eol: 0, tail: 2 }] {
                let mut text = Vec::new();
                encode(&data, l, &mut text);
                assert_eq!(encoded_len(n, l), text.len(), "{n} bytes, lines of {}", l.line_len);
            }
        }
    }
}
