//! Evaluation helpers shared by `examples/classify_eval.rs` and
//! `tests/classifier.rs`: load the labeled corpus, k-fold cross-validation of
//! the learned part, holdout evaluation, confusion matrix.

use std::path::Path;

use super::{Classifier, Example, Floors, extract_raw};
use crate::domain::Category;

/// One labeled mail of `fixtures/corpus`.
#[derive(Debug, Clone)]
pub struct LabeledMail {
    /// Path relative to the corpus directory, e.g. `dev/001.eml`.
    pub file: String,
    /// `dev` or `holdout` (the directory).
    pub split: String,
    pub category: Category,
    pub lang: String,
    pub note: String,
    pub subject: String,
    pub text: String,
}

impl LabeledMail {
    /// The mail as a training example; an independent writer's (split
    /// `w1`, `w2`, ...) counts [`WRITER_WEIGHT`] times.
    pub fn example(&self) -> Example {
        let writer = self.split.starts_with('w') && self.split[1..].chars().all(|c| c.is_ascii_digit());
        Example {
            category: self.category,
            subject: self.subject.clone(),
            text: self.text.clone(),
            weight: if writer { WRITER_WEIGHT } else { 1 },
        }
    }
}

/// How many times an independent writer's mail counts in training: their
/// text is the strangers' voice the classifier must hold on; the corpus is
/// the project's own (chosen on the corpus and w1-w4 by examples/triage_dev).
pub const WRITER_WEIGHT: u32 = 2;

/// Load `labels.tsv` and parse every mail it names.
pub fn load_corpus(dir: &Path) -> Result<Vec<LabeledMail>, String> {
    let labels = dir.join("labels.tsv");
    let data = std::fs::read_to_string(&labels).map_err(|e| format!("{}: {e}", labels.display()))?;
    let mut out = Vec::new();
    for (n, line) in data.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 3 {
            return Err(format!("{}:{}: expected file, category, lang, note", labels.display(), n + 1));
        }
        let category = Category::parse(cols[1])
            .ok_or_else(|| format!("{}:{}: unknown category '{}'", labels.display(), n + 1, cols[1]))?;
        let path = dir.join(cols[0]);
        let raw = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let (subject, text) = extract_raw(&raw).ok_or_else(|| format!("{}: not a parseable mail", path.display()))?;
        out.push(LabeledMail {
            file: cols[0].to_string(),
            split: cols[0].split('/').next().unwrap_or("").to_string(),
            category,
            lang: cols[2].to_string(),
            note: cols.get(3).unwrap_or(&"").to_string(),
            subject,
            text,
        });
    }
    Ok(out)
}

/// One classified mail of an evaluation.
#[derive(Debug, Clone)]
pub struct Item {
    pub file: String,
    pub expected: Category,
    pub got: Category,
    pub confidence: f64,
    pub low_confidence: bool,
    /// The security flag was raised.
    pub flag: bool,
}

/// Outcome of an evaluation.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// `confusion[expected][predicted]`
    pub confusion: [[usize; 5]; 5],
    pub low_confidence: usize,
    /// Every classified file, in the order classified.
    pub items: Vec<Item>,
}

fn ix(c: Category) -> usize {
    Category::ALL.iter().position(|x| *x == c).unwrap_or(0)
}

fn pct(a: usize, b: usize) -> f64 {
    100.0 * a as f64 / b.max(1) as f64
}

