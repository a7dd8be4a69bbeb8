//! Development loop of the classifier (issue #20): 5-fold cross-validation
//! on the corpus and leave-one-writer-out on w1-w4 ONLY (the later writers
//! train but are never measured here, so that they stay an honest test).
//! `cargo run --example triage_dev -- [key=value ...]` sets keys of the
//! embedded config/classifier.toml for the run (e.g. `stems=true`).

use std::path::Path;

use supportd::classify::eval::{LabeledMail, cross_validate, evaluate, load_corpus};
use supportd::classify::{Classifier, EMBEDDED_CONFIG, Example};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cfg = EMBEDDED_CONFIG.to_string();
    for kv in std::env::args().skip(1).filter(|a| a.contains("=") && !a.starts_with("--")) {
        let (k, v) = kv.split_once('=').unwrap();
        let line = cfg.lines().find(|l| l.starts_with(&format!("{k} = "))).map(str::to_string);
        match line {
            Some(l) => cfg = cfg.replace(&l, &format!("{k} = {v}")),
            None => cfg = cfg.replace("[model]\n", &format!("[model]\n{k} = {v}\n")),
        }
    }
    let base = Classifier::from_toml_str(&cfg, "dev.toml").unwrap_or_else(|e| panic!("{e}"));
    let corpus = load_corpus(&root.join("fixtures/corpus")).unwrap();
    let writers = load_corpus(&root.join("fixtures/writers")).unwrap();
    let c: Vec<&LabeledMail> = corpus.iter().collect();
    let r = cross_validate(&base, &c, 5);
    println!("corpus 5-fold: {}", r.summary());
    let mut all = supportd::classify::eval::Report::default();
    for w in ["w1", "w2", "w3", "w4"] {
        let dup: usize =
            std::env::args().find_map(|a| a.strip_prefix("--dup=").map(|n| n.parse().unwrap())).unwrap_or(1);
        let mut train: Vec<Example> = corpus.iter().map(|m| m.example()).collect();
        for _ in 0..dup {
            train.extend(writers.iter().filter(|m| m.split != w).map(|m| m.example()));
        }
        let test: Vec<&LabeledMail> = writers.iter().filter(|m| m.split == w).collect();
        let r = evaluate(&base.with_training(&train), &test);
        println!("  {w}: {}", r.summary());
        all.merge(&r);
    }
    println!("LOWO w1-w4: {}", all.summary());
    if std::env::args().any(|a| a == "--errors") {
        print!("{}", all.render());
        for i in all.errors() {
            println!(
                "  miss {}: expected {}, got {}{}",
                i.file,
                i.expected,
                i.got,
                if i.flag { ", flagged" } else { "" }
            );
        }
    }
}
