//! Hashed sparse features of a mail: words, word pairs, character n-grams,
//! stems, compound parts, subject words and matched rules.

use super::*;

/// Where a hashed feature came from (for the human-readable reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// Word `i` of the token list (its unigram and character n-grams).
    Word(usize),
    /// Words `i` and `i + 1`.
    Bigram(usize),
    /// Rule `i` matched.
    Rule(usize),
}

/// Hashed sparse features of a mail: word unigrams (`w`), subject words
/// (`s`, valued `model.subject_weight`), word bigrams (`b`), character
/// n-grams of each word with boundary marks (`c`), with `model.stems` the
/// Snowball stems (`t`, subject stems also `s`), with `model.compounds` the
/// stems of a German compound's known parts (`t`), matched rules (`r`).
/// Binary, deduplicated, text features scaled to unit length; rule features
/// get `model.rule_feature` each. Returns (index, value, origin) and the
/// token list (for reasons).
pub(super) fn features<'a>(
    inner: &Inner,
    subject: &'a str,
    body: &'a str,
    matched: &[usize],
) -> (Vec<(u32, f32, Origin)>, Vec<&'a str>) {
    // subject and body are already cleaned, normalised and spell-corrected
    let cfg = &inner.model_cfg;
    let mask = (1u64 << cfg.hash_bits) - 1;
    // Every occurrence is listed, then sorted and deduplicated (which
    // occurrence of a feature survives decides the word its weight is
    // credited to in the reasons). A long text (COMPACT_AT occurrences;
    // mails of normal size never get there and keep their exact reasons)
    // compacts the list once and from then on adds only features not seen
    // yet (a bit per feature index): at most COMPACT_AT + 2^hash_bits
    // entries of 24 bytes, where 5 MB of short lines took 130 MB.
    pub(super) const COMPACT_AT: usize = 1 << 19;
    let mut raw: Vec<(u32, Origin)> = Vec::with_capacity(1024);
    let mut seen: Vec<u64> = Vec::new();
    let mut add = |f: u32, o: Origin| {
        if seen.is_empty() && raw.len() >= COMPACT_AT {
            raw.sort_unstable_by_key(|(f, _)| *f);
            raw.dedup_by_key(|(f, _)| *f);
            seen = vec![0u64; ((mask as usize) >> 6) + 1];
            for &(f, _) in raw.iter() {
                seen[(f >> 6) as usize] |= 1 << (f & 63);
            }
        }
        if !seen.is_empty() {
            let (word, bit) = ((f >> 6) as usize, 1u64 << (f & 63));
            if seen[word] & bit != 0 {
                return;
            }
            seen[word] |= bit;
        }
        raw.push((f, o));
    };
    let stemmers = (cfg.stems || cfg.compounds).then(stemmers);
    let lang = if stemmers.is_some() { words::language(body) } else { words::Lang::De };
    // Subject-only features, valued apart.
    let mut subject_feats: Vec<(u32, Origin)> = Vec::new();
    let mut tokens: Vec<&str> = Vec::with_capacity(128);
    let mut buf: Vec<u8> = Vec::with_capacity(64);
    let mut bounds: Vec<usize> = Vec::with_capacity(64);
    for (part, subj) in [(subject, true), (body, false)] {
        let start = tokens.len();
        for tok in part.split(|c: char| !c.is_alphanumeric()) {
            if tok.is_empty() {
                continue;
            }
            tokens.push(tok);
        }
        for i in start..tokens.len() {
            let tok = tokens[i];
            let digits = tok.chars().all(|c| c.is_ascii_digit());
            let folded = fold_umlaut_digraphs(tok);
            let tb: &[u8] = if digits { b"0" } else { folded.as_bytes() };
            if i + 1 < tokens.len() && cfg.bigrams {
                let next = tokens[i + 1];
                let next_folded = fold_umlaut_digraphs(next);
                let nb: &[u8] = if next.chars().all(|c| c.is_ascii_digit()) { b"0" } else { next_folded.as_bytes() };
                add((fnv(b'b', &[tb, nb]) & mask) as u32, Origin::Bigram(i));
            }
            if digits || tok.chars().count() < 2 || inner.stopwords.contains(tok) {
                continue;
            }
            add((fnv(b'w', &[tb]) & mask) as u32, Origin::Word(i));
            // (the subject's own features for its first SUBJECT_WORDS words:
            // bounded, however long a hostile subject is)
            let subj = subj && i - start < SUBJECT_WORDS;
            if subj {
                subject_feats.push(((fnv(b's', &[tb]) & mask) as u32, Origin::Word(i)));
            }
            if let Some(st) = stemmers {
                if cfg.stems {
                    let stem = st.stem(lang, &folded);
                    add((fnv(b't', &[stem.as_bytes()]) & mask) as u32, Origin::Word(i));
                    if subj {
                        subject_feats.push(((fnv(b's', &[b"t", stem.as_bytes()]) & mask) as u32, Origin::Word(i)));
                    }
                }
                if cfg.compounds && lang == words::Lang::De {
                    for part in inner.parts.split(&folded) {
                        let stem = st.stem(lang, part);
                        add((fnv(b't', &[stem.as_bytes()]) & mask) as u32, Origin::Word(i));
                    }
                }
            }
            if cfg.char_max >= cfg.char_min && cfg.char_min > 0 {
                buf.clear();
                buf.push(b'<');
                buf.extend_from_slice(tb);
                buf.push(b'>');
                // character boundaries of the padded word
                let text = std::str::from_utf8(&buf).unwrap_or("");
                bounds.clear();
                bounds.extend(text.char_indices().map(|(j, _)| j).chain([buf.len()]));
                let nchars = bounds.len() - 1;
                for n in cfg.char_min..=cfg.char_max.min(nchars) {
                    if n >= nchars {
                        break; // the whole padded word is already the unigram
                    }
                    for s in 0..=nchars - n {
                        add((fnv(b'c', &[&buf[bounds[s]..bounds[s + n]]]) & mask) as u32, Origin::Word(i));
                    }
                }
            }
        }
    }
    raw.sort_unstable_by_key(|(f, _)| *f);
    raw.dedup_by_key(|(f, _)| *f);
    // The subject is short: its own features, bounded by its words.
    subject_feats.sort_unstable_by_key(|(f, _)| *f);
    subject_feats.dedup_by_key(|(f, _)| *f);
    subject_feats.retain(|(f, _)| raw.binary_search_by_key(f, |(g, _)| *g).is_err());
    let x = 1.0 / ((raw.len() + subject_feats.len()).max(1) as f32).sqrt();
    let mut out: Vec<(u32, f32, Origin)> = raw.into_iter().map(|(f, o)| (f, x, o)).collect();
    let xs = x * cfg.subject_weight as f32;
    out.extend(subject_feats.into_iter().map(|(f, o)| (f, xs, o)));
    if cfg.rule_feature > 0.0 {
        for &i in matched {
            let f = (fnv(b'r', &[inner.rules[i].name.as_bytes()]) & mask) as u32;
            out.push((f, cfg.rule_feature as f32, Origin::Rule(i)));
        }
    }
    (out, tokens)
}