impl Report {
    pub fn total(&self) -> usize {
        self.confusion.iter().flatten().sum()
    }
    pub fn correct(&self) -> usize {
        (0..5).map(|i| self.confusion[i][i]).sum()
    }
    pub fn accuracy(&self) -> f64 {
        self.correct() as f64 / self.total().max(1) as f64
    }
    /// The misclassified mails.
    pub fn errors(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.got != i.expected)
    }
    /// Share of mails of category `c` classified as `c` (recall).
    pub fn recall(&self, c: Category) -> f64 {
        let i = ix(c);
        let n: usize = self.confusion[i].iter().sum();
        self.confusion[i][i] as f64 / n.max(1) as f64
    }
    /// Share of security reports whose category is security_error.
    pub fn security_recall(&self) -> f64 {
        self.recall(Category::SecurityError)
    }
    /// Share of mails categorised as security that are security (precision
    /// of the category).
    pub fn security_precision(&self) -> f64 {
        let i = ix(Category::SecurityError);
        let n: usize = (0..5).map(|e| self.confusion[e][i]).sum();
        self.confusion[i][i] as f64 / n.max(1) as f64
    }
    /// (security reports flagged, security reports).
    pub fn flag_hits(&self) -> (usize, usize) {
        let sec = self.items.iter().filter(|i| i.expected == Category::SecurityError);
        (sec.clone().filter(|i| i.flag).count(), sec.count())
    }
    /// Share of security reports that raised the security flag.
    pub fn flag_recall(&self) -> f64 {
        let (a, b) = self.flag_hits();
        a as f64 / b.max(1) as f64
    }
    /// (other mails flagged, other mails): false alarms.
    pub fn false_flags(&self) -> (usize, usize) {
        let other = self.items.iter().filter(|i| i.expected != Category::SecurityError);
        (other.clone().filter(|i| i.flag).count(), other.count())
    }
    /// Count one classified mail.
    pub fn record(&mut self, file: &str, expected: Category, got: &super::Classification) {
        self.push(Item {
            file: file.to_string(),
            expected,
            got: got.category,
            confidence: got.confidence,
            low_confidence: got.low_confidence,
            flag: got.security_flag,
        });
    }
    fn push(&mut self, item: Item) {
        self.confusion[ix(item.expected)][ix(item.got)] += 1;
        if item.low_confidence {
            self.low_confidence += 1;
        }
        self.items.push(item);
    }
    /// The part of the report about the files `keep` accepts.
    pub fn subset(&self, keep: impl Fn(&str) -> bool) -> Report {
        let mut r = Report::default();
        for i in self.items.iter().filter(|i| keep(&i.file)) {
            r.push(i.clone());
        }
        r
    }
    pub fn merge(&mut self, other: &Report) {
        for i in other.items.iter() {
            self.push(i.clone());
        }
    }

    /// One line: accuracy, flag recall, security precision, false alarms.
    pub fn summary(&self) -> String {
        let (fh, fs) = self.flag_hits();
        let (ff, fo) = self.false_flags();
        let i = ix(Category::SecurityError);
        let called: usize = (0..5).map(|e| self.confusion[e][i]).sum();
        format!(
            "accuracy {:.1} % ({}/{}), security flag recall {:.1} % ({fh}/{fs}), security precision {:.1} % ({}/{called}), false flags {ff}/{fo}",
            100.0 * self.accuracy(),
            self.correct(),
            self.total(),
            pct(fh, fs),
            100.0 * self.security_precision(),
            self.confusion[i][i],
        )
    }

    /// Accuracy, flag recall, security precision, recall per category and
    /// the confusion matrix as text.
    pub fn render(&self) -> String {
        let short = ["func", "secu", "usage", "users", "change"];
        let mut s = format!("  {}, low-confidence flagged {}\n", self.summary(), self.low_confidence);
        s.push_str("  per category (recall / precision):\n");
        for c in Category::ALL {
            let i = ix(*c);
            let n: usize = self.confusion[i].iter().sum();
            let called: usize = (0..5).map(|e| self.confusion[e][i]).sum();
            s.push_str(&format!(
                "    {:<18} {:5.1} % ({}/{})   {:5.1} % ({}/{})\n",
                c.as_str(),
                pct(self.confusion[i][i], n),
                self.confusion[i][i],
                n,
                pct(self.confusion[i][i], called),
                self.confusion[i][i],
                called
            ));
        }
        s.push_str("  confusion matrix (rows = expected, columns = predicted):\n");
        s.push_str(&format!("    {:<18}", ""));
        for h in short {
            s.push_str(&format!("{h:>7}"));
        }
        s.push('\n');
        for (i, c) in Category::ALL.iter().enumerate() {
            s.push_str(&format!("    {:<18}", c.as_str()));
            for j in 0..5 {
                s.push_str(&format!("{:>7}", self.confusion[i][j]));
            }
            s.push('\n');
        }
        s
    }
}

/// Classify `mails` with `c` (no training involved).
pub fn evaluate(c: &Classifier, mails: &[&LabeledMail]) -> Report {
    let mut r = Report::default();
    for m in mails {
        r.record(&m.file, m.category, &c.classify(&m.subject, &m.text));
    }
    r
}

/// Stratified fold numbers: mails of each category dealt round-robin.
fn folds(mails: &[&LabeledMail], k: usize) -> Vec<usize> {
    let mut fold_of = vec![0usize; mails.len()];
    for c in Category::ALL {
        let mut n = 0;
        for (i, m) in mails.iter().enumerate() {
            if m.category == *c {
                fold_of[i] = n % k;
                n += 1;
            }
        }
    }
    fold_of
}

