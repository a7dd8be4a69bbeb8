//! The new text of a mail: quoted history, reply headers, signatures,
//! mobile footers and legal disclaimers removed. Classification, commands
//! and relays read this, never the whole body. Pure.

use std::sync::LazyLock;

use regex::Regex;

/// Separators that start quoted or forwarded history on a line of their own
/// (besides a title framed by dashes, [`framed_message_title`]).
/// One alternation, so each line is scanned once.
// The gaps of the line patterns below are `(?-u:.)` (any byte but a
// newline) rather than Unicode `.`: a bounded repetition of Unicode `.`
// compiles to a large automaton. A gap's bound counts bytes, not characters.
static SEPARATOR: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    let parts = [
        // Outlook / Exchange / Apple separators, several languages.
        r"^[-_*\s]{0,4}-{2,}\s*(Ursprüngliche Nachricht|Ursprüngliche Mail|Original[- ]Nachricht|Original Message|Originalnachricht|Message d'origine|Messaggio originale|Oorspronkelijk bericht|Mensaje original|Mensagem original|Ursprungligt meddelande|Opprinnelig melding|Oprindelig meddelelse|Alkuperäinen viesti|Wiadomość oryginalna|Исходное сообщение|Oprindelig besked|Original meddelelse|Oryginalna wiadomość|Původní zpráva)\s*-{2,}",
        r"^_{10,}\s*$",
    ];
    regex::bytes::Regex::new(&format!("(?i)(?:{})", parts.join("|"))).expect("static regex")
});

/// A title framed by dashes, captured: see [`framed_message_title`].
static FRAMED_TITLE: LazyLock<regex::bytes::Regex> =
    LazyLock::new(|| regex::bytes::Regex::new(r"^[-_*\s]{0,4}-{2,}\s*([\p{L} ]*)-{2,}\s*$").expect("static regex"));

/// The words of a framed title that name a message.
static MESSAGE_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(message|nachricht|mail|meddelelse|meddelande|melding|bericht|mensaje|messaggio|mensagem|wiadomość|viesti|сообщение|zpráva|besked)$")
        .expect("static regex")
});

/// Any other title framed by dashes that names a message ("-----Reply
/// Message-----", "-----Antwort Nachricht-----"): letters and spaces between
/// the dashes, one word naming a message with at most 30 characters before
/// and after it. This was the pattern
/// `^[-_*\s]{0,4}-{2,}\s*[\p{L} ]{0,30}\b(message|…)\b[\p{L} ]{0,30}-{2,}\s*$`
/// (case-insensitive), whose two bounded letter classes compiled to 2.9 MB
/// and a lazy-DFA cache of as much again per thread; the tests compare the
/// two on every line of the corpora. The words are whole letter runs (a
/// word boundary on both sides of a word of letters), so the title is
/// split at its spaces.
fn framed_message_title(t: &str) -> bool {
    let Some(title) = FRAMED_TITLE.captures(t.as_bytes()).and_then(|c| c.get(1)) else { return false };
    // Letters and spaces only: valid UTF-8 as a part of `t`. Its leading
    // spaces belong to the frame (`\s*`).
    let title = std::str::from_utf8(title.as_bytes()).unwrap_or_default().trim_start_matches(' ');
    let len = title.chars().count();
    let mut at = 0;
    for word in title.split(' ') {
        let n = word.chars().count();
        if n > 0 && at <= 30 && len - at - n <= 30 && MESSAGE_WORD.is_match(word) {
            return true;
        }
        at += n + 1;
    }
    false
}

/// Separators of a forwarded mail: the forwarded text is the request when
/// the sender wrote little or nothing above it.
static FORWARD: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    let parts = [
        r"^-{2,}\s*(Weitergeleitete Nachricht|Forwarded message|Message transféré|Messaggio inoltrato|Doorgestuurd bericht|Mensaje reenviado|Mensagem encaminhada|Vidarebefordrat meddelande|Videresendt melding|Пересылаемое сообщение)\s*-{2,}",
        r"^-{3,}\s*(Weitergeleitet von|Forwarded by) (?-u:.)*-{3,}",
        r"^(Begin forwarded message|Anfang der weitergeleiteten Nachricht|Début du message réexpédié)\s*:",
    ];
    regex::bytes::Regex::new(&format!("(?i)(?:{})", parts.join("|"))).expect("static regex")
});

/// The verbs that end a reply header ("… wrote:") in the languages we see.
const VERBS: &str = r"(wrote|writes|schrieb|geschrieben|a écrit|schreef|geschreven|napisał|napisała|napisal|skrev|escribió|escreveu|ha scritto|kirjoitti|написал|написала|đã viết|napsal|yazdı|sent)";

/// A reply header ("attribution") on one line, or on up to three lines
/// joined with spaces: Thunderbird, Apple Mail, Gmail and mobile clients in
/// many languages.
static ATTRIBUTION: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    let parts = [
        // "On … wrote:", "Am … schrieb …:", "---- On … wrote ----", "Le … a écrit :", "Op … schreef", "W dniu … napisał:".
        format!(
            r"^[-\s]*(on|am|le|op|el|em|il|den|på|w dniu|vào|dne|dana|в)\b(?-u:.){{4,300}}{VERBS}(?-u:.){{0,120}}:\s*$"
        ),
        format!(r"^[-\s]*(on|am|le|op|el|em|il|den|på|w dniu|vào|dne)\b(?-u:.){{4,300}}{VERBS}\s*-{{2,}}\s*$"),
        format!(r"^-{{2,}}\s*(?-u:.){{1,120}}\s{VERBS}\s*-{{2,}}\s*$"),
        // "On <date> Name <a@b> wrote" without the colon.
        format!(
            r"^[-\s]*(on|am|le|op|el|em|il|den|på|w dniu|vào|dne)\s(?-u:.){{0,200}}\d(?-u:.){{0,200}}@(?-u:.){{0,100}}\s{VERBS}\s*$"
        ),
        // A date and an address in brackets, ending with a colon: Gmail in
        // most languages ("Name <a@b> schrieb am Fr., 28. Apr. 2017 um
        // 11:53 Uhr:", "2016-10-24 15:36 GMT+02:00 Name <a@b>:", "ср, 30 апр. 2025 г. в 15:19, Name <a@b>:").
        r"^(?-u:.){0,200}\d(?-u:.){0,200}[<(\[]\s*(mailto:)?[^\s<>()\[\]]+@[^\s<>()\[\]]+\s*[>)\]](?-u:.){0,120}:\s*$"
            .to_string(),
        r"^(?-u:.){0,200}[<(\[]\s*(mailto:)?[^\s<>()\[\]]+@[^\s<>()\[\]]+\s*[>)\]](?-u:.){0,200}\d(?-u:.){0,120}:\s*$"
            .to_string(),
        // A verb at the end and a date or an address before it.
        format!(r"^(?-u:.){{0,300}}[\d@](?-u:.){{0,300}}\s{VERBS}\s*:\s*$"),
    ];
    regex::bytes::Regex::new(&format!("(?i)(?:{})", parts.join("|"))).expect("static regex")
});

/// Weaker reply headers: only when quoted lines follow ("2011/4/7 Name <a@b>").
static WEAK_ATTRIBUTION: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(
        r"(?i)^(\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?-u:.){0,120}[<(]\S+@\S+[>)]\s*|(?-u:.){0,200}\s(wrote|schrieb|a écrit)\s*:?\s*)$",
    )
    .expect("static regex")
});

/// How a header of several lines may start (so that a window of lines is
/// tried only from a plausible first line, not from the reply's last line),
/// besides names before an address ([`names_then_address`]).
static ATTRIBUTION_START: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(r"(?i)^([-\s]*(on|am|le|op|el|em|il|den|på|w dniu|vào|dne|dana)\s|\d)")
        .expect("static regex")
});

