//! The knowledge base: the first solution attempt of the 1st level
//! ("unternehmen einen ersten Lösungsversuch"). Short articles kept by the
//! support team in `<kb.path>/<lang>/*.md` (front matter `title`,
//! `keywords`, optional `link`, then the text) are searched for every new
//! usage question and user-management request; the ack offers at most
//! [`MAX_OFFERS`] articles that match well, the team's notification lists
//! them with their scores, and nothing is offered when nothing matches well.
//!
//! Scoring: the mail's words (subject and new text, lowercased, umlauts
//! folded, stop words dropped, a light German/English suffix stemmer) are
//! matched against each article's keyword, title and text words; a word
//! counts with its inverse document frequency among the articles of the
//! language (a word many articles share says little), keyword words fully,
//! title words at [`TITLE_WEIGHT`], text words at [`TEXT_WEIGHT`], a word
//! found inside a compound of the mail ("Passwortänderung" holds
//! "passwort") at [`COMPOUND_WEIGHT`], and a keyword phrase of several words
//! found whole in one sentence adds [`PHRASE_BONUS`]. The mail is scored
//! sentence by sentence: an article's score is [`SUBJECT_WEIGHT`] times the
//! subject's, plus its best sentence's, plus [`CONTEXT_WEIGHT`] times the
//! whole mail's (each word once), so that a long mail touching an
//! article's words here and there does not add up to an offer. An article
//! is offered when one of its keywords is whole in the subject or in one
//! sentence (its core), its score reaches the bar (`kb.min_score`, times
//! [`USER_MANAGEMENT_BAR`] for a user-management request and
//! [`USAGE_QUESTION_BAR`] for a usage question: most user-management
//! requests are one of the administration tasks the articles explain, most
//! usage questions ask something no article answers) and at least half the
//! best score. The constants were chosen on `fixtures/kb/questions.tsv` and
//! `fixtures/kb/writers.tsv` only; `fixtures/kb/holdout.tsv` measures them
//! (`cargo run --release --example kb_eval`, README).
//!
//! An article may name the actions it explains (front matter `action:`,
//! e.g. `create`); the actions the mail asks for are read from its subject
//! and sentences ([`crate::kb_actions`]), and an article of another action
//! than the mail asks for is held back, whatever its score: "rename the
//! account" shares its words with "Neuen Benutzer anlegen" but asks for
//! `rename`. A mail that asks for no action that can be read is searched as
//! before; an article without `action:` is offered as before.
//!
//! Linear and bounded: the first [`MAX_QUERY_CHARS`] characters of a mail
//! are read, each word at most [`MAX_WORD_CHARS`] characters, the compound
//! parts of at most [`MAX_QUERY_WORDS`] distinct words are looked for (at
//! most `MAX_WORD_CHARS²/2` lookups per word), and every word of a sentence
//! is looked up once in the articles' word index (at most one entry per
//! article). Articles are bounded in size and number when loaded.
//!
//! `#kb` on an agent's reply stores the answer with the customer's question
//! as a draft article (`kb_drafts` table) for review: `supportd kb drafts`
//! prints each as an article file to copy into `kb/<lang>/`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use serde::Serialize;
use serde_json::json;

use crate::domain::Category;

/// `kb.min_score` when not set. Chosen with the other constants on the
/// two tuning sets (`cargo run --example kb_eval`), see the README.
pub use crate::config::KB_DEFAULT_MIN_SCORE as DEFAULT_MIN_SCORE;
/// At most this many articles are offered in one ack.
pub const MAX_OFFERS: usize = 3;
/// An offered article scores at least this share of the best one.
pub const RELATIVE_CUT: f64 = 0.5;
/// Weight of a title word that is no keyword word.
pub const TITLE_WEIGHT: f64 = 0.6;
/// Weight of a keyword word found only inside a longer word of the mail.
pub const COMPOUND_WEIGHT: f64 = 0.7;
/// Weight of a word of the subject (the first line of the searched text)
/// against one of the text.
pub const SUBJECT_WEIGHT: f64 = 3.0;
/// Weight of a word of an article's text that is neither keyword nor title word.
pub const TEXT_WEIGHT: f64 = 0.3;
/// Weight of the whole mail's words (each once) besides the subject and the best sentence.
pub const CONTEXT_WEIGHT: f64 = 0.15;
/// `kb.min_score` times this for a user-management request.
pub const USER_MANAGEMENT_BAR: f64 = 0.6;
/// `kb.min_score` times this for a usage question.
pub const USAGE_QUESTION_BAR: f64 = 2.2;
/// Bonus for a keyword phrase of several words found whole (in one sentence).
pub const PHRASE_BONUS: f64 = 3.0;
/// Only the first this many characters of a mail are searched.
pub const MAX_QUERY_CHARS: usize = 16 * 1024;
/// Longer words are cut to this many characters.
pub const MAX_WORD_CHARS: usize = 40;
/// At most this many distinct words of a mail are used.
pub const MAX_QUERY_WORDS: usize = 2000;
/// Shortest keyword word that is looked for inside compounds.
const MIN_COMPOUND_PART: usize = 5;
/// Bounds of the articles.
pub const MAX_ARTICLE_BYTES: usize = 64 * 1024;
pub const MAX_ARTICLES: usize = 1000;
/// The text of an offered article in the ack is cut to about this many characters.
pub const EXCERPT_CHARS: usize = 600;

