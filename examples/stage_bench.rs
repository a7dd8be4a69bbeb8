//! Where the time of one mail goes: each pure stage timed over a directory
//! of mails (e.g. from tools/gen_bench_mails.py), then the whole `process`.
//! usage: cargo run --release --example stage_bench -- DIR

use std::time::Instant;

use supportd::config::Config;

fn main() {
    let dir = std::env::args().nth(1).expect("usage: stage_bench DIR");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let raws: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let tmp = tempfile::tempdir().unwrap();
    let cfg_text = std::fs::read_to_string("config/supportd.toml").unwrap();
    let cfg = Config::from_str(&cfg_text, "bench.toml", &tmp.path().join("config")).unwrap();
    let t = Instant::now();
    let store = supportd::store::Store::open(&cfg.store_path).unwrap();
    let p = supportd::pipeline::Pipeline::new(cfg.clone(), store.conn()).unwrap();
    println!("start-up (open store, load classifier and templates): {:?}", t.elapsed());
    let n = raws.len() as f64;
    let per = |name: &str, t: Instant| println!("{name:<12} {:>8.1} µs/mail", t.elapsed().as_secs_f64() * 1e6 / n);

    let t = Instant::now();
    let mails: Vec<_> = raws.iter().map(|r| supportd::parse::parse(r, &cfg.limits).unwrap()).collect();
    per("parse", t);
    let t = Instant::now();
    let texts: Vec<String> = mails.iter().map(|m| supportd::text::new_text(&m.body_text)).collect();
    per("new_text", t);
    let t = Instant::now();
    for m in &mails {
        std::hint::black_box(supportd::hygiene::check(m, &cfg.support_address));
    }
    per("hygiene", t);
    let t = Instant::now();
    for (m, text) in mails.iter().zip(&texts) {
        std::hint::black_box(p.classifier().classify(&m.subject, text));
    }
    per("classify", t);
    let t = Instant::now();
    for _ in 0..raws.len() {
        std::hint::black_box(
            p.templates.render("ack", "de", &serde_json::json!({"tag": "MT-000001", "subject": "x"})).unwrap(),
        );
    }
    per("render", t);
    let mut store = store;
    let batch: Vec<(String, Vec<u8>)> =
        raws.iter().enumerate().map(|(i, r)| (format!("bench:{i}"), r.clone())).collect();
    let t = Instant::now();
    for chunk in batch.chunks(200) {
        supportd::pipeline::process_batch(&p, &mut store, chunk, chrono::Utc::now()).unwrap();
    }
    per("process", t);
}
