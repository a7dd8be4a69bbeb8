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
    let body: std::borrow::Cow<str> =
        if body.contains('\r') { body.replace("\r\n", "\n").replace('\r', "\n").into() } else { body.into() };
    let lines: Vec<&str> = body.lines().collect();
    // The last line with new text (not blank, not a quote): a quote line at
    // `i` has new text after it iff this is beyond `i`. Found once, so the
    // scan below stays linear (asking `lines[i..]` per quote line was
    // quadratic: 1.5 MB of quotes took minutes).
    let last_text = lines.iter().rposition(|x| !x.trim().is_empty() && !is_quote(x));
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
            let rest_has_text = last_text.is_some_and(|k| k > i);
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
    let s = drop_elements(html);
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
    fn text_without_quotes_is_kept_whole() {
        assert_eq!(new_text("Zeile 1\n\n\n\nZeile 2\n"), "Zeile 1\n\nZeile 2");
    }
}
