//! Regenerate `fixtures/classifier_model.bin` (the model trained on the
//! embedded classifier configuration and training data, used instead of
//! training at start-up): `cargo run --release --example export_model`.
//! Run it after changing `config/classifier.toml` or
//! `fixtures/classifier_training.tsv`; the test `embedded_model_is_fresh`
//! says when.

use std::path::Path;

use supportd::classify::Classifier;

fn main() {
    let c = Classifier::train_embedded();
    let bytes = c.export_model().expect("the embedded configuration enables the model");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/classifier_model.bin");
    std::fs::write(&out, &bytes).expect("write the model file");
    println!("wrote {} bytes to {}", bytes.len(), out.display());
}
