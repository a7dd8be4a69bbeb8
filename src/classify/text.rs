//! Text handling: the training file format, normalisation (case, umlauts),
//! cleaning of quotes, history and signatures, extraction from raw mails.

use super::*;

/// Parse training data: `category<TAB>subject<TAB>text` per line, with `\n`,
/// `\t` and `\\` escaped; `#` lines are comments. `category*N` makes the
/// mail count N times (1 to 10).
pub fn parse_training(data: &str) -> Result<Vec<Example>, String> {
    let mut out = Vec::new();
    for (n, line) in data.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut cols = line.splitn(3, '\t');
        let (Some(cat), Some(subject), Some(text)) = (cols.next(), cols.next(), cols.next()) else {
            return Err(format!("line {}: expected category<TAB>subject<TAB>text", n + 1));
        };
        let (cat, weight) = match cat.split_once('*') {
            Some((c, w)) => (
                c,
                w.parse::<u32>().ok().filter(|w| (1..=10).contains(w)).ok_or_else(|| {
                    format!("line {}: weight '{w}' after '*' must be a whole number from 1 to 10", n + 1)
                })?,
            ),
            None => (cat, 1),
        };
        let category = Category::parse(cat).ok_or_else(|| format!("line {}: unknown category '{cat}'", n + 1))?;
        out.push(Example { category, subject: unescape(subject), text: unescape(text), weight });
    }
    Ok(out)
}

/// Escape a field for the training file (inverse of the parser's unescape).
pub fn escape_field(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\t', "\\t").replace('\r', "").replace('\n', "\\n")
}

pub(super) fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(o) => out.push(o),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Lowercase, fold umlauts to their two-letter form (ä -> ae, ß -> ss) and a
/// few accents, so that "Sicherheitslücke" and "SICHERHEITSLUECKE" compare equal.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        match ch {
            'ä' | 'Ä' => out.push_str("ae"),
            'ö' | 'Ö' => out.push_str("oe"),
            'ü' | 'Ü' => out.push_str("ue"),
            'ß' | 'ẞ' => out.push_str("ss"),
            'é' | 'è' | 'ê' | 'É' | 'È' => out.push('e'),
            'á' | 'à' | 'â' => out.push('a'),
            'ı' => out.push('i'),
            '\u{a0}' => out.push(' '),
            c if c.is_ascii() => out.push(c.to_ascii_lowercase()),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Umlauts in a configured pattern are folded like the text; the rest of the
/// pattern (escapes like `\S`) is left alone, matching is case-insensitive.
pub(super) fn normalize_pattern(p: &str) -> String {
    p.replace(['ä', 'Ä'], "ae").replace(['ö', 'Ö'], "oe").replace(['ü', 'Ü'], "ue").replace('ß', "ss")
}

/// Lowercase the literal letters of a regex, leaving escapes (`\S`, `\W`,
/// `\B`, `\p{Lu}`) alone.
pub(super) fn lower_pattern(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len());
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        if ch == '\\' && i + 1 < chars.len() {
            let e = chars[i + 1];
            out.push(ch);
            out.push(e);
            i += 2;
            if matches!(e, 'p' | 'P') && i < chars.len() {
                // \pL or \p{Name}
                if chars[i] == '{' {
                    while i < chars.len() && chars[i] != '}' {
                        out.push(chars[i]);
                        i += 1;
                    }
                }
                if i < chars.len() {
                    out.push(chars[i]);
                    i += 1;
                }
            }
        } else {
            out.extend(ch.to_lowercase());
            i += 1;
        }
    }
    out
}

pub(super) fn is_header_line(l: &str, names: &[&str]) -> bool {
    let l = l.trim_start_matches(['*', ' ']).to_lowercase();
    names.iter().any(|n| l.starts_with(n))
}

/// Strip quoted lines, quoted history, signatures and (configured) closings
/// and disclaimers; returns the remaining new text.
pub(super) fn clean_text(text: &str, cut_at: &regex::bytes::RegexSet) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<&str> = Vec::new();
    let mut content = 0usize;
    let mut i = 0;
    while i < lines.len() {
        let raw = lines[i].trim_end_matches('\r');
        let t = raw.trim();
        let lower = normalize(t);
        // quoted lines
        if t.starts_with('>') {
            i += 1;
            continue;
        }
        // signature delimiter
        if raw == "-- " || t == "--" {
            break;
        }
        // history separators
        if (t.starts_with("-----") && (lower.contains("nachricht") || lower.contains("message")))
            || (t.len() >= 10 && t.chars().all(|c| c == '_'))
        {
            break;
        }
        // "Von: ... / Gesendet: ..." header block (Outlook without separator)
        if is_header_line(t, &["von:", "from:"]) {
            let next: Vec<&str> = lines[i + 1..].iter().take(4).map(|l| l.trim()).collect();
            if next.iter().any(|l| is_header_line(l, &["gesendet:", "sent:", "datum:", "date:", "an:", "to:"])) {
                break;
            }
        }
        // "Am ... schrieb ...:" / "On ... wrote:" (possibly wrapped onto two lines);
        // the next line is only read for a line that starts like one
        let attribution = lower.starts_with("am ") || lower.starts_with("on ");
        let joined = if attribution && i + 1 < lines.len() {
            format!("{lower} {}", normalize(lines[i + 1].trim()))
        } else if attribution {
            lower.clone()
        } else {
            String::new()
        };
        if (lower.starts_with("am ")
            && (lower.contains("schrieb") || joined.contains("schrieb"))
            && joined.contains(':'))
            || (lower.starts_with("on ") && joined.contains("wrote:"))
        {
            // only a real attribution line: ends with ':' on this or next line
            if lower.ends_with(':') || joined.trim_end().ends_with(':') {
                break;
            }
        }
        if content > 0 && cut_at.is_match(lower.as_bytes()) {
            break;
        }
        if !t.is_empty() {
            content += 1;
        }
        out.push(raw);
        i += 1;
    }
    out.join("\n").trim().to_string()
}

/// Extract subject and body text from a raw mail: the first text body part, or
/// the HTML part converted to text with `<blockquote>` history removed.
pub fn extract_raw(raw: &[u8]) -> Option<(String, String)> {
    use mail_parser::{MessageParser, PartType};
    let msg = MessageParser::default().parse(raw)?;
    let subject = msg.subject().unwrap_or("").to_string();
    let text = match msg.text_part(0).map(|p| &p.body) {
        Some(PartType::Html(html)) => {
            let re = Regex::new(r"(?is)<blockquote\b.*?</blockquote>").expect("valid regex");
            let stripped = re.replace_all(html, "");
            mail_parser::decoders::html::html_to_text(&stripped)
        }
        Some(_) => msg.body_text(0)?.into_owned(),
        None => msg.body_html(0).map(|h| mail_parser::decoders::html::html_to_text(&h)).unwrap_or_default(),
    };
    Some((subject, text))
}
