//! Request classifier: maps the new text of a support mail to one of the five
//! categories of the support concept.
//!
//! Two parts, both driven by data rather than code:
//! * weighted regex rules per category from `config/classifier.toml` (ops can
//!   extend them; `force = true` security rules raise the security flag outright);
//! * a multinomial logistic regression over hashed words, word pairs,
//!   character n-grams and the matched rules, trained on the labeled corpus
//!   (`fixtures/classifier_training.tsv`, exported from `fixtures/corpus`).
//!   For the embedded configuration the trained model is compiled in
//!   (`fixtures/classifier_model.bin`); any other configuration or training
//!   file is trained at start-up (about 0.2 s).
//!
//! The model's scores are turned into probabilities with a softmax; the
//! category is the most probable one. The security suspicion is separate: a
//! forced security rule, security rules of enough weight
//! (`security_evidence_weight`) with a security probability of at least
//! `security_floor_rule_hit`, a security probability of at least
//! `security_floor`, or security as the runner-up of a low-confidence
//! decision raise [`Classification::security_flag`], with its reasons.

// Per-category loops index several [f64; 5] arrays at once; `0..N` is clearer.
#![allow(clippy::needless_range_loop)]

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use regex::Regex;
use serde::Deserialize;

use crate::domain::Category;

const N: usize = 5;

/// The embedded default configuration.
pub const EMBEDDED_CONFIG: &str = include_str!("../config/classifier.toml");
/// The embedded training data (exported from `fixtures/corpus` by
/// `cargo run --example export_training`).
pub const EMBEDDED_TRAINING: &str = include_str!("../fixtures/classifier_training.tsv");
/// The model trained on the embedded configuration and training data
/// (`cargo run --release --example export_model`; the test
/// `embedded_model_is_fresh` fails when it no longer matches them). Used
/// instead of training at start-up whenever its fingerprint matches the
/// configuration being loaded: training took 0.2 s and ~15 MB at start.
pub const EMBEDDED_MODEL: &[u8] = include_bytes!("../fixtures/classifier_model.bin");

/// [`fingerprint`] of [`EMBEDDED_CONFIG`] and [`EMBEDDED_TRAINING`],
/// computed by build.rs (the same code: src/classify/fingerprint.rs).
const EMBEDDED_FINGERPRINT: u64 = parse_u64(env!("SUPPORTD_EMBEDDED_FINGERPRINT"));

/// A decimal number at compile time.
const fn parse_u64(s: &str) -> u64 {
    let (b, mut i, mut n) = (s.as_bytes(), 0, 0u64);
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "not a decimal number");
        n = n * 10 + (b[i] - b'0') as u64;
        i += 1;
    }
    n
}

/// The result of classifying one mail.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Classification {
    pub category: Category,
    /// Probability of the chosen category, 0..1.
    pub confidence: f64,
    /// Human-readable reasons: matched rules, decisive model words, the flag.
    pub reasons: Vec<String>,
    /// `confidence` is below the configured threshold: a human should check.
    pub low_confidence: bool,
    /// A security suspicion, independent of the category: a forcing or
    /// weighty security rule matched, the model gives security_error at
    /// least the flag floor, or security_error is the runner-up of an
    /// unsure decision. Raises the priority and tells the security contact.
    pub security_flag: bool,
    /// Why the flag is raised (empty when it is not).
    pub security_reasons: Vec<String>,
}

impl Classification {
    /// The priority of a new ticket of the category priority `base`: at
    /// least `high` for a security error or a raised security flag.
    pub fn priority(&self, base: crate::domain::Priority) -> crate::domain::Priority {
        use crate::domain::Priority;
        if (self.category == Category::SecurityError || self.security_flag) && base < Priority::High {
            Priority::High
        } else {
            base
        }
    }

    /// Whether the security contact (the notify list of `security_error`)
    /// must be told beside the category's own list: the flag is raised on a
    /// ticket of another category.
    pub fn tell_security_contact(&self) -> bool {
        self.security_flag && self.category != Category::SecurityError
    }

    /// The flag and its reasons as template variables of the agents'
    /// notification (`security_flag`, `security_reasons`).
    pub fn flag_context(&self) -> serde_json::Value {
        serde_json::json!({
            "security_flag": self.security_flag,
            "security_reasons": self.security_reasons.join("; "),
        })
    }
}

/// An agent's `#category` settles the security flag: security_error sets
/// it, any other category clears it. `Some(event detail)` when the flag
/// `was` changes, `None` when it stays.
pub fn settle_flag(was: bool, category: Category) -> Option<&'static str> {
    match (was, category == Category::SecurityError) {
        (false, true) => Some("raised by #category security_error"),
        (true, false) => Some("cleared by #category: not a security error"),
        _ => None,
    }
}

/// One labeled training mail.
#[derive(Debug, Clone)]
pub struct Example {
    pub category: Category,
    pub subject: String,
    /// The mail body as plain text (cleaned by the classifier itself).
    pub text: String,
    /// How many mails it counts as in training (1; the independent
    /// writers' mails count more: they are the strangers' voice).
    pub weight: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    settings: Settings,
    #[serde(default)]
    cleaning: Cleaning,
    #[serde(default)]
    model: ModelConfig,
    #[serde(default, rename = "rule")]
    rules: Vec<RuleConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    low_confidence_threshold: f64,
    /// The security flag with only the learned part as evidence: raised at
    /// this security_error probability or more.
    security_floor: f64,
    /// The same when a (non-forcing) security rule matched: the concept
    /// lexicon saw a security cue, so a lower probability suffices.
    #[serde(default = "default_floor_rule_hit")]
    security_floor_rule_hit: f64,
    /// The matched security rules' weights must add up to at least this for
    /// `security_floor_rule_hit` to apply (weak cues such as "Datenschutz"
    /// alone are left to the learned part).
    #[serde(default)]
    security_evidence_weight: f64,
    /// Unused since the flag replaced "security first"; accepted so that
    /// older configuration files stay valid.
    #[serde(default = "default_force_confidence")]
    force_confidence: f64,
}

