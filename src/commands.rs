//! Agent command tags (DESIGN §5): lines at the top of the new text that
//! start with `#`, several per line allowed, German aliases accepted.
//! Parsing and the authentication check are pure.

use std::sync::LazyLock;

use chrono::{NaiveDate, NaiveTime};
use regex::Regex;

use crate::domain::{Category, Level, Priority, Status};
use crate::parse::InboundMail;

/// A change to the customer's instance, announced by an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeWindow {
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub end: NaiveTime,
    /// What the change includes.
    pub description: String,
}

/// One executed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Status(Status),
    Level(Level),
    Category(Category),
    Priority(Priority),
    Assign(String),
    Internal,
    Close,
    Reopen,
    /// Merge this ticket into the one with that number.
    Merge(i64),
    ChangeAnnounce(ChangeWindow),
    ChangeDone,
    ChangeCancelled,
    /// A customer's request for the ticket overview.
    Overview,
}

/// A command line that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    /// The line as written.
    pub line: String,
    pub message: String,
}

/// The commands at the top of a text and the text without them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub commands: Vec<Command>,
    pub errors: Vec<CommandError>,
    /// The text with the command lines removed.
    pub text: String,
}

/// The valid forms, for error mails and the agents' cheat sheet.
pub const USAGE: &str = "#status open|in_progress|waiting|resolved|closed  #level 1|2|3  \
#category functional_error|security_error|usage_question|user_management|change_request  \
#priority low|normal|high|critical  #assign name@roewaplan.de  #internal  #close  #reopen  \
#merge MT-000042  #change YYYY-MM-DD HH:MM-HH:MM what is included  #change done|cancelled";

static TOKEN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?:^|\s)#([\p{L}_]+)").expect("static regex"));

fn fold(s: &str) -> String {
    s.to_lowercase().replace('ä', "ae").replace('ö', "oe").replace('ü', "ue").replace('ß', "ss")
}

/// The canonical name of a command word (English or German alias).
fn canonical(word: &str) -> Option<&'static str> {
    Some(match fold(word).as_str() {
        "status" | "zustand" => "status",
        "level" | "stufe" | "ebene" => "level",
        "category" | "kategorie" => "category",
        "priority" | "prioritaet" | "prio" => "priority",
        "assign" | "zuweisen" | "zuordnen" | "bearbeiter" => "assign",
        "internal" | "intern" | "notiz" | "note" => "internal",
        "close" | "schliessen" | "schliesen" => "close",
        "reopen" | "oeffnen" | "wiedereroeffnen" | "wiederoeffnen" => "reopen",
        "merge" | "zusammenfuehren" => "merge",
        "change" | "aenderung" | "wartung" => "change",
        "overview" | "uebersicht" | "ticketuebersicht" => "overview",
        _ => return None,
    })
}

fn status_value(v: &str) -> Option<Status> {
    Some(match fold(v).replace('-', "_").as_str() {
        "open" | "offen" => Status::Open,
        "in_progress" | "inprogress" | "in_bearbeitung" | "bearbeitung" => Status::InProgress,
        "waiting" | "wartend" | "warten" | "rueckfrage" => Status::Waiting,
        "resolved" | "geloest" | "erledigt" => Status::Resolved,
        "closed" | "geschlossen" => Status::Closed,
        "forwarded" | "weitergeleitet" => Status::Forwarded,
        _ => return None,
    })
}

fn category_value(v: &str) -> Option<Category> {
    let f = fold(v).replace('-', "_");
    Category::parse(&f).or(match f.as_str() {
        "fehler" | "funktionaler_fehler" | "bug" => Some(Category::FunctionalError),
        "sicherheit" | "security" | "sicherheitsfehler" => Some(Category::SecurityError),
        "frage" | "question" | "bedienung" => Some(Category::UsageQuestion),
        "benutzer" | "berechtigung" | "users" => Some(Category::UserManagement),
        "aenderung" | "aenderungsanforderung" | "change" => Some(Category::ChangeRequest),
        _ => None,
    })
}

