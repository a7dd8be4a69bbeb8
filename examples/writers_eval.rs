//! The shipped classifier on the independent writers' mails of
//! `fixtures/writers/` (160 mails by four writers who saw only the support
//! concept and a persona, never the corpus, the rules or the code): accuracy,
//! security recall and precision, per writer and in total, with the
//! confusion matrix. None of these mails is used for training or tuning.
//!
//! `cargo run --release --example writers_eval [-- DIR]`

use std::path::PathBuf;

use supportd::classify::Classifier;
use supportd::classify::eval::{evaluate, load_corpus};

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/writers"));
    let mails = load_corpus(&dir).unwrap_or_else(|e| panic!("{e}"));
    let all: Vec<_> = mails.iter().collect();
    let c = Classifier::embedded();
    let report = evaluate(&c, &all);
    let mut writers: Vec<&str> = mails.iter().map(|m| m.split.as_str()).collect();
    writers.sort();
    writers.dedup();
    for w in &writers {
        let r = report.subset(|f| f.starts_with(&format!("{w}/")));
        println!(
            "{w}: {} mails, accuracy {:.1} %, security recall {:.1} %, security precision {:.1} %",
            r.total(),
            100.0 * r.accuracy(),
            100.0 * r.security_recall(),
            100.0 * r.security_precision()
        );
    }
    println!("all {} writers:\n{}", writers.len(), report.render());
}