fn default_floor_rule_hit() -> f64 {
    0.0
}

fn default_force_confidence() -> f64 {
    0.9
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cleaning {
    /// Regexes matched against each normalised, trimmed line; the first match
    /// after some content ends the new text (closings, disclaimers, ...).
    #[serde(default)]
    cut_at: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelConfig {
    #[serde(default = "yes")]
    enabled: bool,
    /// `"embedded"` (default) or a path (relative to the config file).
    #[serde(default = "default_training")]
    training: String,
    /// Multiplier of the learned part at prediction time (0 = rules only).
    #[serde(default = "default_weight")]
    weight: f64,
    #[serde(default = "default_l2")]
    l2: f64,
    #[serde(default = "default_epochs")]
    epochs: usize,
    #[serde(default = "default_learning_rate")]
    learning_rate: f64,
    /// Feature hashing: 2^hash_bits buckets.
    #[serde(default = "default_hash_bits")]
    hash_bits: u32,
    /// Character n-grams of each word (with boundary marks), lengths
    /// char_min..=char_max; char_min = 0 turns them off.
    #[serde(default = "default_char_min")]
    char_min: usize,
    #[serde(default = "default_char_max")]
    char_max: usize,
    /// Word bigrams.
    #[serde(default = "yes")]
    bigrams: bool,
    /// Value of a matched-rule feature (0 = rules are no features).
    #[serde(default = "default_weight")]
    rule_feature: f64,
    /// Multiplier of the rule scores as a fixed offset of the model
    /// (0 = the model decides alone, with the rule hits as features).
    #[serde(default)]
    rule_offset: f64,
    #[serde(default)]
    stopwords: Vec<String>,
    /// Snowball stems of the words (German or English by the mail's
    /// function words) as features besides the words themselves.
    #[serde(default)]
    stems: bool,
    /// German compounds split into the known parts (words of two or more
    /// training mails), each part a stem feature.
    #[serde(default)]
    compounds: bool,
    /// Value of the subject's own features against the body's (1 = alike).
    #[serde(default = "default_weight")]
    subject_weight: f64,
    /// The scores are divided by this before the softmax: calibration of
    /// the probabilities (tuned on out-of-fold scores of the corpus by
    /// examples/classify_eval.rs).
    #[serde(default = "default_weight")]
    temperature: f64,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            enabled: true,
            training: default_training(),
            weight: default_weight(),
            l2: default_l2(),
            epochs: default_epochs(),
            learning_rate: default_learning_rate(),
            hash_bits: default_hash_bits(),
            char_min: default_char_min(),
            char_max: default_char_max(),
            bigrams: true,
            rule_feature: default_weight(),
            rule_offset: 0.0,
            stopwords: Vec::new(),
            stems: false,
            compounds: false,
            subject_weight: 1.0,
            temperature: 1.0,
        }
    }
}

