//! Lays out the code that ingesting mail executes together in the release
//! binary (tools/symbol-order.txt, made by tools/make_symbol_order.py): the
//! kernel maps code 64 KB around each page fault, so executed code scattered
//! over the whole text segment kept 8.5 MB of it resident in `ingest`, laid
//! out together about 4.7 MB (peak RSS 35.9 -> 32.0 MB).
//!
//! Only for x86_64 Linux release builds, whose default linker since Rust
//! 1.90 is rust-lld (`--symbol-ordering-file` is lld's); with another linker
//! set, SUPPORTD_NO_SYMBOL_ORDER=1 leaves the layout to it.

// fnv, fingerprint, MODEL_FORMAT: the classifier's own code.
include!("src/classify/fingerprint.rs");

fn main() {
    embedded_model_fingerprint();
    symbol_order();
}

/// The fingerprint of the embedded classifier configuration and training
/// data (src/classify.rs: EMBEDDED_FINGERPRINT).
fn embedded_model_fingerprint() {
    let read = |path: &str| {
        println!("cargo:rerun-if-changed={path}");
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    println!("cargo:rerun-if-changed=src/classify/fingerprint.rs");
    let (config, training) = (read("config/classifier.toml"), read("fixtures/classifier_training.tsv"));
    println!("cargo:rustc-env=SUPPORTD_EMBEDDED_FINGERPRINT={}", fingerprint(&config, &training));
}

fn symbol_order() {
    println!("cargo:rerun-if-changed=tools/symbol-order.txt");
    println!("cargo:rerun-if-env-changed=SUPPORTD_NO_SYMBOL_ORDER");
    let target = std::env::var("TARGET").unwrap_or_default();
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let off = std::env::var_os("SUPPORTD_NO_SYMBOL_ORDER").is_some_and(|v| !v.is_empty() && v != "0");
    let dir = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let order = dir.join("tools/symbol-order.txt");
    if target == "x86_64-unknown-linux-gnu" && release && !off && order.exists() {
        println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}", order.display());
        // Functions renamed since the file was made are not an error.
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