fn priority_value(v: &str) -> Option<Priority> {
    let f = fold(v);
    Priority::parse(&f).or(match f.as_str() {
        "niedrig" => Some(Priority::Low),
        "hoch" => Some(Priority::High),
        "kritisch" => Some(Priority::Critical),
        _ => None,
    })
}

fn parse_change(rest: &str) -> Result<Command, String> {
    let r = rest.trim();
    match fold(r).as_str() {
        "done" | "erledigt" | "durchgefuehrt" | "abgeschlossen" => return Ok(Command::ChangeDone),
        "cancelled" | "canceled" | "abgesagt" | "storniert" => return Ok(Command::ChangeCancelled),
        _ => {}
    }
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.\d{4})\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})(?:\s*Uhr)?[\s,:]+(.+)$")
            .expect("static regex")
    });
    let c =
        RE.captures(r).ok_or("expected #change YYYY-MM-DD HH:MM-HH:MM what is included, or #change done|cancelled")?;
    let date = NaiveDate::parse_from_str(&c[1], "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(&c[1], "%d.%m.%Y"))
        .map_err(|_| format!("{:?} is not a date", &c[1]))?;
    let start = NaiveTime::parse_from_str(&c[2], "%H:%M").map_err(|_| format!("{:?} is not a time", &c[2]))?;
    let end = NaiveTime::parse_from_str(&c[3], "%H:%M").map_err(|_| format!("{:?} is not a time", &c[3]))?;
    if end <= start {
        return Err(format!("the window {}-{} ends before it starts", &c[2], &c[3]));
    }
    Ok(Command::ChangeAnnounce(ChangeWindow { date, start, end, description: c[4].trim().to_string() }))
}

fn parse_one(name: &str, arg: &str, tag_prefix: &str) -> Result<Command, String> {
    let arg = arg.trim();
    let need = |what: &str| if arg.is_empty() { Err(format!("#{name} needs {what}")) } else { Ok(()) };
    match name {
        "status" => {
            need("a status")?;
            status_value(arg)
                .map(Command::Status)
                .ok_or_else(|| format!("{arg:?} is not a status (open, in_progress, waiting, resolved, closed)"))
        }
        "level" => {
            need("1, 2 or 3")?;
            let n = arg.trim_end_matches(['.', 'd', 'n', 's', 't', 'r']).trim();
            n.parse::<i64>()
                .ok()
                .and_then(Level::new)
                .map(Command::Level)
                .ok_or_else(|| format!("{arg:?} is not a level (1, 2, 3)"))
        }
        "category" => {
            need("a category")?;
            category_value(arg)
                .map(Command::Category)
                .ok_or_else(|| format!("{arg:?} is not a category ({})", Category::valid_ids()))
        }
        "priority" => {
            need("a priority")?;
            priority_value(arg)
                .map(Command::Priority)
                .ok_or_else(|| format!("{arg:?} is not a priority ({})", Priority::valid_ids()))
        }
        "assign" => {
            need("an address")?;
            let a = arg.trim_matches(['<', '>']).to_ascii_lowercase();
            if a.contains('@') && !a.contains(char::is_whitespace) {
                Ok(Command::Assign(a))
            } else {
                Err(format!("{arg:?} is not a mail address"))
            }
        }
        "merge" => {
            need("a ticket tag")?;
            let t = arg.trim_matches(['[', ']']);
            crate::domain::TicketTag::parse(tag_prefix, &t.to_ascii_uppercase())
                .map(|t| Command::Merge(t.number))
                .ok_or_else(|| format!("{arg:?} is not a ticket tag like {tag_prefix}-000042"))
        }
        "change" => parse_change(arg),
        "internal" | "close" | "reopen" | "overview" if !arg.is_empty() => {
            Err(format!("#{name} takes no value, got {arg:?}"))
        }
        "internal" => Ok(Command::Internal),
        "close" => Ok(Command::Close),
        "reopen" => Ok(Command::Reopen),
        "overview" => Ok(Command::Overview),
        _ => Err(format!("unknown command #{name}")),
    }
}

