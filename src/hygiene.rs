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
    /// Recipients the report says failed (Action: failed, or no Action).
    pub failed_recipients: Vec<String>,
    /// RFC 3464 `Action: delayed` / `delivered` (or `relayed`, `expanded`)
    /// when no recipient failed: a delay warning or a success notice, recorded
    /// on the ticket but nobody is marked as bounced.
    pub action: Option<String>,
}

impl BounceInfo {
    /// The line for the ticket's history.
    pub fn describe(&self) -> String {
        match self.action.as_deref() {
            Some("delayed") => {
                "delivery of a mail on this ticket is delayed (DSN delay warning, the mail system keeps trying)".into()
            }
            Some(a) => format!("delivery report for a mail on this ticket: {a} (success DSN, no action needed)"),
            None if self.failed_recipients.is_empty() => "a mail on this ticket bounced".into(),
            None => format!("delivery failed to {}", self.failed_recipients.join(", ")),
        }
    }
}

static ACTION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?im)^action\s*:\s*([a-z]+)").expect("static regex"));

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
        r"(?i)(ich bin (vom|von|bis|ab|zur zeit|derzeit|momentan|aktuell|heute)(?-u:[^\n]){0,80}(nicht im b(ü|ue)ro|nicht im haus|au(ß|ss)er haus|abwesend|nicht erreichbar|im urlaub|in elternzeit|auf (dienst|geschäfts)reise)|ich bin bis (?-u:[^\n]){0,60}(nicht im b(ü|ue)ro|nicht im haus|abwesend|nicht erreichbar)|ich befinde mich (bis|vom|von|ab|zur zeit|derzeit|momentan|aktuell|im|in|auf)(?-u:[^\n]){0,80}(urlaub|nicht im b(ü|ue)ro|au(ß|ss)er haus|elternzeit|(dienst|geschäfts)reise)|i('m| am| will be) (currently )?out of (the )?office|i('m| am| will be) (currently )?(on (vacation|holiday|annual leave|parental leave|leave|a business trip)|away from (the|my) (office|desk))|je (suis|serai) absente?)",
    )
    .expect("static regex")
});

/// A mail that says itself that it was sent automatically.
static AUTOMATIC_SELF: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(
        r"(?i)(this is an automatic(ally generated)? (reply|response)|dies ist eine automatische (antwort|nachricht|abwesenheitsnotiz)|abwesenheitsnotiz)",
    )
    .expect("static regex")
});

/// What an out-of-office notice says beside the absence: the mail is not
/// read or forwarded, whom to contact, when the writer is back.
static OOF_CONFIRM: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(
        r"(?i)((ihre|deine|your) (e-?mail|nachricht|mail|message) (wird|will)|in dringenden f(ä|ae)llen|wenden sie sich (bitte )?(an|in)|erreichen sie (in|meine|meinen|die|den|uns)|keinen zugriff auf (meine )?e-?mails|(wieder|ab) (im b(ü|ue)ro|erreichbar)|nach meiner r(ü|ue)ckkehr|(vielen )?dank f(ü|ue)r ihre (nachricht|e-?mail|mail)|(no|limited) access to (my )?e-?mail|for urgent (matters|issues|requests|enquiries)|please contact|(will|shall) (respond|reply|get back|answer)|upon my return|when i return|back in the office|thank you for your (e-?mail|message)|en cas d'urgence)",
    )
    .expect("static regex")
});

static BOUNCE_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(undeliver(able|ed)|unzustellbar|nicht zustellbar|delivery status notification|mail delivery (failed|failure|system)|failure notice|returned mail|(permanent |temporary )?delivery failure|zustellung fehlgeschlagen|non[- ]?delivery|mail could not be delivered|(mail )?system error|warning: .*(user unknown|could not be delivered|delayed)|delivery (delayed|has failed|notification)|loop alert|メールエラー|delivery status notification: error|your message to .* (could not be delivered|awaits moderator))",
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

/// What a mail system writes in the text of a non-delivery report (sisimai's
/// and flufl.bounce's families), read in the first 4 KB only.
static BOUNCE_BODY: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(
        r"(?i)(could not be delivered|was not delivered|couldn't be delivered|could not deliver|delivery (to the following recipients? )?(has )?failed|permanent fatal errors|undeliverable|user unknown|unknown user|no such user|mailbox (is )?(unavailable|full|not found)|recipient address rejected|this is the mail system at host|i'm sorry to have to inform you|returned to sender|message delivery has failed|delivery status notification|not a member|are not member|is not a member|awaits moderator approval|duplicated message-id|loop alert|mail loop|invalid (user|recipient) address|n.a pas pu .tre (d.livr.|remis)|nicht zugestellt werden|unzustellbar|konnte nicht zugestellt|メールを配信できません)",
    )
    .expect("static regex")
});

