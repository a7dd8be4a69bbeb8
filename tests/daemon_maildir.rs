//! `supportd run` on the shipped default shape (Maildir in, files out) as a
//! real process: mail dropped into new/ becomes a ticket and an answer file;
//! SIGHUP reloads templates and config without losing mail, refuses an
//! invalid config and keeps running; SIGTERM exits 0.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill").args([sig, &child.id().to_string()]).status().unwrap().success();
    assert!(ok, "kill {sig}");
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn outbox_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.ends_with(".eml")).collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn run_processes_maildir_reloads_on_sighup_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let cfgdir = dir.path().join("config");
    std::fs::create_dir_all(cfgdir.join("templates/de")).unwrap();
    let cfg = cfgdir.join("supportd.toml");
    std::fs::write(&cfg, common::config_text("")).unwrap();
    let inbox = dir.path().join("var/inbox");
    let outbox = dir.path().join("var/outbox");
    let log = dir.path().join("daemon.log");
    let child = Command::new(env!("CARGO_BIN_EXE_supportd"))
        .arg("--config")
        .arg(&cfg)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut d = Daemon(child);
    wait_for("the Maildir", Duration::from_secs(30), || inbox.join("new").is_dir());

    let drop_mail = |name: &str, id: &str| {
        let raw = common::mail("m.keller@stadtwerke-musterstadt.de", "Frage zum Export", id, "", "Wie exportiere ich?");
        std::fs::write(inbox.join("tmp").join(name), &raw).unwrap();
        std::fs::rename(inbox.join("tmp").join(name), inbox.join("new").join(name)).unwrap();
    };
    let ack_bodies = |outbox: &Path| -> Vec<String> {
        outbox_files(outbox)
            .iter()
            .filter(|n| n.ends_with("-ack.eml"))
            .map(|n| std::fs::read_to_string(outbox.join(n)).unwrap())
            .collect()
    };

    drop_mail("1.test", "d1@sw");
    wait_for("the first ack", Duration::from_secs(30), || ack_bodies(&outbox).len() == 1);
    assert!(inbox.join("cur/1.test:2,S").exists(), "moved to cur/ after the commit");

    // A new ack template, then SIGHUP: the next ack uses it.
    std::fs::write(
        cfgdir.join("templates/de/ack.txt"),
        "Subject: [{{ tag }}] NEU: {{ subject }}\n\nNeue Vorlage fuer {{ tag }}.\n",
    )
    .unwrap();
    signal(&d.0, "-HUP");
    wait_for("the reload log line", Duration::from_secs(10), || {
        std::fs::read_to_string(&log).unwrap().contains("SIGHUP: reloaded")
    });
    drop_mail("2.test", "d2@sw");
    wait_for("the second ack", Duration::from_secs(30), || ack_bodies(&outbox).len() == 2);
    assert!(ack_bodies(&outbox).iter().any(|b| b.contains("Neue Vorlage")), "the reloaded template was used");

    // An invalid config is refused; the daemon keeps working with the old one.
    std::fs::write(&cfg, "[support]\naddress = \"kaputt\"\n").unwrap();
    signal(&d.0, "-HUP");
    wait_for("the refusal", Duration::from_secs(10), || {
        std::fs::read_to_string(&log).unwrap().contains("is invalid, keeping the running config")
    });
    drop_mail("3.test", "d3@sw");
    wait_for("the third ack", Duration::from_secs(30), || ack_bodies(&outbox).len() == 3);

    // SIGTERM: exit 0.
    signal(&d.0, "-TERM");
    let t = Instant::now();
    let status = loop {
        if let Some(s) = d.0.try_wait().unwrap() {
            break s;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "did not stop within 20 s");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status:?}\n{}", std::fs::read_to_string(&log).unwrap());
}

fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// Proves: with `[metrics] listen`, the running daemon serves the Prometheus
/// text on that loopback address: mails by disposition, tickets by status,
/// outbox state and the processing-latency histogram, current with the store.
#[test]
fn run_serves_prometheus_metrics_on_the_configured_loopback_address() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let cfgdir = dir.path().join("config");
    std::fs::create_dir_all(&cfgdir).unwrap();
    let cfg = cfgdir.join("supportd.toml");
    std::fs::write(&cfg, common::config_text(&format!("[metrics]\nlisten = \"{addr}\"\n"))).unwrap();
    let inbox = dir.path().join("var/inbox");
    let child = Command::new(env!("CARGO_BIN_EXE_supportd"))
        .arg("--config")
        .arg(&cfg)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _d = Daemon(child);
    wait_for("the metrics listener", Duration::from_secs(30), || std::net::TcpStream::connect(&addr).is_ok());
    wait_for("the Maildir", Duration::from_secs(30), || inbox.join("tmp").is_dir() && inbox.join("new").is_dir());
    let raw =
        common::mail("m.keller@stadtwerke-musterstadt.de", "Frage zum Export", "m1@sw", "", "Wie exportiere ich?");
    std::fs::write(inbox.join("tmp/1.test"), &raw).unwrap();
    std::fs::rename(inbox.join("tmp/1.test"), inbox.join("new/1.test")).unwrap();
    wait_for("the mail in the metrics", Duration::from_secs(30), || {
        http_get(&addr, "/metrics").contains("supportd_messages{disposition=\"new_ticket\"} 1")
    });
    let m = http_get(&addr, "/metrics");
    assert!(m.starts_with("HTTP/1.1 200 OK\r\n") && m.contains("Content-Type: text/plain; version=0.0.4"), "{m}");
    assert!(m.contains("supportd_tickets{status=\"new\"} 1"), "{m}");
    assert!(m.contains("supportd_processing_seconds_count 1"), "{m}");
    assert!(m.contains("supportd_outbox{state="), "{m}");
    assert!(http_get(&addr, "/").starts_with("HTTP/1.1 404"), "only /metrics is served");
}