/// Whether a line is a command line: it starts with `#` and a word.
fn is_command_line(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with('#') && t[1..].chars().next().is_some_and(|c| c.is_alphabetic())
}

/// Parse the command lines at the top of `text` (blank lines between them allowed).
pub fn parse(text: &str, tag_prefix: &str) -> Parsed {
    let mut out = Parsed::default();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() {
            i += 1;
            continue;
        }
        if !is_command_line(line) {
            break;
        }
        // Split the line at each `#word`; `#change` takes the rest of the line.
        let starts: Vec<(usize, usize, String)> = TOKEN
            .captures_iter(line)
            .map(|c| (c.get(0).unwrap().start(), c.get(1).unwrap().end(), c[1].to_string()))
            .collect();
        let mut k = 0;
        while k < starts.len() {
            let (_, word_end, ref word) = starts[k];
            let Some(name) = canonical(word) else {
                out.errors
                    .push(CommandError { line: line.trim().to_string(), message: format!("unknown command #{word}") });
                k += 1;
                continue;
            };
            let arg_end =
                if name == "change" { line.len() } else { starts.get(k + 1).map(|s| s.0).unwrap_or(line.len()) };
            let arg = &line[word_end..arg_end];
            match parse_one(name, arg, tag_prefix) {
                Ok(c) => out.commands.push(c),
                Err(message) => out.errors.push(CommandError { line: line.trim().to_string(), message }),
            }
            if name == "change" {
                break;
            }
            k += 1;
        }
        i += 1;
    }
    out.text = lines[i..].join("\n").trim().to_string();
    out
}

