//! Years of mail in one store: generates realistic support mails and
//! ingests them in chunks with the release binary (`ingest --no-send`),
//! printing per chunk the ingest rate, store bytes per mail byte, the
//! ingest's peak RSS, and the time of `tickets list --limit 50`, `status`,
//! a yearly report and one ticket's overview (`tickets show`).
//!
//! ```sh
//! cargo build --release
//! cargo run --release --example bench_scale -- [TOTAL] [CHUNK] [WORKDIR]   # 200000 10000 /tmp/bench-scale
//! cargo run --release --example bench_scale -- --mails-only DIR N [FROM]    # only write mails FROM..N
//! ```
//!
//! The mails (deterministic but for their arrival times: one every 20 s,
//! ending before the day of the run, see `arrival`): German and English
//! customer mails of four customers, new requests and replies
//! (In-Reply-To + quoted history), plain
//! text in quoted-printable or 8 bit (ISO-8859-1 or UTF-8), HTML
//! alternatives with the sender's signature logo inline (the same logo in
//! every mail of a sender), and attachments in base64: screenshots (PNG,
//! incompressible), PDFs (text streams and images) and log files; about
//! 37 KB per mail on average.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 1_000_000.0 < p
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(n);
        out
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

const CUSTOMERS: &[(&str, &[(&str, &str)])] = &[
    (
        "stadtwerke-musterstadt.de",
        &[("m.keller", "Max Keller"), ("e.roth", "Eva Roth"), ("it", "IT-Service"), ("l.fischer", "Lena Fischer")],
    ),
    ("lk-beispielhausen.de", &[("s.yilmaz", "Selin Yılmaz"), ("poststelle", "Poststelle"), ("j.weber", "Jonas Weber")]),
    ("harbour-analytics.co.uk", &[("jane", "Jane Porter"), ("tom.baker", "Tom Baker")]),
    ("gemeinde-irgendwo.de", &[("rathaus", "Rathaus Irgendwo"), ("k.lang", "Klaus Lang")]),
];

const TOPICS_DE: &[(&str, &str)] = &[
    (
        "Fehler beim Speichern des Dienstplans",
        "beim Speichern des Dienstplans erscheint seit heute Morgen die Fehlermeldung 500. Betroffen sind alle Mitarbeiter der Abteilung Bürgerservice, die Änderungen gehen verloren.",
    ),
    (
        "Neuen Benutzer anlegen",
        "bitte legen Sie für unsere neue Kollegin Frau Weber einen Benutzer an und geben ihr die Rolle Sachbearbeitung im Fachverfahren Gewerbe.",
    ),
    (
        "Frage zum Export",
        "wie kann ich die Monatsübersicht als CSV exportieren? Ich finde die Funktion im Menü nicht mehr, seit die Oberfläche umgestellt wurde.",
    ),
    (
        "Änderungswunsch Antragsformular",
        "wir möchten im Antragsformular ein zusätzliches Pflichtfeld Aktenzeichen. Bitte schicken Sie uns ein Angebot für die Anpassung.",
    ),
    (
        "Sicherheitslücke: fremde Daten sichtbar",
        "nach dem Login sehe ich die Dokumente eines anderen Mandanten. Das ist ein Datenschutzvorfall, bitte prüfen Sie das dringend.",
    ),
    (
        "Berechtigung für Auswertungen",
        "Herr Lang braucht Zugriff auf die Auswertungen, bisher bekommt er die Meldung keine Berechtigung für diesen Bereich.",
    ),
    (
        "Anmeldung nicht möglich",
        "seit dem Update kann sich niemand mehr anmelden, die Seite lädt endlos. Der Browser zeigt keine Fehlermeldung an.",
    ),
];
const TOPICS_EN: &[(&str, &str)] = &[
    ("Export question", "how do I export the monthly timesheet to CSV? I cannot find the option since the new menu."),
    ("Error when saving", "saving a roster fails with error 500 since this morning for everyone in our team."),
    ("New user for our team", "please create an account for our new colleague Tom and give him the reviewer role."),
];

