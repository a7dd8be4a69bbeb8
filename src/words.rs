//! Pure words: what a customer's mail asks for (the overview, one ticket,
//! only thanks, its language) and what supportd writes back (status and
//! priority titles, a status change in the customer's words, sizes, lists
//! of addresses). No store, no clock, no config; the pipeline, the reports
//! and the schedule share them.

use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate};
use regex::Regex;

use crate::commands::{Command, Parsed};
use crate::domain::{Level, Status};

static OVERVIEW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        concat!(
            r"(?i)(ticket[- ]?(ü|ue)bersicht|(ü|ue)bersicht (meiner|unserer|aller|der|über alle|ueber alle) (offenen )?(tickets|anfragen|supportanfragen|vorgänge|vorgaenge)",
            r"|status (aller|unserer|meiner) (offenen )?(anfragen|tickets|vorgänge|vorgaenge)",
            r"|(aufstellung|auflistung|liste|stand) (unserer|meiner|aller|der) (offenen |laufenden )?(tickets|anfragen|supportanfragen|vorgänge|vorgaenge|supportfälle|supportfaelle)",
            r"|welche (unserer|meiner) (tickets|anfragen|vorgänge|vorgaenge|supportfälle|supportfaelle) (sind |ist )?(noch |derzeit |aktuell )?(offen|in bearbeitung)",
            r"|ticket[- ]overview|overview of (my|our|all) (open )?(tickets|requests|cases)|list of (my|our|all) (open )?(tickets|requests|cases)",
            r"|all (my|our) (open )?tickets|status of (all )?(my|our) (open )?(tickets|requests|cases)",
            r"|which of (my|our) (tickets|requests|cases) (are|is) (still )?(open|being worked on))"
        ),
    )
    .expect("static regex")
});

/// Whether a customer's mail asks for the ticket overview (`#overview`, or the words in subject or text).
pub fn asks_for_overview(subject: &str, text: &str, parsed: &Parsed) -> bool {
    if parsed.commands.contains(&Command::Overview) {
        return true;
    }
    let head: String = text.chars().take(500).collect();
    OVERVIEW.is_match(subject) || OVERVIEW.is_match(&head)
}

/// Whether a mail asks about exactly one ticket (names one tag in its text): then it stays a follow-up.
pub fn asks_about_one_ticket(text: &str, prefix: &str) -> bool {
    let re = Regex::new(&format!(r"(?i)\b{}-\d{{6}}\b", regex::escape(prefix))).expect("escaped prefix");
    let mut tags: Vec<String> = re.find_iter(text).map(|m| m.as_str().to_ascii_uppercase()).collect();
    tags.sort();
    tags.dedup();
    tags.len() == 1
}

/// The weekday's name in German or English.
pub fn weekday_name(d: NaiveDate, lang: &str) -> &'static str {
    let i = d.weekday().num_days_from_monday() as usize;
    const DE: [&str; 7] = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"];
    const EN: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    if lang == "en" { EN[i] } else { DE[i] }
}

/// Domains of public mail services: two addresses there are two strangers.
pub fn is_public_mail_domain(domain: &str) -> bool {
    const PUBLIC: &[&str] = &[
        "gmail.com",
        "googlemail.com",
        "web.de",
        "gmx.de",
        "gmx.net",
        "gmx.at",
        "gmx.ch",
        "t-online.de",
        "freenet.de",
        "arcor.de",
        "posteo.de",
        "mailbox.org",
        "outlook.com",
        "outlook.de",
        "hotmail.com",
        "hotmail.de",
        "live.com",
        "live.de",
        "msn.com",
        "yahoo.com",
        "yahoo.de",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "aol.de",
        "protonmail.com",
        "proton.me",
        "pm.me",
        "gmx.com",
        "mail.de",
        "email.de",
        "online.de",
        "vodafone.de",
        "kabelmail.de",
        "1und1.de",
        "mail.com",
        "zoho.com",
        "yandex.com",
        "yandex.ru",
        "tutanota.com",
        "tuta.io",
    ];
    PUBLIC.contains(&domain)
}