fn yes() -> bool {
    true
}
fn default_training() -> String {
    "embedded".into()
}
fn default_weight() -> f64 {
    1.0
}
fn default_l2() -> f64 {
    0.0001
}
fn default_epochs() -> usize {
    15
}
fn default_learning_rate() -> f64 {
    0.5
}
fn default_hash_bits() -> u32 {
    18
}
fn default_char_min() -> usize {
    3
}
fn default_char_max() -> usize {
    5
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleConfig {
    category: String,
    name: String,
    /// One regex; or use `all` for a conjunction.
    #[serde(default)]
    pattern: Option<String>,
    /// Several regexes that must all match somewhere in the mail (concepts
    /// that co-occur, e.g. sensitive data + visible + to outsiders).
    #[serde(default)]
    all: Vec<String>,
    weight: f64,
    #[serde(default)]
    force: bool,
}

#[derive(Debug, Clone)]
struct Rule {
    category: usize,
    name: String,
    weight: f64,
    force: bool,
}

/// The classifier; cheap to clone (shared internals).
#[derive(Debug, Clone)]
pub struct Classifier {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: Settings,
    model_cfg: ModelConfig,
    cut_at: regex::bytes::RegexSet,
    rules: Vec<Rule>,
    /// The patterns of each rule, all of which must match (a RegexSet over
    /// these patterns is ten times slower). Byte patterns in ASCII mode: see
    /// [`compile_rule`].
    rule_regexes: Vec<Vec<rules::RulePattern>>,
    stopwords: HashSet<String>,
    /// Words of the rule patterns (always part of the speller's vocabulary).
    pattern_words: Vec<String>,
    speller: Speller,
    /// Known compound parts (with `model.compounds`).
    parts: words::Parts,
    model: Option<Model>,
}

fn idx(c: Category) -> usize {
    Category::ALL.iter().position(|x| *x == c).unwrap_or(0)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Classifier {
    /// Parse a configuration; `source` names the file in error messages. The
    /// model's training data is the embedded corpus export unless the config
    /// names a file (resolved against the current directory here, against the
    /// config's directory in [`Classifier::load`]).
    pub fn from_toml_str(text: &str, source: &str) -> Result<Classifier, String> {
        Self::build(text, source, None, false)
    }

    /// Read and parse a configuration file.
    pub fn load(path: &Path) -> Result<Classifier, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        Self::build(&text, &path.display().to_string(), path.parent(), false)
    }

    /// The compiled-in configuration and training data.
    pub fn embedded() -> Classifier {
        // Training takes a moment; build the embedded classifier once per process.
        static EMBEDDED: std::sync::OnceLock<Classifier> = std::sync::OnceLock::new();
        EMBEDDED
            .get_or_init(|| {
                Self::from_toml_str(EMBEDDED_CONFIG, "config/classifier.toml")
                    .expect("embedded config/classifier.toml is valid")
            })
            .clone()
    }

    /// The embedded configuration with its model trained now rather than
    /// taken from [`EMBEDDED_MODEL`] (to regenerate and to check that file).
    pub fn train_embedded() -> Classifier {
        Self::build(EMBEDDED_CONFIG, "config/classifier.toml", None, true)
            .expect("embedded config/classifier.toml is valid")
    }

    /// The learned part (weights and speller vocabulary) in the format of
    /// [`EMBEDDED_MODEL`], fingerprinted for the embedded configuration and
    /// training data; `None` without a model.
    pub fn export_model(&self) -> Option<Vec<u8>> {
        let m = self.inner.model.as_ref()?;
        let saved = SavedModel {
            fingerprint: EMBEDDED_FINGERPRINT,
            hash_bits: self.inner.model_cfg.hash_bits,
            model: m.clone(),
            vocab: self.inner.speller.words.clone(),
            parts: self.inner.parts.words.clone(),
        };
        Some(saved.encode())
    }

    /// The same rules and settings with the model trained on `examples`
    /// (used by the evaluation for cross-validation).
    pub fn with_training(&self, examples: &[Example]) -> Classifier {
        let mut inner = self.rebuild();
        inner.speller = Speller::build(&inner, examples);
        inner.parts = build_parts(&inner, examples);
        inner.model = Some(train(&inner, examples));
        Classifier { inner: Arc::new(inner) }
    }

    /// The same rules and settings without any learned part.
    pub fn rules_only(&self) -> Classifier {
        let mut inner = self.rebuild();
        inner.model = None;
        inner.speller = Speller::build(&inner, &[]);
        Classifier { inner: Arc::new(inner) }
    }

    /// The same model and settings without rules (for the evaluation).
    pub fn model_only(&self) -> Classifier {
        let mut inner = self.rebuild();
        inner.model = self.inner.model.clone();
        inner.rules.clear();
        inner.rule_regexes.clear();
        Classifier { inner: Arc::new(inner) }
    }

    /// Whether a learned model is active.
    pub fn has_model(&self) -> bool {
        self.inner.model.is_some()
    }

    fn rebuild(&self) -> Inner {
        let i = &self.inner;
        Inner {
            settings: i.settings.clone(),
            model_cfg: i.model_cfg.clone(),
            cut_at: i.cut_at.clone(),
            rules: i.rules.clone(),
            rule_regexes: i.rule_regexes.clone(),
            stopwords: i.stopwords.clone(),
            pattern_words: i.pattern_words.clone(),
            speller: i.speller.clone(),
            parts: i.parts.clone(),
            model: None,
        }
    }

    fn build(text: &str, source: &str, base: Option<&Path>, force_training: bool) -> Result<Classifier, String> {
        let cfg: FileConfig = toml::from_str(text).map_err(|e| format!("{source}: {}", one_line(&e.to_string())))?;
        let s = &cfg.settings;
        for (key, v) in [
            ("settings.low_confidence_threshold", s.low_confidence_threshold),
            ("settings.security_floor", s.security_floor),
            ("settings.security_floor_rule_hit", s.security_floor_rule_hit),
            ("settings.force_confidence", s.force_confidence),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{source}: {key}: must be between 0 and 1, got {v}"));
            }
        }
        if !(s.security_evidence_weight.is_finite() && s.security_evidence_weight >= 0.0) {
            return Err(format!(
                "{source}: settings.security_evidence_weight: must be a number >= 0, got {}",
                s.security_evidence_weight
            ));
        }
        let m = &cfg.model;
        if !(8..=24).contains(&m.hash_bits) {
            return Err(format!("{source}: model.hash_bits: must be between 8 and 24, got {}", m.hash_bits));
        }
        if m.char_min > m.char_max || m.char_max > 10 {
            return Err(format!(
                "{source}: model.char_min/char_max: need char_min <= char_max <= 10, got {}/{}",
                m.char_min, m.char_max
            ));
        }
        for (key, v) in [
            ("model.rule_feature", cfg.model.rule_feature),
            ("model.rule_offset", cfg.model.rule_offset),
            ("model.weight", cfg.model.weight),
            ("model.l2", cfg.model.l2),
            ("model.learning_rate", cfg.model.learning_rate),
            ("model.subject_weight", cfg.model.subject_weight),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("{source}: {key}: must be a number >= 0, got {v}"));
            }
        }
        if !(cfg.model.temperature.is_finite() && cfg.model.temperature > 0.0) {
            return Err(format!("{source}: model.temperature: must be a number > 0, got {}", cfg.model.temperature));
        }
        let mut cut = Vec::new();
        for (i, p) in cfg.cleaning.cut_at.iter().enumerate() {
            // ASCII mode, as the rules (see compile_rule).
            let p = format!("(?-u){}", normalize_pattern(p));
            regex::bytes::Regex::new(&p)
                .map_err(|e| format!("{source}: cleaning.cut_at[{i}]: invalid regex: {}", one_line(&e.to_string())))?;
            cut.push(p);
        }
        let cut_at = regex::bytes::RegexSetBuilder::new(&cut)
            .dfa_size_limit(RULE_DFA_CACHE)
            .build()
            .map_err(|e| format!("{source}: cleaning.cut_at: {e}"))?;
        let mut rules = Vec::new();
        let mut pats = Vec::new();
        let mut rule_regexes = Vec::new();
        for (i, r) in cfg.rules.iter().enumerate() {
            let cat = Category::parse(&r.category).ok_or_else(|| {
                format!(
                    "{source}: rule[{i}].category: unknown category '{}' (valid: {})",
                    r.category,
                    Category::valid_ids()
                )
            })?;
            if r.force && cat != Category::SecurityError {
                return Err(format!("{source}: rule[{i}].force: only security_error rules may force ('{}')", r.name));
            }
            if !r.weight.is_finite() {
                return Err(format!("{source}: rule[{i}].weight: not a finite number"));
            }
            let sources: Vec<(String, &String)> = match (&r.pattern, r.all.is_empty()) {
                (Some(p), true) => vec![("pattern".to_string(), p)],
                (None, false) => r.all.iter().enumerate().map(|(j, p)| (format!("all[{j}]"), p)).collect(),
                _ => {
                    return Err(format!("{source}: rule[{i}]: give exactly one of 'pattern' or 'all' ('{}')", r.name));
                }
            };
            let mut res = Vec::new();
            for (key, pat) in sources {
                let re = compile_rule(pat).map_err(|e| {
                    format!("{source}: rule[{i}].{key} ('{}'): invalid regex: {}", r.name, one_line(&e.to_string()))
                })?;
                let p = lower_pattern(&normalize_pattern(pat));
                res.push(re);
                pats.push(p);
            }
            rule_regexes.push(res);
            rules.push(Rule { category: idx(cat), name: r.name.clone(), weight: r.weight, force: r.force });
        }
        let stopwords = cfg.model.stopwords.iter().map(|w| normalize(w)).collect();
        let escape = Regex::new(r"\\.").expect("valid regex");
        let mut pattern_words: Vec<String> = pats
            .iter()
            .flat_map(|p| {
                escape
                    .replace_all(p, " ")
                    .split(|c: char| !c.is_ascii_lowercase())
                    .filter(|w| w.len() >= 5)
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        pattern_words.sort_unstable();
        pattern_words.dedup();
        let mut inner = Inner {
            settings: cfg.settings,
            model_cfg: cfg.model.clone(),
            cut_at,
            rules,
            rule_regexes,
            stopwords,
            pattern_words,
            speller: Speller::default(),
            parts: words::Parts::default(),
            model: None,
        };
        let saved = if cfg.model.enabled && cfg.model.training == "embedded" && !force_training {
            let wanted =
                if text == EMBEDDED_CONFIG { EMBEDDED_FINGERPRINT } else { fingerprint(text, EMBEDDED_TRAINING) };
            SavedModel::decode(EMBEDDED_MODEL).filter(|m| m.fingerprint == wanted && m.hash_bits == cfg.model.hash_bits)
        } else {
            None
        };
        if let Some(saved) = saved {
            inner.speller = Speller::from_words(saved.vocab);
            inner.parts = words::Parts::from_words(saved.parts);
            inner.model = Some(saved.model);
        } else if cfg.model.enabled {
            let data = if cfg.model.training == "embedded" {
                EMBEDDED_TRAINING.to_string()
            } else {
                let p = PathBuf::from(&cfg.model.training);
                let p = match base {
                    Some(b) if p.is_relative() => b.join(p),
                    _ => p,
                };
                std::fs::read_to_string(&p)
                    .map_err(|e| format!("{source}: model.training: cannot read {}: {e}", p.display()))?
            };
            let examples = parse_training(&data).map_err(|e| format!("{source}: model.training: {e}"))?;
            inner.speller = Speller::build(&inner, &examples);
            inner.parts = build_parts(&inner, &examples);
            inner.model = Some(train(&inner, &examples));
        } else {
            inner.speller = Speller::build(&inner, &[]);
        }
        Ok(Classifier { inner: Arc::new(inner) })
    }

    /// The new text of a mail after stripping quotes, quoted history,
    /// signatures and closings (not normalised).
    pub fn clean(&self, text: &str) -> String {
        clean_text(text, &self.inner.cut_at)
    }

    /// The probabilities behind a decision (for tuning the security floor by
    /// cross-validation without classifying again per candidate floor).
    pub fn scores(&self, subject: &str, text: &str) -> Scores {
        self.classify_scored(subject, text).1
    }

    /// Classify a mail by subject and new text (plain text).
    pub fn classify(&self, subject: &str, text: &str) -> Classification {
        self.classify_scored(subject, text).0
    }

    /// A copy with other security floors (evaluation: floors tuned inside
    /// cross-validation folds).
    pub fn with_security_floors(&self, floors: Floors) -> Classifier {
        let mut inner = self.rebuild();
        inner.model = self.inner.model.clone();
        inner.settings.security_floor = floors.plain;
        inner.settings.security_floor_rule_hit = floors.rule_hit;
        Classifier { inner: Arc::new(inner) }
    }

    /// A copy with another temperature (evaluation: calibration).
    pub fn with_temperature(&self, t: f64) -> Classifier {
        let mut inner = self.rebuild();
        inner.model = self.inner.model.clone();
        inner.model_cfg.temperature = t;
        Classifier { inner: Arc::new(inner) }
    }

    /// The configured temperature (`model.temperature`).
    pub fn temperature(&self) -> f64 {
        self.inner.model_cfg.temperature
    }

    /// The configured security floors.
    pub fn security_floors(&self) -> Floors {
        Floors { plain: self.inner.settings.security_floor, rule_hit: self.inner.settings.security_floor_rule_hit }
    }

    fn classify_scored(&self, subject: &str, text: &str) -> (Classification, Scores) {
        let inner = &*self.inner;
        let (ns, nb) = prepare(inner, subject, text);
        let norm = format!("{ns}\n{nb}");
        let (z_rules, matched) = rule_scores(inner, &norm);
        let sec = idx(Category::SecurityError);
        let sec_rule_hit = z_rules[sec] > 0.0;
        let sec_evidence = sec_rule_hit && z_rules[sec] >= inner.settings.security_evidence_weight;
        let mut rule_hits: Vec<(usize, f64, String)> = Vec::new();
        let mut forced: Option<String> = None;
        for &i in &matched {
            let r = &inner.rules[i];
            let word = inner.rule_regexes[i]
                .iter()
                .filter_map(|re| re.find(norm.as_bytes()))
                .map(|m| shown(String::from_utf8_lossy(m).trim()))
                .collect::<Vec<_>>()
                .join("\" + \"");
            let desc =
                format!("rule '{}' {:+.1} {} (matched \"{}\")", r.name, r.weight, Category::ALL[r.category], word);
            if r.force && forced.is_none() {
                forced = Some(desc.clone());
            }
            rule_hits.push((r.category, r.weight, desc));
        }
        // Scores: rules alone, or the learned model (rule hits are among its
        // features) plus the rule scores times `rule_offset`.
        let mut feats = Vec::new();
        let mut rows = Vec::new();
        let mut tokens = Vec::new();
        let z = match &inner.model {
            None => z_rules,
            Some(m) => {
                let (f, t) = features(inner, &ns, &nb, &matched);
                // found once, for the scores and the reasons below
                rows = m.rows(&f);
                let zm = m.scores_of(&f, &rows);
                feats = f;
                tokens = t;
                let mut z = [0.0; N];
                for c in 0..N {
                    z[c] = inner.model_cfg.rule_offset * z_rules[c] + inner.model_cfg.weight * zm[c];
                }
                z
            }
        };
        let p = softmax(&z.map(|v| v / inner.model_cfg.temperature));
        let scores = Scores {
            p,
            z,
            forced: forced.is_some(),
            evidence: inner.model.is_some() || sec_rule_hit,
            security_rule_hit: sec_evidence,
            low_confidence_threshold: inner.settings.low_confidence_threshold,
        };
        let st = &inner.settings;
        let floors = self.security_floors();
        let (chosen, confidence) = scores.decide();
        let mut order: Vec<usize> = (0..N).collect();
        order.sort_by(|a, b| p[*b].total_cmp(&p[*a]));
        let (top, second) = (order[0], order[1]);
        let mut reasons = Vec::new();
        let mut security_reasons = Vec::new();
        for why in scores.flag(floors) {
            security_reasons.push(match why {
                Flag::Forced => format!("forced by {}", forced.clone().unwrap_or_default()),
                Flag::Rules => {
                    let descs: Vec<&str> = rule_hits
                        .iter()
                        .filter(|(c, _, d)| *c == sec && Some(d) != forced.as_ref())
                        .map(|(_, _, d)| d.as_str())
                        .collect();
                    if descs.is_empty() {
                        continue; // only the forcing rule, named above
                    }
                    format!("security rules matched: {}", descs.join(", "))
                }
                Flag::Floor => format!(
                    "security_error probability {:.2} >= flag floor {:.2}{}",
                    p[sec],
                    floors.get(sec_evidence),
                    if sec_evidence { " (security rules matched)" } else { "" }
                ),
                Flag::RunnerUp => format!(
                    "unsure choice between {} ({:.2}) and security_error ({:.2})",
                    Category::ALL[top],
                    p[top],
                    p[sec]
                ),
            });
        }
        if !security_reasons.is_empty() {
            reasons.push(format!("security flag: {}", security_reasons.join("; ")));
        }
        for (c, _, d) in &rule_hits {
            if *c == chosen {
                reasons.push(d.clone());
            }
        }
        if inner.model.is_some() {
            let other = if chosen == top { second } else { top };
            // contribution of each word / word pair to chosen over other
            // (in first-seen order). Linear: a word's or pair's entry is
            // found by its token position, its text is built and hashed once
            // per position (a linear search of the entries per feature was
            // quadratic in the distinct words, and a huge word was copied
            // once per character n-gram).
            let mut contrib: Vec<(f64, String)> = Vec::new();
            let mut by_text: HashMap<String, usize> = HashMap::new();
            let mut by_word: HashMap<usize, usize> = HashMap::new();
            let mut by_pair: HashMap<usize, usize> = HashMap::new();
            for (&(_, x, o), w) in feats.iter().zip(&rows) {
                let d = (x * (w[chosen] - w[other])) as f64;
                let (positions, i) = match o {
                    Origin::Word(i) => (&mut by_word, i),
                    Origin::Bigram(i) if i + 1 < tokens.len() => (&mut by_pair, i),
                    _ => continue,
                };
                let slot = *positions.entry(i).or_insert_with(|| {
                    let key = match o {
                        Origin::Bigram(_) => format!("{} {}", tokens[i], tokens[i + 1]),
                        _ => tokens[i].to_string(),
                    };
                    *by_text.entry(key).or_insert_with_key(|key| {
                        contrib.push((0.0, key.clone()));
                        contrib.len() - 1
                    })
                });
                contrib[slot].0 += d;
            }
            contrib.retain(|(d, _)| *d > 0.05);
            contrib.sort_by(|a, b| b.0.total_cmp(&a.0));
            if !contrib.is_empty() {
                let words: Vec<String> =
                    contrib.iter().take(5).map(|(d, f)| format!("\"{}\" ({d:+.2})", shown(f))).collect();
                reasons.push(format!(
                    "model: words for {} over {}: {}",
                    Category::ALL[chosen],
                    Category::ALL[other],
                    words.join(", ")
                ));
            }
        }
        if reasons.is_empty() {
            reasons.push("no rule matched and no decisive words: default choice".into());
        }
        let low_confidence = confidence < st.low_confidence_threshold;
        if low_confidence {
            reasons.push(format!("low confidence {:.2} < threshold {:.2}", confidence, st.low_confidence_threshold));
        }
        let security_flag = !security_reasons.is_empty();
        (
            Classification {
                category: Category::ALL[chosen],
                confidence,
                reasons,
                low_confidence,
                security_flag,
                security_reasons,
            },
            scores,
        )
    }
}

