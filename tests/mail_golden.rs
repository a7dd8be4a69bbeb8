//! Golden test of the mails people read: one conversation (new request with
//! a screenshot, a colleague's follow-up with a CC, a bottom-posted agent
//! answer with `#status waiting` and a PDF, an internal note, the handover to
//! the 2nd level, `#close` with a text, a reopen, a mistyped command) goes
//! through the real pipeline at fixed times with a fixed Message-ID secret;
//! every mail it queues is written as a reader sees it (the headers a mail
//! client shows or acts on, the decoded text, the attachments by name, size
//! and SHA-256) and compared with `tests/golden/mails/`.
//! `SUPPORTD_UPDATE_GOLDEN=1` rewrites the files; review the diff.

mod common;

use common::{Env, mail, reader_view};

const MAX: &str = "Max Keller <m.keller@stadtwerke-musterstadt.de>";
const EVA: &str = "Eva Kunz <e.kunz@stadtwerke-musterstadt.de>";
const ANNA: &str = "Anna Berg <anna@roewaplan.de>";

/// A mail with one attachment (base64), CRLF.
fn with_attachment(from: &str, subject: &str, id: &str, extra: &str, body: &str, file: (&str, &str, &[u8])) -> Vec<u8> {
    use std::fmt::Write;
    let b64 = common::b64(file.2);
    let mut s = format!(
        "From: {from}\r\nTo: mein-team-support@roewaplan.de\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         Date: Tue, 24 Nov 2026 09:55:00 +0100\r\nMIME-Version: 1.0\r\n"
    );
    for h in extra.lines().filter(|l| !l.is_empty()) {
        let _ = write!(s, "{h}\r\n");
    }
    let _ = write!(
        s,
        "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n\
         --b1\r\nContent-Type: {}\r\nContent-Disposition: attachment; filename=\"{}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b1--\r\n",
        body.replace('\n', "\r\n"),
        file.1,
        file.0
    );
    s.into_bytes()
}