const STOP_DE: &[&str] = &[
    "aber",
    "alle",
    "allem",
    "allen",
    "aller",
    "als",
    "also",
    "am",
    "an",
    "auch",
    "auf",
    "aus",
    "bei",
    "beim",
    "bin",
    "bis",
    "bitte",
    "da",
    "damit",
    "dann",
    "das",
    "dass",
    "dem",
    "den",
    "denn",
    "der",
    "des",
    "die",
    "dies",
    "diese",
    "diesem",
    "diesen",
    "dieser",
    "doch",
    "dort",
    "du",
    "durch",
    "ein",
    "eine",
    "einem",
    "einen",
    "einer",
    "eines",
    "es",
    "etwas",
    "euch",
    "frage",
    "fragen",
    "fur",
    "gibt",
    "geht",
    "gern",
    "gerne",
    "gruss",
    "grusse",
    "guten",
    "hallo",
    "hat",
    "habe",
    "haben",
    "hier",
    "ich",
    "ihr",
    "ihre",
    "ihrem",
    "ihren",
    "ihrer",
    "im",
    "in",
    "ist",
    "ja",
    "jetzt",
    "kann",
    "kein",
    "keine",
    "konnen",
    "konnte",
    "man",
    "mehr",
    "mein",
    "meine",
    "meinem",
    "meinen",
    "meiner",
    "mich",
    "mir",
    "mit",
    "moglich",
    "muss",
    "nach",
    "nicht",
    "noch",
    "nun",
    "nur",
    "ob",
    "oder",
    "ohne",
    "schon",
    "sehr",
    "sein",
    "seit",
    "sich",
    "sie",
    "sind",
    "so",
    "tag",
    "uber",
    "um",
    "und",
    "uns",
    "unser",
    "unsere",
    "unter",
    "viele",
    "vom",
    "von",
    "vor",
    "war",
    "was",
    "weil",
    "wenn",
    "wer",
    "wie",
    "wieder",
    "wir",
    "wird",
    "wo",
    "wurde",
    "zu",
    "zum",
    "zur",
    "danke",
    "vielen",
    "dank",
    "freundlichen",
    "grussen",
    "mfg",
    "lg",
    "team",
    "neu",
    "neue",
    "neuen",
    "neuer",
    "neues",
];
const STOP_EN: &[&str] = &[
    "a", "about", "after", "all", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can",
    "could", "dear", "do", "does", "for", "from", "get", "got", "has", "have", "hello", "hi", "how", "i", "if", "in",
    "into", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or", "our", "please", "regards", "should", "so",
    "that", "the", "their", "them", "there", "this", "to", "us", "was", "we", "what", "when", "where", "which", "who",
    "why", "will", "with", "would", "you", "your", "thanks", "thank", "kind", "best", "way", "new",
];

/// Lowercase, umlauts folded (ä -> a, ß -> ss): "Zurücksetzen" -> "zurucksetzen".
fn fold_char(c: char, out: &mut String) {
    for l in c.to_lowercase() {
        match l {
            'ä' | 'à' | 'á' | 'â' => out.push('a'),
            'ö' | 'ó' | 'ô' => out.push('o'),
            'ü' | 'ú' | 'û' => out.push('u'),
            'é' | 'è' | 'ê' => out.push('e'),
            'ß' => out.push_str("ss"),
            l => out.push(l),
        }
    }
}

/// A light suffix stemmer for German and English (the same on both sides of
/// a comparison, so it only has to conflate, not to be right): at most two
/// suffixes, the stem keeps at least four characters.
pub fn stem(w: &str) -> String {
    const SUFFIXES: &[&str] = &["ungen", "ung", "ing", "ern", "en", "er", "es", "ed", "e", "s"];
    let mut s = w.to_string();
    for _ in 0..2 {
        // "ss" is no plural: "vergessen" -> "vergess", not "verges".
        let Some(suf) =
            SUFFIXES.iter().find(|x| s.ends_with(*x) && s.len() >= x.len() + 4 && !(**x == "s" && s.ends_with("ss")))
        else {
            break;
        };
        s.truncate(s.len() - suf.len());
    }
    s
}

/// The folded words of a text (letters and digits; hyphenated words split),
/// each cut to [`MAX_WORD_CHARS`], in order. Linear in the text.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = 0usize;
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_alphanumeric() {
            if chars < MAX_WORD_CHARS {
                fold_char(c, &mut cur);
                chars += 1;
            }
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
            chars = 0;
        }
    }
    out
}

fn is_stop(w: &str) -> bool {
    w.len() < 2 || STOP_DE.contains(&w) || STOP_EN.contains(&w)
}

/// The stemmed content words of a text.
pub fn terms(text: &str) -> Vec<String> {
    words(text).into_iter().filter(|w| !is_stop(w)).map(|w| stem(&w)).collect()
}

/// One article of the knowledge base.
#[derive(Debug, Clone, Serialize)]
pub struct Article {
    /// The file name without `.md`: how tests and the bench name it.
    pub id: String,
    pub lang: String,
    pub title: String,
    pub keywords: Vec<String>,
    pub link: Option<String>,
    /// The actions it explains (front matter `action:`, one of
    /// [`crate::kb_actions::ACTIONS`] each): offered only to a mail that asks
    /// for one of them, or asks for no action it can be read. Empty: any mail.
    pub actions: Vec<String>,
    pub text: String,
    #[serde(skip)]
    pub path: PathBuf,
    /// Stemmed keyword phrases.
    #[serde(skip)]
    phrases: Vec<Vec<String>>,
    /// Stemmed title words that are no keyword word.
    #[serde(skip)]
    title_terms: Vec<String>,
    /// Stemmed words of the text that are neither keyword nor title words.
    #[serde(skip)]
    text_terms: Vec<String>,
}

