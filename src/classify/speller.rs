//! Typo correction of the words of a mail against the training vocabulary.

use super::*;

/// Typo correction at edit distance 1 (deletion index, as in SymSpell) against
/// a vocabulary of the rule patterns' words and the words that occur in at
/// least two training mails. Only unknown words of seven or more letters are
/// touched (eight for substituted or swapped letters): shorter words have too
/// many valid neighbours ("attach" -> "attack").
///
/// The indexes hold 64-bit hashes, not strings (a third of the memory); a hit
/// is checked against the word itself.
#[derive(Debug, Clone, Default)]
pub(super) struct Speller {
    /// The vocabulary in insertion order (pattern words first); the first
    /// word with a given deletion wins.
    pub(super) words: Vec<String>,
    /// Hash of a word -> its index in `words`.
    pub(super) vocab: HashMap<u64, u32>,
    /// Hash of a word with one letter deleted -> the first such word.
    pub(super) dels: HashIndex,
    /// Letters of the longest word: a token with more than one letter more
    /// cannot be one edit away from any word (and building its deletions
    /// costs its length squared: a 45,000-letter word took 2 GB).
    pub(super) longest: usize,
}

/// Hashes to word indexes, sorted by hash and looked up by binary search:
/// 12 bytes an entry. The ~30,000 deletions of the embedded vocabulary
/// took 0.7 MB in a HashMap (17 bytes a bucket, at most 7/8 of them used,
/// doubled when full), 0.35 MB here.
#[derive(Debug, Clone, Default)]
pub(super) struct HashIndex {
    hashes: Vec<u64>,
    words: Vec<u32>,
}

impl HashIndex {
    /// The index of `(hash, word)` pairs; of pairs with the same hash the
    /// lowest word wins (the word that came first).
    pub(super) fn first_of(mut pairs: Vec<(u64, u32)>) -> HashIndex {
        pairs.sort_unstable();
        pairs.dedup_by_key(|p| p.0);
        let (hashes, words) = pairs.into_iter().unzip();
        HashIndex { hashes, words }
    }

    pub(super) fn get(&self, hash: u64) -> Option<u32> {
        self.hashes.binary_search(&hash).ok().map(|i| self.words[i])
    }
}

pub(super) fn deletions(w: &str) -> Vec<String> {
    let chars: Vec<char> = w.chars().collect();
    (0..chars.len()).map(|i| chars.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, c)| *c).collect()).collect()
}

/// Whether `d` is `w` with exactly one letter deleted.
pub(super) fn is_deletion(w: &str, d: &str) -> bool {
    let mut wc = w.chars();
    let mut dc = d.chars().peekable();
    let mut skipped = false;
    for c in wc.by_ref() {
        if dc.peek() == Some(&c) {
            dc.next();
        } else if skipped {
            return false;
        } else {
            skipped = true;
        }
    }
    dc.next().is_none() && skipped
}

/// Whether the letter at `i` looks typed by mistake: it doubles a
/// neighbour or sits next to one on a German (QWERTZ) keyboard. A letter
/// that is neither is likely meant ("tauschen" is no "tauchen" with a
/// stray s).
pub(super) fn stray(chars: &[char], i: usize) -> bool {
    const ROWS: [&str; 3] = ["qwertzuiopü", "asdfghjklöä", "yxcvbnm"];
    let pos = |c: char| {
        let c = c.to_lowercase().next().unwrap_or(c);
        ROWS.iter().enumerate().find_map(|(r, row)| row.chars().position(|x| x == c).map(|p| (r as i32, p as i32)))
    };
    let Some(&c) = chars.get(i) else { return false };
    let near = |o: Option<&char>| {
        let Some(&o) = o else { return false };
        if o == c {
            return true;
        }
        match (pos(c), pos(o)) {
            // Rows are shifted by about half a key: a key touches two of the row below and above.
            (Some((r1, p1)), Some((r2, p2))) => {
                (r1 == r2 && (p1 - p2).abs() == 1)
                    || (r2 == r1 + 1 && (p2 == p1 || p2 == p1 - 1))
                    || (r2 == r1 - 1 && (p2 == p1 || p2 == p1 + 1))
            }
            _ => false,
        }
    };
    near(i.checked_sub(1).and_then(|j| chars.get(j))) || near(chars.get(i + 1))
}

pub(super) fn word_hash(w: &str) -> u64 {
    fnv(b'v', &[w.as_bytes()])
}

impl Speller {
    pub(super) const MIN_LEN: usize = 7;
    pub(super) const MIN_LEN_SUBST: usize = 8;