/// A short word and a number: "Fr., 28." or "ср, 30" (`^\p{L}{1,6}\.?,?\s+\d`,
/// whose six letter classes compiled to 0.3 MB): the letters are a whole
/// run, so the regex takes the run and the count is checked here.
static DAY_START: LazyLock<regex::bytes::Regex> =
    LazyLock::new(|| regex::bytes::Regex::new(r"^(\p{L}+)\.?,?\s+\d").expect("static regex"));

fn day_start(line: &str) -> bool {
    DAY_START
        .captures(line.as_bytes())
        .and_then(|c| c.get(1))
        .is_some_and(|w| std::str::from_utf8(w.as_bytes()).is_ok_and(|w| w.chars().count() <= 6))
}

/// Whether a line may start a header of several lines: [`ATTRIBUTION_START`]
/// or [`names_then_address`].
fn may_start_attribution(line: &str) -> bool {
    ATTRIBUTION_START.is_match(line.as_bytes()) || day_start(line) || names_then_address(line)
}

/// One to five words of 1 to 40 characters (no whitespace, `<` or `>`),
/// each followed by one whitespace character, and then `<`: "Max Keller
/// <m.keller@…". This was the part `[^\s<>]{1,40}(\s[^\s<>]{1,40}){0,4}\s<`
/// of the regex above, 0.7 MB compiled (Unicode classes repeated 200
/// times); the tests compare the two on every line of the corpora.
/// `char::is_whitespace` is Unicode's White_Space, as the regex's `\s`.
fn names_then_address(line: &str) -> bool {
    let mut chars = line.chars().peekable();
    for _ in 0..5 {
        let mut n = 0;
        while chars.next_if(|c| !c.is_whitespace() && *c != '<' && *c != '>').is_some() {
            n += 1;
        }
        if n == 0 || n > 40 || chars.next().is_none_or(|c| !c.is_whitespace()) {
            return false;
        }
        if chars.peek() == Some(&'<') {
            return true;
        }
    }
    false
}

/// A reply header that shares the line with the reply's last words: "text--- On … wrote:".
static INLINE_ATTRIBUTION: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(&format!(r"(?i)-{{2,}}\s*(on|am)\s(?-u:.){{4,200}}{VERBS}\s*:\s*$")).expect("static regex")
});

/// Header lines of quoted mails (Outlook "Von: … Gesendet: …", Notes
/// "Von: … An: … Datum: …", GMX "Gesendet: … Von: …") in many languages.
static HEADER_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\*?(von|from|de|van|da|från|fra|od|от|lähettäjä|mittente|remitente|gesendet|sent|envoyé|envoyé le|verzonden|inviato|skickat|sendt|enviado|enviada|wysłano|отправлено|lähetetty|date|datum|fecha|data|päivämäärä|dato|an|to|à|a|aan|till|til|para|do|кому|vastaanottaja|per|cc|kopie|копия|betreff|subject|objet|onderwerp|oggetto|ämne|emne|asunto|assunto|temat|тема|aihe|sujet|reply-to|antwort an)\s*:\*?(\s|$)",
    )
    .expect("static regex")
});

/// The header names that may open a quoted header block.
fn opens_header_block(name: &str) -> bool {
    matches!(
        name,
        "von"
            | "from"
            | "de"
            | "van"
            | "da"
            | "från"
            | "fra"
            | "od"
            | "от"
            | "lähettäjä"
            | "mittente"
            | "remitente"
            | "gesendet"
            | "sent"
            | "date"
            | "datum"
    )
}

/// Signatures of mobile and web clients (the line starts with one), and
/// legal disclaimers: the new text ends before them.
static FOOTERS: LazyLock<Regex> = LazyLock::new(|| {
    let parts = [
        r"^(Von meinem|Gesendet von meinem|Gesendet mit|Gesendet von Outlook|Gesendet von Mail für|Gesendet vom|Sent from my|Sent from Outlook|Sent from Mail for|Sent from Yahoo|Sent from TypeApp|Sent from Samsung|Sent with|Sent via|Get Outlook for|Envoyé de mon|Envoyé depuis mon|Envoyé à partir de|Envoyé avec|Enviado desde mi|Enviado do meu|Enviado de meu|Enviado a partir do|Inviato da|Inviato dal mio|Verzonden met|Verstuurd vanaf mijn|Verzonden vanaf mijn|Skickat från min|Skickat från Outlook|Sendt fra min|Sendt fra Outlook|Wysłane z|Отправлено с|Lähetetty)\b.{0,80}$",
        // The mobile Outlook apps' footers: "Download Outlook for Android", "Télécharger Outlook pour Android", "Outlook für Android herunterladen".
        r"^(Download|Télécharger|Descargar|Descarga|Scarica|Baixe|Baixar|Hol dir|Holen Sie sich|Laden Sie|Pobierz|Скачайте) (\S+ ){0,2}Outlook\b.{0,80}$",
        r"^Outlook (für|for) (Android|iOS)( herunterladen)?\b.{0,60}$",
        r"^(Diese E-Mail|Dieses E-Mail|Diese Nachricht|Die Information in dieser|Der Inhalt dieser (E-Mail|Nachricht)|Vertraulichkeitshinweis|CONFIDENTIALITY NOTICE|Confidentiality|This e-?mail|This message|The information (contained|in this))\b.*(vertraulich|confidential|bestimmt|intended).*",
        r"^(Disclaimer|Rechtlicher Hinweis|Haftungsausschluss|Pflichtangaben)\s*:.*$",
    ];
    Regex::new(&format!("(?i)(?:{})", parts.join("|"))).expect("static regex")
});

/// A quoted line: starts with `>`. A line framed by arrows (">>> link <<<")
/// is decoration of the writer's own text, not a quote.
fn is_quote(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('>') && !(t.starts_with(">>") && t.ends_with("<<"))
}

/// A line the client broke inside a link or an address: it ends with an
/// unclosed "<" ("See <http://example.com"), so a next line starting with
/// ">" closes it and is no quote.
fn opens_angle(line: &str) -> bool {
    line.rfind('<').is_some_and(|i| !line[i..].contains('>')) && !is_quote(line)
}

/// The rest of a reply header that the client wrapped onto a line of its
/// own behind a `>` (">:", "> wrote:"): part of the header, no quote.
fn is_wrapped_header_end(line: &str) -> bool {
    let Some(rest) = line.trim().strip_prefix('>') else { return false };
    let rest = rest.trim();
    rest == ":" || (rest.ends_with(':') && rest.len() < 40 && WRAPPED_VERB.is_match(rest.as_bytes()))
}

static WRAPPED_VERB: LazyLock<regex::bytes::Regex> =
    LazyLock::new(|| regex::bytes::Regex::new(&format!(r"(?i)^{VERBS}\s*:$")).expect("static regex"));

/// "On <date> …" as the first line of a header the client broke over
/// several lines, some of them blank (Polymail: "On Tue, Apr 11, 2017 at
/// 10:07 PM John Smith", "", "<", "mailto:… <a@b>", "> wrote:").
static DATED_START: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    regex::bytes::Regex::new(r"(?i)^[-\s]*(on|am|le|op|el|em|il|den|på|w dniu)\s(?-u:.){0,40}\d").expect("static regex")
});

fn is_header_block(lines: &[&str], i: usize) -> bool {
    // A header line that may open a block, and one more header line within
    // the next five non-blank lines.
    if !lines[i].contains(':') {
        return false;
    }
    let Some(c) = HEADER_LINE.captures(lines[i].trim()) else {
        return false;
    };
    let lead = c.get(1).map(|m| m.as_str().to_lowercase()).unwrap_or_default();
    if !opens_header_block(&lead) {
        return false;
    }
    lines[i + 1..].iter().filter(|l| !l.trim().is_empty()).take(5).filter(|l| HEADER_LINE.is_match(l.trim())).count()
        >= 1
}

