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
    /// Add a person to the ticket's customer side (CC'd on every answer).
    AddParticipant(String),
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
    /// Keep the agent's answer as a draft knowledge-base article (title: the value, or the ticket's subject).
    KbDraft(String),
}

/// A command line that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    /// The line as written.
    pub line: String,
    pub message: String,
    /// The same in German (the support's language in the shipped config).
    pub message_de: String,
}

impl CommandError {
    /// The message in `lang` (German for `de`, English otherwise).
    pub fn message_in(&self, lang: &str) -> &str {
        if lang == "de" && !self.message_de.is_empty() { &self.message_de } else { &self.message }
    }
}

/// An error message in English and German.
type Msg = (String, String);

fn msg(en: String, de: String) -> Msg {
    (en, de)
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
#priority low|normal|high|critical  #assign name@roewaplan.de  #cc name@customer.example  #internal  #close  #reopen  \
#merge MT-000042  #change YYYY-MM-DD HH:MM-HH:MM what is included  #change done|cancelled  #kb [title]";

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
        "cc" | "teilnehmer" | "beteiligt" => "cc",
        "change" | "aenderung" | "wartung" => "change",
        "overview" | "uebersicht" | "ticketuebersicht" => "overview",
        "kb" | "wissen" | "wissensdatenbank" => "kb",
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

fn parse_change(rest: &str) -> Result<Command, Msg> {
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
    let c = RE.captures(r).ok_or_else(|| {
        msg(
            "expected #change YYYY-MM-DD HH:MM-HH:MM what is included, or #change done|cancelled".into(),
            "erwartet: #change JJJJ-MM-TT HH:MM-HH:MM was enthalten ist, oder #change done|cancelled".into(),
        )
    })?;
    let date = NaiveDate::parse_from_str(&c[1], "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(&c[1], "%d.%m.%Y"))
        .map_err(|_| msg(format!("{:?} is not a date", &c[1]), format!("{:?} ist kein Datum", &c[1])))?;
    let not_a_time = |t: &str| msg(format!("{t:?} is not a time"), format!("{t:?} ist keine Uhrzeit"));
    let start = NaiveTime::parse_from_str(&c[2], "%H:%M").map_err(|_| not_a_time(&c[2]))?;
    let end = NaiveTime::parse_from_str(&c[3], "%H:%M").map_err(|_| not_a_time(&c[3]))?;
    if end <= start {
        return Err(msg(
            format!("the window {}-{} ends before it starts", &c[2], &c[3]),
            format!("das Zeitfenster {}-{} endet, bevor es beginnt", &c[2], &c[3]),
        ));
    }
    Ok(Command::ChangeAnnounce(ChangeWindow { date, start, end, description: c[4].trim().to_string() }))
}

fn parse_one(name: &str, arg: &str, tag_prefix: &str) -> Result<Command, Msg> {
    let arg = arg.trim();
    let shown: String = arg.chars().take(60).collect();
    let need = |what: &str, was: &str| {
        if arg.is_empty() {
            Err(msg(format!("#{name} needs {what}"), format!("#{name} braucht {was}")))
        } else {
            Ok(())
        }
    };
    match name {
        "status" => {
            need("a status", "einen Status")?;
            status_value(arg).map(Command::Status).ok_or_else(|| {
                msg(
                    format!("{shown:?} is not a status (open, in_progress, waiting, resolved, closed)"),
                    format!("{shown:?} ist kein Status (open, in_progress, waiting, resolved, closed)"),
                )
            })
        }
        "level" => {
            need("1, 2 or 3", "1, 2 oder 3")?;
            let n = arg.trim_end_matches(['.', 'd', 'n', 's', 't', 'r']).trim();
            n.parse::<i64>().ok().and_then(Level::new).map(Command::Level).ok_or_else(|| {
                msg(format!("{shown:?} is not a level (1, 2, 3)"), format!("{shown:?} ist keine Stufe (1, 2, 3)"))
            })
        }
        "category" => {
            need("a category", "eine Kategorie")?;
            category_value(arg).map(Command::Category).ok_or_else(|| {
                msg(
                    format!("{shown:?} is not a category ({})", Category::valid_ids()),
                    format!("{shown:?} ist keine Kategorie ({})", Category::valid_ids()),
                )
            })
        }
        "priority" => {
            need("a priority", "eine Priorität")?;
            priority_value(arg).map(Command::Priority).ok_or_else(|| {
                msg(
                    format!("{shown:?} is not a priority ({})", Priority::valid_ids()),
                    format!("{shown:?} ist keine Priorität ({})", Priority::valid_ids()),
                )
            })
        }
        "assign" => {
            need("an address", "eine Adresse")?;
            let a = arg.trim_matches(['<', '>']).to_ascii_lowercase();
            if a.contains('@') && !a.contains(char::is_whitespace) {
                Ok(Command::Assign(a))
            } else {
                Err(msg(format!("{shown:?} is not a mail address"), format!("{shown:?} ist keine Mailadresse")))
            }
        }
        "cc" => {
            need("an address", "eine Adresse")?;
            let a = arg.trim_matches(['<', '>']).to_ascii_lowercase();
            if a.parse::<lettre::Address>().is_ok() {
                Ok(Command::AddParticipant(a))
            } else {
                Err(msg(format!("{shown:?} is not a mail address"), format!("{shown:?} ist keine Mailadresse")))
            }
        }
        "merge" => {
            need("a ticket tag", "eine Ticketnummer")?;
            let t = arg.trim_matches(['[', ']']);
            crate::domain::TicketTag::parse(tag_prefix, &t.to_ascii_uppercase())
                .map(|t| Command::Merge(t.number))
                .ok_or_else(|| {
                    msg(
                        format!("{shown:?} is not a ticket tag like {tag_prefix}-000042"),
                        format!("{shown:?} ist keine Ticketnummer wie {tag_prefix}-000042"),
                    )
                })
        }
        "change" => parse_change(arg),
        "kb" => Ok(Command::KbDraft(arg.chars().take(200).collect())),
        "internal" | "close" | "reopen" | "overview" if !arg.is_empty() => Err(msg(
            format!("#{name} takes no value, got {shown:?}"),
            format!("#{name} hat keinen Wert, hier steht {shown:?}"),
        )),
        "internal" => Ok(Command::Internal),
        "close" => Ok(Command::Close),
        "reopen" => Ok(Command::Reopen),
        "overview" => Ok(Command::Overview),
        _ => Err(msg(format!("unknown command #{name}"), format!("unbekannter Befehl #{name}"))),
    }
}

/// Whether a line is a command line: it starts with `#` and a word.
fn is_command_line(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with('#') && t[1..].chars().next().is_some_and(|c| c.is_alphabetic())
}

/// At most this many command errors are kept per mail (a hostile mail can
/// hold thousands of unknown `#words`); the rest are counted.
pub const MAX_ERRORS: usize = 20;

/// At most this many characters of a line are kept in an error.
const ERROR_LINE_CHARS: usize = 120;

/// The line as quoted in an error: trimmed and cut (char-safe) to a bound.
fn excerpt(line: &str) -> String {
    let t = line.trim();
    match t.char_indices().nth(ERROR_LINE_CHARS) {
        Some((end, _)) => format!("{}…", &t[..end]),
        None => t.to_string(),
    }
}

/// The length in bytes of the block of command lines (and blank lines) at
/// the top of `body`. The new text of an agent's mail is read from what
/// follows it, so a reply with the commands on top and the answer below the
/// quoted history (bottom-posting) keeps its answer.
pub fn leading_block_len(body: &str) -> usize {
    let mut end = 0;
    let mut pos = 0;
    for line in body.split_inclusive('\n') {
        pos += line.len();
        if line.trim().is_empty() {
            continue;
        }
        if !is_command_line(line) {
            break;
        }
        end = pos;
    }
    end
}

/// Parse the command lines of `text` and return the text without them.
///
/// A command line is a line of its own that starts with `#` and a word,
/// anywhere in the text (top, bottom, between paragraphs: GitLab's quick
/// actions work this way), never a quoted line (`> #status …`). At the top
/// (before the first other line) an unknown `#word` is an error, so a typo
/// is reported; further down a line counts only when its first word is a
/// known command, so a `#hashtag` in prose stays text.
///
/// Linear in the text: each line is scanned once, an error keeps a bounded
/// excerpt of its line, and at most [`MAX_ERRORS`] errors are kept.
pub fn parse(text: &str, tag_prefix: &str) -> Parsed {
    let mut out = Parsed::default();
    let mut dropped_errors = 0usize;
    let mut push_error = |errors: &mut Vec<CommandError>, line: &str, (message, message_de): Msg| {
        if errors.len() < MAX_ERRORS {
            errors.push(CommandError { line: excerpt(line), message, message_de });
        } else {
            dropped_errors += 1;
        }
    };
    let mut kept = String::with_capacity(text.len());
    let mut at_top = true;
    for raw_line in text.split('\n') {
        let line = raw_line.strip_suffix('\r').unwrap_or(raw_line);
        if line.trim().is_empty() {
            if !at_top {
                kept.push_str(line);
                kept.push('\n');
            }
            continue;
        }
        let command_line = is_command_line(line)
            && (at_top || TOKEN.captures(line).and_then(|c| c.get(1)).is_some_and(|w| canonical(w.as_str()).is_some()));
        if !command_line {
            at_top = false;
            kept.push_str(line);
            kept.push('\n');
            continue;
        }
        // Split the line at each `#word`; `#change` takes the rest of the line.
        let mut starts = TOKEN.captures_iter(line).map(|c| {
            let (m, w) = (c.get(0).expect("group 0"), c.get(1).expect("group 1"));
            (m.start(), w.end(), w.as_str())
        });
        let mut current = starts.next();
        while let Some((_, word_end, word)) = current {
            let next = starts.next();
            let Some(name) = canonical(word) else {
                let shown: String = word.chars().take(40).collect();
                push_error(
                    &mut out.errors,
                    line,
                    msg(format!("unknown command #{shown}"), format!("unbekannter Befehl #{shown}")),
                );
                current = next;
                continue;
            };
            let arg_end = if name == "change" { line.len() } else { next.map(|s| s.0).unwrap_or(line.len()) };
            let arg = &line[word_end..arg_end];
            match parse_one(name, arg, tag_prefix) {
                Ok(c) => out.commands.push(c),
                Err(message) => push_error(&mut out.errors, line, message),
            }
            if name == "change" {
                break;
            }
            current = next;
        }
    }
    if dropped_errors > 0 {
        out.errors.push(CommandError {
            line: String::new(),
            message: format!("{dropped_errors} more command errors not shown"),
            message_de: format!("{dropped_errors} weitere Fehler nicht gezeigt"),
        });
    }
    out.text = kept.trim().to_string();
    out
}

/// One result of an `Authentication-Results` header (RFC 8601 §2.2):
/// `method=result` and its properties (`header.d`, `smtp.mailfrom`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthResult {
    /// `dkim`, `spf`, `dmarc`, … (lower case, version dropped).
    pub method: String,
    /// `pass`, `fail`, `softfail`, `none`, … (lower case).
    pub result: String,
    /// `(ptype.property, value)` pairs, the name in lower case, the value as written.
    pub props: Vec<(String, String)>,
}

/// An `Authentication-Results` header value, parsed as RFC 8601 says:
/// comments are ignored (nested, escaped), a `;` inside a quoted string
/// does not split, spaces around `=` are allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthResults {
    /// The authserv-id of the server that wrote the header (lower case).
    pub authserv_id: String,
    pub results: Vec<AuthResult>,
}