fn qp(text: &str, latin1: bool) -> String {
    let bytes: Vec<u8> = if latin1 {
        text.chars().map(|c| if (c as u32) < 256 { c as u8 } else { b'?' }).collect()
    } else {
        text.as_bytes().to_vec()
    };
    let mut out = String::new();
    let mut col = 0;
    for &b in &bytes {
        let piece = match b {
            b'\n' => {
                out.push_str("\r\n");
                col = 0;
                continue;
            }
            b'=' => "=3D".to_string(),
            33..=126 | b' ' => (b as char).to_string(),
            _ => format!("={b:02X}"),
        };
        if col + piece.len() > 75 {
            out.push_str("=\r\n");
            col = 0;
        }
        col += piece.len();
        out.push_str(&piece);
    }
    out
}

fn b64_lines(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len() * 4 / 3 + data.len() / 57 * 2 + 4);
    let mut col = 0;
    for c in data.chunks(3) {
        let v =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for k in 0..4 {
            s.push(if k <= c.len() { A[((v >> (18 - 6 * k)) & 63) as usize] as char } else { '=' });
        }
        col += 4;
        if col == 76 {
            s.push_str("\r\n");
            col = 0;
        }
    }
    if col > 0 {
        s.push_str("\r\n");
    }
    s
}

/// A PDF-like file: some text streams (compressible), an embedded image (not).
fn pdf(rng: &mut Rng, i: usize) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    for p in 0..(2 + rng.below(4)) {
        out.extend_from_slice(
            format!(
                "{p} 0 obj\n<< /Length 900 >>\nstream\nBT /F1 11 Tf 72 720 Td (Protokoll Vorgang {i} Seite {p}: Fehler beim Speichern des Dienstplans, Benutzer Sachbearbeitung, Zeitstempel 2026-11-24T09:{:02}:00) Tj ET\nendstream\nendobj\n",
                p * 7 % 60
            )
            .repeat(3)
            .as_bytes(),
        );
    }
    out.extend_from_slice(b"9 0 obj\n<< /Type /XObject /Subtype /Image /Filter /DCTDecode >>\nstream\n");
    let n = 8_000 + rng.below(40_000) as usize;
    out.extend(rng.bytes(n));
    out.extend_from_slice(b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
    out
}

fn log_file(rng: &mut Rng, i: usize) -> Vec<u8> {
    let mut s = String::new();
    for l in 0..(100 + rng.below(300)) {
        s.push_str(&format!(
            "2026-11-24 09:{:02}:{:02},{:03} ERROR [http-nio-8443-exec-{}] de.meinteam.dienstplan.SaveService - Speichern fehlgeschlagen (Vorgang {i}, Datensatz {})\n",
            l % 60,
            (l * 7) % 60,
            rng.below(1000),
            rng.below(20),
            rng.below(100_000)
        ));
    }
    s.into_bytes()
}

/// When mail `i` reached the mailbox (its `Received:` time, which `ingest`
/// takes as the arrival): one mail every 20 s in order, the first 50 days
/// before today (UTC midnight), so 210,000 mails end before today and stay
/// within the 60 days `ingest` takes an arrival from. A mailbox receives in
/// time order; earlier versions cycled through one hour, which put every
/// ticket, outgoing mail and due time on a random page of its time index.
fn arrival(i: usize) -> chrono::DateTime<chrono::Utc> {
    static ANCHOR: std::sync::OnceLock<chrono::DateTime<chrono::Utc>> = std::sync::OnceLock::new();
    let anchor = *ANCHOR.get_or_init(|| {
        let today = chrono::Utc::now().date_naive().and_hms_opt(0, 0, 0).expect("midnight");
        chrono::DateTime::from_naive_utc_and_offset(today, chrono::Utc) - chrono::Duration::days(50)
    });
    anchor + chrono::Duration::seconds(20 * i as i64)
}

