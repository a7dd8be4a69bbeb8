//! Years of mail in one store: the compact store (zstd, attachments once),
//! listing in SQL, retention, erasure, sending limits.

mod common;

use common::Env;
use supportd::store;

/// A customer mail with one base64 attachment (76-character CRLF lines).
fn with_attachment(from: &str, message_id: &str, subject: &str, name: &str, data: &[u8]) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: mein-team-support@roewaplan.de\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Tue, 24 Nov 2026 09:55:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XyZ\"\r\n\r\n\
         --XyZ\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Guten Tag,\r\n\r\nim Anhang der Screenshot zum Fehler beim Speichern.\r\n\r\nMit freundlichen Grüßen\r\nM. Keller\r\n\
         --XyZ\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}--XyZ--\r\n",
        common::b64_lines(data)
    )
    .into_bytes()
}

fn noise(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Proves: through the real pipeline, a mail's raw bytes are kept
/// compressed and without its attachment's base64 text (a skeleton), the
/// attachment is stored once for two mails that carry it, and every reader
/// (the raw accessor, `messages show`'s detail, the blob) gets back exactly
/// the bytes that arrived.
#[test]
fn raw_mails_are_compressed_and_attachments_kept_once() {
    let mut env = Env::new();
    let shot = noise(40_000, 7);
    let a = with_attachment("m.keller@stadtwerke-musterstadt.de", "a1@sw", "Fehler beim Speichern", "shot.png", &shot);
    let b = with_attachment("e.roth@stadtwerke-musterstadt.de", "b1@sw", "Auch bei uns", "bild.png", &shot);
    let plain = common::mail(
        "it@stadtwerke-musterstadt.de",
        "Frage zum Export",
        "c1@sw",
        "",
        &"Wie exportiere ich die Monatsübersicht als CSV?\n".repeat(40),
    );
    let oa = env.ingest(&a);
    let ob = env.ingest(&b);
    let oc = env.ingest(&plain);
    assert_eq!(oa.disposition.as_str(), "new_ticket");
    assert_eq!(env.count("SELECT count(*) FROM blobs"), 1, "one attachment body for two mails");
    assert_eq!(env.count("SELECT count(*) FROM attachments"), 2);
    for (o, raw, format) in [(&oa, &a, 2), (&ob, &b, 2), (&oc, &plain, 1)] {
        let (f, stored, size): (i64, i64, i64) = env
            .store
            .conn()
            .query_row("SELECT raw_format, length(raw), raw_size FROM messages WHERE id = ?1", [o.row], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(f, format, "row {}", o.row);
        assert_eq!(size as usize, raw.len());
        assert!(stored * 2 < raw.len() as i64, "row {}: {stored} bytes stored for {}", o.row, raw.len());
        assert_eq!(&store::raw_bytes(env.store.conn(), o.row).unwrap().unwrap(), raw, "row {} read back", o.row);
        let d = store::get_message(env.store.conn(), o.row).unwrap().unwrap();
        assert_eq!(&d.raw, raw);
        assert_eq!(d.size, raw.len());
    }
    let total: i64 =
        env.count("SELECT sum(length(raw)) FROM messages") + env.count("SELECT sum(length(data)) FROM blobs");
    let came = (a.len() + b.len() + plain.len()) as i64;
    assert!(total * 100 < came * 45, "{came} bytes of mail kept in {total}");
    // The outgoing mails are compressed too and read back whole.
    for o in env.outbox() {
        let raw = store::outbox_raw(env.store.conn(), o.id).unwrap().unwrap();
        assert!(raw.starts_with(b"From: ") || raw.windows(6).any(|w| w == b"From: "), "outbox #{}", o.id);
        let f: i64 =
            env.store.conn().query_row("SELECT raw_format FROM outbox WHERE id = ?1", [o.id], |r| r.get(0)).unwrap();
        assert_eq!(f, 1);
    }
}

/// Proves: an attachment whose base64 text is laid out oddly (one short
/// line in the middle) is kept literally inside the compressed raw mail:
/// nothing is ever rewritten, the bytes read back are the bytes that came.
#[test]
fn oddly_encoded_attachments_are_kept_byte_for_byte() {
    let mut env = Env::new();
    let data = noise(9_000, 3);
    let mut raw = with_attachment("m.keller@stadtwerke-musterstadt.de", "odd@sw", "Log", "log.bin", &data);
    let at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let body = raw.windows(8).rposition(|w| w == b"base64\r\n").unwrap() + 10;
    assert!(body > at);
    raw.splice(body + 30..body + 30, b"\r\n".iter().copied());
    let o = env.ingest(&raw);
    let f: i64 =
        env.store.conn().query_row("SELECT raw_format FROM messages WHERE id = ?1", [o.row], |r| r.get(0)).unwrap();
    assert_eq!(f, 1, "not a skeleton");
    assert_eq!(store::raw_bytes(env.store.conn(), o.row).unwrap().unwrap(), raw);
}

/// Proves: the real client mails with attachments of fixtures/pipeline
/// (Outlook PDF, Gmail screenshot, Thunderbird RFC 2231 name, a follow-up
/// with a screenshot) are kept as skeletons and read back byte for byte.
#[test]
fn real_client_mails_read_back_exactly() {
    let mut env = Env::new();
    let mut skeletons = 0;
    for name in [
        "07-de-outlook-pdf-anhang",
        "08-en-gmail-screenshot",
        "09-de-thunderbird-rfc2231-anhang",
        "26-de-followup-mit-screenshot",
    ] {
        let path = common::repo().join(format!("fixtures/pipeline/{name}.eml"));
        let raw = std::fs::read(&path).unwrap();
        let o = env.ingest(&raw);
        assert_eq!(store::raw_bytes(env.store.conn(), o.row).unwrap().unwrap(), raw, "{name}");
        let f: i64 =
            env.store.conn().query_row("SELECT raw_format FROM messages WHERE id = ?1", [o.row], |r| r.get(0)).unwrap();
        skeletons += (f == 2) as usize;
    }
    assert!(skeletons >= 3, "{skeletons} of 4 client mails kept without their base64 text");
}
