//! The whole pipeline on raw bytes: parse, hygiene, threading, classification,
//! commands, decisions and the writes. Any input must become exactly one
//! stored message (possibly quarantined), never a panic.
#![no_main]

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use supportd::config::Config;
use supportd::pipeline::{Pipeline, process_batch};
use supportd::store::Store;

struct Env {
    _dir: tempfile::TempDir,
    store: Store,
    p: Pipeline,
}

fn env() -> &'static Mutex<Env> {
    static ENV: OnceLock<Mutex<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        // libfuzzer-sys aborts on every panic, even one that supportd's own
        // catch_unwind around the parser turns into a quarantine (the
        // designed behaviour). A quiet hook keeps those from counting as
        // crashes; a panic that escapes `process_batch` still reaches
        // libfuzzer-sys's catch_unwind, which aborts.
        std::panic::set_hook(Box::new(|_| {}));
        let dir = tempfile::tempdir().unwrap();
        let cfg = Config::from_str(supportd::config::EMBEDDED_DEFAULT, "fuzz.toml", &dir.path().join("config")).unwrap();
        let store = Store::open(&cfg.store_path).unwrap();
        let p = Pipeline::new(cfg, store.conn()).unwrap();
        Mutex::new(Env { _dir: dir, store, p })
    })
}

fuzz_target!(|data: &[u8]| {
    let mut e = env().lock().unwrap();
    let e = &mut *e;
    let before: i64 = e.store.conn().query_row("SELECT count(*) FROM messages", [], |r| r.get(0)).unwrap();
    let out = process_batch(&e.p, &mut e.store, &[("fuzz".to_string(), data.to_vec())], chrono::Utc::now()).unwrap();
    assert_eq!(out.len(), 1);
    let after: i64 = e.store.conn().query_row("SELECT count(*) FROM messages", [], |r| r.get(0)).unwrap();
    assert_eq!(after, before + 1, "exactly one stored message per input");
});