/// A word or match as a reason shows it: at most 200 characters (a huge
/// word would otherwise go whole into the reasons and the team's mail).
fn shown(s: &str) -> String {
    match s.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

/// The security floors: the security_error probability from which security
/// wins over a more probable category, without and with a matched security
/// rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Floors {
    pub plain: f64,
    pub rule_hit: f64,
}

impl Floors {
    fn get(&self, rule_hit: bool) -> f64 {
        if rule_hit { self.rule_hit } else { self.plain }
    }
}

/// Why the security flag is raised (several can hold at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// A `force = true` security rule matched.
    Forced,
    /// Security rules of at least `security_evidence_weight` matched (and
    /// the probability reached `security_floor_rule_hit`).
    Rules,
    /// The security_error probability reached `security_floor`.
    Floor,
    /// An unsure decision with security_error as the runner-up.
    RunnerUp,
}

/// The probabilities of one mail and the inputs of the security-first
/// decision rule.
#[derive(Debug, Clone)]
pub struct Scores {
    /// Probability per category, in the order of `Category::ALL`.
    pub p: [f64; N],
    /// The scores before the temperature and the softmax (to calibrate).
    pub z: [f64; N],
    /// A `force = true` security rule matched.
    pub forced: bool,
    evidence: bool,
    /// Security rules (not forcing) matched with at least
    /// `settings.security_evidence_weight` in all.
    pub security_rule_hit: bool,
    low_confidence_threshold: f64,
}

