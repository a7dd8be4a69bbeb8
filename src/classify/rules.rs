//! The rule patterns' matcher: a forward lazy DFA per pattern for "does it
//! match", and a reverse one, built at the first match, for where the match
//! starts (the text a reason shows).
//!
//! Why not `regex::bytes::Regex`: it is the meta engine, which keeps per
//! pattern a forward NFA with capture states, a reverse NFA, and per thread
//! caches for four engines (lazy DFA forward and reverse, PikeVM, bounded
//! backtracker). The ~90 rule patterns only ever ask "does it match" (and
//! where, for the few that do). Measured on `ingest` of 10,000 peer mails:
//! peak heap 17.6 MB with the meta engine, 16.0 MB with these DFAs (the
//! reverse ones included), 15.5 MB with the forward ones alone.
//!
//! Both DFAs are lazy and never give up (no quit bytes: the patterns are in
//! ASCII mode, and no minimum cache clear count is set), so a search is
//! linear in the text. A pattern the lazy DFA cannot take (a Unicode word
//! boundary written with `(?u:\b)`) falls back to the meta engine.

use std::sync::{Arc, Mutex, OnceLock};

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::util::prefilter::Prefilter;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, MatchKind};

/// Lazy-DFA cache bytes of one rule pattern's forward search (the regex
/// crate's default is 2 MB). 256 KiB kept 0.3 MB more of peak heap in
/// `ingest` of 10,000 peer mails at the same CPU time; a full cache is
/// cleared and the search goes on (32 KiB took a third more CPU).
const FORWARD_CACHE: usize = 64 * 1024;

/// One compiled rule pattern (in ASCII mode, lowercased: see
/// `compile_rule`).
#[derive(Debug, Clone)]
pub(super) struct RulePattern(Arc<Engine>);

// Always behind the Arc of a RulePattern: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Engine {
    Lazy {
        pattern: String,
        forward: DFA,
        /// One cache, taken by the thread that classifies (a second thread
        /// at the same moment makes a cache of its own for that search).
        cache: Mutex<Cache>,
        /// Built at the first `find`: most patterns never match.
        reverse: OnceLock<DFA>,
        /// The meta engine, should a lazy search ever fail.
        fallback: OnceLock<regex::bytes::Regex>,
    },
    Meta(regex::bytes::Regex),
}

fn syntax_config() -> syntax::Config {
    syntax::Config::new().utf8(false)
}

fn nfa(hir: &regex_syntax::hir::Hir, reverse: bool) -> Option<thompson::NFA> {
    thompson::Compiler::new()
        .configure(thompson::Config::new().which_captures(WhichCaptures::None).reverse(reverse))
        .build_from_hir(hir)
        .ok()
}

impl RulePattern {
    /// Compile `pattern` (already lowercased and in ASCII mode).
    pub(super) fn new(pattern: &str) -> Result<RulePattern, String> {
        let hir = syntax::parse_with(pattern, &syntax_config()).map_err(|e| e.to_string())?;
        let lazy = nfa(&hir, false).and_then(|nfa| {
            DFA::builder()
                .configure(
                    DFA::config()
                        .cache_capacity(FORWARD_CACHE)
                        .skip_cache_capacity_check(true)
                        .prefilter(Prefilter::from_hir_prefix(MatchKind::LeftmostFirst, &hir)),
                )
                .build_from_nfa(nfa)
                .ok()
        });
        let engine = match lazy {
            Some(forward) => Engine::Lazy {
                pattern: pattern.to_string(),
                cache: Mutex::new(forward.create_cache()),
                forward,
                reverse: OnceLock::new(),
                fallback: OnceLock::new(),
            },
            None => Engine::Meta(regex::bytes::Regex::new(pattern).map_err(|e| e.to_string())?),
        };
        Ok(RulePattern(Arc::new(engine)))
    }

    /// Whether the pattern matches anywhere in `hay`.
    pub(super) fn is_match(&self, hay: &[u8]) -> bool {
        match &*self.0 {
            Engine::Meta(re) => re.is_match(hay),
            Engine::Lazy { forward, cache, .. } => {
                let input = Input::new(hay).earliest(true);
                match with_cache(forward, cache, |c| forward.try_search_fwd(c, &input)) {
                    Ok(m) => m.is_some(),
                    Err(_) => self.fallback().is_match(hay),
                }
            }
        }
    }