/// The number of lines (1 to 3) of a reply header starting at line `i`,
/// and whether it is a strong one (cuts even without quoted lines after it).
fn attribution_at(lines: &[&str], i: usize) -> Option<(usize, bool)> {
    let first = lines[i].trim();
    if first.is_empty() || first.len() > 400 || is_quote(first) {
        return None;
    }
    if may_be_attribution(first) && ATTRIBUTION.is_match(first.as_bytes()) {
        return Some((1, true));
    }
    // A dated "On …" start may span up to five lines with blank ones among
    // them; any other start up to three lines without.
    let dated = DATED_START.is_match(first.as_bytes());
    let window = if dated { 5 } else { 3 };
    let window_may_end = lines[i + 1..].iter().take(window - 1).any(|l| may_be_attribution(l.trim()));
    if window_may_end && may_start_attribution(first) {
        let mut joined = first.to_string();
        for k in 1..window {
            let Some(next) = lines.get(i + k).map(|l| l.trim()) else { break };
            if next.is_empty() && dated {
                continue;
            }
            // ">:" or "> wrote:" ends an address wrapped by the client, it is no quote.
            if next.is_empty() || (is_quote(next) && !is_wrapped_header_end(next)) || joined.len() + next.len() > 400 {
                break;
            }
            // The next line alone is a whole header: this one is the reply's.
            if k == 1 && ATTRIBUTION.is_match(next.as_bytes()) && may_start_attribution(next) {
                break;
            }
            joined.push(' ');
            joined.push_str(next);
            if may_be_attribution(next) && ATTRIBUTION.is_match(joined.as_bytes()) {
                return Some((k + 1, true));
            }
        }
    }
    if (first.contains('@') || first.contains("wrote") || first.contains("schrieb") || first.contains("écrit"))
        && WEAK_ATTRIBUTION.is_match(first.as_bytes())
    {
        return Some((1, false));
    }
    None
}

/// A cheap test before the regexes (they are many, and most lines are
/// none): every reply header ends with a colon or dashes, or has an address.
fn may_be_attribution(last_line: &str) -> bool {
    last_line.ends_with(':') || last_line.ends_with('-') || last_line.contains('@')
}

/// Whether a (trimmed) line may be a separator or a forward marker.
fn may_be_separator(t: &str) -> bool {
    t.starts_with(['-', '_', '*']) || t.starts_with(['B', 'b', 'A', 'a', 'D', 'd'])
}

/// The first line at or after `from` that is not blank.
fn next_non_blank(lines: &[&str], from: usize) -> Option<usize> {
    (from..lines.len()).find(|&j| !lines[j].trim().is_empty())
}

/// The new text of a plain-text body.
pub fn new_text(body: &str) -> String {
    new_text_depth(body, false)
}

/// The new text of a plain-text body; `forwarded`: the subject says the
/// sender forwards a mail ([`crate::parse::InboundMail::forwarded`]), so a
/// header block or a rule under a short note (an Outlook forward has no
/// "Forwarded message" line) starts the forwarded request, which stays.
pub fn new_text_with(body: &str, forwarded: bool) -> String {
    new_text_depth(body, forwarded)
}

/// Words of a text, at most `cap` counted.
fn words(lines: &[&str], cap: usize) -> usize {
    lines.iter().flat_map(|l| l.split_whitespace()).take(cap).count()
}

fn new_text_depth(body: &str, forwarded: bool) -> String {
    let body: std::borrow::Cow<str> =
        if body.contains('\r') { body.replace("\r\n", "\n").replace('\r', "\n").into() } else { body.into() };
    let lines: Vec<&str> = body.lines().collect();
    // The last line with new text (not blank, not a quote): a quote line at
    // `i` has new text after it iff this is beyond `i`. Found once, so the
    // scan below stays linear (asking `lines[i..]` per quote line was
    // quadratic: 1.5 MB of quotes took minutes).
    let last_text = lines.iter().rposition(|x| !x.trim().is_empty() && !is_quote(x));
    let mut kept: Vec<&str> = Vec::new();
    let mut cut_by_history = false;
    // The text ends where quoted history starts (not at a quoted block with
    // an answer below it).
    let mut cut_here = false;
    // Lines up to here belong to a reply header already read.
    let mut skip_to = 0;
    let mut i = 0;
    while i < lines.len() {
        if i < skip_to {
            i += 1;
            continue;
        }
        let l = lines[i].trim_end();
        let t = l.trim();
        if l == "--" || l == "-- " || t == "-- " || t == "--" {
            break;
        }
        let sep = may_be_separator(t);
        if sep && FORWARD.is_match(t.as_bytes()) {
            // A short note over a forward ("FYI"): the forwarded mail is the request.
            if words(&kept, 16) < 16 {
                kept.extend_from_slice(&lines[i..]);
            }
            break;
        }
        if sep && (SEPARATOR.is_match(t.as_bytes()) || framed_message_title(t)) {
            if forwarded && words(&kept, 16) < 16 {
                kept.extend_from_slice(&lines[i..]);
                break;
            }
            cut_by_history = true;
            cut_here = true;
            break;
        }
        if t.ends_with(':')
            && let Some(m) = INLINE_ATTRIBUTION.find(t.as_bytes())
            && !t[..m.start()].trim().is_empty()
        {
            let before = t[..m.start()].trim_end();
            {
                kept.push(before);
            }
            cut_by_history = true;
            break;
        }
        if !is_quote(l)
            && let Some((n, strong)) = attribution_at(&lines, i)
        {
            let after = next_non_blank(&lines, i + n);
            if after.is_some_and(|j| is_quote(lines[j])) {
                // Header of a quoted block: dropped with it; an answer below stays.
                cut_by_history = true;
                skip_to = i + n;
                i += n;
                continue;
            }
            if strong {
                cut_by_history = true;
                cut_here = true;
                break;
            }
        }
        if is_header_block(&lines, i) {
            if forwarded && words(&kept, 16) < 16 {
                kept.extend_from_slice(&lines[i..]);
                break;
            }
            cut_by_history = true;
            cut_here = true;
            break;
        }
        if is_quote(l) && i > 0 && opens_angle(lines[i - 1]) && kept.last() == Some(&lines[i - 1]) {
            // "> for more" closes the link the line above opened.
            kept.push(lines[i]);
            i += 1;
            continue;
        }
        if is_quote(l) {
            // A block of quotes with no new text after it ends the mail;
            // interleaved answers keep the non-quoted lines.
            let rest_has_text = last_text.is_some_and(|k| k > i);
            if !rest_has_text {
                break;
            }
            i += 1;
            continue;
        }
        // The rest of a quoted line the client wrapped ("_nonce=3dd518)",
        // "ignissim odio?"): one word, or a lowercase start, right between
        // two quoted lines (an interleaved answer starts a sentence).
        if i > 0
            && is_quote(lines[i - 1])
            && (!t.contains(char::is_whitespace) || t.starts_with(char::is_lowercase))
            && lines.get(i + 1).is_some_and(|n| is_quote(n))
        {
            i += 1;
            continue;
        }
        kept.push(lines[i]);
        i += 1;
    }
    let _ = cut_by_history;
    if cut_here {
        drop_history_lead(&mut kept);
    }
    // Footers and disclaimers at the end.
    if let Some(pos) = kept.iter().position(|l| FOOTERS.is_match(l.trim())) {
        kept.truncate(pos);
    }
    if let Some(pos) = list_footer_at(&kept) {
        kept.truncate(pos);
    }
    let text = kept.join("\n");
    collapse_blank_lines(text.trim())
}