/// Parse one article file's text (front matter, then the text).
pub fn parse_article(id: &str, lang: &str, path: &Path, text: &str) -> Result<Article, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text).replace("\r\n", "\n");
    let rest = text.strip_prefix("---\n").ok_or("must start with a front matter line `---`")?;
    let (head, body) = rest
        .split_once("\n---\n")
        .or_else(|| rest.split_once("\n---").filter(|(_, b)| b.trim().is_empty()))
        .ok_or("front matter not closed by a line `---`")?;
    let (mut title, mut keywords, mut link, mut actions) = (None, None, None, Vec::new());
    for (i, line) in head.lines().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let (k, v) = line.split_once(':').ok_or(format!("front matter line {}: expected `key: value`", i + 2))?;
        let v = v.trim().to_string();
        match k.trim() {
            "title" => title = Some(v),
            "keywords" => keywords = Some(v),
            "link" => link = Some(v).filter(|l| !l.is_empty()),
            "action" => {
                for a in v.split([',', '|']).map(str::trim).filter(|a| !a.is_empty()) {
                    if !crate::kb_actions::ACTIONS.contains(&a) {
                        return Err(format!("action {a:?} is none of {}", crate::kb_actions::ACTIONS.join(", ")));
                    }
                    actions.push(a.to_string());
                }
            }
            other => return Err(format!("unknown front matter key {other:?} (title, keywords, link, action)")),
        }
    }
    let title = title.filter(|t| !t.is_empty()).ok_or("front matter key `title` missing or empty")?;
    let keywords: Vec<String> = keywords
        .ok_or("front matter key `keywords` missing")?
        .split(',')
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect();
    if keywords.is_empty() {
        return Err("front matter key `keywords` lists no keyword".into());
    }
    if let Some(l) = &link
        && !(l.starts_with("https://") || l.starts_with("http://"))
    {
        return Err(format!("link {l:?} must start with https:// or http://"));
    }
    let phrases: Vec<Vec<String>> = keywords.iter().map(|k| terms(k)).filter(|p| !p.is_empty()).collect();
    let kw: HashSet<&String> = phrases.iter().flatten().collect();
    let mut title_terms: Vec<String> = terms(&title).into_iter().filter(|t| !kw.contains(t)).collect();
    title_terms.sort();
    title_terms.dedup();
    let body = body.trim();
    let mut text_terms: Vec<String> =
        terms(body).into_iter().filter(|t| !kw.contains(t) && title_terms.binary_search(t).is_err()).collect();
    text_terms.sort();
    text_terms.dedup();
    Ok(Article {
        id: id.to_string(),
        lang: lang.to_string(),
        title,
        keywords,
        link,
        actions,
        text: body.to_string(),
        path: path.to_path_buf(),
        phrases,
        title_terms,
        text_terms,
    })
}

/// The articles of one language with their word statistics.
#[derive(Debug, Clone, Default)]
struct Shelf {
    articles: Vec<Article>,
    /// Inverse document frequency of every keyword, title and text word.
    idf: HashMap<String, f64>,
    /// Every word of the articles: the articles that have it, with the
    /// weight of the field it is in (keyword 1, title [`TITLE_WEIGHT`],
    /// text [`TEXT_WEIGHT`]; the highest when it is in several).
    postings: HashMap<String, Vec<(usize, f64)>>,
    /// The keyword and title words: looked for inside the mail's compounds.
    parts: HashSet<String>,
    /// The longest word in `parts`, in characters (bounds the compound search).
    longest: usize,
}

impl Shelf {
    fn build(articles: Vec<Article>) -> Shelf {
        let mut df: HashMap<String, usize> = HashMap::new();
        let mut postings: HashMap<String, Vec<(usize, f64)>> = HashMap::new();
        for (i, a) in articles.iter().enumerate() {
            let mut field: HashMap<&String, f64> = HashMap::new();
            for (ts, w) in [(&a.text_terms, TEXT_WEIGHT), (&a.title_terms, TITLE_WEIGHT)] {
                for t in ts {
                    field.insert(t, w);
                }
            }
            for t in a.phrases.iter().flatten() {
                field.insert(t, 1.0);
            }
            for (t, w) in field {
                postings.entry(t.clone()).or_default().push((i, w));
            }
        }
        // How rare a word is: among the keywords and titles when it is a
        // keyword or title word anywhere (a word every text uses, "Rolle",
        // stays distinctive as a keyword), else among the texts.
        let parts: HashSet<String> =
            articles.iter().flat_map(|a| a.phrases.iter().flatten().chain(a.title_terms.iter())).cloned().collect();
        for a in &articles {
            let core: HashSet<&String> = a.phrases.iter().flatten().chain(a.title_terms.iter()).collect();
            for t in &core {
                *df.entry((*t).clone()).or_default() += 1;
            }
            for t in a.text_terms.iter().filter(|t| !parts.contains(*t)) {
                *df.entry(t.clone()).or_default() += 1;
            }
        }
        let n = articles.len().max(1) as f64;
        let idf: HashMap<String, f64> = df.into_iter().map(|(t, d)| (t, (1.0 + n / d as f64).ln())).collect();
        let longest = parts.iter().map(|k| k.chars().count()).max().unwrap_or(0);
        Shelf { articles, idf, postings, parts, longest }
    }
}

/// The knowledge base: articles per language.
#[derive(Debug, Clone, Default)]
pub struct Kb {
    shelves: HashMap<String, Shelf>,
    /// `kb.min_score`.
    pub min_score: f64,
}

/// An article's score for a text.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub id: String,
    pub title: String,
    pub link: Option<String>,
    pub score: f64,
    /// Whether it is offered (good enough and among the first [`MAX_OFFERS`]).
    pub offered: bool,
    /// The words of the mail it matched on.
    pub matched: Vec<String>,
    /// The action of the article the mail asks for, with the mail's word
    /// that named it ("create: anlegen"); None when the article names no
    /// action or the mail asks for none of its actions.
    pub action: Option<String>,
    /// Why a scoring article is held back although its words match: the
    /// mail asks for other actions than the article's ("asks for rename").
    pub held_back: Option<String>,
}

impl Kb {
    /// No articles: nothing is ever offered.
    pub fn empty() -> Kb {
        Kb { shelves: HashMap::new(), min_score: DEFAULT_MIN_SCORE }
    }