/// "Your message could not be delivered to <address>" and its French and
/// German forms: how a mail system, never a person, starts a notice.
/// Compiled only when [`NOT_DELIVERED_LOOSE`] matches (its bounded classes
/// of any character are 0.7 MB compiled; customer mail never needs them).
static YOUR_MESSAGE_NOT_DELIVERED: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(&format!(r"{NOT_DELIVERED_WORDS}<?[^\s<>@]{{1,64}}@[^\s<>@]{{1,255}}"))
        .expect("static regex")
});

/// The words of [`YOUR_MESSAGE_NOT_DELIVERED`] up to the address.
const NOT_DELIVERED_WORDS: &str = r"(?i)(your message|votre message|ihre nachricht)\s+(could not|couldn't|cannot|can not|was not|n'a pas pu|konnte nicht)\s+(be\s+|(e|ê)tre\s+)?(delivered|d(e|é)livr(e|é)|remis|zugestellt)(\s+(to|a|à|an))?\s*:?\s*";

/// [`YOUR_MESSAGE_NOT_DELIVERED`] with the address unbounded: it matches
/// wherever that one does (and a little more), at a fraction of the size.
static NOT_DELIVERED_LOOSE: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(&format!(r"{NOT_DELIVERED_WORDS}<?[^\s<>@]+@[^\s<>@]")).expect("static regex")
});

/// [`YOUR_MESSAGE_NOT_DELIVERED`]`.find`, its full regex only after the loose one matched.
fn not_delivered_notice(text: &[u8]) -> Option<regex::bytes::Match<'_>> {
    NOT_DELIVERED_LOOSE.is_match(text).then(|| YOUR_MESSAGE_NOT_DELIVERED.find(text)).flatten()
}

/// Local parts and display names of mail systems.
static SYSTEM_SENDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(mailer-daemon|mailer_daemon|postmaster|post_master|mail\.delivery\.system|mdaemon|mailman-owner|majordomo|listserv|[a-z0-9._-]+-(admin|owner|bounces?|request)|no-?reply|e500_smtp_mail_service|symantec_antivirus[a-z_]*|imss|inetgw\d*|system administrator)$",
    )
    .expect("static regex")
});
static SYSTEM_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(mailer[- ]daemon|mail delivery (system|subsystem)|postmaster|mail system|system administrator)")
        .expect("static regex")
});

/// Abuse reports sent as plain mail (Hotmail's "complaint about message from …").
static ARF_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(complaint about message from|email feedback report|abuse report|authentication failure report)",
    )
    .expect("static regex")
});

/// Amazon SES notices (JSON over SNS): the notification type.
static SES_TYPE: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(r#""(notificationType|eventType)"\s*:\s*"(Bounce|Complaint|Delivery|DeliveryDelay)""#)
        .expect("static regex")
});

/// An automatic acknowledgement of another system without any machine
/// header ("Your message has been received, ticket #…", "Ihre Anfrage
/// ist unter der Vorgangsnummer … eingegangen").
static ACK_BODY: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(
        r"(?i)((your|the) (message|request|e-?mail|enquiry|inquiry|ticket) (has been|was|is) (received|created|registered|logged)|we (have )?received your (message|request|e-?mail)|thank you for (contacting|your (message|e-?mail|request))(?-u:[^\n]){0,80}(ticket|case|reference)|(ihre|deine) (nachricht|anfrage|e-?mail|meldung) (ist|wurde) (bei uns )?(eingegangen|erfasst|registriert|angelegt)|(ihre|deine) (nachricht|anfrage|e-?mail|meldung) (ist|wurde) unter der (vorgangs|ticket|referenz)-?(nummer|nr\.?)(?-u:[^\n]){1,40} (eingegangen|erfasst|registriert|angelegt)|(wir haben|hiermit bestätigen wir den eingang) (ihre|deine)|ticket [(\[]?(#|nr\.?|number|nummer)\s*(?-u:[^\n]){0,20}\d+[)\]]? (has been|was|wurde) (created|opened|erstellt|angelegt)|this is an automated (message|response|reply|notification)|dies ist eine automatisch (erstellte|generierte) (nachricht|e-?mail|antwort))",
    )
    .expect("static regex")
});

fn verdict(d: Disposition, reason: impl Into<String>) -> Option<Verdict> {
    Some(Verdict { disposition: d, reason: reason.into() })
}