    pub(super) fn build(inner: &Inner, examples: &[Example]) -> Speller {
        let mut df: HashMap<String, usize> = HashMap::new();
        for ex in examples {
            let t = normalize(&format!("{}\n{}", ex.subject, clean_text(&ex.text, &inner.cut_at)));
            let words: HashSet<&str> = t.split(|c: char| !c.is_alphabetic()).collect();
            for w in words {
                if w.chars().count() >= Self::MIN_LEN {
                    *df.entry(w.to_string()).or_default() += 1;
                }
            }
        }
        let mut frequent: Vec<String> = df.into_iter().filter(|(_, n)| *n >= 2).map(|(w, _)| w).collect();
        frequent.sort_unstable();
        Speller::from_words(inner.pattern_words.iter().cloned().chain(frequent).collect())
    }

    /// The speller of a vocabulary (duplicates are dropped, order kept).
    pub(super) fn from_words(list: Vec<String>) -> Speller {
        let mut sp = Speller::default();
        let mut dels = Vec::new();
        for w in list {
            let i = sp.words.len() as u32;
            if sp.vocab.contains_key(&word_hash(&w)) {
                continue;
            }
            sp.vocab.insert(word_hash(&w), i);
            sp.longest = sp.longest.max(w.chars().count());
            dels.extend(deletions(&w).iter().map(|d| (word_hash(d), i)));
            sp.words.push(w);
        }
        sp.dels = HashIndex::first_of(dels);
        sp
    }

    pub(super) fn word(&self, tok: &str) -> Option<&str> {
        let w = &self.words[*self.vocab.get(&word_hash(tok))? as usize];
        (w == tok).then_some(w.as_str())
    }

    /// The first word that gives `d` with one letter deleted.
    pub(super) fn with_deletion(&self, d: &str) -> Option<&str> {
        let w = &self.words[self.dels.get(word_hash(d))? as usize];
        is_deletion(w, d).then_some(w.as_str())
    }

    pub(super) fn correct(&self, tok: &str) -> Option<&str> {
        // A correction is one letter longer, shorter or the same length.
        // Counting stops early, so a huge token costs no more than the bound.
        let len = tok.chars().take(self.longest + 2).count();
        if len < Self::MIN_LEN
            || len > self.longest + 1
            || self.word(tok).is_some()
            || !tok.chars().all(char::is_alphabetic)
        {
            return None;
        }
        if let Some(w) = self.with_deletion(tok) {
            return Some(w); // a letter was dropped
        }
        let chars: Vec<char> = tok.chars().collect();
        for (i, d) in deletions(tok).into_iter().enumerate() {
            if stray(&chars, i)
                && let Some(w) = self.word(&d)
            {
                return Some(w); // a letter was inserted or doubled
            }
            if len >= Self::MIN_LEN_SUBST
                && let Some(w) = self.with_deletion(&d)
            {
                return Some(w); // substituted or swapped letters
            }
        }
        None
    }

    pub(super) fn correct_text(&self, s: &str) -> String {
        if self.words.is_empty() {
            return s.to_string();
        }
        let mut out = String::with_capacity(s.len() + 16);
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut String| {
            if !word.is_empty() {
                out.push_str(self.correct(word).unwrap_or(word));
                word.clear();
            }
        };
        for ch in s.chars() {
            if ch.is_alphanumeric() {
                word.push(ch);
            } else {
                flush(&mut word, &mut out);
                out.push(ch);
            }
        }
        flush(&mut word, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_index_keeps_the_first_word_of_each_hash() {
        let ix = HashIndex::first_of(vec![(7, 3), (2, 0), (7, 1), (9, 2), (2, 4)]);
        assert_eq!(ix.get(2), Some(0));
        assert_eq!(ix.get(7), Some(1));
        assert_eq!(ix.get(9), Some(2));
        assert_eq!(ix.get(8), None);
        assert_eq!(HashIndex::default().get(2), None);
    }

    #[test]
    fn a_deletion_shared_by_two_words_leads_to_the_first() {
        // "kalender" and "kalendar" both give "kalendr" with one letter deleted.
        let sp = Speller::from_words(vec!["kalender".into(), "kalendar".into(), "kalender".into()]);
        assert_eq!(sp.words, ["kalender", "kalendar"], "duplicates dropped, order kept");
        assert_eq!(sp.with_deletion("kalendr"), Some("kalender"));
        assert_eq!(sp.with_deletion("alendar"), Some("kalendar"));
        assert_eq!(sp.with_deletion("kalendxr"), None);
    }
}
