//! Word forms for the learned features: the mail's language (German or
//! English, by function words), Snowball stems (`rust-stemmers`) and German
//! compounds split into their known parts ("Personalakten" -> "personal" +
//! "akten"), so that a stranger's inflection or compound shares the weights
//! of the words the model was trained on.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use rust_stemmers::{Algorithm, Stemmer};

/// The language of a mail's text, for the stemmer and the compound splitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lang {
    De,
    En,
}

const DE: &[&str] = &[
    "der", "die", "das", "und", "ist", "nicht", "ich", "wir", "sie", "mit", "auf", "fuer", "bei", "ein", "eine",
    "kann", "koennen", "wird", "werden", "auch", "noch", "wenn", "dass", "haben", "bitte",
];
const EN: &[&str] = &[
    "the", "and", "is", "not", "we", "you", "with", "for", "on", "this", "that", "can", "could", "be", "have", "are",
    "it", "of", "to", "please", "when", "our", "does",
];

/// German unless English function words are more frequent (normalised
/// text: lower case, umlauts folded). One pass over the words.
pub(super) fn language(text: &str) -> Lang {
    let (mut de, mut en) = (0usize, 0usize);
    for w in text.split(|c: char| !c.is_alphanumeric()) {
        if w.len() > 6 || w.is_empty() {
            continue;
        }
        de += DE.contains(&w) as usize;
        en += EN.contains(&w) as usize;
    }
    if en > de { Lang::En } else { Lang::De }
}

/// The Snowball stemmers of both languages.
pub(super) struct Stemmers {
    de: Stemmer,
    en: Stemmer,
}

impl Stemmers {
    pub(super) fn new() -> Stemmers {
        Stemmers { de: Stemmer::create(Algorithm::German), en: Stemmer::create(Algorithm::English) }
    }

    /// The stem of a (normalised, folded) word in `lang`. Words longer than
    /// [`MAX_PART`] letters are left alone (bounded work per word).
    pub(super) fn stem<'a>(&self, lang: Lang, w: &'a str) -> Cow<'a, str> {
        if w.len() > MAX_PART {
            return Cow::Borrowed(w);
        }
        match lang {
            Lang::De => self.de.stem(w),
            Lang::En => self.en.stem(w),
        }
    }
}

/// Words of more letters are not split or stemmed: no real word is that
/// long, and the work per word stays bounded (a hostile mail's huge token
/// costs no more than this).
pub(super) const MAX_PART: usize = 40;
/// Parts shorter than this are not split off ("ab", "los"...).
const MIN_PART: usize = 4;
/// Words shorter than this are not split.
const MIN_COMPOUND: usize = 8;

/// The vocabulary of compound parts: words of at least [`MIN_PART`] letters
/// that occur in at least two training mails (model spelling: normalised,
/// umlaut digraphs folded).
#[derive(Debug, Clone, Default)]
pub(super) struct Parts {
    /// The words, sorted (saved with the model).
    pub(super) words: Vec<String>,
    set: HashSet<u64>,
}

impl Parts {
    /// From the words of the training mails, one list per mail.
    pub(super) fn build<'a>(mails: impl Iterator<Item = Vec<Cow<'a, str>>>) -> Parts {
        let mut df: HashMap<String, usize> = HashMap::new();
        for words in mails {
            let uniq: HashSet<Cow<'a, str>> = words.into_iter().collect();
            for w in uniq {
                let n = w.chars().count();
                if (MIN_PART..=MAX_PART).contains(&n) && w.chars().all(char::is_alphabetic) {
                    *df.entry(w.into_owned()).or_default() += 1;
                }
            }
        }
        let mut words: Vec<String> = df.into_iter().filter(|(_, n)| *n >= 2).map(|(w, _)| w).collect();
        words.sort_unstable();
        Parts::from_words(words)
    }

    pub(super) fn from_words(words: Vec<String>) -> Parts {
        let set = words.iter().map(|w| super::word_hash(w)).collect();
        Parts { words, set }
    }

    fn known(&self, w: &str) -> bool {
        self.set.contains(&super::word_hash(w))
    }

    /// The known parts of a German compound: the longest known last part
    /// (the head: "akten" of "personalakten") and, if known, what comes
    /// before it (with a linking "s" dropped: "sicherheits" -> "sicherheit").
    /// Empty for short, unknown or over-long words and for known words.
    /// At most [`MAX_PART`] look-ups of at most [`MAX_PART`] letters.
    pub(super) fn split<'a>(&self, w: &'a str) -> Vec<&'a str> {
        let n = w.len();
        if !(MIN_COMPOUND..=MAX_PART).contains(&n) || !w.is_ascii() || self.known(w) {
            return Vec::new();
        }
        for k in MIN_PART.min(n)..=n - MIN_PART {
            let head = &w[k..];
            if !self.known(head) {
                continue;
            }
            let mut out = vec![head];
            let modifier = &w[..k];
            if self.known(modifier) {
                out.push(modifier);
            } else if let Some(m) = modifier.strip_suffix('s').filter(|m| m.len() >= MIN_PART && self.known(m)) {
                out.push(m);
            }
            return out;
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_by_function_words() {
        assert_eq!(language("hallo, ich kann die liste nicht speichern"), Lang::De);
        assert_eq!(language("hi, we cannot save the list and it is urgent"), Lang::En);
        assert_eq!(language(""), Lang::De);
    }

    #[test]
    fn stems_both_languages_and_leaves_huge_words_alone() {
        let s = Stemmers::new();
        assert_eq!(s.stem(Lang::De, "abrechnungen"), s.stem(Lang::De, "abrechnung"));
        assert_eq!(s.stem(Lang::En, "permissions"), s.stem(Lang::En, "permission"));
        let huge = "a".repeat(10_000);
        assert_eq!(s.stem(Lang::De, &huge), huge);
    }

    #[test]
    fn splits_compounds_into_known_parts() {
        let p = Parts::from_words(vec!["personal".into(), "akten".into(), "sicherheit".into(), "risiko".into()]);
        assert_eq!(p.split("personalakten"), vec!["akten", "personal"]);
        assert_eq!(p.split("sicherheitsrisiko"), vec!["risiko", "sicherheit"]);
        assert_eq!(p.split("akten"), Vec::<&str>::new(), "short");
        assert_eq!(p.split("personal"), Vec::<&str>::new(), "known itself");
        assert_eq!(p.split("unbekanntwort"), Vec::<&str>::new());
        assert_eq!(p.split(&"personalakten".repeat(100)), Vec::<&str>::new(), "over-long");
    }
}