/// Decide whether a mail is machine mail or spam, with the configured
/// `[spam]` thresholds, customers and agents. `None`: a person wrote it.
pub fn check_config(mail: &InboundMail, cfg: &crate::config::Config) -> Option<Verdict> {
    if let Some(v) = check_with(mail, &cfg.support_address, &cfg.spam) {
        return Some(v);
    }
    if cfg.spam.unsolicited
        && let Some(why) = unsolicited(mail, cfg)
    {
        return verdict(Disposition::Spam, why);
    }
    None
}

/// Decide whether a mail is machine mail, with the default spam thresholds.
pub fn check(mail: &InboundMail, support_address: &str) -> Option<Verdict> {
    check_with(mail, support_address, &SpamThresholds::default())
}

/// Decide whether a mail is machine mail. `None`: a person wrote it.
pub fn check_with(mail: &InboundMail, support_address: &str, spam: &SpamThresholds) -> Option<Verdict> {
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
    // Abuse and authentication-failure reports (ARF, RFC 5965): never a
    // ticket, never answered.
    if mail.report_type.as_deref() == Some("feedback-report")
        || ARF_SUBJECT.is_match(&mail.subject)
        || mail.attachments.iter().any(|a| a.content_type == "message/feedback-report")
    {
        return verdict(
            Disposition::AutoReply,
            "abuse/feedback report (ARF, RFC 5965 multipart/report feedback-report)",
        );
    }
    let head = head_bytes(&mail.body_text, 4096);
    if let Some(c) = SES_TYPE.captures(head) {
        return match &c[2] {
            b"Complaint" => verdict(Disposition::AutoReply, "Amazon SES complaint notice (feedback report)"),
            t => verdict(Disposition::Bounce, format!("Amazon SES {} notice (JSON)", String::from_utf8_lossy(t))),
        };
    }
    if mail.report_type.as_deref().is_some_and(|t| t != "disposition-notification") {
        return verdict(
            Disposition::Bounce,
            format!("multipart/report ({}) without a delivery-status part", mail.report_type.as_deref().unwrap_or("")),
        );
    }
    let null_sender = mail.header("return-path").is_some_and(|r| r.trim() == "<>" || r.trim().is_empty());
    if local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster") {
        return verdict(Disposition::Bounce, format!("sender {from} is a mail system"));
    }
    let subject_says = BOUNCE_SUBJECT.is_match(&mail.subject);
    if subject_says && (null_sender || mail.embedded_headers.is_some()) {
        return verdict(Disposition::Bounce, format!("non-delivery subject {:?} from a null sender", mail.subject));
    }
    if mail.body_text.contains("This is the qmail-send program") {
        return verdict(Disposition::Bounce, "qmail-send failure notice");
    }
    let system_sender = SYSTEM_SENDER.is_match(local)
        || mail.from.as_ref().and_then(|m| m.name.as_deref()).is_some_and(|n| SYSTEM_NAME.is_match(n));
    let body_says = BOUNCE_BODY.find(head);
    if let Some(m) = &body_says
        && (system_sender || subject_says || null_sender)
    {
        return verdict(
            Disposition::Bounce,
            format!("non-delivery text {:?} from {from}", String::from_utf8_lossy(m.as_bytes())),
        );
    }
    if subject_says && system_sender {
        return verdict(Disposition::Bounce, format!("non-delivery subject {:?} from {from}", mail.subject));
    }
    // A mail system addressing the sender ("Your message could not be
    // delivered to a@b") right at the top, from any sender: a person who
    // forwards such a notice writes something or a forward header above it.
    if let Some(m) = not_delivered_notice(head_bytes(&mail.body_text, 1024))
        && m.start() <= 300
        && !mail.body_text[..m.start()].lines().any(|l| l.contains(':') || l.chars().any(char::is_alphanumeric))
    {
        return verdict(
            Disposition::Bounce,
            format!("non-delivery notice {:?} at the top", String::from_utf8_lossy(m.as_bytes()).replace('\n', " ")),
        );
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
    // A forward ("WG:", "Fwd:") is a person passing a mail on, even when
    // the mail passed on is an out-of-office notice or an acknowledgement.
    if !mail.forwarded
        && let Some(v) = machine_text(mail)
    {
        return Some(v);
    }

    // Spam marked by the receiving server.
    if let Some(why) = upstream_spam_verdict(mail, spam) {
        return verdict(Disposition::Spam, why);
    }
    None
}

/// The new text of the first 16 KB of a mail's body, made once
/// ([`crate::parse::InboundMail::machine_head`]).
fn machine_head(mail: &InboundMail) -> &str {
    mail.machine_head
        .get_or_init(|| crate::text::new_text(&String::from_utf8_lossy(head_bytes(mail.reply_body(), 16 * 1024))))
}

