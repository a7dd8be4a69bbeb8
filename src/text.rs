//! The new text of a mail: quoted history, reply headers, signatures,
//! mobile footers and legal disclaimers removed. Classification, commands
//! and relays read this, never the whole body. Pure.

use std::sync::LazyLock;

use regex::Regex;

/// Lines that start the quoted history; everything from there on is dropped.
/// One alternation, so each line is scanned once.
// The gaps of the line patterns below are `(?-u:.)` (any byte but a
// newline) rather than Unicode `.`: a bounded repetition of Unicode `.`
// compiles to a large automaton (HISTORY_START took 1.4 MB, now 0.4 MB). A
// gap's bound now counts bytes, not characters.
static HISTORY_START: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    let parts = [
        // Outlook / Exchange separators.
        r"^-{2,}\s*(Ursprüngliche Nachricht|Original Message|Originalnachricht|Weitergeleitete Nachricht|Forwarded message|Message d'origine)\s*-{2,}",
        r"^_{10,}\s*$",
        // HCL Notes.
        r"^-{3,}\s*Weitergeleitet von (?-u:.)*-{3,}",
        r"^-{3,}\s*Forwarded by (?-u:.)*-{3,}",
        // Thunderbird, Apple Mail, Gmail (German and English).
        r"^Am (?-u:.){4,120}(schrieb|geschrieben)\s*(?-u:.){0,120}:\s*$",
        r"^On (?-u:.){4,160}wrote:\s*$",
        r"^Le (?-u:.){4,160}a écrit\s*:\s*$",
        r"^(?-u:.){0,80}<[^>\s]+@[^>\s]+>\s+(schrieb|wrote)\s*:\s*$",
    ];
    regex::bytes::Regex::new(&format!("(?i)(?:{})", parts.join("|"))).expect("static regex")
});

/// Header blocks of quoted mails (Outlook "Von: … Gesendet: …", Notes "Von: … An: … Datum: …").
static HEADER_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\*?(von|from|gesendet|sent|an|to|cc|betreff|subject|datum|date)\s*:\*?\s*").expect("static regex")
});

/// The first line of a Gmail/Thunderbird attribution wrapped over two lines.
static WRAPPED_ATTRIBUTION: LazyLock<regex::bytes::Regex> =
    LazyLock::new(|| regex::bytes::Regex::new(r"(?i)^(Am|On)\s+\S(?-u:.){4,160}$").expect("static regex"));

static FOOTERS: LazyLock<Regex> = LazyLock::new(|| {
    let parts = [
        r"^(Von meinem|Gesendet von meinem|Gesendet mit|Sent from my|Sent from Outlook|Get Outlook for)\b.*$",
        r"^(Diese E-Mail|Diese Nachricht|Die Information in dieser|This e-?mail|This message|The information contained)\b.*(vertraulich|confidential|bestimmt|intended).*",
        r"^(Disclaimer|Rechtlicher Hinweis|Haftungsausschluss|Pflichtangaben)\s*:.*$",
    ];
    Regex::new(&format!("(?i)(?:{})", parts.join("|"))).expect("static regex")
});

