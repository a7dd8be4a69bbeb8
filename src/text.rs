//! The new text of a mail: quoted history, reply headers, signatures,
//! mobile footers and legal disclaimers removed. Classification, commands
//! and relays read this, never the whole body. Pure.

use std::sync::LazyLock;

use regex::Regex;

/// Lines that start the quoted history; everything from there on is dropped.
static HISTORY_START: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // Outlook / Exchange separators.
        r"^-{2,}\s*(Ursprüngliche Nachricht|Original Message|Originalnachricht|Weitergeleitete Nachricht|Forwarded message|Message d'origine)\s*-{2,}",
        r"^_{10,}\s*$",
        // HCL Notes.
        r"^-{3,}\s*Weitergeleitet von .*-{3,}",
        r"^-{3,}\s*Forwarded by .*-{3,}",
        // Thunderbird, Apple Mail, Gmail (German and English).
        r"^Am .{4,120}(schrieb|geschrieben)\s*.{0,120}:\s*$",
        r"^On .{4,160}wrote:\s*$",
        r"^Le .{4,160}a écrit\s*:\s*$",
        r"^.{0,80}<[^>\s]+@[^>\s]+>\s+(schrieb|wrote)\s*:\s*$",
    ]
    .iter()
    .map(|p| Regex::new(&format!("(?i){p}")).expect("static regex"))
    .collect()
});

/// Header blocks of quoted mails (Outlook "Von: … Gesendet: …", Notes "Von: … An: … Datum: …").
static HEADER_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\*?(von|from|gesendet|sent|an|to|cc|betreff|subject|datum|date)\s*:\*?\s*").expect("static regex")
});

/// The first line of a Gmail/Thunderbird attribution wrapped over two lines.
static WRAPPED_ATTRIBUTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^(Am|On)\s+\S.{4,160}$").expect("static regex"));

static FOOTERS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"^(Von meinem|Gesendet von meinem|Gesendet mit|Sent from my|Sent from Outlook|Get Outlook for)\b.*$",
        r"^(Diese E-Mail|Diese Nachricht|Die Information in dieser|This e-?mail|This message|The information contained)\b.*(vertraulich|confidential|bestimmt|intended).*",
        r"^(Disclaimer|Rechtlicher Hinweis|Haftungsausschluss|Pflichtangaben)\s*:.*$",
    ]
    .iter()
    .map(|p| Regex::new(&format!("(?i){p}")).expect("static regex"))
    .collect()
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
    let body = body.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = body.lines().collect();
    let mut end = lines.len();
    for i in 0..lines.len() {
        let l = lines[i].trim_end();
        let t = l.trim();
        if l == "--" || l == "-- " || t == "-- " {
            end = i;
            break;
        }
        if HISTORY_START.iter().any(|r| r.is_match(t)) {
            end = i;
            break;
        }
        // Attribution wrapped over two lines, followed by quotes.
        if WRAPPED_ATTRIBUTION.is_match(t)
            && i + 1 < lines.len()
            && {
                let n = lines[i + 1].trim();
                n.ends_with(':') && (n.contains("schrieb") || n.contains("wrote") || n.contains('@'))
            }
            && (t.contains("um") || t.contains(',') || t.contains("at"))
        {
            end = i;
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
    let mut kept: Vec<&str> = lines[..end].iter().copied().filter(|l| !is_quote(l)).collect();
    // Footers and disclaimers at the end.
    if let Some(pos) = kept.iter().position(|l| FOOTERS.iter().any(|r| r.is_match(l.trim()))) {
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
    fn text_without_quotes_is_kept_whole() {
        assert_eq!(new_text("Zeile 1\n\n\n\nZeile 2\n"), "Zeile 1\n\nZeile 2");
    }
}