/// A line of separator characters only ("====", "-----", "__").
fn is_rule(t: &str) -> bool {
    t.len() >= 2 && t.chars().all(|c| matches!(c, '=' | '-' | '_' | '*' | '~' | '#' | '+'))
}

/// The line some clients put above a quoted header block: "Message du :
/// 12/12/2016 13:20", "Nachricht vom 12.12.2016".
static HISTORY_DATE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(message|nachricht|mail|e-mail|mensaje|messaggio|bericht|mensagem)\b.{0,20}?\s*:?\s*\d{1,4}[./-]\d{1,2}[./-]\d{2,4}\b.{0,40}$",
    )
    .expect("static regex")
});

/// A title framed by dashes ("----- Original Mail -----") in any language.
fn is_framed_title(t: &str) -> bool {
    t.len() <= 80
        && t.starts_with("--")
        && t.ends_with("--")
        && t.trim_matches('-').trim().chars().all(|c| c.is_alphabetic() || c == ' ' || c == '-')
}

/// Drops what leads into quoted history from the end of the kept lines:
/// blank lines, rules ("===="), a title framed by dashes and a "Message du
/// : <date>" line.
fn drop_history_lead(kept: &mut Vec<&str>) {
    while let Some(last) = kept.last().map(|l| l.trim()) {
        if last.is_empty() || is_rule(last) || is_framed_title(last) || HISTORY_DATE_LINE.is_match(last) {
            kept.pop();
        } else {
            break;
        }
    }
}

/// Where a mailing list's footer starts ("__" or "____", then "<list>
/// mailing list", its address and listinfo link): the list appended it, the
/// writer did not write it.
fn list_footer_at(kept: &[&str]) -> Option<usize> {
    let n = kept.len();
    // The footer is at the end: look at the last eight lines only.
    (n.saturating_sub(8)..n).find(|&i| {
        is_rule(kept[i].trim())
            && kept[i + 1..]
                .iter()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| l.trim().to_ascii_lowercase().ends_with("mailing list"))
    })
}

fn collapse_blank_lines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blanks = 0;
    for l in s.lines() {
        let l = l.trim_end();
        if l.is_empty() {
            blanks += 1;
            if blanks > 1 {
                continue;
            }
        } else {
            blanks = 0;
        }
        out.push_str(l);
        out.push('\n');
    }
    out.trim_end().to_string()
}

static BLOCKQUOTE_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)<(/?)blockquote\b[^>]*>").expect("static regex"));

/// A line of its own where [`drop_blockquotes`] dropped a quote.
const QUOTE_MARK: &str = "\u{1}";

/// `html` without its `<blockquote>` elements (nested ones counted, an
/// unclosed one runs to the end), each outermost one replaced by a line
/// [`QUOTE_MARK`]: the text between two quotes (an interleaved answer)
/// stays. Linear.
fn drop_blockquotes(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut depth = 0usize;
    let mut copied = 0;
    for c in BLOCKQUOTE_TAG.captures_iter(html) {
        let m = c.get(0).expect("whole match");
        let closing = &c[1] == "/";
        if !closing {
            if depth == 0 {
                out.push_str(&html[copied..m.start()]);
                out.push_str("<br>");
                out.push_str(QUOTE_MARK);
                out.push_str("<br>");
            }
            depth += 1;
        } else if depth > 0 {
            depth -= 1;
            if depth == 0 {
                copied = m.end();
            }
        }
    }
    if depth == 0 {
        out.push_str(&html[copied..]);
    }
    out
}

/// The line right above a quote container that introduces it: it ends
/// with ":" and has a date or an address ("Am 12.11.2026 schrieb …:",
/// "Zitat von Name <a@b>:"), not "Hier die Meldung:".
fn is_header_above_quote(line: &str) -> bool {
    let t = line.trim_end();
    t.ends_with(':') && t.len() <= 400 && t.contains(|c: char| c.is_ascii_digit() || c == '@')
}
/// The start of an element dropped with its content, tried at a `<`:
/// anchored, so it reads a few characters only.
static DROP_OPEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^<(head|style|script|title)\b").expect("static regex"));
/// The end tag that ends a dropped element (any of the four names).
static DROP_CLOSE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)</(head|style|script|title)\s*>").expect("static regex"));

/// The first occurrence of something at or after a position, remembered:
/// the positions asked for only grow, so the text after each position is
/// searched once, not once per question.
struct NextFrom<T: Copy> {
    /// The position the answer was searched from and the answer (its start and the value).
    cached: Option<(usize, Option<(usize, T)>)>,
}

impl<T: Copy> NextFrom<T> {
    fn new() -> Self {
        NextFrom { cached: None }
    }

    fn get(&mut self, from: usize, search: impl FnOnce(usize) -> Option<(usize, T)>) -> Option<(usize, T)> {
        if let Some((at, found)) = self.cached
            && at <= from
            && found.is_none_or(|(start, _)| start >= from)
        {
            return found;
        }
        let found = search(from);
        self.cached = Some((from, found));
        found
    }
}

/// `html` without the elements `<head>`, `<style>`, `<script>`, `<title>`
/// (with their content, up to the first end tag of any of the four),
/// comments, `<!…>` declarations and `<?…>` processing instructions.
///
/// The same result as `replace_all` of the regex
/// `(?is)<(head|style|script|title)\b[^>]*>.*?</(head|style|script|title)\s*>|<!--.*?-->|<![^>]*>|<\?[^>]*>`
/// (leftmost match, the first alternative that matches there), but linear:
/// the regex searched to the end of the text for every unclosed `<style>` or
/// `<!--` before a later match (100,000 of them took minutes).
fn drop_elements(html: &str) -> String {
    let bytes = html.as_bytes();
    let find_byte =
        |b: u8| move |from: usize| bytes[from..].iter().position(|&c| c == b).map(|i| (from + i, from + i + 1));
    let mut next_gt = NextFrom::new();
    let mut next_comment_end = NextFrom::new();
    let mut next_close = NextFrom::new();
    let mut out = String::with_capacity(html.len());
    let mut copied = 0;
    let mut pos = 0;
    while let Some(off) = html[pos..].find('<') {
        let s = pos + off;
        let rest = &html[s..];
        let end = if let Some(m) = DROP_OPEN.find(rest) {
            // `<name\b[^>]*>` then everything up to the first end tag
            next_gt.get(s + m.end(), find_byte(b'>')).and_then(|(_, after_gt)| {
                next_close
                    .get(after_gt, |from| DROP_CLOSE.find_at(html, from).map(|c| (c.start(), c.end())))
                    .map(|(_, e)| e)
            })
        } else if rest.starts_with("<!") {
            let comment = if rest.starts_with("<!--") {
                next_comment_end.get(s + 4, |from| html[from..].find("-->").map(|i| (from + i, from + i + 3)))
            } else {
                None
            };
            comment.or_else(|| next_gt.get(s + 2, find_byte(b'>'))).map(|(_, e)| e)
        } else if rest.starts_with("<?") {
            next_gt.get(s + 2, find_byte(b'>')).map(|(_, e)| e)
        } else {
            None
        };
        match end {
            Some(e) => {
                out.push_str(&html[copied..s]);
                copied = e;
                pos = e;
            }
            None => pos = s + 1,
        }
    }
    out.push_str(&html[copied..]);
    out
}
static GMAIL_QUOTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?is)<div[^>]*(class="?(gmail_quote|moz-cite-prefix|OutlookMessageHeader|yahoo_quoted|zmail_extra)"?|id="?(divRplyFwdMsg|appendonsend|yahoo_quoted_[0-9]+)"?)[^>]*>.*|<span[^>]*id="?OLK_SRC_BODY_SECTION"?[^>]*>.*|<hr[^>]*id="?stopSpelling"?[^>]*>.*"#,
    )
        .expect("static regex")
});
static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)<(/?)([a-zA-Z0-9]+)[^>]*>").expect("static regex"));
static ENTITY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});").expect("static regex"));