    /// Load `dir/{de,en}/*.md`; `None`: the empty knowledge base. A bad
    /// article is an error naming its file and what is wrong.
    pub fn load(dir: Option<&Path>, min_score: f64) -> Result<Kb> {
        let mut kb = Kb::empty();
        kb.min_score = min_score;
        let Some(dir) = dir else { return Ok(kb) };
        for lang in ["de", "en"] {
            let d = dir.join(lang);
            let Ok(entries) = std::fs::read_dir(&d) else { continue };
            let mut paths: Vec<PathBuf> =
                entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "md")).collect();
            paths.sort();
            if paths.len() > MAX_ARTICLES {
                bail!("{}: {} articles, at most {MAX_ARTICLES}", d.display(), paths.len());
            }
            let mut articles = Vec::new();
            for p in paths {
                let size = std::fs::metadata(&p).with_context(|| format!("reading {}", p.display()))?.len();
                if size as usize > MAX_ARTICLE_BYTES {
                    bail!("{}: {size} bytes, an article has at most {MAX_ARTICLE_BYTES}", p.display());
                }
                let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
                let id = p.file_stem().unwrap_or_default().to_string_lossy().to_string();
                let a = parse_article(&id, lang, &p, &text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
                articles.push(a);
            }
            kb.shelves.insert(lang.to_string(), Shelf::build(articles));
        }
        Ok(kb)
    }

    /// How many articles there are in `lang`.
    pub fn len(&self, lang: &str) -> usize {
        self.shelves.get(lang).map_or(0, |s| s.articles.len())
    }

    /// Every article, both languages.
    pub fn articles(&self) -> impl Iterator<Item = &Article> {
        self.shelves.values().flat_map(|s| s.articles.iter())
    }

    /// Every article of `lang` that scores above zero for `text` (its first
    /// line is the subject), best first, with `offered` set on those the
    /// ack would carry; the mail's category unknown (see [`Kb::search_as`]).
    pub fn search(&self, lang: &str, text: &str) -> Vec<Hit> {
        self.search_as(lang, text, None)
    }

    /// [`Kb::search`] for a mail of category `cat` (the classifier's): a
    /// user-management request is usually one of the few administration
    /// tasks the articles explain, a usage question seldom is, so the bar is
    /// [`USER_MANAGEMENT_BAR`] or [`USAGE_QUESTION_BAR`] times `kb.min_score`.
    ///
    /// The mail is cut into its subject and its sentences; an article scores
    /// with the subject (times [`SUBJECT_WEIGHT`]), its best sentence and, at
    /// [`CONTEXT_WEIGHT`], the words of the whole mail: a long mail that
    /// mentions an article's words here and there no longer adds up to an
    /// offer. An article is offered only when one of its keywords (all words
    /// of a keyword phrase) is in the subject or in one sentence: its core.
    pub fn search_as(&self, lang: &str, text: &str, cat: Option<Category>) -> Vec<Hit> {
        let Some(shelf) = self.shelves.get(lang) else { return Vec::new() };
        let cut = text.char_indices().nth(MAX_QUERY_CHARS).map_or(text, |(i, _)| &text[..i]);
        let (subject, body) = cut.split_once('\n').unwrap_or((cut, ""));
        let n = shelf.articles.len();
        // Per article: the subject's score, the best sentence's, the whole
        // mail's, and the words each matched on.
        let mut subj = vec![0.0; n];
        let mut best = vec![0.0; n];
        let mut best_words: Vec<Vec<String>> = vec![Vec::new(); n];
        let mut subj_words: Vec<Vec<String>> = vec![Vec::new(); n];
        let mut whole: HashMap<String, f64> = HashMap::new();
        let mut compounds: HashMap<String, Vec<String>> = HashMap::new();
        let mut unit_terms: HashMap<String, f64> = HashMap::new();
        let mut score = vec![0.0; n];
        let mut words_of: Vec<Vec<String>> = vec![Vec::new(); n];
        let mut touched: Vec<usize> = Vec::new();
        // Whether a whole keyword phrase of the article is in one sentence
        // (or the subject): its core, without which it is not offered.
        let mut core = vec![false; n];
        let units = std::iter::once((subject, Unit::Subject)).chain(sentences(body));
        let mut asked: Vec<crate::kb_actions::Asked> = Vec::new();
        for (unit, kind) in units {
            unit_terms.clear();
            let unit_words = words(unit);
            crate::kb_actions::read_sentence(&unit_words, &mut asked);
            for w in unit_words {
                if is_stop(&w) {
                    continue;
                }
                // The keyword and title words inside a compound of the mail,
                // found once per distinct word (at most MAX_QUERY_WORDS).
                if !compounds.contains_key(&w) && compounds.len() < MAX_QUERY_WORDS {
                    let parts = compound_parts(shelf, &w);
                    compounds.insert(w.clone(), parts);
                }
                for p in compounds.get(&w).into_iter().flatten() {
                    let e = unit_terms.entry(p.clone()).or_insert(0.0);
                    *e = e.max(COMPOUND_WEIGHT);
                }
                unit_terms.insert(stem(&w), 1.0);
            }
            // Score this unit for every article that shares a word with it.
            for (t, m) in &unit_terms {
                let e = whole.entry(t.clone()).or_insert(0.0);
                *e = e.max(*m);
                let Some(ps) = shelf.postings.get(t) else { continue };
                let idf = shelf.idf.get(t).copied().unwrap_or(0.0);
                for &(a, field) in ps {
                    if score[a] == 0.0 {
                        touched.push(a);
                    }
                    score[a] += m * field * idf;
                    words_of[a].push(t.clone());
                }
            }
            for &a in &touched {
                for p in &shelf.articles[a].phrases {
                    if p.iter().all(|t| unit_terms.contains_key(t)) {
                        core[a] = true;
                        if p.len() > 1 {
                            score[a] += PHRASE_BONUS;
                        }
                    }
                }
                let s = score[a];
                match kind {
                    Unit::Subject => {
                        subj[a] = s;
                        subj_words[a] = std::mem::take(&mut words_of[a]);
                    }
                    Unit::Sentence => {
                        if s > best[a] {
                            best[a] = s;
                            best_words[a] = std::mem::take(&mut words_of[a]);
                        }
                    }
                }
                score[a] = 0.0;
                words_of[a].clear();
            }
            touched.clear();
        }
        crate::kb_actions::settle(&mut asked);
        // The whole mail: every word once, at its best match.
        let mut ctx = vec![0.0; n];
        let mut ctx_words: Vec<Vec<String>> = vec![Vec::new(); n];
        for (t, m) in &whole {
            let Some(ps) = shelf.postings.get(t) else { continue };
            let idf = shelf.idf.get(t).copied().unwrap_or(0.0);
            for &(a, field) in ps {
                ctx[a] += m * field * idf;
                ctx_words[a].push(t.clone());
            }
        }
        let mut hits: Vec<Hit> = Vec::new();
        for (i, a) in shelf.articles.iter().enumerate() {
            let total = SUBJECT_WEIGHT * subj[i] + best[i] + CONTEXT_WEIGHT * ctx[i];
            if total <= 0.0 {
                continue;
            }
            if !core[i] {
                continue;
            }
            // The words that made the score: the subject's and the best
            // sentence's first, then the rest of the mail's.
            let mut matched: Vec<String> = Vec::new();
            for t in subj_words[i].iter().chain(&best_words[i]) {
                if !matched.contains(t) {
                    matched.push(t.clone());
                }
            }
            let mut rest: Vec<&String> = ctx_words[i].iter().filter(|t| !matched.contains(t)).collect();
            rest.sort();
            matched.extend(rest.into_iter().cloned());
            hits.push(Hit {
                id: a.id.clone(),
                title: a.title.clone(),
                link: a.link.clone(),
                score: (total * 100.0).round() / 100.0,
                offered: false,
                matched,
                action: asked
                    .iter()
                    .find(|x| a.actions.iter().any(|y| y == x.action))
                    .map(|x| format!("{}: {}", x.action, x.word)),
                held_back: (!asked.is_empty()
                    && !a.actions.is_empty()
                    && !asked.iter().any(|x| a.actions.iter().any(|y| y == x.action)))
                .then(|| {
                    let names: Vec<String> = asked.iter().map(|x| format!("{} ({})", x.action, x.word)).collect();
                    format!("asks for {}", names.join(", "))
                }),
            });
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        let bar = self.bar(cat);
        // An article of another task than the mail asks for is never
        // offered, and the others are measured against the best of the rest.
        let top = hits.iter().find(|h| h.held_back.is_none()).map_or(0.0, |h| h.score);
        for h in hits.iter_mut().filter(|h| h.held_back.is_none()).take(MAX_OFFERS) {
            h.offered = h.score >= bar && h.score >= top * RELATIVE_CUT;
        }
        hits
    }

    /// The score an article needs to be offered for a mail of category `cat`.
    pub fn bar(&self, cat: Option<Category>) -> f64 {
        self.min_score
            * match cat {
                Some(Category::UserManagement) => USER_MANAGEMENT_BAR,
                Some(Category::UsageQuestion) => USAGE_QUESTION_BAR,
                _ => 1.0,
            }
    }

    /// The article `id` of `lang`.
    pub fn article(&self, lang: &str, id: &str) -> Option<&Article> {
        self.shelves.get(lang)?.articles.iter().find(|a| a.id == id)
    }
}