/// Whether the receiving server vouches for the sender: an
/// `Authentication-Results` header from a trusted authserv-id with
/// `dkim=pass` for the sender's domain or `spf=pass` for it.
pub fn authenticated(mail: &InboundMail, trusted_authserv_ids: &[String]) -> bool {
    let from = mail.from_addr();
    let Some(domain) = crate::config::domain_of(from) else { return false };
    for v in mail.header_values("authentication-results") {
        let v = v.replace(['\r', '\n'], " ");
        let mut parts = v.split(';');
        let authserv = parts.next().unwrap_or("").split_whitespace().next().unwrap_or("").to_ascii_lowercase();
        if !trusted_authserv_ids.iter().any(|t| t.eq_ignore_ascii_case(&authserv)) {
            continue;
        }
        for res in parts {
            let r = res.trim().to_ascii_lowercase();
            let props: Vec<&str> = r.split_whitespace().collect();
            let Some(method) = props.first() else { continue };
            let prop_domain = |key: &str| {
                props
                    .iter()
                    .find_map(|p| p.strip_prefix(key))
                    .map(|v| v.trim_start_matches('@').rsplit('@').next().unwrap_or("").to_string())
            };
            if *method == "dkim=pass"
                && (prop_domain("header.d=").as_deref() == Some(domain.as_str())
                    || prop_domain("header.i=").as_deref() == Some(domain.as_str()))
            {
                return true;
            }
            if *method == "spf=pass" && prop_domain("smtp.mailfrom=").as_deref() == Some(domain.as_str()) {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Mailbox;

    fn p(t: &str) -> Parsed {
        parse(t, "MT")
    }

    #[test]
    fn every_command_and_alias() {
        let cases: Vec<(&str, Command)> = vec![
            ("#status waiting", Command::Status(Status::Waiting)),
            ("#status in_progress", Command::Status(Status::InProgress)),
            ("#Status Erledigt", Command::Status(Status::Resolved)),
            ("#level 2", Command::Level(Level::new(2).unwrap())),
            ("#stufe 3", Command::Level(Level::new(3).unwrap())),
            ("#category change_request", Command::Category(Category::ChangeRequest)),
            ("#kategorie security_error", Command::Category(Category::SecurityError)),
            ("#priority high", Command::Priority(Priority::High)),
            ("#priorität kritisch", Command::Priority(Priority::Critical)),
            ("#assign Anna@Roewaplan.de", Command::Assign("anna@roewaplan.de".into())),
            ("#zuweisen anna@roewaplan.de", Command::Assign("anna@roewaplan.de".into())),
            ("#internal", Command::Internal),
            ("#intern", Command::Internal),
            ("#close", Command::Close),
            ("#schließen", Command::Close),
            ("#schliessen", Command::Close),
            ("#reopen", Command::Reopen),
            ("#merge MT-000042", Command::Merge(42)),
            ("#change done", Command::ChangeDone),
            ("#change cancelled", Command::ChangeCancelled),
            ("#uebersicht", Command::Overview),
        ];
        for (line, want) in cases {
            let r = p(&format!("{line}\nHallo"));
            assert_eq!(r.commands, vec![want], "{line}: {:?}", r.errors);
            assert_eq!(r.text, "Hallo");
        }
    }

    #[test]
    fn two_commands_on_one_line_and_change_takes_the_rest() {
        let r = p("#status waiting #level 2\n#change 2026-12-03 18:00-20:00 Update auf Version 4.2, Neustart\n\nText");
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(r.commands.len(), 3);
        let Command::ChangeAnnounce(w) = &r.commands[2] else { panic!() };
        assert_eq!(w.description, "Update auf Version 4.2, Neustart");
        assert_eq!(w.start, NaiveTime::from_hms_opt(18, 0, 0).unwrap());
        assert_eq!(r.text, "Text");
    }

    #[test]
    fn misspelled_and_bad_values_are_errors_naming_the_line() {
        let r = p("#staus waiting\nText");
        assert_eq!(r.errors[0].message, "unknown command #staus");
        assert_eq!(r.errors[0].line, "#staus waiting");
        assert!(!p("#level 5").errors.is_empty());
        assert!(!p("#status kaputt").errors.is_empty());
        assert!(!p("#change morgen").errors.is_empty());
    }

    #[test]
    fn hashes_later_in_the_text_are_not_commands() {
        let r = p("Hallo,\n#status waiting bitte nicht");
        assert!(r.commands.is_empty() && r.errors.is_empty());
        assert!(p("#1 Problem: Login").commands.is_empty());
    }

    fn mail_with(from: &str, ar: &str) -> InboundMail {
        InboundMail {
            from: Some(Mailbox { addr: from.into(), name: None }),
            headers: vec![("authentication-results".into(), ar.into())],
            ..Default::default()
        }
    }

    #[test]
    fn authentication_results_from_a_trusted_server_with_a_pass_for_the_domain() {
        let t = vec!["mx.roewaplan.de".to_string()];
        assert!(authenticated(
            &mail_with("anna@roewaplan.de", "mx.roewaplan.de; dkim=pass header.d=roewaplan.de header.s=s1"),
            &t
        ));
        assert!(authenticated(
            &mail_with("anna@roewaplan.de", "mx.roewaplan.de; spf=pass smtp.mailfrom=anna@roewaplan.de"),
            &t
        ));
        assert!(!authenticated(&mail_with("anna@roewaplan.de", "evil.example; dkim=pass header.d=roewaplan.de"), &t));
        assert!(!authenticated(
            &mail_with("anna@roewaplan.de", "mx.roewaplan.de; dkim=fail header.d=roewaplan.de"),
            &t
        ));
        assert!(!authenticated(
            &mail_with("anna@roewaplan.de", "mx.roewaplan.de; dkim=pass header.d=evil.example"),
            &t
        ));
    }
}