impl Scores {
    /// The category: the most probable one (the security suspicion is the
    /// separate [`Scores::flag`]).
    pub fn category(&self) -> Category {
        Category::ALL[self.decide().0]
    }

    /// Whether the security flag is raised with the given floors.
    pub fn flagged(&self, floors: Floors) -> bool {
        !self.flag(floors).is_empty()
    }

    /// The most probable category and its probability.
    fn decide(&self) -> (usize, f64) {
        let p = &self.p;
        let top = (0..N).fold(0, |b, c| if p[c] > p[b] { c } else { b });
        (top, p[top])
    }

    /// Why the security flag is raised: a forced rule; security rules of
    /// enough weight with the probability at `floors.rule_hit`; the
    /// probability at `floors.plain` on the model alone; or an unsure
    /// decision with security_error as the runner-up. Empty: no flag.
    pub fn flag(&self, floors: Floors) -> Vec<Flag> {
        let p = &self.p;
        let sec = idx(Category::SecurityError);
        let mut order: Vec<usize> = (0..N).collect();
        order.sort_by(|a, b| p[*b].total_cmp(&p[*a]));
        let (top, second) = (order[0], order[1]);
        let mut out = Vec::new();
        if self.forced {
            out.push(Flag::Forced);
        }
        if self.security_rule_hit && p[sec] >= floors.rule_hit {
            out.push(Flag::Rules);
        }
        if self.evidence && p[sec] >= floors.plain {
            out.push(Flag::Floor);
        }
        if top != sec && second == sec && p[top] < self.low_confidence_threshold && p[sec] > 1.2 * p[order[2]] {
            out.push(Flag::RunnerUp);
        }
        out
    }
}

