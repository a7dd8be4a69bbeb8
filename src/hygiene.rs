//! Mail hygiene: is this mail from a machine (auto-reply, bounce, list),
//! our own mail come back (loop), or spam? Such mail is recorded but never
//! answered (RFC 3834). Pure.

use std::sync::LazyLock;

use regex::Regex;

use crate::domain::Disposition;
use crate::parse::InboundMail;

/// The header every mail we send carries; seeing it come back is a loop.
pub const LOOP_HEADER: &str = "X-Supportd-Loop";

/// A machine-made mail: what it is and why we think so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub disposition: Disposition,
    pub reason: String,
}

/// What a bounce tells: the Message-IDs of the mail that bounced and the failed recipients.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BounceInfo {
    pub original_ids: Vec<String>,
    pub failed_recipients: Vec<String>,
}

static OOF_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(automatische antwort|autom\. antwort|auto(matic)?[ -]?(reply|response|antwort)|abwesenheitsnotiz|abwesenheitsmeldung|abwesenheit\s*:|out of (the )?office|ooo\b|urlaubsabwesenheit|i am out of the office|ich bin (nicht|au(ss|ß)er) (im b(ü|ue)ro|haus))",
    )
    .expect("static regex")
});

// Gaps of bytes, not characters: a bounded repetition of a Unicode class
// compiles to a large automaton.
static OOF_BODY: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(
        r"(?i)(ich bin (vom|von|bis|ab|zur zeit|derzeit|momentan|aktuell)(?-u:[^\n]){0,80}(nicht im b(ü|ue)ro|abwesend|nicht erreichbar|im urlaub)|ich bin bis (?-u:[^\n]){0,60}(nicht im b(ü|ue)ro|abwesend|nicht erreichbar)|i am (currently )?out of (the )?office|i('m| am) (currently )?away from (the )?office|this is an automatic(ally generated)? (reply|response)|dies ist eine automatische (antwort|nachricht|abwesenheitsnotiz)|abwesenheitsnotiz)",
    )
    .expect("static regex")
});

static BOUNCE_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(undeliver(able|ed)|unzustellbar|nicht zustellbar|delivery status notification \((failure|delay)\)|mail delivery (failed|failure|system)|failure notice|returned mail|delivery failure|zustellung fehlgeschlagen|non[- ]?delivery)",
    )
    .expect("static regex")
});

static MSGID_IN_TEXT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?im)^(?:message-id|in-reply-to|references)\s*:\s*(.+)$").expect("static regex"));
static ANGLE_ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<([^<>\s]+@[^<>\s]+)>").expect("static regex"));
static FINAL_RCPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^(?:final|original)-recipient\s*:\s*rfc822\s*;\s*<?([^\s<>]+@[^\s<>]+)>?").expect("static regex")
});
static QMAIL_RCPT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^<([^\s<>]+@[^\s<>]+)>:").expect("static regex"));

fn verdict(d: Disposition, reason: impl Into<String>) -> Option<Verdict> {
    Some(Verdict { disposition: d, reason: reason.into() })
}

/// Decide whether a mail is machine mail. `None`: a person wrote it.
pub fn check(mail: &InboundMail, support_address: &str) -> Option<Verdict> {
    let from = mail.from_addr();
    let local = from.split('@').next().unwrap_or("");

    // Our own mail back, or a mail that passed through us.
    if from.eq_ignore_ascii_case(support_address) {
        return verdict(Disposition::Loop, "sent from the support address itself");
    }
    if let Some(v) = mail.header(&LOOP_HEADER.to_ascii_lowercase()) {
        return verdict(Disposition::Loop, format!("carries our loop marker {LOOP_HEADER}: {v}"));
    }

    // Bounces.
    if mail.report_type.as_deref() == Some("disposition-notification") {
        return verdict(Disposition::AutoReply, "read receipt (multipart/report disposition-notification)");
    }
    if mail.report_type.as_deref() == Some("delivery-status") || mail.delivery_status.is_some() {
        return verdict(Disposition::Bounce, "multipart/report delivery-status (DSN)");
    }
    let null_sender = mail.header("return-path").is_some_and(|r| r.trim() == "<>" || r.trim().is_empty());
    if local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster") {
        return verdict(Disposition::Bounce, format!("sender {from} is a mail system"));
    }
    if BOUNCE_SUBJECT.is_match(&mail.subject) && (null_sender || mail.embedded_headers.is_some()) {
        return verdict(Disposition::Bounce, format!("non-delivery subject {:?} from a null sender", mail.subject));
    }
    if mail.body_text.contains("This is the qmail-send program") {
        return verdict(Disposition::Bounce, "qmail-send failure notice");
    }

    // Auto-replies and bulk mail (RFC 3834 and the common private headers).
    if let Some(v) = mail.header("auto-submitted")
        && !v.trim().eq_ignore_ascii_case("no")
    {
        return verdict(Disposition::AutoReply, format!("Auto-Submitted: {v}"));
    }
    if let Some(v) = mail.header("precedence") {
        let v = v.trim().to_ascii_lowercase();
        if v == "list" {
            return verdict(Disposition::Spam, "list mail (Precedence: list)");
        }
        if matches!(v.as_str(), "bulk" | "junk" | "auto_reply") {
            return verdict(Disposition::AutoReply, format!("Precedence: {v}"));
        }
    }
    // Mailing lists and newsletters: unsolicited bulk mail.
    for h in ["list-id", "list-unsubscribe"] {
        if let Some(v) = mail.header(h) {
            return verdict(Disposition::Spam, format!("list mail ({h}: {})", crate::parse::one_line(v)));
        }
    }
    for h in ["x-autoreply", "x-autorespond", "x-auto-response-suppress", "x-autogenerated"] {
        if let Some(v) = mail.header(h) {
            return verdict(Disposition::AutoReply, format!("{h}: {v}"));
        }
    }
    if null_sender {
        return verdict(Disposition::AutoReply, "empty envelope sender (Return-Path: <>)");
    }
    if OOF_SUBJECT.is_match(&mail.subject) {
        return verdict(Disposition::AutoReply, format!("out-of-office subject {:?}", mail.subject));
    }
    let head: String = mail.body_text.chars().take(600).collect();
    if let Some(m) = OOF_BODY.find(head.as_bytes()) {
        return verdict(
            Disposition::AutoReply,
            format!("out-of-office text {:?}", String::from_utf8_lossy(m.as_bytes())),
        );
    }

    // Spam marked by the receiving server.
    if mail.header("x-spam-flag").is_some_and(|v| v.eq_ignore_ascii_case("yes"))
        || mail.header("x-spam-status").is_some_and(|v| v.to_ascii_lowercase().starts_with("yes"))
    {
        return verdict(Disposition::Spam, "marked as spam by the receiving server");
    }
    None
}

