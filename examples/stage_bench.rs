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
    let per = |name: &str, t: Instant| println!("{name:<28} {:>8.1} µs/mail", t.elapsed().as_secs_f64() * 1e6 / n);

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
    // The store's write stages (done by the writer or the prepare thread).
    let t = Instant::now();
    for r in &raws {
        std::hint::black_box(supportd::parse::sha256_hex(r));
    }
    per("sha256 raw", t);
    let t = Instant::now();
    for r in &raws {
        std::hint::black_box(zstd::bulk::compress(r, 3).unwrap());
    }
    per("zstd, new context per mail", t);
    let t = Instant::now();
    let mut z = zstd::bulk::Compressor::new(3).unwrap();
    for r in &raws {
        std::hint::black_box(z.compress(r).unwrap());
    }
    per("zstd, one context", t);
    let t = Instant::now();
    for m in &mails {
        for a in &m.attachments {
            std::hint::black_box(supportd::store::compact::zstd_blob(&a.data).unwrap());
        }
    }
    per("pack attachments", t);
    let t = Instant::now();
    for (m, r) in mails.iter().zip(&raws) {
        let parts: Vec<supportd::store::compact::Part> = m
            .attachments
            .iter()
            .filter_map(|a| {
                a.encoded.clone().map(|range| supportd::store::compact::Part {
                    range,
                    sha256: &a.sha256,
                    data: &a.data,
                })
            })
            .collect();
        std::hint::black_box(supportd::store::compact::skeleton(r, &parts).unwrap());
    }
    per("skeleton", t);
    let t = Instant::now();
    for (m, r) in mails.iter().zip(&raws) {
        std::hint::black_box(supportd::store::compact::pack_mail(r, &m.attachments).unwrap());
    }
    per("pack_mail (all of it)", t);
    drop(mails);
    let mut store = store;
    let batch: Vec<(String, Vec<u8>)> =
        raws.iter().enumerate().map(|(i, r)| (format!("bench:{i}"), r.clone())).collect();
    let t = Instant::now();
    for chunk in batch.chunks(200) {
        supportd::pipeline::process_batch(&p, &mut store, chunk, chrono::Utc::now()).unwrap();
    }
    per("process", t);
}