/// A piece of the searched mail: its subject or a sentence of its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Subject,
    Sentence,
}

/// The sentences of a text: cut after `?`, `!`, a `.` that ends a word
/// (not a number's: "01.05."), a `:` at a line's end, at a blank line and
/// before a line that starts a list ("-", "*", "•", "1.", "1)"); lines
/// wrapped inside a sentence stay together. Linear in the text.
fn sentences(text: &str) -> impl Iterator<Item = (&str, Unit)> {
    let b = text.as_bytes();
    let mut out: Vec<(&str, Unit)> = Vec::new();
    let mut start = 0;
    let mut prev_alpha = false;
    for (i, &c) in b.iter().enumerate() {
        let next = b.get(i + 1).copied().unwrap_or(b'\n');
        let end = match c {
            b'?' | b'!' => true,
            b'.' => prev_alpha && next.is_ascii_whitespace(),
            b':' => next == b'\n' || next == b'\r',
            b'\n' => starts_block(&b[i + 1..]),
            _ => false,
        };
        prev_alpha = c.is_ascii_alphabetic() || c >= 0x80;
        if end {
            // Every cut is after an ASCII byte: a char boundary.
            if !text[start..=i].trim().is_empty() {
                out.push((&text[start..=i], Unit::Sentence));
            }
            start = i + 1;
        }
    }
    if !text[start..].trim().is_empty() {
        out.push((&text[start..], Unit::Sentence));
    }
    out.into_iter()
}

/// Whether a line (after its indentation) is blank or starts a list item.
fn starts_block(line: &[u8]) -> bool {
    let line = line.iter().position(|&x| x != b' ' && x != b'\t').map_or(&line[..0], |p| &line[p..]);
    if line.starts_with("•".as_bytes()) {
        return true;
    }
    match line.first() {
        None | Some(b'\n' | b'\r' | b'-' | b'*') => true,
        Some(d) if d.is_ascii_digit() => {
            line.iter().take(4).find(|x| !x.is_ascii_digit()).is_some_and(|&x| x == b'.' || x == b')')
        }
        _ => false,
    }
}

/// The keyword and title words of `shelf` inside the word `w` (not `w`
/// itself): at most `MAX_WORD_CHARS²/2` lookups.
fn compound_parts(shelf: &Shelf, w: &str) -> Vec<String> {
    let chars: Vec<(usize, char)> = w.char_indices().collect();
    let n = chars.len();
    let max_len = shelf.longest.min(n);
    let mut out = Vec::new();
    for i in 0..n {
        for len in MIN_COMPOUND_PART..=max_len {
            if i + len > n || (i == 0 && len == n) {
                continue;
            }
            let end = if i + len == n { w.len() } else { chars[i + len].0 };
            let piece = &w[chars[i].0..end];
            if shelf.parts.contains(piece) && !out.iter().any(|p: &String| p == piece) {
                out.push(piece.to_string());
            }
        }
    }
    out
}