/// Proves: the mails of a whole conversation (ack, team notifications with
/// author, CC and attachment, the relayed answer with the agent's PDF and
/// the status in its footer, the internal note, the level-2 handover with
/// the current problem, the notes and the attachments, the closing answer,
/// the reopen confirmation and notification, a German command error) read
/// exactly as reviewed in `tests/golden/mails/`.
#[test]
fn the_mails_of_a_conversation_read_as_reviewed() {
    let mut env = Env::with_replaced("reopen_days = 14", "reopen_days = 14\nsecret = \"golden-secret\"");
    let t0 = common::tuesday_morning();
    let at = |min: i64| t0 + chrono::Duration::minutes(min);
    // Every mail is processed, then what it queued is sent (a minute later).
    let ingest = |env: &mut Env, raw: &[u8], min: i64| {
        env.ingest_at(raw, at(min));
        env.deliver_at(at(min + 1));
    };
    let png: &[u8] = b"\x89PNG\r\n\x1a\nscreenshot of error 500";
    let pdf: &[u8] = b"%PDF-1.4 Anleitung: Browser-Cache leeren";
    ingest(
        &mut env,
        &with_attachment(
            MAX,
            "Dienstplan lässt sich nicht speichern",
            "g1@sw",
            "",
            "Guten Tag,\n\nbeim Speichern des Dienstplans kommt Fehler 500, siehe Screenshot.\n\nMit freundlichen Grüßen\nMax Keller\n-- \nStadtwerke Musterstadt, IT",
            ("fehler500.png", "image/png", png),
        ),
        0,
    );
    let ack = env.last_id("ack");
    ingest(
        &mut env,
        &mail(
            EVA,
            "AW: [MT-000001] Ihre Anfrage ist eingegangen: Dienstplan lässt sich nicht speichern",
            "g2@sw",
            &format!("In-Reply-To: <{ack}>\nCc: Max Keller <m.keller@stadtwerke-musterstadt.de>"),
            "Bei mir tritt der Fehler auch auf, seit heute früh.\n\nEva Kunz",
        ),
        10,
    );
    let notify = env.last_id("notify_agents");
    ingest(
        &mut env,
        &with_attachment(
            ANNA,
            "Re: [MT-000001] Neue Nachricht",
            "g3@rp",
            &format!("In-Reply-To: <{notify}>"),
            "#status waiting\n\nAm 24.11.2026 um 10:10 schrieb MEIN TEAM Support:\n> Bei mir tritt der Fehler auch auf.\n\nGuten Tag Herr Keller, guten Tag Frau Kunz,\n\nbitte leeren Sie den Browser-Cache, die Anleitung hängt an. Tritt der Fehler danach noch auf?\n\nViele Grüße\nAnna Berg",
            ("Anleitung_Cache.pdf", "application/pdf", pdf),
        ),
        30,
    );
    ingest(
        &mut env,
        &mail(
            ANNA,
            "Re: [MT-000001]",
            "g4@rp",
            &format!("In-Reply-To: <{notify}>"),
            "#intern\nLog zeigt NullPointer in DienstplanService.save().",
        ),
        35,
    );
    let answer = env.last_id("agent_reply");
    ingest(
        &mut env,
        &mail(
            MAX,
            "AW: [MT-000001] Dienstplan lässt sich nicht speichern",
            "g5@sw",
            &format!("In-Reply-To: <{answer}>"),
            "Cache geleert, der Fehler 500 kommt weiterhin.\n\nMax Keller",
        ),
        60,
    );
    ingest(&mut env, &mail(ANNA, "Re: [MT-000001]", "g6@rp", &format!("In-Reply-To: <{notify}>"), "#stufe 2"), 70);
    ingest(
        &mut env,
        &mail(
            ANNA,
            "Re: [MT-000001]",
            "g7@rp",
            &format!("In-Reply-To: <{notify}>"),
            "#close\nGuten Tag Herr Keller,\n\nder Fehler ist mit dem Update von heute behoben.\n\nViele Grüße\nAnna Berg",
        ),
        120,
    );
    let closing = env.last_id("agent_reply");
    ingest(
        &mut env,
        &mail(
            MAX,
            "AW: [MT-000001] Dienstplan lässt sich nicht speichern",
            "g8@sw",
            &format!("In-Reply-To: <{closing}>"),
            "Jetzt geht der Export nicht mehr.\n\nMax Keller",
        ),
        180,
    );
    ingest(
        &mut env,
        &mail(ANNA, "Re: [MT-000001]", "g9@rp", &format!("In-Reply-To: <{notify}>"), "#staus offen\nText"),
        190,
    );

    let dir = common::repo().join("tests/golden/mails");
    let update = std::env::var_os("SUPPORTD_UPDATE_GOLDEN").is_some();
    if update {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
    }
    let mut differ = Vec::new();
    let rows = env.outbox();
    for (i, row) in rows.iter().enumerate() {
        let raw: Vec<u8> = supportd::store::outbox_raw(env.store.conn(), row.id).unwrap().unwrap();
        let got = reader_view(&raw);
        let path = dir.join(format!("{:02}-{}.txt", i + 1, row.kind));
        if update {
            std::fs::write(&path, &got).unwrap();
        }
        match std::fs::read_to_string(&path) {
            Ok(want) if want == got => {}
            Ok(want) => differ.push(format!("{} differs:\n--- got\n{got}\n--- want\n{want}", path.display())),
            Err(e) => differ.push(format!("{}: {e} (SUPPORTD_UPDATE_GOLDEN=1 writes it)", path.display())),
        }
    }
    let files = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    assert_eq!(files, rows.len(), "one golden file per queued mail in {}", dir.display());
    assert!(differ.is_empty(), "{}", differ.join("\n\n"));
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    for k in ["ack", "notify_agents", "agent_reply", "note", "handover", "status", "command_error"] {
        assert!(kinds.contains(&k), "no {k} mail in {kinds:?}");
    }
}