/// Read what a bounce says about the original mail.
pub fn bounce_info(mail: &InboundMail) -> BounceInfo {
    let mut info = BounceInfo::default();
    let mut sources: Vec<&str> = Vec::new();
    if let Some(h) = &mail.embedded_headers {
        sources.push(h);
    }
    sources.push(&mail.body_text);
    for src in sources {
        for cap in MSGID_IN_TEXT.captures_iter(src) {
            for id in ANGLE_ID.captures_iter(&cap[1]) {
                let id = id[1].to_string();
                if !info.original_ids.contains(&id) {
                    info.original_ids.push(id);
                }
            }
        }
    }
    let mut rcpt_sources: Vec<&str> = Vec::new();
    if let Some(ds) = &mail.delivery_status {
        rcpt_sources.push(ds);
    }
    rcpt_sources.push(&mail.body_text);
    for src in rcpt_sources {
        for cap in FINAL_RCPT.captures_iter(src).chain(QMAIL_RCPT.captures_iter(src)) {
            let a = cap[1].to_ascii_lowercase();
            if !info.failed_recipients.contains(&a) {
                info.failed_recipients.push(a);
            }
        }
    }
    if let Some(x) = mail.header("x-failed-recipients") {
        for a in x.split(',') {
            let a = a.trim().to_ascii_lowercase();
            if !a.is_empty() && !info.failed_recipients.contains(&a) {
                info.failed_recipients.push(a);
            }
        }
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Mailbox;

    fn mail(from: &str, subject: &str, headers: &[(&str, &str)], body: &str) -> InboundMail {
        InboundMail {
            from: Some(Mailbox { addr: from.into(), name: None }),
            subject: subject.into(),
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            body_text: body.into(),
            ..Default::default()
        }
    }

    const SUP: &str = "mein-team-support@roewaplan.de";

    #[test]
    fn table_of_machine_mails() {
        let cases: Vec<(InboundMail, Option<Disposition>)> = vec![
            (mail("a@b.de", "Hallo", &[("auto-submitted", "auto-replied")], "x"), Some(Disposition::AutoReply)),
            (mail("a@b.de", "Hallo", &[("auto-submitted", "no")], "Login geht nicht"), None),
            (mail("a@b.de", "News", &[("precedence", "bulk")], "x"), Some(Disposition::AutoReply)),
            (mail("a@b.de", "News", &[("list-id", "<x.list>")], "x"), Some(Disposition::Spam)),
            (mail("a@b.de", "Abwesenheiten werden falsch angezeigt", &[], "Im Kalender fehlt etwas"), None),
            (mail("a@b.de", "Automatische Antwort: Login", &[], "x"), Some(Disposition::AutoReply)),
            (mail("a@b.de", "Re: Login", &[], "Ich bin bis zum 04.12. nicht im Büro."), Some(Disposition::AutoReply)),
            (mail("a@b.de", "Re: Login", &[], "ich war im Urlaub, jetzt geht der Login nicht"), None),
            (mail("MAILER-DAEMON@mx.b.de", "Undelivered Mail", &[], "x"), Some(Disposition::Bounce)),
            (mail(SUP, "[MT-000001] x", &[], "x"), Some(Disposition::Loop)),
            (mail("a@b.de", "x", &[("x-supportd-loop", SUP)], "x"), Some(Disposition::Loop)),
            (mail("a@b.de", "x", &[("x-spam-flag", "YES")], "x"), Some(Disposition::Spam)),
        ];
        for (i, (m, want)) in cases.iter().enumerate() {
            assert_eq!(check(m, SUP).map(|v| v.disposition), *want, "case {i}: {:?}", m.subject);
        }
    }

    #[test]
    fn bounce_info_finds_original_id_and_recipient() {
        let mut m = mail("MAILER-DAEMON@x", "Undelivered", &[], "");
        m.delivery_status =
            Some("Reporting-MTA: dns; x\n\nFinal-Recipient: rfc822; Kunde@Example.org\nAction: failed\n".into());
        m.embedded_headers = Some("From: a\nMessage-ID: <mt.MT-000003.ack.1a2b@roewaplan.de>\nSubject: x\n".into());
        let b = bounce_info(&m);
        assert_eq!(b.original_ids, vec!["mt.MT-000003.ack.1a2b@roewaplan.de"]);
        assert_eq!(b.failed_recipients, vec!["kunde@example.org"]);
    }
}
