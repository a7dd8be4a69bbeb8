//! The [mail-reading] issue's measures on the ext corpus, per source and
//! per quote style, through the real pipeline (see `measure.rs`).
//! usage: cargo run --example ext_corpus -- [DIR] [-v]
//! `-v` lists every mail that misses a measure, with its disposition and new text.

mod measure;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "-v");
    let dir = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .map(std::path::PathBuf::from)
        .or_else(measure::corpus_dir)
        .expect("usage: ext_corpus DIR");
    let started = std::time::Instant::now();
    let records = measure::run_corpus(&dir);
    println!(
        "{} mails in {:.1} s (each through process_batch into a fresh store)",
        records.len(),
        started.elapsed().as_secs_f64()
    );
    print!("{}", measure::table("per source (labels.tsv group)", &measure::by(&records, |r| Some(r.group.clone()))));
    print!(
        "{}",
        measure::table(
            "per quote style (reply fixtures with expectations)",
            &measure::by(&records, |r| r.exact.and(r.style.clone()))
        )
    );
    print!("{}", measure::table("per kind", &measure::by(&records, |r| Some(r.kind.clone()))));
    if verbose {
        println!("\nmisses:");
        for r in &records {
            let bounce_miss =
                matches!(r.kind.as_str(), "bounce" | "dsn_delay" | "dsn_success") && r.disposition != "bounce";
            let machine_miss = r.kind != "person" && (r.answered || r.ticket);
            let person_miss = r.kind == "person" && measure::MACHINE_DISPOSITIONS.contains(&r.disposition.as_str());
            let quote_miss = r.exact == Some(false);
            if bounce_miss || machine_miss || person_miss || quote_miss {
                println!(
                    "- {} [{} {}] -> {} ticket={} answered={} reason={:?}{}",
                    r.file,
                    r.kind,
                    r.family,
                    r.disposition,
                    r.ticket,
                    r.answered,
                    r.reason,
                    if quote_miss {
                        format!(" cut={:?} leaked={:?}\n    new text: {:?}", r.cut, r.leaked, r.new_text)
                    } else {
                        String::new()
                    }
                );
            }
        }
    }
}