/// Strip RFC 5322 comments (outside quoted strings) from a header value; linear.
fn strip_comments(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for c in v.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' if quoted || depth > 0 => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    out.push(' ');
                }
            }
            '\r' | '\n' | '\t' if depth == 0 => out.push(' '),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Split at `;` outside quoted strings.
fn split_outside_quotes(v: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in v.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                parts.push(&v[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&v[start..]);
    parts
}

/// The `key=value` pairs of one resinfo (values may be quoted strings).
fn pairs(s: &str) -> Vec<(String, String)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i >= b.len() {
            break;
        }
        let k0 = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' {
            i += 1;
        }
        let key = s[k0..i].to_ascii_lowercase();
        skip_ws(&mut i);
        if i >= b.len() || b[i] != b'=' {
            // A bare word (e.g. `none`): a result without properties.
            out.push((key, String::new()));
            continue;
        }
        i += 1;
        skip_ws(&mut i);
        let value = if i < b.len() && b[i] == b'"' {
            i += 1;
            let mut v = String::new();
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                }
                let ch = s[i..].chars().next().unwrap_or(' ');
                v.push(ch);
                i += ch.len_utf8();
            }
            i += 1;
            v
        } else {
            let v0 = i;
            while i < b.len() && !b[i].is_ascii_whitespace() {
                i += 1;
            }
            s[v0..i].to_string()
        };
        out.push((key, value));
    }
    out
}