fn is_quote(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

fn is_header_block(lines: &[&str], i: usize) -> bool {
    // Two or more header-like lines within the next four lines, starting here.
    if !HEADER_LINE.is_match(lines[i].trim()) {
        return false;
    }
    let lead = HEADER_LINE.captures(lines[i].trim()).and_then(|c| c.get(1)).map(|m| m.as_str().to_ascii_lowercase());
    if !matches!(lead.as_deref(), Some("von" | "from")) {
        return false;
    }
    lines[i + 1..].iter().take(4).filter(|l| HEADER_LINE.is_match(l.trim())).count() >= 1
}

/// The new text of a plain-text body.
pub fn new_text(body: &str) -> String {
    new_text_depth(body, 0)
}

fn new_text_depth(body: &str, depth: usize) -> String {
    let body = body.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = body.lines().collect();
    let mut end = lines.len();
    let mut cut_by_history = false;
    for i in 0..lines.len() {
        let l = lines[i].trim_end();
        let t = l.trim();
        if l == "--" || l == "-- " || t == "-- " {
            end = i;
            break;
        }
        if HISTORY_START.is_match(t.as_bytes()) {
            end = i;
            cut_by_history = true;
            break;
        }
        // Attribution wrapped over two lines, followed by quotes.
        if WRAPPED_ATTRIBUTION.is_match(t.as_bytes())
            && i + 1 < lines.len()
            && {
                let n = lines[i + 1].trim();
                n.ends_with(':') && (n.contains("schrieb") || n.contains("wrote") || n.contains('@'))
            }
            && (t.contains("um") || t.contains(',') || t.contains("at"))
        {
            end = i;
            cut_by_history = true;
            break;
        }
        if is_header_block(&lines, i) {
            end = i;
            break;
        }
        if is_quote(l) {
            // A block of quotes with no new text after it ends the mail;
            // interleaved answers keep the non-quoted lines.
            let rest_has_text = lines[i..].iter().any(|x| !x.trim().is_empty() && !is_quote(x));
            if !rest_has_text {
                end = i;
                break;
            }
        }
    }
    // Bottom-posting: nothing new above the quoted mail, the answer is below it.
    if cut_by_history && depth < 3 && lines[..end].iter().all(|l| l.trim().is_empty()) {
        let below: Vec<&str> =
            lines[end + 1..].iter().copied().skip_while(|l| !is_quote(l)).filter(|l| !is_quote(l)).collect();
        return new_text_depth(&below.join("\n"), depth + 1);
    }
    let mut kept: Vec<&str> = lines[..end].iter().copied().filter(|l| !is_quote(l)).collect();
    // Footers and disclaimers at the end.
    if let Some(pos) = kept.iter().position(|l| FOOTERS.is_match(l.trim())) {
        kept.truncate(pos);
    }
    let text = kept.join("\n");
    collapse_blank_lines(text.trim())
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

static BLOCKQUOTE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?is)<blockquote\b.*</blockquote\s*>").expect("static regex"));
static DROP_ELEMENTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?is)<(head|style|script|title)\b[^>]*>.*?</(head|style|script|title)\s*>|<!--.*?-->|<![^>]*>|<\?[^>]*>",
    )
    .expect("static regex")
});
static GMAIL_QUOTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)<div[^>]*class="?(gmail_quote|moz-cite-prefix|OutlookMessageHeader)"?[^>]*>.*"#)
        .expect("static regex")
});
static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)<(/?)([a-zA-Z0-9]+)[^>]*>").expect("static regex"));
static ENTITY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});").expect("static regex"));

/// Plain text from an HTML body: quoted history (`<blockquote>`, Gmail and
/// Thunderbird quote containers) removed, paragraphs as blank lines, `<br>`
/// as line breaks, scripts and styles dropped, entities decoded.
pub fn html_to_text(html: &str) -> String {
    let s = DROP_ELEMENTS.replace_all(html, "");
    let s = BLOCKQUOTE.replace_all(&s, "");
    let s = GMAIL_QUOTE.replace_all(&s, "");
    let s = s.replace(['\r', '\n'], " ");
    let s = TAG.replace_all(&s, |c: &regex::Captures| {
        let closing = &c[1] == "/";
        match c[2].to_ascii_lowercase().as_str() {
            "br" => "\n".to_string(),
            "p" => "\n\n".to_string(),
            "div" | "tr" | "li" | "h1" | "h2" | "h3" | "h4" | "table" | "ul" | "ol" if !closing => "\n".to_string(),
            "div" | "tr" | "h1" | "h2" | "h3" | "h4" | "table" | "ul" | "ol" => "\n".to_string(),
            "td" | "th" if closing => " ".to_string(),
            "li" => String::new(),
            _ => String::new(),
        }
    });
    let s = ENTITY.replace_all(&s, |c: &regex::Captures| decode_entity(&c[1]).unwrap_or_else(|| c[0].to_string()));
    let lines: Vec<String> = s.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    collapse_blank_lines(lines.join("\n").trim())
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
    fn bottom_posted_answer_below_the_quote_is_kept() {
        let t = "On 12.03.2026 10:15, Anna wrote:\n> Which browser?\n\nChrome 131.\n\nRavi";
        assert_eq!(new_text(t), "Chrome 131.\n\nRavi");
    }

    #[test]
    fn text_without_quotes_is_kept_whole() {
        assert_eq!(new_text("Zeile 1\n\n\n\nZeile 2\n"), "Zeile 1\n\nZeile 2");
    }
}