    /// The leftmost-first match in `hay` (what `regex::bytes::Regex::find`
    /// gives): its end from the forward DFA, its start from the reverse DFA
    /// run back from the end, anchored.
    pub(super) fn find<'h>(&self, hay: &'h [u8]) -> Option<&'h [u8]> {
        let (forward, cache, reverse) = match &*self.0 {
            Engine::Meta(re) => return re.find(hay).map(|m| m.as_bytes()),
            Engine::Lazy { forward, cache, reverse, .. } => (forward, cache, reverse),
        };
        let found = (|| {
            let end = with_cache(forward, cache, |c| forward.try_search_fwd(c, &Input::new(hay))).map_err(|_| ())?;
            let Some(end) = end else {
                return Ok(None);
            };
            let reverse = match reverse.get() {
                Some(r) => r,
                None => match self.build_reverse() {
                    Some(r) => reverse.get_or_init(|| r),
                    None => return Err(()),
                },
            };
            // A cache of its own for this one search: the reverse search
            // runs over the match only, and nothing is kept between mails.
            let back = Input::new(hay).range(..end.offset()).anchored(Anchored::Yes);
            let start = reverse.try_search_rev(&mut reverse.create_cache(), &back).map_err(|_| ())?;
            Ok(start.map(|s| &hay[s.offset()..end.offset()]))
        })();
        match found {
            Ok(m) => m,
            Err(()) => self.fallback().find(hay).map(|m| m.as_bytes()),
        }
    }

    fn build_reverse(&self) -> Option<DFA> {
        let Engine::Lazy { pattern, .. } = &*self.0 else { return None };
        let hir = syntax::parse_with(pattern, &syntax_config()).ok()?;
        // As regex-automata's own hybrid::regex builds its reverse DFA.
        DFA::builder()
            .configure(
                DFA::config()
                    .prefilter(None)
                    .specialize_start_states(false)
                    .match_kind(MatchKind::All)
                    .skip_cache_capacity_check(true),
            )
            .build_from_nfa(nfa(&hir, true)?)
            .ok()
    }

    fn fallback(&self) -> &regex::bytes::Regex {
        match &*self.0 {
            Engine::Meta(re) => re,
            Engine::Lazy { pattern, fallback, .. } => {
                fallback.get_or_init(|| regex::bytes::Regex::new(pattern).expect("the pattern compiled before"))
            }
        }
    }
}

/// Run `search` with the pattern's cache, or with a new one when another
/// thread holds it.
fn with_cache<T>(dfa: &DFA, cache: &Mutex<Cache>, search: impl FnOnce(&mut Cache) -> T) -> T {
    match cache.try_lock() {
        Ok(mut c) => search(&mut c),
        Err(std::sync::TryLockError::Poisoned(p)) => search(&mut p.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => search(&mut dfa.create_cache()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Patterns of the kinds the rules use: alternations, bounded gaps,
    /// ASCII word boundaries, `\w*`, anchors, a pattern that can match
    /// the empty string, and leftmost-first choices between alternatives.
    const PATTERNS: &[&str] = &[
        r"(?-u)sicherheits-? ?(luecke|problem)|security (issue|hole)|vulnerab",
        r"(?-u)(zwei.?faktor|2fa|login)\w*.{0,60}(umgeh|bypass)|(bypass|umgeh\w*)\w*.{0,40}(login|2fa)",
        r"(?-u)\b50[0-4]\b|internal server error",
        r"(?-u)(^|[.!?:]\s+)(kann|wie|wo)\b",
        r"(?-u)sam|samwise",
        r"(?-u)x*",
        r"(?-u)fehlt (komplett|seit)$",
    ];

    const TEXTS: &[&str] = &[
        "",
        "hallo, wir haben eine sicherheitsluecke gefunden",
        "the 2fa login can be bypassed: login ok, then we umgehen the second step",
        "fehler 502 und 5020 und 500",
        "ok. wie geht das? kann ich das?",
        "samwise and sam",
        "xxxy",
        "die rechnung fehlt seit",
        "nichts davon\nsecurity hole\n",
    ];

    #[test]
    fn matches_and_found_text_are_the_regex_crates() {
        for p in PATTERNS {
            let ours = RulePattern::new(p).unwrap();
            assert!(matches!(*ours.0, Engine::Lazy { .. }), "{p} takes the lazy DFA");
            let theirs = regex::bytes::Regex::new(p).unwrap();
            for t in TEXTS {
                let t = t.as_bytes();
                assert_eq!(ours.is_match(t), theirs.is_match(t), "is_match {p} on {:?}", String::from_utf8_lossy(t));
                assert_eq!(
                    ours.find(t),
                    theirs.find(t).map(|m| m.as_bytes()),
                    "find {p} on {:?}",
                    String::from_utf8_lossy(t)
                );
            }
        }
    }

    #[test]
    fn a_unicode_word_boundary_falls_back_to_the_regex_crate() {
        let p = RulePattern::new(r"(?-u)(?u:\b)gruesse(?u:\b)").unwrap();
        assert!(matches!(*p.0, Engine::Meta(_)));
        assert!(p.is_match("viele gruesse".as_bytes()));
        assert!(!p.is_match("vielegruesse".as_bytes()));
        assert_eq!(p.find("viele gruesse!".as_bytes()), Some(&b"gruesse"[..]));
    }

    #[test]
    fn a_search_while_another_thread_holds_the_cache_uses_a_cache_of_its_own() {
        let p = RulePattern::new(r"(?-u)vulnerab\w*").unwrap();
        let Engine::Lazy { cache, .. } = &*p.0 else { panic!("lazy DFA expected") };
        let _held = cache.lock().unwrap();
        assert!(p.is_match(b"a vulnerability"));
        assert_eq!(p.find(b"a vulnerability!"), Some(&b"vulnerability"[..]));
        assert!(!p.is_match(b"nothing here"));
    }

    #[test]
    fn an_invalid_pattern_is_an_error_naming_the_problem() {
        let e = RulePattern::new(r"(?-u)(unclosed").unwrap_err();
        assert!(e.contains("unclosed group"), "{e}");
    }
}