/// Out-of-office notices and other systems' acknowledgements that carry
/// no machine header: read in the text.
fn machine_text(mail: &InboundMail) -> Option<Verdict> {
    let head: String = mail.body_text.chars().take(600).collect();
    if let Some(m) = AUTOMATIC_SELF.find(head.as_bytes()) {
        return verdict(
            Disposition::AutoReply,
            format!("out-of-office text {:?}", String::from_utf8_lossy(m.as_bytes())),
        );
    }
    // An absence alone is a person's too ("ich bin vom 3.8. bis 21.8. im
    // Urlaub, bitte gebt Frau Mayer …?"): a notice also says what happens to
    // the mail, whom to contact or when the writer is back, or it is one
    // short statement without a question.
    if let Some(m) = OOF_BODY.find(head.as_bytes())
        && (OOF_CONFIRM.is_match(head.as_bytes()) || (head.trim().len() <= 200 && !head.contains('?')))
    {
        return verdict(
            Disposition::AutoReply,
            format!("out-of-office text {:?}", String::from_utf8_lossy(m.as_bytes())),
        );
    }

    // Another system's acknowledgement with no machine header: read in the
    // new text only (a customer's reply quoting our own ack is a person's).
    // The first 16 KB are enough for the first 1,200 bytes of new text.
    let fresh = machine_head(mail);
    if let Some(m) = ACK_BODY.find(head_bytes(fresh, 1200)) {
        return verdict(
            Disposition::AutoReply,
            format!("automatic acknowledgement text {:?}", String::from_utf8_lossy(m.as_bytes())),
        );
    }
    None
}

pub use crate::config::{RSPAMD_ACTIONS, SpamThresholds};

static SA_SCORE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:score|hits)=(-?\d+(?:\.\d+)?)").expect("static regex"));
static RSPAMD_SCORE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[\s*(-?\d+(?:\.\d+)?)\s*/\s*-?\d+(?:\.\d+)?\s*\]").expect("static regex"));
static SCL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)\bSCL:\s*(-?\d+)").expect("static regex"));
static SFV: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)\bSFV:\s*([A-Z]+)").expect("static regex"));

/// The verdict the receiving mail servers already wrote into the header
/// (SpamAssassin, rspamd, Microsoft 365 / Exchange), if it says spam.
pub fn upstream_spam_verdict(mail: &InboundMail, t: &SpamThresholds) -> Option<String> {
    let yes = |v: &str| v.trim().to_ascii_lowercase().starts_with("yes");
    if let Some(v) = mail.header("x-spam-flag").filter(|v| yes(v)) {
        return Some(format!("X-Spam-Flag: {v} (SpamAssassin)"));
    }
    if let Some(v) = mail.header("x-spam-status") {
        let score = SA_SCORE.captures(v).and_then(|c| c[1].parse::<f64>().ok());
        if yes(v) || score.is_some_and(|s| s >= t.score) {
            return Some(format!("X-Spam-Status: {} (SpamAssassin)", crate::parse::one_line(v)));
        }
    }
    if let Some(v) = mail.header("x-spam").filter(|v| yes(v)) {
        return Some(format!("X-Spam: {v} (rspamd)"));
    }
    if let Some(v) = mail.header("x-rspamd-action") {
        let a = v.trim().to_ascii_lowercase();
        if RSPAMD_ACTIONS.iter().position(|x| *x == a).is_some_and(|i| i >= t.rspamd_action) {
            return Some(format!("X-Rspamd-Action: {a} (rspamd)"));
        }
    }
    if let Some(v) = mail.header("x-spamd-result") {
        let score = RSPAMD_SCORE.captures(v).and_then(|c| c[1].parse::<f64>().ok());
        if v.to_ascii_lowercase().starts_with("default: true") || score.is_some_and(|s| s >= t.rspamd_score) {
            return Some(format!(
                "X-Spamd-Result: {} (rspamd)",
                crate::parse::one_line(v).chars().take(80).collect::<String>()
            ));
        }
    }
    for h in ["x-ms-exchange-organization-scl", "x-forefront-antispam-report", "x-microsoft-antispam"] {
        if let Some(v) = mail.header(h) {
            let scl = if h == "x-ms-exchange-organization-scl" {
                v.trim().parse::<i64>().ok()
            } else {
                SCL.captures(v).and_then(|c| c[1].parse().ok())
            };
            if scl.is_some_and(|n| n >= t.scl) {
                return Some(format!("{h}: SCL {} (Microsoft)", scl.unwrap_or_default()));
            }
            if let Some(c) = SFV.captures(v)
                && matches!(c[1].to_ascii_uppercase().as_str(), "SPM" | "BLK" | "SKS" | "SKB")
            {
                return Some(format!("{h}: SFV:{} (Microsoft)", &c[1]));
            }
        }
    }
    None
}