/// Parse one `Authentication-Results` value.
pub fn parse_auth_results(value: &str) -> AuthResults {
    let clean = strip_comments(value);
    let mut parts = split_outside_quotes(&clean).into_iter();
    let authserv_id =
        parts.next().unwrap_or("").split_whitespace().next().unwrap_or("").trim_matches('"').to_ascii_lowercase();
    let mut results = Vec::new();
    for part in parts {
        let mut kv = pairs(part).into_iter();
        let Some((method, result)) = kv.next() else { continue };
        if result.is_empty() {
            continue; // `none`: no result given
        }
        let method = method.split('/').next().unwrap_or("").to_string();
        results.push(AuthResult { method, result: result.to_ascii_lowercase(), props: kv.collect() });
    }
    AuthResults { authserv_id, results }
}

/// Whether the receiving server vouches for the sender: a `dkim=pass` for
/// the sender's domain (`header.d` or `header.i`), an `spf=pass` for it
/// (`smtp.mailfrom`) or a `dmarc=pass` for it (`header.from`), in the
/// topmost `Authentication-Results` block of a trusted authserv-id.
///
/// Only the topmost header(s) count (RFC 8601 §5): the first header with a
/// trusted authserv-id and the ones right after it, up to the next
/// `Received:`; a header below that was written by someone else (a sender
/// can put any header into its mail), however it names itself.
pub fn authenticated(mail: &InboundMail, trusted_authserv_ids: &[String]) -> bool {
    let from = mail.from_addr();
    let Some(domain) = crate::config::domain_of(from) else { return false };
    let domain_of_value = |v: &str| v.trim_start_matches('@').rsplit('@').next().unwrap_or("").to_ascii_lowercase();
    let mut in_block = false;
    for (name, value) in &mail.headers {
        match name.as_str() {
            "received" if in_block => break,
            "authentication-results" => {
                let ar = parse_auth_results(value);
                if !trusted_authserv_ids.iter().any(|t| t.eq_ignore_ascii_case(&ar.authserv_id)) {
                    continue;
                }
                in_block = true;
                for r in &ar.results {
                    if r.result != "pass" {
                        continue;
                    }
                    let keys: &[&str] = match r.method.as_str() {
                        "dkim" => &["header.d", "header.i"],
                        "spf" => &["smtp.mailfrom"],
                        "dmarc" => &["header.from"],
                        _ => &[],
                    };
                    if r.props.iter().any(|(k, v)| keys.contains(&k.as_str()) && domain_of_value(v) == domain) {
                        return true;
                    }
                }
            }
            _ => {}
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
            (
                "#cc Eva.Kunz@Stadtwerke-Musterstadt.de",
                Command::AddParticipant("eva.kunz@stadtwerke-musterstadt.de".into()),
            ),
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
    fn commands_anywhere_on_lines_of_their_own_but_not_hashtags_or_quotes() {
        // bottom: after the greeting, the command still counts and is removed
        let r = p("Guten Tag,\n\ndas ist behoben.\n\nViele Grüße\nAnna\n\n#status resolved");
        assert_eq!(r.commands, vec![Command::Status(Status::Resolved)]);
        assert_eq!(r.text, "Guten Tag,\n\ndas ist behoben.\n\nViele Grüße\nAnna");
        // between paragraphs
        let r = p("Hallo,\n#intern\nnur für uns");
        assert_eq!((r.commands, r.text.as_str()), (vec![Command::Internal], "Hallo,\nnur für uns"));
        // a hashtag or a numbered point further down is text, a quoted command is not executed
        let r = p("Hallo,\n#wichtig bitte lesen\n#1 Problem: Login\n> #status closed");
        assert!(r.commands.is_empty() && r.errors.is_empty(), "{r:?}");
        assert!(r.text.contains("#wichtig") && r.text.contains("> #status closed"));
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