/// The first ten of a list of addresses, and how many more ("… and 12
/// more" / "… und 12 weitere"): what a notification or event names.
pub fn some_of(v: &[String], de: bool) -> String {
    let mut s = v.iter().take(10).cloned().collect::<Vec<_>>().join(", ");
    if v.len() > 10 {
        let more = v.len() - 10;
        s.push_str(&if de { format!(" und {more} weitere") } else { format!(" and {more} more") });
    }
    s
}

/// At most `n` characters of `s` (char-safe), with "…" when cut.
pub fn cut_chars(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// "1.2 MB", "340 KB", "12 Bytes".
pub fn human_size(n: usize) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MB", n as f64 / (1024.0 * 1024.0))
    } else if n >= 1024 {
        format!("{} KB", n / 1024)
    } else {
        format!("{n} Bytes")
    }
}

/// The customer's words for a status change.
pub fn status_news(st: Status, en: bool) -> String {
    let (de, e) = match st {
        Status::Waiting => ("Wir benötigen Ihre Rückmeldung.", "We need your answer."),
        Status::InProgress => ("Ihre Anfrage ist in Bearbeitung.", "We are working on your request."),
        Status::Resolved => ("Ihre Anfrage wurde gelöst.", "Your request has been resolved."),
        Status::Closed => ("Ihre Anfrage wurde geschlossen.", "Your request has been closed."),
        Status::Open | Status::New => ("Ihre Anfrage wurde wieder geöffnet.", "Your request has been reopened."),
        Status::Forwarded => (
            "Ihre Anfrage wurde an Ihre Beraterin bzw. Ihren Berater weitergeleitet.",
            "Your request has been forwarded to your consultant.",
        ),
    };
    if en { e.into() } else { de.into() }
}

pub fn status_title(status: &str, en: bool) -> &'static str {
    match (status, en) {
        ("new", false) => "neu",
        ("open", false) => "offen",
        ("in_progress", false) => "in Bearbeitung",
        ("waiting", false) => "wartet auf Ihre Rückmeldung",
        ("forwarded", false) => "an Berater weitergeleitet",
        ("resolved", false) => "gelöst",
        ("closed", false) => "geschlossen",
        ("new", true) => "new",
        ("in_progress", true) => "in progress",
        ("waiting", true) => "waiting for your answer",
        ("forwarded", true) => "forwarded to your consultant",
        ("resolved", true) => "resolved",
        ("closed", true) => "closed",
        _ => "open",
    }
}

/// The headline of a status mail: the ticket's `status` now, the level it was handed to.
pub fn status_headline(status: &str, level: Option<Level>, en: bool) -> String {
    match (status, level, en) {
        ("closed", _, false) => "Ihre Anfrage wurde geschlossen".into(),
        ("closed", _, true) => "Your request has been closed".into(),
        ("resolved", _, false) => "Ihre Anfrage wurde gelöst".into(),
        ("resolved", _, true) => "Your request has been resolved".into(),
        ("waiting", _, false) => "Wir benötigen Ihre Rückmeldung".into(),
        ("waiting", _, true) => "We need your answer".into(),
        (_, Some(l), false) => format!("Übergabe an den {} Level Support", l.ordinal()),
        (_, Some(l), true) => format!("Handed to {} Level Support", l.ordinal()),
        (_, None, false) => "Neuigkeiten zu Ihrer Anfrage".into(),
        (_, None, true) => "News on your request".into(),
    }
}

pub fn priority_title(p: &str, lang: &str) -> &'static str {
    match (p, lang) {
        ("low", "en") => "low",
        ("normal", "en") => "normal",
        ("high", "en") => "high",
        ("critical", "en") => "critical",
        ("low", _) => "niedrig",
        ("high", _) => "hoch",
        ("critical", _) => "kritisch",
        _ => "normal",
    }
}