/// The categories whose new tickets get articles offered.
pub fn searched(cat: Category) -> bool {
    matches!(cat, Category::UsageQuestion | Category::UserManagement)
}

/// The text of an article for the ack: cut at a line end near [`EXCERPT_CHARS`].
pub fn excerpt(text: &str) -> String {
    if text.chars().count() <= EXCERPT_CHARS {
        return text.to_string();
    }
    let end = text.char_indices().nth(EXCERPT_CHARS).map_or(text.len(), |(i, _)| i);
    let head = &text[..end];
    let cut = head.rfind('\n').or_else(|| head.rfind(' ')).unwrap_or(end);
    format!("{} …", head[..cut].trim_end())
}

/// At most this many matched words are named in the team's notification.
pub const MAX_SHOWN_WORDS: usize = 8;

/// The `kb_articles` template variable of a new ticket's ack and team
/// notification: the offered articles (`id`, `file`, `title`, `link`,
/// `text`, `score`, `matched`: the mail's words it matched on, most
/// decisive first, at most [`MAX_SHOWN_WORDS`]), empty when the category is not searched or nothing matches well.
pub fn offers_json(kb: &Kb, cat: Category, lang: &str, subject: &str, text: &str) -> serde_json::Value {
    if !searched(cat) {
        return json!([]);
    }
    let head = text.char_indices().nth(MAX_QUERY_CHARS).map_or(text, |(i, _)| &text[..i]);
    let query = format!("{subject}\n{head}");
    let offers: Vec<serde_json::Value> = kb
        .search_as(lang, &query, Some(cat))
        .into_iter()
        .filter(|h| h.offered)
        .filter_map(|h| {
            let a = kb.article(lang, &h.id)?;
            Some(json!({"id": h.id, "file": format!("{lang}/{}.md", h.id), "title": h.title, "link": h.link,
                        "text": excerpt(&a.text), "score": format!("{:.1}", h.score),
                        "matched": h.matched.iter().take(MAX_SHOWN_WORDS).cloned().collect::<Vec<_>>().join(", "),
                        "action": h.action}))
        })
        .collect();
    json!(offers)
}

// ---------------------------------------------------------------------------
// Draft articles from agents' answers (`#kb`)

/// A draft article waiting for review.
#[derive(Debug, Clone, Serialize)]
pub struct Draft {
    pub id: i64,
    pub ticket: Option<i64>,
    pub language: String,
    pub title: String,
    pub keywords: String,
    pub question: String,
    pub answer: String,
    pub author: String,
    pub created_at: String,
}

/// Keywords for a draft: the first distinct content words of the question
/// (at least four letters), at most eight.
pub fn draft_keywords(question: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let head = question.char_indices().nth(MAX_QUERY_CHARS).map_or(question, |(i, _)| &question[..i]);
    for w in words(head) {
        if w.chars().count() >= 4 && !is_stop(&w) && !out.contains(&w) {
            out.push(w);
            if out.len() == 8 {
                break;
            }
        }
    }
    out.join(", ")
}

/// Store an agent's answer on a ticket as a draft article, in the caller's
/// transaction; `title` empty: the ticket's subject. Returns the draft id,
/// or None when the answer is empty (nothing to keep).
#[allow(clippy::too_many_arguments)]
pub fn save_draft(
    conn: &Connection,
    ticket: &crate::store::Ticket,
    title: &str,
    answer: &str,
    author: &str,
    row: i64,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let answer = answer.trim();
    if answer.is_empty() {
        crate::store::insert_event(
            conn,
            Some(ticket.id),
            Some(row),
            now,
            author,
            "kb_draft",
            "#kb without an answer text: no draft",
        )?;
        return Ok(None);
    }
    let question =
        crate::store::ticket_new_text(conn, ticket.id, "AND disposition IN ('new_ticket', 'follow_up')", false)
            .unwrap_or_default();
    let question: String = question.chars().take(8000).collect();
    let answer: String = answer.chars().take(16000).collect();
    let subject = crate::words::strip_reply_prefixes(&ticket.subject);
    let title = if title.trim().is_empty() { subject.trim().to_string() } else { title.trim().to_string() };
    let keywords = draft_keywords(&format!("{subject}\n{question}"));
    conn.prepare_cached(
        "INSERT INTO kb_drafts (ticket_id, message_row, language, title, keywords, question, answer, author, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![ticket.id, row, ticket.language, title, keywords, question, answer, author, crate::store::ts(now)])?;
    let id = conn.last_insert_rowid();
    crate::store::insert_event(
        conn,
        Some(ticket.id),
        Some(row),
        now,
        author,
        "kb_draft",
        &format!("draft article {id}: {title}"),
    )?;
    Ok(Some(id))
}

/// Every draft, oldest first.
pub fn drafts(conn: &Connection) -> Result<Vec<Draft>> {
    let mut stmt = conn.prepare(
        "SELECT id, ticket_id, language, title, keywords, question, answer, author, created_at FROM kb_drafts ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Draft {
            id: r.get(0)?,
            ticket: r.get(1)?,
            language: r.get(2)?,
            title: r.get(3)?,
            keywords: r.get(4)?,
            question: r.get(5)?,
            answer: r.get(6)?,
            author: r.get(7)?,
            created_at: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A file name for a draft: the title's words, folded, joined by `-`.
pub fn slug(title: &str) -> String {
    let w = words(title);
    let s: Vec<&str> = w.iter().map(String::as_str).take(6).collect();
    if s.is_empty() { "article".into() } else { s.join("-") }
}

/// A draft as an article file.
pub fn draft_file(d: &Draft) -> String {
    format!("---\ntitle: {}\nkeywords: {}\n---\n{}\n", d.title.replace('\n', " "), d.keywords, d.answer.trim_end())
}

// ---------------------------------------------------------------------------
// The labelled set and its rates

/// One labelled question: its language, the article that should come first
/// (`a|b`: either; None: no article fits, nothing should be offered) and the text.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub lang: String,
    /// The mail's category as the pipeline sees it (the classifier's), when
    /// known: it sets the bar ([`Kb::search_as`]).
    pub category: Option<Category>,
    pub expected: Option<String>,
    pub text: String,
}

/// Read `lang<TAB>expected or -<TAB>subject<TAB>text` lines (`#` comments);
/// the text is searched as the pipeline searches a mail: subject, newline, text.
pub fn read_labelled(text: &str) -> Result<Vec<Labelled>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut f = line.splitn(4, '\t');
        let (Some(lang), Some(exp), Some(subject), Some(text)) = (f.next(), f.next(), f.next(), f.next()) else {
            bail!("line {}: expected lang<TAB>article or -<TAB>subject<TAB>text", i + 1);
        };
        out.push(Labelled {
            lang: lang.to_string(),
            category: None,
            expected: (exp != "-").then(|| exp.to_string()),
            text: format!("{subject}\n{text}"),
        });
    }
    Ok(out)
}