/// One mail: (bytes, Message-ID, subject) — the subject for replies to it.
fn mail(rng: &mut Rng, i: usize, parent: Option<&(String, String, String)>) -> (Vec<u8>, String, String) {
    let (dom, people) = rng.pick(CUSTOMERS);
    let (local, name) = rng.pick(people);
    let en = dom.ends_with(".co.uk");
    let (subj0, body) = if en { *rng.pick(TOPICS_EN) } else { *rng.pick(TOPICS_DE) };
    let greeting = if en { "Hello," } else { "Guten Tag," };
    let sig = if en {
        format!("Best regards\n{name}\n{dom}")
    } else {
        format!("Mit freundlichen Grüßen\n{name}\n{dom}\nTel. 07071 {}-{}", 100 + i % 900, i % 100)
    };
    let mut text = format!("{greeting}\n\n{body}\n\nVorgang {i}.\n\n{sig}\n");
    let id = format!("bench.{i}.{:08x}@{dom}", rng.next() as u32);
    let mut subject = subj0.to_string();
    let mut extra = String::new();
    if let Some((pid, psubj, ptext)) = parent {
        subject = format!("{}{psubj}", if en { "Re: " } else { "AW: " });
        extra = format!("In-Reply-To: <{pid}>\r\nReferences: <{pid}>\r\n");
        let quoted: String = ptext.lines().map(|l| format!("> {l}\n")).collect();
        text = format!(
            "{}\n\n{sig}\n\n-----Ursprüngliche Nachricht-----\n{quoted}",
            if en {
                "One more thing: the export fails too."
            } else {
                "Noch eine Ergänzung: der Export ist ebenfalls betroffen, bitte um Rückmeldung."
            }
        );
    }
    let enc_subject = if subject.is_ascii() {
        subject.clone()
    } else {
        format!("=?UTF-8?Q?{}?=", qp(&subject, false).replace("=\r\n", "").replace(' ', "_").replace('?', "=3F"))
    };
    let received = arrival(i);
    let mut head = format!(
        "Received: from mx.{dom} (mx.{dom} [192.0.2.{}]) by mx.roewaplan.de with ESMTPS id {i:08x}; {}\r\n\
         From: {name} <{local}@{dom}>\r\nTo: MEIN TEAM Support <mein-team-support@roewaplan.de>\r\n\
         Date: {}\r\nMessage-ID: <{id}>\r\nSubject: {enc_subject}\r\n{extra}MIME-Version: 1.0\r\n",
        i % 250 + 1,
        received.to_rfc2822(),
        (received - chrono::Duration::seconds(40 + (i % 50) as i64)).to_rfc2822(),
    );
    let latin1 = !en && rng.chance(0.5);
    let cs = if latin1 { "iso-8859-1" } else { "utf-8" };
    let kind = rng.below(100);
    let bytes = if kind < 30 {
        head.push_str(&format!(
            "Content-Type: text/plain; charset={cs}\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        ));
        head + &qp(&text, latin1)
    } else if kind < 40 {
        let raw: Vec<u8> = if latin1 {
            text.chars().map(|c| if (c as u32) < 256 { c as u8 } else { b'?' }).collect()
        } else {
            text.clone().into_bytes()
        };
        let mut out = head.into_bytes();
        out.extend_from_slice(
            format!("Content-Type: text/plain; charset={cs}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n").as_bytes(),
        );
        out.extend(String::from_utf8_lossy(&raw).replace('\n', "\r\n").into_bytes());
        return (out, id, base_subject(&subject));
    } else {
        let b = format!("----=_NextPart_{i:06}");
        let html = format!(
            "<html><head><meta charset=\"utf-8\"><style>p{{font-family:Calibri,Arial;font-size:11pt}}</style></head><body>{}<p><img src=\"cid:logo{dom}\" alt=\"Logo\"></p></body></html>",
            text.lines().map(|l| format!("<p class=\"MsoNormal\">{l}</p>\n")).collect::<String>()
        );
        // The sender's logo: the same bytes in every mail from this domain.
        let mut logo_rng =
            Rng(dom.bytes().fold(1469598103934665603u64, |h, c| (h ^ c as u64).wrapping_mul(1099511628211)));
        let logo = logo_rng.bytes(6_000);
        let mut body = format!(
            "--{b}\r\nContent-Type: multipart/related; boundary=\"{b}r\"\r\n\r\n--{b}r\r\nContent-Type: multipart/alternative; boundary=\"{b}a\"\r\n\r\n\
             --{b}a\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n\
             --{b}a\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n--{b}a--\r\n\
             --{b}r\r\nContent-Type: image/png; name=\"image001.png\"\r\nContent-ID: <logo{dom}>\r\nContent-Disposition: inline; filename=\"image001.png\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}--{b}r--\r\n",
            qp(&text, false),
            qp(&html, false),
            b64_lines(&logo)
        );
        if kind >= 45 {
            let (name, ct, data) = match rng.below(10) {
                0..=4 => {
                    let n = 20_000 + rng.below(60_000) as usize;
                    (format!("screenshot-{i}.png"), "image/png", rng.bytes(n))
                }
                5..=7 => (format!("Protokoll-{i}.pdf"), "application/pdf", pdf(rng, i)),
                _ => (format!("server-{i}.log"), "text/plain", log_file(rng, i)),
            };
            body.push_str(&format!(
                "--{b}\r\nContent-Type: {ct}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
                b64_lines(&data)
            ));
        }
        body.push_str(&format!("--{b}--\r\n"));
        head.push_str(&format!("Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n"));
        head + &body
    };
    (bytes.into_bytes(), id, base_subject(&subject))
}

fn base_subject(s: &str) -> String {
    s.trim_start_matches("AW: ").trim_start_matches("Re: ").to_string()
}

/// Waits for the child: its exit status, peak RSS (KB) and CPU seconds
/// (user + system: unlike the rate, hardly moved by other load on the machine).
fn rss_kb_of_child(child: std::process::Child) -> (std::process::ExitStatus, i64, f64) {
    use std::os::unix::process::ExitStatusExt;
    let pid = child.id() as i32;
    let mut status = 0;
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child, with valid out-pointers.
    unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    std::mem::forget(child);
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (std::process::ExitStatus::from_raw(status), ru.ru_maxrss, secs(ru.ru_utime) + secs(ru.ru_stime))
}

fn time_cmd(bin: &Path, cfg: &Path, args: &[&str]) -> (f64, usize) {
    let t = Instant::now();
    let out = Command::new(bin).arg("--config").arg(cfg).args(args).output().expect("running supportd");
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    if !out.status.success() && !args.contains(&"status") {
        eprintln!("{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    (ms, out.stdout.len())
}

/// `--mails-only DIR N [FROM]`: only write mails FROM..N of the run into
/// DIR (for `examples/stage_bench`, the IMAP benchmark, or one more chunk
/// into a store a run left), the same mails a run ingests.
fn mails_only(dir: &Path, total: usize, from: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut mails = Generator::new();
    for i in 0..total {
        let (bytes, _) = mails.next_mail(i);
        if i >= from {
            std::fs::write(dir.join(format!("{i:07}.eml")), bytes).unwrap();
        }
    }
}

/// The run's mails in order: 30 % are replies to one of the last 2,000 threads.
struct Generator {
    rng: Rng,
    threads: Vec<(String, String, String)>,
}

impl Generator {
    fn new() -> Generator {
        Generator { rng: Rng(0x5eed_1234_abcd_ef01), threads: Vec::new() }
    }

    /// Mail number `i`: its bytes and whether it starts a thread.
    fn next_mail(&mut self, i: usize) -> (Vec<u8>, bool) {
        let rng = &mut self.rng;
        let threads = &mut self.threads;
        let parent = if !threads.is_empty() && rng.chance(0.3) {
            Some(threads[rng.below(threads.len() as u64) as usize].clone())
        } else {
            None
        };
        let (bytes, id, subj) = mail(rng, i, parent.as_ref());
        if parent.is_none() {
            let body_start = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0);
            let quoted: String = String::from_utf8_lossy(&bytes[body_start..(body_start + 400).min(bytes.len())])
                .lines()
                .take(6)
                .collect::<Vec<_>>()
                .join("\n");
            threads.push((id, subj, quoted));
            if threads.len() > 2000 {
                threads.remove(0);
            }
        }
        (bytes, parent.is_none())
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--mails-only") {
        let dir = args.get(2).expect("usage: bench_scale --mails-only DIR N [FROM]");
        let arg = |i: usize, default: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
        mails_only(Path::new(dir), arg(3, 5000), arg(4, 0));
        return;
    }
    let total: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let chunk: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let work = PathBuf::from(args.get(3).cloned().unwrap_or_else(|| "/tmp/bench-scale".into()));
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bin = std::env::var("SUPPORTD_BIN").map(PathBuf::from).unwrap_or_else(|_| repo.join("target/release/supportd"));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("config")).unwrap();
    for d in ["var/inbox/new", "var/inbox/cur", "var/inbox/tmp"] {
        std::fs::create_dir_all(work.join(d)).unwrap();
    }
    let cfg = work.join("config/supportd.toml");
    // The shipped default config: Maildir in, .eml files out; its customers include Stadtwerke Musterstadt.
    std::fs::copy(repo.join("config/supportd.toml"), &cfg).unwrap();
    let store = work.join("var/supportd.sqlite3");
    let mut mails = Generator::new();
    // The yearly report of the year the last mail arrives in.
    let year = arrival(total).format("%Y").to_string();
    let mut mail_bytes: u64 = 0;
    let mut n = 0usize;
    println!(
        "| stored mails | chunk mails/s | CPU per mail | store / mail bytes | ingest peak RSS | tickets list --limit 50 | status | yearly report | tickets show |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let (mut first_rate, mut last_rate) = (0.0, 0.0);
    let (mut first_cpu, mut last_cpu) = (0.0, 0.0);
    while n < total {
        let dir = work.join("chunk");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let this = chunk.min(total - n);
        for k in 0..this {
            let i = n + k;
            let (bytes, _) = mails.next_mail(i);
            mail_bytes += bytes.len() as u64;
            let mut f = std::fs::File::create(dir.join(format!("{i:07}.eml"))).unwrap();
            f.write_all(&bytes).unwrap();
        }
        let t = Instant::now();
        let child = Command::new(&bin)
            .arg("--config")
            .arg(&cfg)
            .args(["ingest", "--no-send"])
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let (status, rss_kb, cpu) = rss_kb_of_child(child);
        let secs = t.elapsed().as_secs_f64();
        assert!(status.success(), "ingest of chunk at {n} failed: {status:?}");
        n += this;
        let rate = this as f64 / secs;
        let cpu_per_mail = cpu / this as f64;
        if first_rate == 0.0 {
            first_rate = rate;
            first_cpu = cpu_per_mail;
        }
        last_rate = rate;
        last_cpu = cpu_per_mail;
        let size = std::fs::metadata(&store).map(|m| m.len()).unwrap_or(0)
            + std::fs::metadata(store.with_extension("sqlite3-wal")).map(|m| m.len()).unwrap_or(0);
        let (list_ms, _) = time_cmd(&bin, &cfg, &["tickets", "list", "--limit", "50"]);
        let (status_ms, _) = time_cmd(&bin, &cfg, &["status", "--json"]);
        let (report_ms, _) =
            time_cmd(&bin, &cfg, &["report", "--customer", "Stadtwerke Musterstadt", "--period", &year]);
        let tag = format!("MT-{:06}", (n / 2).max(1));
        let (show_ms, _) = time_cmd(&bin, &cfg, &["tickets", "show", &tag]);
        println!(
            "| {n} | {rate:.0} | {:.2} ms | {:.3} ({:.0} MB / {:.0} MB) | {:.1} MB | {list_ms:.0} ms | {status_ms:.0} ms | {report_ms:.0} ms | {show_ms:.0} ms |",
            cpu * 1000.0 / this as f64,
            size as f64 / mail_bytes as f64,
            size as f64 / 1e6,
            mail_bytes as f64 / 1e6,
            rss_kb as f64 / 1024.0
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!(
        "\n{n} mails, {:.1} KB on average; last chunk at {:.0} % of the first chunk's rate, \
         its CPU per mail at {:.0} % of the first's",
        mail_bytes as f64 / n as f64 / 1024.0,
        100.0 * last_rate / first_rate,
        100.0 * last_cpu / first_cpu
    );
}