/// Relative cost of a missed security report (no flag) against a false
/// alarm, used to pick the flag floor.
pub const SECURITY_MISS_COST: f64 = 10.0;

/// Pick the security flag floor for mails without a security rule hit from
/// out-of-fold scores: the floor with the lowest cost (a security report
/// without the flag counts SECURITY_MISS_COST, a flag on another mail 1);
/// among equal costs the lowest. The floor for mails WITH a security rule
/// hit is policy, not tuned: `rule_hit` (the configured value).
pub fn pick_floors(oof: &[(Category, super::Scores)], rule_hit: f64) -> Floors {
    let mut best = (f64::INFINITY, 0.5);
    for i in 2..=50 {
        let floors = Floors { plain: i as f64 / 100.0, rule_hit };
        let cost: f64 = oof
            .iter()
            .filter(|(_, s)| !s.security_rule_hit && !s.forced)
            .map(|(want, s)| match (*want == Category::SecurityError, s.flagged(floors)) {
                (true, false) => SECURITY_MISS_COST,
                (false, true) => 1.0,
                _ => 0.0,
            })
            .sum();
        if cost < best.0 {
            best = (cost, floors.plain);
        }
    }
    Floors { plain: best.1, rule_hit }
}

/// Out-of-fold scores of `mails` (k-fold, each mail scored by a model that
/// did not train on it).
pub fn out_of_fold_scores(base: &Classifier, mails: &[&LabeledMail], k: usize) -> Vec<(Category, super::Scores)> {
    let fold_of = folds(mails, k);
    let mut out: Vec<Option<(Category, super::Scores)>> = vec![None; mails.len()];
    for f in 0..k {
        let train: Vec<Example> =
            mails.iter().zip(&fold_of).filter(|(_, x)| **x != f).map(|(m, _)| m.example()).collect();
        let c = base.with_training(&train);
        for (i, m) in mails.iter().enumerate() {
            if fold_of[i] == f {
                out[i] = Some((m.category, c.scores(&m.subject, &m.text)));
            }
        }
    }
    out.into_iter().map(|x| x.expect("every mail in one fold")).collect()
}

/// The security floors tuned by k-fold cross-validation on `mails`.
pub fn tune_security_floors(base: &Classifier, mails: &[&LabeledMail], k: usize) -> Floors {
    pick_floors(&out_of_fold_scores(base, mails, k), base.security_floors().rule_hit)
}

/// Cross-validation of the whole pipeline with the security floor tuned
/// INSIDE each fold (nested: an inner `k_inner`-fold cross-validation on the
/// training folds picks the floor, the test fold never takes part). Returns
/// the report and the floor of each fold.
pub fn cross_validate_nested(
    base: &Classifier,
    mails: &[&LabeledMail],
    k: usize,
    k_inner: usize,
) -> (Report, Vec<Floors>) {
    let fold_of = folds(mails, k);
    let mut total = Report::default();
    let mut floors = Vec::new();
    for f in 0..k {
        let train_m: Vec<&LabeledMail> =
            mails.iter().zip(&fold_of).filter(|(_, x)| **x != f).map(|(m, _)| *m).collect();
        let test: Vec<&LabeledMail> = mails.iter().zip(&fold_of).filter(|(_, x)| **x == f).map(|(m, _)| *m).collect();
        let floor = tune_security_floors(base, &train_m, k_inner);
        floors.push(floor);
        let ex: Vec<Example> = train_m.iter().map(|m| m.example()).collect();
        let c = base.with_training(&ex).with_security_floors(floor);
        total.merge(&evaluate(&c, &test));
    }
    (total, floors)
}

/// Stratified k-fold cross-validation of the learned part: for each fold the
/// model is trained on the other folds only (rules and settings from `base`).
pub fn cross_validate(base: &Classifier, mails: &[&LabeledMail], k: usize) -> Report {
    let fold_of = folds(mails, k);
    let mut total = Report::default();
    for f in 0..k {
        let train: Vec<Example> =
            mails.iter().zip(&fold_of).filter(|(_, x)| **x != f).map(|(m, _)| m.example()).collect();
        let test: Vec<&LabeledMail> = mails.iter().zip(&fold_of).filter(|(_, x)| **x == f).map(|(m, _)| *m).collect();
        let c = base.with_training(&train);
        total.merge(&evaluate(&c, &test));
    }
    total
}