/// Words of a subject that get subject features of their own.
pub(super) const SUBJECT_WORDS: usize = 64;

/// The Snowball stemmers, built once per process.
pub(super) fn stemmers() -> &'static words::Stemmers {
    static S: std::sync::OnceLock<words::Stemmers> = std::sync::OnceLock::new();
    S.get_or_init(words::Stemmers::new)
}

/// The compound parts of the training mails (empty without `model.compounds`).
pub(super) fn build_parts(inner: &Inner, examples: &[Example]) -> words::Parts {
    if !inner.model_cfg.compounds {
        return words::Parts::default();
    }
    words::Parts::build(examples.iter().map(|ex| {
        let (ns, nb) = prepare(inner, &ex.subject, &ex.text);
        format!("{ns}\n{nb}")
            .split(|c: char| !c.is_alphanumeric())
            .map(|w| std::borrow::Cow::Owned(fold_umlaut_digraphs(w).into_owned()))
            .collect()
    }))
}

/// The model's spelling of a normalised word: "ae", "oe", "ue" become "a",
/// "o", "u", so that a word written with its umlauts (folded to "ue" by
/// [`normalize`]), with "ue" or with the dots simply dropped
/// ("Sicherheitslücke", "Sicherheitsluecke", "Sicherheitslucke") gives the
/// same features. Lossy ("neue" -> "neu") but the same for training and
/// classification.
pub(super) fn fold_umlaut_digraphs(tok: &str) -> std::borrow::Cow<'_, str> {
    let b = tok.as_bytes();
    if !b.windows(2).any(|w| matches!(w, [b'a' | b'o' | b'u', b'e'])) {
        return std::borrow::Cow::Borrowed(tok);
    }
    let mut out = String::with_capacity(tok.len());
    let mut prev: Option<char> = None;
    for ch in tok.chars() {
        if ch == 'e' && matches!(prev, Some('a' | 'o' | 'u')) {
            prev = None;
            continue;
        }
        out.push(ch);
        prev = Some(ch);
    }
    std::borrow::Cow::Owned(out)
}