/// Plain text from an HTML body: quoted history (`<blockquote>`, Gmail and
/// Thunderbird quote containers) removed, paragraphs as blank lines, `<br>`
/// as line breaks, scripts and styles dropped, entities decoded.
pub fn html_to_text(html: &str) -> String {
    html_to_text_with(html, false)
}

/// [`html_to_text`]; `forwarded` (the subject says so): the reply
/// containers of Outlook, Gmail, Yahoo (not `<blockquote>`) are kept, they
/// hold the forwarded mail (Outlook marks a forward like a reply), and the
/// text rules read the result (a header block under a short note starts
/// the forwarded request).
pub fn html_to_text_with(html: &str, forwarded: bool) -> String {
    let s = drop_elements(html);
    let s = drop_blockquotes(&s);
    // A client's quote container holding a forward is the forwarded request: kept.
    let s = match GMAIL_QUOTE.find(&s) {
        Some(m) if !forwarded && !holds_forward(&s[m.start()..]) => s[..m.start()].to_string(),
        _ => s,
    };
    let s = s.replace(['\r', '\n'], " ");
    let s = TAG.replace_all(&s, |c: &regex::Captures| {
        let closing = &c[1] == "/";
        match c[2].to_ascii_lowercase().as_str() {
            "br" => "\n".to_string(),
            "hr" => format!("\n{RULE_MARK}\n"),
            "p" => "\n\n".to_string(),
            "div" | "tr" | "li" | "h1" | "h2" | "h3" | "h4" | "table" | "ul" | "ol" if !closing => "\n".to_string(),
            "div" | "tr" | "h1" | "h2" | "h3" | "h4" | "table" | "ul" | "ol" => "\n".to_string(),
            "td" | "th" if closing => " ".to_string(),
            "li" => String::new(),
            _ => String::new(),
        }
    });
    let s = ENTITY.replace_all(&s, |c: &regex::Captures| decode_entity(&c[1]).unwrap_or_else(|| c[0].to_string()));
    let mut lines: Vec<String> = Vec::new();
    for l in s.lines() {
        let l = l.split_whitespace().collect::<Vec<_>>().join(" ");
        if l == RULE_MARK {
            // A rule right above a header line starts quoted history.
            lines.push(l);
            continue;
        }
        if l != QUOTE_MARK {
            lines.push(l);
            continue;
        }
        // Where a quote was: the reply header right above it goes with it.
        let Some(k) = lines.iter().rposition(|x| !x.is_empty()) else { continue };
        if is_header_above_quote(&lines[k]) {
            lines.truncate(k);
        }
    }
    if let Some(k) = lines.iter().enumerate().position(|(k, l)| {
        l == RULE_MARK
            && lines[k + 1..].iter().find(|x| !x.is_empty() && *x != RULE_MARK).is_some_and(|x| opens_history_line(x))
    }) {
        lines.truncate(k);
    }
    lines.retain(|l| l != RULE_MARK);
    collapse_blank_lines(lines.join("\n").trim())
}

/// A line of its own where an `<hr>` was.
const RULE_MARK: &str = "\u{2}";

/// A header line that opens quoted history ("From: …", "Von: …", "Date: …").
fn opens_history_line(line: &str) -> bool {
    HEADER_LINE
        .captures(line.trim())
        .and_then(|c| c.get(1))
        .is_some_and(|m| opens_header_block(&m.as_str().to_lowercase()))
}

/// Whether the start of a quote container (its first 600 bytes, tags
/// dropped) is a forward marker.
fn holds_forward(html: &str) -> bool {
    let mut end = html.len().min(600);
    while !html.is_char_boundary(end) {
        end -= 1;
    }
    let head = TAG.replace_all(&html[..end], "\n");
    head.lines().map(str::trim).filter(|l| !l.is_empty()).take(2).any(|l| FORWARD.is_match(l.as_bytes()))
}

/// A quote container of some client in an HTML body: Thunderbird's and
/// Apple Mail's `<blockquote type="cite">`, any `<blockquote>`, Gmail's
/// `gmail_quote`, Thunderbird's `moz-cite-prefix`, Outlook's
/// `divRplyFwdMsg` / `#appendonsend` / `OLK_SRC_BODY_SECTION` /
/// `stopSpelling`, Yahoo's `yahoo_quoted`, Zoho's `zmail_extra`.
static QUOTE_CONTAINER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)<blockquote\b|<div[^>]*(class="?(gmail_quote|moz-cite-prefix|OutlookMessageHeader|yahoo_quoted|zmail_extra)"?|id="?(divRplyFwdMsg|appendonsend|yahoo_quoted_[0-9]+)"?)|<span[^>]*id="?OLK_SRC_BODY_SECTION"?|<hr[^>]*id="?stopSpelling"?"#,
    )
    .expect("static regex")
});

/// Where the quoted history of a text part starts, read from the HTML part
/// of the same mail: the HTML marks the quote exactly (see
/// [`QUOTE_CONTAINER`]), the text part only by conventions the client may
/// not follow. The HTML is rendered as text without its quotes (and the
/// reply header right above one), and its words are found in order in the
/// text part (its quoted lines skipped, up to 40 words the HTML lacks
/// between two of them, such as link targets). The answer is the byte
/// offset in `text` after the line holding the last of them; `None` when
/// the HTML has no quote container, no text outside it, or its words are
/// not in the text part (then the text heuristics decide alone). Linear in
/// both sizes.
pub fn quote_start_from_html(text: &str, html: &str) -> Option<usize> {
    // A forward keeps the forwarded mail as the request: the text rules decide.
    if text.lines().any(|l| {
        let t = l.trim();
        may_be_separator(t) && FORWARD.is_match(t.as_bytes())
    }) {
        return None;
    }
    if !QUOTE_CONTAINER.is_match(html) {
        return None;
    }
    // The whole HTML as text, its quotes dropped: text between two quotes
    // (an interleaved answer, a quoted error message) is the writer's.
    let before = html_to_text(html);
    let mut lines: Vec<&str> = before.lines().collect();
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    if lines.last().is_some_and(|l| is_header_above_quote(l)) {
        lines.pop();
    }
    let wanted: Vec<String> =
        lines.iter().flat_map(|l| l.split_whitespace()).map(word_key).filter(|w| !w.is_empty()).collect();
    if wanted.is_empty() {
        return None;
    }
    let mut next = 0;
    let mut skipped = 0;
    let mut offset = 0;
    let mut w = String::new();
    for line in text.split_inclusive('\n') {
        let end = offset + line.len();
        if !is_quote(line) {
            for word in line.split_whitespace() {
                w.clear();
                w.extend(word.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase));
                if w.is_empty() {
                    continue;
                }
                if w == wanted[next] {
                    next += 1;
                    skipped = 0;
                    if next == wanted.len() {
                        return Some(end);
                    }
                } else {
                    skipped += 1;
                    if skipped > 40 {
                        return None;
                    }
                }
            }
        }
        offset = end;
    }
    None
}