fn softmax(z: &[f64; N]) -> [f64; N] {
    let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let mut e = [0.0; N];
    let mut sum = 0.0;
    for (o, v) in e.iter_mut().zip(z) {
        *o = (v - max).exp();
        sum += *o;
    }
    for o in e.iter_mut() {
        *o /= sum;
    }
    e
}

/// Clean the body, normalise subject and body, correct typos.
fn prepare(inner: &Inner, subject: &str, text: &str) -> (String, String) {
    let body = clean_text(text, &inner.cut_at);
    (inner.speller.correct_text(&normalize(subject)), inner.speller.correct_text(&normalize(&body)))
}

/// Lazy-DFA cache bytes of the cut-at set (the regex crate's default is 2 MB).
const RULE_DFA_CACHE: usize = 256 * 1024;

/// Compile one rule pattern. The text is lowercased and folded (umlauts ->
/// ae, ...), so the pattern is lowercased instead of matching with (?i). It
/// is a byte regex in ASCII mode (`(?-u)`: `\w`, `\d`, `\b` are ASCII, `.`
/// is any byte but a newline); `(?u:...)` turns Unicode back on for a part.
/// Unicode `.`, `\w` and `\b` made the ~90 rule regexes take 14 MB compiled
/// and 20 MB more of lazy-DFA caches; in ASCII mode they take 4 + 4 MB and
/// give the same matches on the corpus (the text is nearly all ASCII after
/// folding). Matched by forward lazy DFAs of their own ([`rules`]).
fn compile_rule(pat: &str) -> Result<rules::RulePattern, String> {
    let p = lower_pattern(&normalize_pattern(pat));
    rules::RulePattern::new(&format!("(?-u){p}"))
}

