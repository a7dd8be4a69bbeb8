//! Leave-one-writer-out on the independent writers' mails of
//! `fixtures/writers/` (writers who saw only the support concept, a persona
//! and a customer type, never the corpus, the rules or the code): each
//! writer's mails are classified by a model trained on `fixtures/corpus` and
//! all OTHER writers. Prints accuracy, security flag recall, security
//! precision per writer, the mean and the worst writer, and the confusion
//! matrix; the writers the classifier's design was chosen on (w1-w4) and
//! the ones written later (w5 on; only the flag floor was set after seeing
//! the probabilities of w8's unflagged reports) separately.
//!
//! `cargo run --release --example writers_eval [-- --tuned] [-- --errors]`
//! (`--tuned`: the flag floor tuned inside each fold on the other writers,
//! as in classify_eval;
//! otherwise the configured floors.)

use std::path::Path;

use supportd::classify::Classifier;
use supportd::classify::eval::{FloorTuning, LabeledMail, leave_one_writer_out, load_corpus};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let load = |d: &str| load_corpus(&root.join(d)).unwrap_or_else(|e| panic!("{e}"));
    let corpus = load("fixtures/corpus");
    let writers = load("fixtures/writers");
    let c: Vec<&LabeledMail> = corpus.iter().collect();
    let w: Vec<&LabeledMail> = writers.iter().collect();
    let base = Classifier::embedded();
    let tune = if args.iter().any(|a| a == "--tuned") { FloorTuning::OtherWriters } else { FloorTuning::Configured };
    let (r, per) = leave_one_writer_out(&base, &c, &w, tune);
    for (name, r, f) in &per {
        println!("{name}: {} (flag floor {:.2})", r.summary(), f.plain);
    }
    let accs: Vec<f64> = per.iter().map(|(_, r, _)| r.accuracy()).collect();
    let mean = accs.iter().sum::<f64>() / accs.len().max(1) as f64;
    let worst = accs.iter().cloned().fold(1.0, f64::min);
    println!(
        "\nleave-one-writer-out, {} writers, {} mails (+ {} corpus mails in training): mean {:.1} %, worst {:.1} %",
        per.len(),
        writers.len(),
        corpus.len(),
        100.0 * mean,
        100.0 * worst
    );
    let early = |f: &str| ["w1/", "w2/", "w3/", "w4/"].iter().any(|p| f.starts_with(p));
    println!("  w1-w4 (design chosen on these): {}", r.subset(early).summary());
    println!("  w5 on (not used for the design): {}", r.subset(|f| !early(f)).summary());
    print!("{}", r.render());
    if args.iter().any(|a| a == "--errors") {
        for i in r.errors() {
            println!(
                "  miss {}: expected {}, got {}{}",
                i.file,
                i.expected,
                i.got,
                if i.flag { ", flagged" } else { "" }
            );
        }
        for i in r.items.iter().filter(|i| i.expected == supportd::domain::Category::SecurityError && !i.flag) {
            println!("  security report without the flag: {}", i.file);
        }
    }
}