/// A word as compared between the HTML and the text part: letters and
/// digits only, lowercase.
fn word_key(w: &str) -> String {
    w.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

fn decode_entity(e: &str) -> Option<String> {
    if let Some(num) = e.strip_prefix('#') {
        let n = match num.strip_prefix(['x', 'X']) {
            Some(h) => u32::from_str_radix(h, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(n).map(|c| if c == '\u{a0}' { " ".to_string() } else { c.to_string() });
    }
    let c = match e {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        "nbsp" => " ",
        "auml" => "ä",
        "ouml" => "ö",
        "uuml" => "ü",
        "Auml" => "Ä",
        "Ouml" => "Ö",
        "Uuml" => "Ü",
        "szlig" => "ß",
        "euro" => "€",
        "ndash" => "–",
        "mdash" => "—",
        "bdquo" => "„",
        "ldquo" => "“",
        "rdquo" => "”",
        "sbquo" => "‚",
        "lsquo" => "‘",
        "rsquo" => "’",
        "hellip" => "…",
        "copy" => "©",
        "eacute" => "é",
        "egrave" => "è",
        "agrave" => "à",
        "aacute" => "á",
        "ccedil" => "ç",
        "shy" => "",
        _ => return None,
    };
    Some(c.to_string())
}

/// Every file of the repository's fixtures and the shared corpora
/// (`../shared/ext-corpus`, `../shared/peer-corpus`) as text: its bytes
/// (lossy UTF-8), and its decoded text when mail-parser reads it as a mail
/// (directly: `crate::parse` imports this module). For tests that compare
/// two ways of reading a line.
#[cfg(test)]
pub(crate) fn corpus_texts() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let mut dirs = vec![root.join("fixtures"), root.join("../shared/ext-corpus"), root.join("../shared/peer-corpus")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() { dirs.push(p) } else { files.push(p) }
        }
    }
    let mut out = Vec::new();
    for f in &files {
        let raw = std::fs::read(f).expect("a corpus file");
        out.push(String::from_utf8_lossy(&raw).into_owned());
        if let Some(text) =
            mail_parser::MessageParser::default().parse(&raw[..]).and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        {
            out.push(text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thunderbird_german_attribution_is_cut() {
        let t = "Hallo,\ngeht wieder nicht.\n\nAm 12.11.2026 um 10:15 schrieb MEIN TEAM Support:\n> Ihre Anfrage\n";
        assert_eq!(new_text(t), "Hallo,\ngeht wieder nicht.");
    }

    #[test]
    fn outlook_header_block_is_cut() {
        let t = "Danke, passt.\n\nVon: MEIN TEAM Support <mein-team-support@roewaplan.de>\nGesendet: Montag, 3. März 2026 10:00\nAn: Keller\nBetreff: x\n\nalt";
        assert_eq!(new_text(t), "Danke, passt.");
    }

    #[test]
    fn signature_and_iphone_footer_are_cut() {
        assert_eq!(new_text("Bitte prüfen.\n-- \nMax Muster\nTel 123"), "Bitte prüfen.");
        assert_eq!(new_text("Geht nicht.\n\nVon meinem iPhone gesendet"), "Geht nicht.");
        for disclaimer in [
            "CONFIDENTIALITY NOTICE: The information in this email is intended only for the addressee. Access to this email by anyone else is unauthorized.",
            "Der Inhalt dieser E-Mail ist ausschließlich für den bezeichneten Adressaten bestimmt. Jede Form der Kenntnisnahme durch Unbefugte ist unzulässig.",
        ] {
            assert_eq!(new_text(&format!("Geht nicht.\n\nGruß\nAoife\n\n{disclaimer}")), "Geht nicht.\n\nGruß\nAoife");
        }
        // A writer's own word on confidentiality stays.
        let t = "Der Bericht ist vertraulich.\nBitte behandeln Sie das vertraulich.";
        assert_eq!(new_text(t), t);
        for footer in [
            "Download Outlook for Android<https://aka.ms/ghei36>",
            "Télécharger Outlook pour Android<https://aka.ms/ghei36>",
            "Outlook für Android herunterladen<https://aka.ms/ghei36>",
        ] {
            assert_eq!(
                new_text(&format!(
                    "Geht nicht.\n\n{footer}\n\n________________________________\nFrom: A <a@b.c>\nSent: Monday\n\nalt"
                )),
                "Geht nicht.",
                "{footer}"
            );
        }
    }

    #[test]
    fn gmail_attribution_wrapped_over_two_lines_is_cut() {
        let t = "Neue Info.\n\nAm Do., 12. März 2026 um 10:15 Uhr schrieb Max Mustermann <\nmax@example.org>:\n> alt\n";
        assert_eq!(new_text(t), "Neue Info.");
    }

    #[test]
    fn html_paragraphs_breaks_entities_and_blockquotes() {
        let h = "<html><head><style>p{}</style></head><body><p>Guten Tag,</p><p>geht&nbsp;nicht &amp; h&auml;ngt.<br>Gru&szlig;</p><blockquote>alt</blockquote></body></html>";
        assert_eq!(html_to_text(h), "Guten Tag,\n\ngeht nicht & hängt.\nGruß");
    }

    #[test]
    fn html_quotes_go_with_their_header_and_interleaved_answers_stay() {
        let h = "<p>Hallo,</p><div>On Tue, 10 Nov 2026 10:00, Anna &lt;a@roewaplan.de&gt; wrote:</div><blockquote type=\"cite\">Welcher Browser?<blockquote>alt</blockquote>noch alt</blockquote><p>Firefox 128.</p><blockquote>Und die Version?</blockquote><p>Hier die Meldung:</p><blockquote>E-5031</blockquote><p>Gruß</p>";
        assert_eq!(html_to_text(h), "Hallo,\n\nFirefox 128.\n\nHier die Meldung:\n\nGruß");
        // An unclosed quote runs to the end.
        assert_eq!(html_to_text("<p>Neu</p><blockquote>alt <p>alt</p>"), "Neu");
    }

    #[test]
    fn html_rule_above_a_header_starts_the_history_and_a_forward_container_stays() {
        let h = "Reply<div><hr/><div><b>From: bob@example.com</b> <b>Date: Thu, 24 Mar 2016</b></div><div>Quoted</div></div>";
        assert_eq!(html_to_text(h), "Reply");
        // A rule of the writer's own stays a separator of nothing.
        assert_eq!(html_to_text("<p>Teil 1</p><hr><p>Teil 2</p>"), "Teil 1\n\nTeil 2");
        // Gmail puts a forward into its quote container: the forward is the request.
        let f = "<div dir=\"ltr\"><br><div class=\"gmail_quote\">---------- Forwarded message ---------<br>From: Bob &lt;bob@example.com&gt;<br>Subject: Login<br><br><div>Login geht nicht.</div></div></div>";
        let t = html_to_text(f);
        assert!(t.starts_with("---------- Forwarded message") && t.ends_with("Login geht nicht."), "{t}");
        assert!(new_text(&t).contains("Login geht nicht."));
    }

    #[test]
    fn an_html_only_outlook_forward_keeps_the_forwarded_mail() {
        let h = "<div>zur Info</div><div id=\"divRplyFwdMsg\"><b>Von:</b> Jens &lt;it@x.de&gt;<br><b>Gesendet:</b> Dienstag, 24. November 2026<br><b>Betreff:</b> Login</div><div>Niemand kann sich anmelden.</div>";
        assert_eq!(html_to_text(h), "zur Info");
        let t = html_to_text_with(h, true);
        assert!(new_text_with(&t, true).ends_with("Niemand kann sich anmelden."), "{t}");
    }

    #[test]
    fn bottom_posted_answer_below_the_quote_is_kept() {
        let t = "On 12.03.2026 10:15, Anna wrote:\n> Which browser?\n\nChrome 131.\n\nRavi";
        assert_eq!(new_text(t), "Chrome 131.\n\nRavi");
    }

    /// The regex `drop_elements` replaces (its `replace_all` was quadratic).
    static DROP_ELEMENTS_REGEX: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?is)<(head|style|script|title)\b[^>]*>.*?</(head|style|script|title)\s*>|<!--.*?-->|<![^>]*>|<\?[^>]*>",
        )
        .unwrap()
    });

    #[test]
    fn drop_elements_gives_what_the_regex_gave() {
        let pieces = [
            "<style>",
            "<STYLE type=x>",
            "</style>",
            "</Style \n>",
            "<head",
            "<header>",
            "<title>",
            "</TITLE>",
            "<script>",
            "</script",
            "<!--",
            "-->",
            "->",
            "<!",
            "<?",
            ">",
            "<",
            "x",
            "ä",
            "\n",
            " ",
            "<ſcript>",
            "</ſcript>",
            "<p>",
            "<!DOCTYPE html>",
            "<?xml?>",
            "</head>",
            "<title\u{e9}>",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let n = (next() % 24) as usize;
            let html: String = (0..n).map(|_| pieces[(next() % pieces.len() as u64) as usize]).collect();
            assert_eq!(drop_elements(&html), DROP_ELEMENTS_REGEX.replace_all(&html, ""), "{html:?}");
        }
    }

    #[test]
    fn drop_elements_is_linear_on_unclosed_elements() {
        for unit in ["<style><!x>", "<!-- x>", "<script>x<?y>"] {
            let html = unit.repeat(200_000);
            let t = std::time::Instant::now();
            let out = drop_elements(&html);
            assert!(t.elapsed() < std::time::Duration::from_secs(5), "{unit}: {:?}", t.elapsed());
            assert!(out.len() < html.len(), "{unit}");
        }
    }

    #[test]
    fn many_quote_lines_before_the_answer_are_linear() {
        let mut t = String::from("Hallo,\n");
        for i in 0..100_000 {
            t.push_str(&format!("> zitierte Zeile {i}\n"));
        }
        t.push_str("Antwort unten.\n");
        let start = std::time::Instant::now();
        assert_eq!(new_text(&t), "Hallo,\nAntwort unten.");
        assert!(start.elapsed() < std::time::Duration::from_secs(5), "{:?}", start.elapsed());
    }

    #[test]
    fn reply_header_broken_over_lines_with_blank_ones_is_cut() {
        // Polymail: the address wraps over four lines, one blank, the verb behind a ">".
        let t = "Test reply\n\nOn Tue, Apr 11, 2017 at 10:07 PM John Smith\n\n<\nmailto:John Smith <johnsmith@gmail.com>\n> wrote:\nTest quoted data\n";
        assert_eq!(new_text(t), "Test reply");
        // Without a date the window stays three lines without blanks.
        let t = "On Monday\n\nwe met.\nSee a@b.de\n> wrote:\n";
        assert_eq!(new_text(t), "On Monday\n\nwe met.\nSee a@b.de");
    }

    #[test]
    fn a_link_closed_on_the_next_line_is_no_quote() {
        let t = "Hello\nSee <http://google.com\n> for more information\n\nOn Nov 30, 2011, Somebody <s@example.com> wrote:\n\n> Hi";
        assert_eq!(new_text(t), "Hello\nSee <http://google.com\n> for more information");
    }

    #[test]
    fn any_title_framed_by_dashes_that_names_a_message_starts_the_history() {
        for title in
            ["Reply Message", "Antwort Nachricht", "Original-Nachricht", "Ursprüngliche Mail", "Oprindelig meddelelse"]
        {
            assert_eq!(new_text(&format!("Test reply\n\n-----{title}-----\n\nTest")), "Test reply", "{title}");
        }
        // A section heading of the writer's own stays.
        let t = "Log:\n----- Fehlerprotokoll -----\nE-5031";
        assert_eq!(new_text(t), t);
    }

    #[test]
    fn arrows_framing_a_line_are_no_quote() {
        let t = "Visit us now for assistance...\n>>> >>>  http://www.domain.com <<<\nVisit our site by clicking the link above";
        assert_eq!(new_text(t), t);
    }

    #[test]
    fn rule_and_dated_line_above_a_header_block_go_with_it() {
        let t = "Merci.\n\n====\n\nMessage du : 12/12/2016 13:20\nDe : \"Q\" <q@c.com>\nA : m@s.fr\nSujet : x\n\nalt";
        assert_eq!(new_text(t), "Merci.");
        // A framed title in a language the separators do not list.
        let t = "Tak.\n\n----- Původní e-mail -----\nOd: Q <q@c.cz>\nDate: 1.2.2026\n\nalt";
        assert_eq!(new_text(t), "Tak.");
        // Not above a header block: a dated line of the writer's stays.
        assert_eq!(new_text("Termin:\nMessage vom 12.12.2026 gilt."), "Termin:\nMessage vom 12.12.2026 gilt.");
    }

    #[test]
    fn mailing_list_footer_below_the_quote_is_dropped() {
        let t = "Oh thanks.\n\n-Abhishek\n\nOn 01/03/11 7:07 PM, Russell wrote:\n> Hi\n\n__\nriak-users mailing list\nriak-users@lists.basho.com\nhttp://lists.basho.com/mailman/listinfo/riak-users\n";
        assert_eq!(new_text(t), "Oh thanks.\n\n-Abhishek");
    }

    #[test]
    fn html_part_marks_where_the_quote_of_the_text_part_starts() {
        // Apple Mail: the header above the blockquote is in no language the text rules know.
        let text = "Hallo,\nes geht wieder.\n\nZitat von Anna Berg <anna@roewaplan.de>:\n\n> Bitte prüfen Sie.\n";
        let html = "<html><body><div>Hallo,<br>es geht wieder.</div><div><br><div>Zitat von Anna Berg &lt;anna@roewaplan.de&gt;:</div><blockquote type=\"cite\"><div>Bitte prüfen Sie.</div></blockquote></div></body></html>";
        let at = quote_start_from_html(text, html).expect("aligned");
        assert_eq!(new_text(&text[..at]), "Hallo,\nes geht wieder.");
        // Gmail: a link target in the text part only is skipped.
        let text = "Siehe https://x.de <https://x.de>\ndanke\n\nAm Fr. schrieb A <a@b.de>:\n> alt\n";
        let html = "<div dir=\"ltr\">Siehe <a href=\"https://x.de\">https://x.de</a><br>danke</div><div class=\"gmail_quote\">Am Fr. schrieb A</div>";
        let at = quote_start_from_html(text, html).expect("aligned");
        assert_eq!(&text[..at], "Siehe https://x.de <https://x.de>\ndanke\n");
        // A quote in the middle (an error message): the text below it is the writer's.
        let text = "Hallo,\n\n> E-5031 Vorlage fehlt\n\nwas heißt das?\n\nAm Mo., 1. Dez. 2026 um 10:00 Uhr schrieb A <a@b.de>:\n> alt\n";
        let html = "<div>Hallo,</div><blockquote>E-5031 Vorlage fehlt</blockquote><div>was heißt das?</div><div class=\"gmail_quote\">Am Mo. schrieb A:<blockquote>alt</blockquote></div>";
        let at = quote_start_from_html(text, html).expect("aligned");
        assert_eq!(new_text(&text[..at]), "Hallo,\n\nwas heißt das?");
        // The parts disagree, there is no container, or it is a forward: the text rules decide.
        assert_eq!(quote_start_from_html("ganz anderer Text\n", "<p>Hallo</p><blockquote>x</blockquote>"), None);
        assert_eq!(quote_start_from_html("Hallo\n", "<p>Hallo</p>"), None);
        let fwd = "zur Info\n\n---------- Forwarded message ---------\nVon: X\n";
        assert_eq!(quote_start_from_html(fwd, "<p>zur Info</p><div class=\"gmail_quote\">x</div>"), None);
    }

    #[test]
    fn german_reply_headers_of_more_clients_are_cut() {
        let headers = [
            // Gmail app (Android, de)
            "Am Do., 12. Nov. 2026, 10:15 hat MEIN TEAM Support <mein-team-support@roewaplan.de> geschrieben:",
            // Evolution
            "Am Donnerstag, den 12.11.2026, 10:15 +0100 schrieb MEIN TEAM Support:",
            // KMail
            "Am Donnerstag, 12. November 2026, 10:15:07 CET schrieb MEIN TEAM Support:",
            // Roundcube
            "Am 12.11.2026 10:15, schrieb MEIN TEAM Support:",
            // Open-Xchange (mailbox.org, 1&1)
            "MEIN TEAM Support <mein-team-support@roewaplan.de> hat am 12. November 2026 um 10:15 geschrieben:",
            // Samsung Email
            "-------- Ursprüngliche Nachricht --------\nVon: MEIN TEAM Support <mein-team-support@roewaplan.de>\nDatum: 12.11.26 10:15 (GMT+01:00)\nAn: m.keller@stadtwerke-musterstadt.de\nBetreff: [MT-000007] Export",
            // Outlook for Mac (de)
            "Von: MEIN TEAM Support <mein-team-support@roewaplan.de>\nDatum: Donnerstag, 12. November 2026 um 10:15\nAn: Markus Keller <m.keller@stadtwerke-musterstadt.de>\nBetreff: [MT-000007] Export",
        ];
        for h in headers {
            let t = format!(
                "Danke, geht wieder.\n\nGruß\nMarkus Keller\n\n{h}\n\n> Sehr geehrter Herr Keller,\n> bitte prüfen Sie.\n"
            );
            assert_eq!(new_text(&t), "Danke, geht wieder.\n\nGruß\nMarkus Keller", "{h}");
            // Also when the quoted text is not marked with ">".
            let t = format!("Danke, geht wieder.\n\n{h}\n\nSehr geehrter Herr Keller,\nbitte prüfen Sie.\n");
            assert_eq!(new_text(&t), "Danke, geht wieder.", "{h} (unmarked quote)");
        }
    }

    #[test]
    fn html_quote_start_is_linear_on_big_parts() {
        // 1 MB of text and of HTML, the container at the very end; and a
        // text part that disagrees from the first word on.
        let text = "wort zwei drei\n".repeat(70_000);
        let html = format!("{}<blockquote>alt</blockquote>", "<p>wort zwei drei</p>".repeat(50_000));
        let start = std::time::Instant::now();
        assert!(quote_start_from_html(&text, &html).is_some());
        assert_eq!(quote_start_from_html(&"anders\n".repeat(300_000), &html), None);
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "{:?}", start.elapsed());
    }

    #[test]
    fn an_outlook_forward_under_a_short_note_keeps_the_forwarded_request() {
        let t = "zur Info\n\n________________________________\nVon: Max Roth <m.roth@stadtwerke-musterstadt.de>\nGesendet: Montag, 23. November 2026 08:12\nAn: IT\nBetreff: Login geht nicht\n\nSeit heute kann ich mich nicht anmelden.\n";
        let kept = new_text_with(t, true);
        assert!(kept.starts_with("zur Info") && kept.ends_with("Seit heute kann ich mich nicht anmelden."), "{kept}");
        // Not a forward (a reply): the block is our quoted mail.
        assert_eq!(new_text_with(t, false), "zur Info");
        // A forward with a long note of its own: the note is the request.
        let long = format!(
            "{}\n\n{}",
            "Bitte prüfen Sie das, es betrifft alle unsere Standorte seit dem Update von gestern Abend und blockiert die Planung.",
            &t[10..]
        );
        assert!(!new_text_with(&long, true).contains("Seit heute"));
    }

    #[test]
    fn text_without_quotes_is_kept_whole() {
        assert_eq!(new_text("Zeile 1\n\n\n\nZeile 2\n"), "Zeile 1\n\nZeile 2");
    }

    /// The two hand-written line tests give what the regexes they replace
    /// gave (see `framed_message_title`, `names_then_address`), on every
    /// line of the repository's fixtures and the shared corpora (raw and
    /// as decoded text), and on made-up lines at the edges of the bounds.
    #[test]
    fn hand_written_line_tests_agree_with_the_regexes_they_replace() {
        let framed_old = regex::bytes::Regex::new(
            r"(?i)^[-_*\s]{0,4}-{2,}\s*[\p{L} ]{0,30}\b(message|nachricht|mail|meddelelse|meddelande|melding|bericht|mensaje|messaggio|mensagem|wiadomość|viesti|сообщение|zpráva|besked)\b[\p{L} ]{0,30}-{2,}\s*$",
        )
        .unwrap();
        let names_old = regex::bytes::Regex::new(r"(?i)^[^\s<>]{1,40}(\s[^\s<>]{1,40}){0,4}\s<").unwrap();
        let day_old = regex::bytes::Regex::new(r"(?i)^\p{L}{1,6}\.?,?\s+\d").unwrap();
        let mut lines: Vec<String> = [
            "-----Reply Message-----",
            "----- Antwort Nachricht -----",
            "-- Nachricht --",
            "--Nachricht--",
            "-- Nachrichten --",
            "-- meſſage --",
            "-- MESSAGE --",
            "-- Сообщение ---",
            "  --\u{a0}Wiadomość od kogoś  --  ",
            "*** -- abcdefghijklmnopqrstuvwxyzabcd message --",
            "-- abcdefghijklmnopqrstuvwxyzabc message --",
            "-- abcdefghijklmnopqrstuvwxyzab message --",
            "-- message abcdefghijklmnopqrstuvwxyzabcd --",
            "-- message abcdefghijklmnopqrstuvwxyzabc --",
            "-- message abcdefghijklmnopqrstuvwxyzab --",
            "-- message abcdefghijklmnopqrstuvwxyzab x --",
            "-- Ärger mit der Mail von gestern --",
            "-- mail1 --",
            "-- e-mail --",
            "_-*- -- Mail --",
            "_-*-- -- Mail --",
            "-- Mail -- x",
            "\t-- Mail --\t",
            "Max Keller <m.keller@kunde.de>",
            "Max\u{a0}Keller\u{2003}<a@b>",
            "a b c d e <x@y>",
            "a b c d e f <x@y>",
            "Max  Keller <a@b>",
            "Max Keller<a@b>",
            "abcdefghijabcdefghijabcdefghijabcdefghij <a@b>",
            "abcdefghijabcdefghijabcdefghijabcdefghijk <a@b>",
            "äöüäöüäöüäöüäöüäöüäöüäöüäöüäöüäöüäöüäöüä <a@b>",
            "Am 3.3.2026 um 10:00 schrieb Max <a@b>:",
            "Fr., 28. Apr. 2017 um 11:53",
            "ср, 30 апр. 2025 г.",
            "Sonnabend, 3. Mai",
            "Samstag, 3. Mai",
            "Sa.,\u{a0}3. Mai",
            "Zeile 5",
            "Zeile5",
            "Zeilen 5",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for text in corpus_texts() {
            lines.extend(text.lines().map(|l| l.trim().to_string()));
        }
        assert!(lines.len() > 100_000, "the corpora are missing: {} lines", lines.len());
        let (mut framed, mut names, mut days) = (0, 0, 0);
        for l in &lines {
            let old = framed_old.is_match(l.as_bytes());
            assert_eq!(framed_message_title(l), old, "framed title: {l:?}");
            framed += usize::from(old);
            let old = names_old.is_match(l.as_bytes());
            assert_eq!(names_then_address(l), old, "names before an address: {l:?}");
            names += usize::from(old);
            let old = day_old.is_match(l.as_bytes());
            assert_eq!(day_start(l), old, "a short word and a number: {l:?}");
            days += usize::from(old);
        }
        eprintln!("{} lines: {framed} framed titles, {names} names before an address, {days} day starts", lines.len());
        assert!(framed >= 10 && names >= 100 && days >= 100, "{framed} framed titles, {names} names, {days} days");
    }
}