/// The temperature that calibrates the probabilities: the one (0.5 to 5 in
/// steps of 0.05) with the least negative log-likelihood of the true
/// category on out-of-fold scores.
pub fn fit_temperature(oof: &[(Category, super::Scores)]) -> f64 {
    let nll = |t: f64| -> f64 {
        oof.iter()
            .map(|(want, s)| {
                let z: Vec<f64> = s.z.iter().map(|v| v / t).collect();
                let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = z.iter().map(|v| (v - max).exp()).sum();
                -(z[ix(*want)] - max - sum.ln())
            })
            .sum()
    };
    (10..=100).map(|i| i as f64 * 0.05).min_by(|a, b| nll(*a).total_cmp(&nll(*b))).unwrap_or(1.0)
}

/// How the flag floor of a leave-one-writer-out fold is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloorTuning {
    /// The configured floors.
    Configured,
    /// Tuned on out-of-fold scores of a k-fold cross-validation of the
    /// fold's training mails.
    KFold(usize),
    /// Tuned on the fold's OTHER writers, each scored by a model trained
    /// without it (and without the held-out writer): strangers' scores.
    OtherWriters,
}

/// Out-of-fold scores of the writers of `writers`, each writer scored by a
/// model trained on `corpus` and the other writers.
pub fn writer_oof_scores(
    base: &Classifier,
    corpus: &[&LabeledMail],
    writers: &[&LabeledMail],
) -> Vec<(Category, super::Scores)> {
    let mut names: Vec<&str> = writers.iter().map(|m| m.split.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let mut out = Vec::new();
    for w in names {
        let ex: Vec<Example> =
            corpus.iter().chain(writers.iter().filter(|m| m.split != w)).map(|m| m.example()).collect();
        let c = base.with_training(&ex);
        out.extend(writers.iter().filter(|m| m.split == w).map(|m| (m.category, c.scores(&m.subject, &m.text))));
    }
    out
}

/// Leave-one-writer-out: for each writer (the `split` of `writers`), train on
/// `corpus` and all OTHER writers and classify the held-out writer's mails.
/// `tuning`: how the flag floor of each fold is chosen (the held-out writer
/// never takes part).
/// Returns the report over all held-out mails and one per writer with the
/// floors used.
pub fn leave_one_writer_out(
    base: &Classifier,
    corpus: &[&LabeledMail],
    writers: &[&LabeledMail],
    tuning: FloorTuning,
) -> (Report, Vec<(String, Report, Floors)>) {
    let mut names: Vec<&str> = writers.iter().map(|m| m.split.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let mut total = Report::default();
    let mut per = Vec::new();
    for w in names {
        let train: Vec<&LabeledMail> = corpus.iter().chain(writers.iter().filter(|m| m.split != w)).copied().collect();
        let test: Vec<&LabeledMail> = writers.iter().filter(|m| m.split == w).copied().collect();
        let ex: Vec<Example> = train.iter().map(|m| m.example()).collect();
        let mut c = base.with_training(&ex);
        let rule_hit = base.security_floors().rule_hit;
        match tuning {
            FloorTuning::Configured => {}
            FloorTuning::KFold(k) => c = c.with_security_floors(tune_security_floors(base, &train, k)),
            FloorTuning::OtherWriters => {
                let others: Vec<&LabeledMail> = writers.iter().filter(|m| m.split != w).copied().collect();
                let oof = writer_oof_scores(base, corpus, &others);
                c = c.with_security_floors(pick_floors(&oof, rule_hit));
            }
        }
        let r = evaluate(&c, &test);
        total.merge(&r);
        per.push((w.to_string(), r, c.security_floors()));
    }
    (total, per)
}

/// Train the model on `train` only and evaluate on `test`.
pub fn holdout(base: &Classifier, train: &[&LabeledMail], test: &[&LabeledMail]) -> Report {
    let ex: Vec<Example> = train.iter().map(|m| m.example()).collect();
    evaluate(&base.with_training(&ex), test)
}

/// The training file content for `mails` (what `export_training` writes and
/// the test compares against the committed file): the corpus and the
/// independent writers, a writer's mail marked `category*WRITER_WEIGHT`.
pub fn training_tsv(mails: &[&LabeledMail]) -> String {
    let mut s = String::from(
        "# Generated from fixtures/corpus and fixtures/writers by `cargo run --example export_training`; do not edit.\n# category[*weight]<TAB>subject<TAB>text (\\n, \\t, \\\\ escaped)\n",
    );
    for m in mails {
        let ex = m.example();
        let weight = if ex.weight > 1 { format!("*{}", ex.weight) } else { String::new() };
        s.push_str(&format!(
            "{}{weight}\t{}\t{}\n",
            m.category.as_str(),
            super::escape_field(&m.subject),
            super::escape_field(&m.text)
        ));
    }
    s
}