/// Wording of marketing mail (German and English); each distinct one counts once.
static BULK_WORDS: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(
        r"(?i)\b(unsubscribe|abbestellen|abmelden|austragen|newsletter|sonderangebot|angebot|rabatt|gutschein|coupon|discount|\d{1,2}\s?% (rabatt|off|nachlass)|jetzt (kaufen|bestellen|sichern|registrieren|testen|zugreifen)|buy now|order now|shop now|limited(-| )time|nur (noch )?(heute|bis)|exklusiv|exclusive|kostenlos|gratis|free trial|webinar|whitepaper|(demo|termin) (vereinbaren|buchen)|book a (demo|call)|click here|hier klicken|view (this e-?mail )?in (your )?browser|im browser (ansehen|anzeigen|öffnen)|gewinnspiel|you('ve| have) (been selected|won)|sie haben gewonnen|seo|backlinks|lead generation|special offer|best price|bestpreis)\b",
    )
    .expect("static regex")
});

/// Wording of phishing mail (German and English); each distinct one counts once.
static PHISH_WORDS: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(
        r"(?i)(verify your (account|identity|e-?mail|mailbox)|confirm your (account|identity|password|e-?mail|mailbox)|(account|konto|postfach|mailbox|zugang) (has been |wurde |will be |wird )?(vorübergehend )?(suspended|locked|gesperrt|deaktiviert|disabled|deactivated|eingeschränkt)|passwor(t|d) (läuft|expires|expired|ist abgelaufen|abgelaufen)|unusual (sign-in|login) activity|ungewöhnliche (anmelde)?aktivität|bestätigen sie (ihr|ihre|ihren) (konto|identität|zugangsdaten|e-mail-adresse|postfach|zahlungsdaten)|update your (payment|billing)|zahlungsinformationen (aktualisieren|bestätigen)|invoice (is )?overdue|within 24 hours|innerhalb von 24 stunden|(mailbox|postfach) (quota|speicher)|speicherplatz (ist )?(voll|überschritten|fast voll))",
    )
    .expect("static regex")
});

/// The phishing phrases that count only beside another one.
static WEAK_PHISH: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(r"(?i)^(within 24 hours|innerhalb von 24 stunden|invoice (is )?overdue|update your (payment|billing)|zahlungsinformationen)")
        .expect("static regex")
});

/// The bulk phrases only a mailing list writes (unsubscribing, the browser view).
static LIST_WORDING: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(
        r"(?i)^(unsubscribe|abbestellen|abmelden|austragen|newsletter|view (this e-?mail )?in|im browser)",
    )
    .expect("static regex")
});

/// The start of a link and the first character of its host; the host is
/// read on by [`link_hosts`].
static LINK: LazyLock<regex::bytes::Regex> =
    LazyLock::new(|| regex::bytes::Regex::new(r"(?i)\bhttps?://[a-z0-9]").expect("static regex"));

/// The hosts of the links in a text: `(?i)\bhttps?://([a-z0-9][a-z0-9.-]{0,252})`,
/// whose 252 case-insensitive classes (with the Kelvin sign and the long s
/// that fold to k and s) compiled to 0.6 MB; here the regex finds the start
/// and the host is read on by hand, over the same characters. The tests
/// compare the two on the corpora.
fn link_hosts(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let m = LINK.find_at(text, at)?;
        let mut end = m.end();
        let mut n = 0;
        while n < 252 {
            let rest = &text[end..];
            let len = match rest {
                [b, ..] if b.is_ascii_alphanumeric() || *b == b'.' || *b == b'-' => 1,
                [0xC5, 0xBF, ..] => 2,       // U+017F LATIN SMALL LETTER LONG S
                [0xE2, 0x84, 0xAA, ..] => 3, // U+212A KELVIN SIGN
                _ => break,
            };
            end += len;
            n += 1;
        }
        at = end;
        // The host: the scheme is ASCII, so it ends at the "//".
        let start = m.start() + text[m.start()..m.end()].windows(2).position(|w| w == b"//").unwrap_or(0) + 2;
        Some(&text[start..end])
    })
}

/// The last two labels of a host name ("mail.example.co.uk" gives
/// "co.uk", good enough to tell one sender's domains from a foreign one
/// together with the full-suffix test below).
fn base_domain(host: &str) -> &str {
    let host = host.trim_end_matches('.');
    let mut dots = host.rmatch_indices('.');
    match (dots.next(), dots.next()) {
        (Some(_), Some((i, _))) => &host[i + 1..],
        _ => host,
    }
}