/// The two rates of the bench.
#[derive(Debug, Clone, Default)]
pub struct Eval {
    pub with_article: usize,
    /// The right article offered first.
    pub right_first: usize,
    pub without_article: usize,
    /// Nothing offered.
    pub nothing_offered: usize,
    /// Lines for the mistakes: what was expected, what was offered.
    pub misses: Vec<String>,
}

impl Eval {
    pub fn right_first_rate(&self) -> f64 {
        self.right_first as f64 / self.with_article.max(1) as f64
    }
    pub fn nothing_rate(&self) -> f64 {
        self.nothing_offered as f64 / self.without_article.max(1) as f64
    }
}

/// The held-out sets: `file<TAB>expected[<TAB>note]` lines naming mails of a labelled
/// corpus (`fixtures/writers`), with the corpus's language, subject and new text.
pub fn labelled_from_corpus(list: &str, corpus: &[crate::classify::eval::LabeledMail]) -> Result<Vec<Labelled>> {
    let mut out = Vec::new();
    for (i, line) in list.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (file, rest) =
            line.split_once('\t').with_context(|| format!("line {}: expected file<TAB>article or -", i + 1))?;
        // A third column is a note for the reader (why this label).
        let exp = rest.split('\t').next().unwrap_or("").trim();
        let m = corpus
            .iter()
            .find(|m| m.file == file)
            .with_context(|| format!("line {}: no mail {file} in the corpus", i + 1))?;
        out.push(Labelled {
            lang: m.lang.clone(),
            category: Some(m.category),
            expected: (exp != "-").then(|| exp.to_string()),
            text: format!("{}\n{}", m.subject, m.text),
        });
    }
    Ok(out)
}