/// Remove `Re:`/`AW:`/`WG:`… chains and our tag from a subject.
pub fn strip_reply_prefixes(s: &str) -> String {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)^\s*((re|aw|wg|fwd?|fw|antw|vs|sv|tr|wtr|rif|r)(\[\d+\])?\s*:\s*|\[[A-Z]{1,8}-\d{6}\]\s*)+",
        )
        .expect("static regex")
    });
    RE.replace(s, "").trim().to_string()
}

/// Whether the new text is only thanks ("Danke!", "Vielen Dank, hat geklappt").
pub fn is_thanks_only(text: &str) -> bool {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)^[\s,.!:;)(-]*((vielen|herzlichen|besten|tausend|many)?\s*(dank|danke|thanks|thank you|thx|merci)(\s*(schön|sehr|nochmal|für (die|ihre) (hilfe|rückmeldung|unterstützung)|a lot|so much|for (your|the) help))*|hat (jetzt )?(geklappt|funktioniert)|passt|funktioniert (jetzt|wieder)|it works( now)?|works now|all good|perfekt|super|prima|top|gruß|grüße|mfg|lg|viele grüße|beste grüße|mit freundlichen grüßen|regards|best|cheers|[\s,.!:;)(-]+)*[\s,.!:;)(-]*$",
        )
        .expect("static regex")
    });
    let t = text.trim();
    // Short and entirely thanks-words; a name at the end is allowed.
    let lines: Vec<&str> = t.lines().filter(|l| !l.trim().is_empty()).collect();
    if t.is_empty() || t.len() > 200 || lines.len() > 4 {
        return false;
    }
    let body = if lines.len() > 1 && lines.last().is_some_and(|l| l.split_whitespace().count() <= 3 && !l.contains('?'))
    {
        lines[..lines.len() - 1].join(" ")
    } else {
        lines.join(" ")
    };
    RE.is_match(&body)
}

/// A crude language guess for senders without a configured customer.
pub fn detect_language(text: &str, default: &str) -> String {
    const EN: &[&str] =
        &["the", "and", "is", "not", "please", "we", "you", "our", "with", "cannot", "hello", "thanks", "have", "this"];
    const DE: &[&str] = &[
        "der", "die", "das", "und", "ist", "nicht", "bitte", "wir", "sie", "mit", "hallo", "ich", "danke", "haben",
        "ein", "eine",
    ];
    let mut en = 0;
    let mut de = 0;
    for w in text.split(|c: char| !c.is_alphabetic()).take(400) {
        let w = w.to_lowercase();
        if EN.contains(&w.as_str()) {
            en += 1;
        }
        if DE.contains(&w.as_str()) {
            de += 1;
        }
    }
    if en > de * 2 && en >= 3 {
        "en".into()
    } else if de > 0 {
        "de".into()
    } else {
        default.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_prefix_chains_are_stripped() {
        assert_eq!(strip_reply_prefixes("AW: WG: RE[2]: [MT-000001] Login"), "Login");
        assert_eq!(strip_reply_prefixes("Antw: Frage"), "Frage");
        assert_eq!(strip_reply_prefixes("Reparatur"), "Reparatur");
    }

    #[test]
    fn thanks_only_is_recognised_but_not_a_new_problem() {
        for t in ["Danke!", "Vielen Dank, hat geklappt", "thanks", "Vielen Dank!\nMaria", "Thank you so much!"] {
            assert!(is_thanks_only(t), "{t}");
        }
        for t in ["Danke, aber der Fehler ist wieder da.", "Thanks, but it still fails", "Danke. Können Sie noch X?"] {
            assert!(!is_thanks_only(t), "{t}");
        }
    }

    #[test]
    fn language_guess() {
        assert_eq!(detect_language("Hello, we cannot log in, please help", "de"), "en");
        assert_eq!(detect_language("Hallo, wir können uns nicht anmelden, bitte helfen Sie", "en"), "de");
    }
}