/// No backscatter: a mail from a sender outside the customer and agent
/// domains, with no relation to a ticket or the product (no ticket tag, no
/// `In-Reply-To`/`References`, neither the product (the support's display
/// name without "Support") nor a customer named), that links to foreign
/// domains and reads like marketing (three bulk phrases, or two with a
/// list's unsubscribe or browser-view wording) or phishing (a locked
/// account, a credential check, an expiring password; urgency or payment
/// wording only beside a second phrase). Such a mail is stored as
/// spam, listed with its reason and never answered. Reads the subject and
/// the first 16 KB of the text, and links in the text or the HTML part.
pub fn unsolicited(mail: &InboundMail, cfg: &crate::config::Config) -> Option<String> {
    let from = mail.from_addr().to_ascii_lowercase();
    let sender_domain = crate::config::domain_of(&from)?;
    if cfg.customer_for(&from).is_some() || cfg.agents.is_agent(&from) {
        return None;
    }
    if !mail.in_reply_to.is_empty() || !mail.references.is_empty() {
        return None;
    }
    let text = head_bytes(&mail.body_text, 16 * 1024);
    let lower = format!("{}\n{}", mail.subject, String::from_utf8_lossy(text)).to_lowercase();
    let our_domain = crate::config::domain_of(&cfg.support_address).unwrap_or_default();
    // Our own domain is no relation: cold mail names the website it targets.
    let product = cfg.display_name.to_lowercase().replace("support", "").trim().to_string();
    let mut markers = vec![format!("[{}-", cfg.tag_prefix.to_lowercase())];
    if product.len() >= 3 {
        markers.push(product.replace(' ', "-"));
        markers.push(product.replace(' ', ""));
        markers.push(product);
    }
    markers.extend(cfg.customers.iter().map(|c| c.name.to_lowercase()));
    // Named in the words, not inside a link or an address (phishing puts
    // the victim's address into both).
    let words: String = lower
        .split_whitespace()
        .filter(|w| !w.contains("://") && !w.contains('@') && !w.starts_with("www."))
        .collect::<Vec<_>>()
        .join(" ");
    if markers.iter().any(|m| !m.is_empty() && words.contains(m.as_str())) {
        return None;
    }
    let own = |host: &str| {
        let base = base_domain(host);
        host == sender_domain
            || host.ends_with(&format!(".{sender_domain}"))
            || base == base_domain(&sender_domain)
            || host.ends_with(&our_domain)
            || cfg.customers.iter().any(|c| c.domains.iter().any(|d| host == d || host.ends_with(&format!(".{d}"))))
    };
    let mut foreign: Vec<String> = mail
        .link_domains
        .iter()
        .chain(
            link_hosts(text)
                .filter_map(|h| std::str::from_utf8(h).ok().map(str::to_string))
                .take(200)
                .collect::<Vec<_>>()
                .iter(),
        )
        .map(|h| h.to_ascii_lowercase())
        .filter(|h| !own(h))
        .collect();
    foreign.sort();
    foreign.dedup();
    if foreign.is_empty() {
        return None;
    }
    let distinct = |re: &regex::bytes::Regex| {
        let mut seen: Vec<String> = re
            .find_iter(lower.as_bytes())
            .take(50)
            .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
            .collect();
        seen.sort();
        seen.dedup();
        seen
    };
    let phish = distinct(&PHISH_WORDS);
    let bulk = distinct(&BULK_WORDS);
    let links = foreign.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
    // Urgency and payment wording alone is a person's too ("bitte innerhalb von
    // 24 Stunden"): it counts only beside a second phishing phrase.
    let strong_phish = phish.iter().filter(|p| !WEAK_PHISH.is_match(p.as_bytes())).count();
    // Words a prospective customer uses too ("Angebot", "kostenlos"): marketing
    // needs a list's unsubscribe/browser-view wording beside them, or three phrases.
    let list_wording = bulk.iter().filter(|b| LIST_WORDING.is_match(b.as_bytes())).count();
    if strong_phish >= 1 || phish.len() >= 2 {
        return Some(format!(
            "phishing from {sender_domain} outside the customer domains: {:?}, links to {links}",
            phish.join(", ")
        ));
    }
    if bulk.len() >= 3 || (list_wording >= 1 && bulk.len() >= 2) {
        return Some(format!(
            "marketing from {sender_domain} outside the customer domains: {:?}, links to {links}",
            bulk.iter().take(4).cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    None
}

/// The first `n` bytes of `s` (or fewer, at a character boundary).
fn head_bytes(s: &str, n: usize) -> &[u8] {
    let mut end = s.len().min(n);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s.as_bytes()[..end]
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
    // Delay warnings and success DSNs: no recipient failed.
    let actions: Vec<String> = mail
        .delivery_status
        .as_deref()
        .map(|ds| ACTION.captures_iter(ds).map(|c| c[1].to_ascii_lowercase()).collect())
        .unwrap_or_default();
    let ses_delivery = SES_TYPE.captures(head_bytes(&mail.body_text, 4096)).map(|c| c[2].to_vec());
    if !actions.is_empty() && actions.iter().all(|a| a != "failed") {
        info.action = Some(if actions.iter().any(|a| a == "delayed") { "delayed".into() } else { actions[0].clone() });
    } else if let Some(t) = ses_delivery.filter(|t| t.as_slice() != b"Bounce") {
        info.action = Some(if t.as_slice() == b"Delivery" { "delivered".into() } else { "delayed".into() });
    }
    if info.action.is_some() {
        info.failed_recipients.clear();
        return info;
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
            (
                mail(
                    "a@b.de",
                    "Re: Login",
                    &[],
                    "Vielen Dank für Ihre Nachricht. Ich befinde mich bis zum 30.11. im Urlaub. Ihre E-Mail wird nicht weitergeleitet.",
                ),
                Some(Disposition::AutoReply),
            ),
            (
                mail(
                    "a@b.de",
                    "Re: x",
                    &[],
                    "Thank you for your email. I am on annual leave until 2 December with limited access to email.",
                ),
                Some(Disposition::AutoReply),
            ),
            // An absence in a person's request (writers/w2/040).
            (
                mail(
                    "a@b.de",
                    "Vertretung",
                    &[],
                    "Hallo,\n\nich bin vom 03.08. bis 21.08. im Urlaub. In der Zeit soll Frau Mayer die Urlaubsanträge genehmigen.\nKönnt ihr ihr für den Zeitraum die Genehmiger-Rechte geben?\n\nDanke\nPetra",
                ),
                None,
            ),
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
    fn feedback_reports_text_bounces_and_spam_verdicts() {
        let mut arf = mail("abuse@isp.example", "Email Feedback Report", &[], "This is an email abuse report");
        arf.report_type = Some("feedback-report".into());
        assert_eq!(check(&arf, SUP).map(|v| v.disposition), Some(Disposition::AutoReply));
        let text_bounce = mail(
            "imss@kviv.be",
            "Mail could not be delivered",
            &[("precedence", "bulk")],
            "The message could not be delivered to x@y",
        );
        assert_eq!(check(&text_bounce, SUP).map(|v| v.disposition), Some(Disposition::Bounce));
        let ses =
            mail("no-reply@sns.amazonaws.com", "AWS Notification Message", &[], r#"{"notificationType":"Bounce"}"#);
        assert_eq!(check(&ses, SUP).map(|v| v.disposition), Some(Disposition::Bounce));
        let t = SpamThresholds::default();
        let sa = mail("a@b.de", "x", &[("x-spam-status", "No, score=7.1 required=8.0")], "x");
        assert!(upstream_spam_verdict(&sa, &t).is_some());
        let low = mail(
            "a@b.de",
            "x",
            &[("x-spam-status", "No, score=0.4"), ("x-forefront-antispam-report", "SCL:1;SFV:NSPM;")],
            "x",
        );
        assert!(upstream_spam_verdict(&low, &t).is_none());
        let ms = mail("a@b.de", "x", &[("x-forefront-antispam-report", "CIP:1.2.3.4;SCL:5;SFV:SPM;")], "x");
        assert!(upstream_spam_verdict(&ms, &t).is_some());
        // Our own ack quoted under a customer's answer is no machine text.
        let reply = mail(
            "a@b.de",
            "Re: x",
            &[],
            "Geht immer noch nicht.\n\nAm 1.2.2026 um 10:00 schrieb Support <s@x.de>:\n> Ihre Anfrage ist bei uns eingegangen.\n",
        );
        assert_eq!(check(&reply, SUP), None);
        let ack = mail(
            "helpdesk@kunde.de",
            "Ticket 4711",
            &[],
            "Ihre Nachricht ist bei uns eingegangen und wird bearbeitet.",
        );
        assert_eq!(check(&ack, SUP).map(|v| v.disposition), Some(Disposition::AutoReply));
    }

    #[test]
    fn a_notice_to_the_sender_at_the_top_is_a_bounce_from_any_sender() {
        let notice = "*****\nVotre message n'a pas pu etre delivre a\nduke@ald.example.fr\n*****\nYour message could not be delivered to\nduke@ald.example.fr\n";
        let m = mail("dsi.internet@example.fr", "RE: Anfrage : non remis (delivery failed)", &[], notice);
        assert_eq!(check(&m, SUP).map(|v| v.disposition), Some(Disposition::Bounce));
        // A person who pastes or forwards such a notice writes above it.
        let person =
            mail("a@b.de", "Fehler", &[], "Hallo,\nich bekomme das:\nYour message could not be delivered to x@y.de\n");
        assert_eq!(check(&person, SUP), None);
        let person =
            mail("a@b.de", "Fehler", &[], "Ihre Nachricht konnte nicht zugestellt werden, sagt Outlook. Warum?");
        assert_eq!(check(&person, SUP), None);
    }

    #[test]
    fn a_forwarded_notice_is_a_persons_mail() {
        let body = "zur Info, das kam zurück:\n\n---------- Weitergeleitete Nachricht ---------\nVon: Max <m@kunde.de>\n\nIch bin bis zum 30.11. nicht im Büro. Ihre Nachricht wird nicht weitergeleitet.\n";
        let mut m = mail("a@b.de", "WG: Abwesenheitsnotiz: Login", &[], body);
        assert_eq!(check(&m, SUP).map(|v| v.disposition), Some(Disposition::AutoReply), "without the flag");
        m.forwarded = true;
        assert_eq!(check(&m, SUP), None);
    }

    #[test]
    fn delay_warnings_are_no_failures() {
        let mut m = mail("MAILER-DAEMON@x", "Delivery Status Notification (Delay)", &[], "");
        m.delivery_status = Some("Final-Recipient: rfc822; k@example.org\nAction: delayed\n".into());
        let b = bounce_info(&m);
        assert!(b.failed_recipients.is_empty());
        assert!(b.describe().contains("delayed"));
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

    /// The link hosts read by hand and the non-delivery notice behind its
    /// loose check give what the single regexes gave, on every line and
    /// every mail head (1 KB) of the corpora, and on made-up ones.
    #[test]
    fn cheaper_link_and_notice_readers_agree_with_the_regexes_they_replace() {
        let link_old = regex::bytes::Regex::new(r"(?i)\bhttps?://([a-z0-9][a-z0-9.-]{0,252})").unwrap();
        let notice_old = regex::bytes::Regex::new(
            r"(?i)(your message|votre message|ihre nachricht)\s+(could not|couldn't|cannot|can not|was not|n'a pas pu|konnte nicht)\s+(be\s+|(e|ê)tre\s+)?(delivered|d(e|é)livr(e|é)|remis|zugestellt)(\s+(to|a|à|an))?\s*:?\s*<?[^\s<>@]{1,64}@[^\s<>@]{1,255}",
        )
        .unwrap();
        let long = "a".repeat(300);
        let mut texts: Vec<String> = vec![
            "see https://portal.example.com/x and HTTP://Wiki.Example.ORG.".into(),
            "httpſ://ſecure-bank.example and http://\u{212a}onto.example/".into(),
            format!("http://{long} http://b.example"),
            "éhttp://x.example xhttp://y.example (http://z.example)".into(),
            "Your message could not be delivered to: <jürgen@example.com>".into(),
            format!("Your message could not be delivered to {long}@example.com"),
            format!("Ihre Nachricht konnte nicht zugestellt werden an x@{long}"),
            "Votre message n'a pas pu être remis à a@b".into(),
        ];
        for t in crate::text::corpus_texts() {
            texts.push(String::from_utf8_lossy(head_bytes(&t, 1024)).into_owned());
            texts.extend(t.lines().map(str::to_string));
        }
        let (mut hosts, mut notices) = (0, 0);
        for t in &texts {
            let old: Vec<&[u8]> = link_old.captures_iter(t.as_bytes()).map(|c| c.get(1).unwrap().as_bytes()).collect();
            assert_eq!(link_hosts(t.as_bytes()).collect::<Vec<_>>(), old, "links in {t:?}");
            hosts += old.len();
            let old = notice_old.find(t.as_bytes()).map(|m| m.range());
            assert_eq!(not_delivered_notice(t.as_bytes()).map(|m| m.range()), old, "notice in {t:?}");
            notices += usize::from(old.is_some());
        }
        eprintln!("{} texts: {hosts} link hosts, {notices} non-delivery notices", texts.len());
        assert!(hosts >= 1000 && notices >= 5, "{hosts} link hosts, {notices} notices");
    }
}