/// Run the labelled set against the knowledge base.
pub fn evaluate(kb: &Kb, set: &[Labelled]) -> Eval {
    let mut e = Eval::default();
    for q in set {
        let hits = kb.search_as(&q.lang, &q.text, q.category);
        let offered: Vec<&Hit> = hits.iter().filter(|h| h.offered).collect();
        let shown = offered.iter().map(|h| format!("{} {:.1}", h.id, h.score)).collect::<Vec<_>>().join(", ");
        let best = hits.first().map(|h| format!("{} {:.1}", h.id, h.score)).unwrap_or_else(|| "-".into());
        let held = hits
            .iter()
            .filter_map(|h| h.held_back.as_ref().map(|w| format!("{} {:.1} {w}", h.id, h.score)))
            .collect::<Vec<_>>()
            .join(", ");
        let best = if held.is_empty() { best } else { format!("{best}; held back {held}") };
        match &q.expected {
            Some(id) => {
                e.with_article += 1;
                if offered.first().is_some_and(|h| id.split('|').any(|x| x == h.id)) {
                    e.right_first += 1;
                } else {
                    e.misses.push(format!("want {id}, offered [{shown}] (best {best}): {}", q.text));
                }
            }
            None => {
                e.without_article += 1;
                if offered.is_empty() {
                    e.nothing_offered += 1;
                } else {
                    e.misses.push(format!("want nothing, offered [{shown}] (best {best}): {}", q.text));
                }
            }
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_fold_umlauts_and_the_stemmer_conflates_inflections() {
        assert_eq!(words("Passwörter zurücksetzen, bitte!"), ["passworter", "zurucksetzen", "bitte"]);
        for (a, b) in [
            ("passworter", "passwort"),
            ("zurucksetzen", "zurucksetze"),
            ("printing", "printed"),
            ("benutzers", "benutzern"),
        ] {
            assert_eq!(stem(a), stem(b), "{a} / {b}");
        }
        assert_eq!(stem("user"), "user", "a stem keeps four characters");
        assert_eq!(terms("Ich habe mein Passwort vergessen"), ["passwort", "vergess"]);
        assert_eq!(stem("dienstplan"), "dienstplan");
    }

    #[test]
    fn a_compound_of_the_mail_holds_a_keyword() {
        let a = parse_article(
            "pw",
            "de",
            Path::new("pw.md"),
            "---\ntitle: Passwort\nkeywords: passwort vergessen, kennwort\n---\nText",
        )
        .unwrap();
        let kb = Kb { shelves: HashMap::from([("de".to_string(), Shelf::build(vec![a]))]), min_score: 0.1 };
        let hits = kb.search("de", "Passwortvergessenfunktion geht nicht");
        assert_eq!(hits.len(), 1);
        assert!(hits[0].offered && hits[0].matched.contains(&"passwort".to_string()), "{hits:?}");
        assert!(kb.search("de", "Dienstplan drucken").is_empty());
    }

    fn shelf_kb(articles: &[(&str, &str)], min_score: f64) -> Kb {
        let arts =
            articles.iter().map(|(id, text)| parse_article(id, "de", Path::new(id), text).unwrap()).collect::<Vec<_>>();
        Kb { shelves: HashMap::from([("de".to_string(), Shelf::build(arts))]), min_score }
    }

    #[test]
    fn sentences_are_cut_at_their_ends_lists_and_blank_lines_not_in_dates() {
        let text = "Zum 01.05.2026 bitte anlegen. Wie geht das?\nzweite Zeile\nderselben Frage!\n\nListe:\n- eins\n2) zwei\nEnde";
        let got: Vec<&str> = sentences(text).map(|(s, _)| s.trim()).collect();
        assert_eq!(
            got,
            [
                "Zum 01.05.2026 bitte anlegen.",
                "Wie geht das?",
                "zweite Zeile\nderselben Frage!",
                "Liste:",
                "- eins",
                "2) zwei\nEnde"
            ]
        );
        assert_eq!(sentences("").count(), 0);
    }

    #[test]
    fn words_scattered_over_a_long_mail_score_less_than_one_sentence_that_has_them() {
        let kb = shelf_kb(
            &[
                ("druck", "---\ntitle: Dienstplan drucken\nkeywords: dienstplan drucken, druckansicht\n---\nText"),
                ("urlaub", "---\ntitle: Urlaub beantragen\nkeywords: urlaub beantragen\n---\nText"),
            ],
            4.0,
        );
        let asked = kb.search("de", "Frage\nWie kann ich den Dienstplan drucken?");
        let scattered =
            kb.search("de", "Frage\nDer Dienstplan ist fertig. Gestern hatte ich Urlaub. Drucken geht, danke.");
        assert_eq!(asked[0].id, "druck");
        assert!(asked[0].offered, "{asked:?}");
        let s = scattered.iter().find(|h| h.id == "druck").map_or(0.0, |h| h.score);
        assert!(s < asked[0].score, "{s} vs {asked:?}");
        assert!(!scattered.iter().any(|h| h.offered), "no whole keyword in one sentence: {scattered:?}");
    }

    #[test]
    fn the_bar_depends_on_the_category_and_the_matched_words_are_named() {
        let kb = shelf_kb(&[("pw", "---\ntitle: Passwort\nkeywords: passwort vergessen, entsperren\n---\nText")], 1.0);
        let text = "Konto\nBitte das Konto von Frau Maier entsperren.";
        let score = kb.search("de", text)[0].score;
        let um = kb.search_as("de", text, Some(Category::UserManagement));
        let uq = kb.search_as("de", text, Some(Category::UsageQuestion));
        assert!(kb.bar(Some(Category::UserManagement)) <= score && score < kb.bar(Some(Category::UsageQuestion)));
        assert!(um[0].offered && !uq[0].offered, "{um:?} {uq:?}");
        assert_eq!(um[0].matched, ["entsperr"]);
        let json =
            offers_json(&kb, Category::UserManagement, "de", "Konto", "Bitte das Konto von Frau Maier entsperren.");
        assert_eq!(json[0]["matched"], "entsperr", "{json}");
        assert_eq!(offers_json(&kb, Category::FunctionalError, "de", "Konto", "entsperren"), json!([]));
    }

    #[test]
    fn an_article_is_offered_only_for_the_action_the_mail_asks_for() {
        let kb = shelf_kb(
            &[
                (
                    "anlegen",
                    "---\ntitle: Benutzer anlegen\nkeywords: benutzerkonto, benutzer anlegen\naction: create\n---\nText",
                ),
                ("drucken", "---\ntitle: Drucken\nkeywords: drucken\n---\nText"),
            ],
            1.0,
        );
        let um = Some(Category::UserManagement);
        // Asked to create: offered, naming the action and the word.
        let hits = kb.search_as("de", "Benutzerkonto\nBitte legen Sie für Frau Roth ein Benutzerkonto an.", um);
        assert!(hits[0].offered && hits[0].action.as_deref() == Some("create: legen"), "{hits:?}");
        // Asked to rename: the same words, held back, whatever the score.
        let hits = kb.search_as(
            "de",
            "Benutzerkonto\nBitte im Benutzerkonto den Nachnamen ändern, Frau Roth hat geheiratet.",
            um,
        );
        assert!(hits[0].score >= kb.bar(um) && !hits[0].offered, "{hits:?}");
        assert_eq!(hits[0].held_back.as_deref(), Some("asks for rename (nachnamen)"));
        // No action recognisable: as before, the score decides.
        let hits = kb.search_as("de", "Benutzerkonto\nFrage zum Benutzerkonto von Frau Roth.", um);
        assert!(hits[0].offered && hits[0].action.is_none() && hits[0].held_back.is_none(), "{hits:?}");
        // An article naming no action is offered whatever the mail asks.
        let hits = kb.search_as("de", "Drucken\nBitte den Nachnamen ändern. Wie kann ich drucken?", um);
        assert!(hits.iter().any(|h| h.id == "drucken" && h.offered), "{hits:?}");
        // An unknown action is an error naming it.
        let err = parse_article("x", "de", Path::new("x.md"), "---\ntitle: X\nkeywords: x\naction: umbenennen\n---\n")
            .unwrap_err();
        assert!(err.contains("\"umbenennen\"") && err.contains("assign-role"), "{err}");
    }

    #[test]
    fn the_excerpt_is_cut_at_a_line_end() {
        let long = "Zeile eins.\n".repeat(100);
        let e = excerpt(&long);
        assert!(e.ends_with(" …") && e.chars().count() <= EXCERPT_CHARS + 2, "{e}");
        assert_eq!(excerpt("kurz"), "kurz");
    }
}