/// Rule score per category and the indices of the matched rules.
fn rule_scores(inner: &Inner, norm: &str) -> ([f64; N], Vec<usize>) {
    let mut z = [0.0; N];
    let matched: Vec<usize> = (0..inner.rules.len())
        .filter(|&i| inner.rule_regexes[i].iter().all(|re| re.is_match(norm.as_bytes())))
        .collect();
    for &i in &matched {
        let r = &inner.rules[i];
        z[r.category] += r.weight;
    }
    (z, matched)
}

/// Convenience for tools and the eval: parse a raw .eml with mail_parser, take
/// subject + first text body (HTML converted to text), and classify.
pub fn classify_raw(c: &Classifier, raw: &[u8]) -> Option<Classification> {
    let (subject, text) = extract_raw(raw)?;
    Some(c.classify(&subject, &text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut() -> regex::bytes::RegexSet {
        regex::bytes::RegexSet::new([r"^(viele|beste|freundliche) gruesse", r"^best regards"]).unwrap()
    }

    #[test]
    fn a_stray_letter_doubles_or_touches_a_neighbour_on_the_keyboard() {
        let w = |s: &str| s.chars().collect::<Vec<char>>();
        assert!(stray(&w("passswort"), 3), "doubled");
        assert!(stray(&w("schichtplaan"), 10), "doubled");
        assert!(stray(&w("anmeldung"), 1) || stray(&w("abnmeldung"), 1), "b beside n");
        assert!(!stray(&w("tauschen"), 3), "the s of tauschen is meant: no tauchen");
        let sp = Speller::from_words(vec!["tauchen".into(), "passwort".into()]);
        assert_eq!(sp.correct("tauschen"), None);
        assert_eq!(sp.correct("passswort"), Some("passwort"));
    }

    #[test]
    fn the_saved_model_matches_the_embedded_configuration() {
        let m = SavedModel::decode(EMBEDDED_MODEL).expect("fixtures/classifier_model.bin decodes");
        assert_eq!(m.fingerprint, fingerprint(EMBEDDED_CONFIG, EMBEDDED_TRAINING));
        assert_eq!(EMBEDDED_FINGERPRINT, fingerprint(EMBEDDED_CONFIG, EMBEDDED_TRAINING), "build.rs's = the start's");
        assert_eq!(m.encode(), EMBEDDED_MODEL, "decode and encode are inverse");
    }

    #[test]
    fn rows_found_in_ascending_runs_are_the_rows_found_one_by_one() {
        let m = SavedModel::decode(EMBEDDED_MODEL).expect("fixtures/classifier_model.bin decodes").model;
        let saved: Vec<u32> = m.nonzero_rows().into_iter().map(|(f, _)| f).collect();
        assert!(saved.len() > 1000, "the embedded model has rows");
        // Features with rows and without, ascending runs and jumps back,
        // repeats, the first and the last row and beyond it.
        let mut fs: Vec<u32> = vec![0, saved[0], saved[0], saved[1] + 1, *saved.last().unwrap(), u32::MAX];
        let mut x = 12345u64;
        for run in 0..40 {
            let mut r: Vec<u32> = (0..run * 7)
                .map(|_| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let i = (x >> 33) as usize % saved.len();
                    if x & 1 == 0 { saved[i] } else { saved[i] + 1 }
                })
                .collect();
            r.sort_unstable();
            fs.extend(r);
        }
        let feats: Vec<(u32, f32, Origin)> = fs.iter().map(|&f| (f, 1.0, Origin::Word(0))).collect();
        let found = m.rows(&feats);
        let hits = found.iter().filter(|r| r.iter().any(|w| *w != 0.0)).count();
        assert!(hits > 100 && hits < feats.len(), "rows found and missed: {hits} of {}", feats.len());
        for (&(f, _, _), r) in feats.iter().zip(&found) {
            assert_eq!(*r, m.row(f), "feature {f}");
        }
        let one_by_one: [f64; N] = feats.iter().fold(m.bias.map(f64::from), |mut z, &(f, x, _)| {
            let w = m.row(f);
            for c in 0..N {
                z[c] += (x * w[c]) as f64;
            }
            z
        });
        assert_eq!(m.scores_of(&feats, &found), one_by_one);
    }

    #[test]
    fn a_damaged_or_foreign_model_file_is_not_used() {
        assert!(SavedModel::decode(&EMBEDDED_MODEL[..EMBEDDED_MODEL.len() - 1]).is_none(), "truncated");
        let mut longer = EMBEDDED_MODEL.to_vec();
        longer.push(0);
        assert!(SavedModel::decode(longer.leak()).is_none(), "trailing bytes");
        assert!(SavedModel::decode(b"").is_none());
        // Rows out of order could not be found by binary search.
        let rows_at = 8 + 8 + 4 + 4 * N + 4;
        let mut swapped = EMBEDDED_MODEL.to_vec();
        swapped[rows_at..rows_at + 2 * model::ROW_BYTES].rotate_left(model::ROW_BYTES);
        assert!(SavedModel::decode(swapped.leak()).is_none(), "rows out of order");
        // Another configuration (here one comment more) trains its own model.
        let other = Classifier::from_toml_str(&format!("# local copy\n{EMBEDDED_CONFIG}"), "x.toml").unwrap();
        assert!(other.has_model());
        assert_ne!(
            fingerprint(&format!("# local copy\n{EMBEDDED_CONFIG}"), EMBEDDED_TRAINING),
            fingerprint(EMBEDDED_CONFIG, EMBEDDED_TRAINING)
        );
    }

    #[test]
    fn deletion_check() {
        assert!(is_deletion("passwort", "passwrt"));
        assert!(is_deletion("passwort", "asswort"));
        assert!(is_deletion("passwort", "passwor"));
        assert!(!is_deletion("passwort", "passwort"));
        assert!(!is_deletion("passwort", "pasword"));
        assert!(!is_deletion("passwort", "passwxrt"));
    }

    #[test]
    fn speller_corrects_near_the_longest_word_and_skips_huge_tokens() {
        let sp = Speller::from_words(vec!["passwort".into(), "zeiterfassung".into()]);
        assert_eq!(sp.longest, 13);
        assert_eq!(sp.correct("zeiterfasung"), Some("zeiterfassung")); // a letter dropped
        assert_eq!(sp.correct("zeiterfasssung"), Some("zeiterfassung")); // one doubled: 14 letters
        assert_eq!(sp.correct("zeiterfassungg"), Some("zeiterfassung"));
        assert_eq!(sp.correct("zeiterfasssungg"), None); // 15 letters: two edits
        let huge = "zeiterfassung".repeat(20_000); // 260,000 letters
        let t = std::time::Instant::now();
        assert_eq!(sp.correct(&huge), None);
        assert_eq!(sp.correct_text(&format!("ein {huge} wort")), format!("ein {huge} wort"));
        assert!(t.elapsed() < std::time::Duration::from_secs(2), "{:?}", t.elapsed());
    }

    #[test]
    fn a_huge_word_is_shortened_in_the_reasons() {
        let c = Classifier::embedded();
        let word = "sicherheitsluecke".repeat(10_000);
        let r = c.classify("Fehler", &format!("Hallo,\n{word}\nDanke"));
        for reason in &r.reasons {
            assert!(reason.chars().count() < 2000, "{} characters", reason.chars().count());
        }
    }

    #[test]
    fn lowercases_patterns_but_not_escapes() {
        assert_eq!(lower_pattern(r"SQL\S+\p{Lu}\pL\W"), r"sql\S+\p{Lu}\pL\W");
    }

    #[test]
    fn normalises_umlauts_and_case() {
        assert_eq!(normalize("SICHERHEITSLÜCKE Straße"), "sicherheitsluecke strasse");
    }

    #[test]
    fn strips_quotes_history_and_signature() {
        let t = "Hallo,\n\nder Export geht nicht.\n> alt\n\nViele Grüße\nAnna\n\nAm 01.02.2026 um 10:00 schrieb Support:\n> Passwort";
        assert_eq!(clean_text(t, &cut()), "Hallo,\n\nder Export geht nicht.");
        let t = "Neu.\n\n-----Ursprüngliche Nachricht-----\nVon: x\nSicherheitslücke";
        assert_eq!(clean_text(t, &cut()), "Neu.");
        let t = "New text\n-- \nJohn\nOn Tue, 3 Mar 2026 at 10:00, X <x@y> wrote:\n> old";
        assert_eq!(clean_text(t, &cut()), "New text");
        let t = "Neu\n\nVon: Support <s@x.de>\nGesendet: Montag\nAn: mich\n\nalt";
        assert_eq!(clean_text(t, &cut()), "Neu");
    }

    #[test]
    fn model_spelling_of_umlauts() {
        for w in ["sicherheitsluecke", "sicherheitslucke"] {
            assert_eq!(fold_umlaut_digraphs(w), "sicherheitslucke");
        }
        assert_eq!(fold_umlaut_digraphs("gruesse"), "grusse");
        assert_eq!(fold_umlaut_digraphs("export"), "export");
    }

    #[test]
    fn training_lines_carry_an_optional_weight() {
        let ex = parse_training("# c\nuser_management*2\tS\tT\nusage_question\tS\tT\n").unwrap();
        assert_eq!((ex[0].category, ex[0].weight, ex[1].weight), (Category::UserManagement, 2, 1));
        for bad in ["usage_question*0\ts\tt", "usage_question*x\ts\tt", "usage_question*11\ts\tt"] {
            let e = parse_training(bad).unwrap_err();
            assert!(e.starts_with("line 1: weight"), "{e}");
        }
    }

    #[test]
    fn training_escape_round_trip() {
        let s = "a\tb\nc\\d";
        assert_eq!(unescape(&escape_field(s)), s);
    }
}

pub mod eval;
mod features;
/// FNV-1a and the fingerprint of a configuration and its training data
/// (also compiled into build.rs).
mod fingerprint;
mod model;
mod rules;
mod speller;
mod text;
mod words;

use features::*;
use fingerprint::*;
use model::*;
use speller::*;
use text::*;
pub use text::{escape_field, extract_raw, normalize, parse_training};
