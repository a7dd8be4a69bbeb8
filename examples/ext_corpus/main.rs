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
    own_fixtures(verbose);
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

/// The repository's own [mail-reading] fixtures through the same runner:
/// `fixtures/spam` (spam kept out of tickets, look-alikes "not-spam" kept
/// as tickets) and `fixtures/replies-de` (German client replies, new text
/// equal to NAME.expected.txt).
fn own_fixtures(verbose: bool) {
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let tmp = tempfile::tempdir().unwrap();
    let runner = measure::Runner::new(tmp.path());
    let files = |dir: &str| {
        let mut v: Vec<std::path::PathBuf> = std::fs::read_dir(repo.join(dir))
            .map(|d| d.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "eml")).collect())
            .unwrap_or_default();
        v.sort();
        v
    };
    let (mut spam, mut spam_out, mut alike, mut alike_ticket) = (0, 0, 0, 0);
    let mut misses = Vec::new();
    for f in files("spam") {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let (disposition, reason, ticket, answered, _) = runner.run(&std::fs::read(&f).unwrap());
        if name.contains("not-spam") {
            alike += 1;
            let ok = ticket && disposition == "new_ticket";
            alike_ticket += usize::from(ok);
            if !ok {
                misses.push(format!("- spam/{name}: look-alike got {disposition} ({reason:?})"));
            }
        } else {
            spam += 1;
            let ok = disposition == "spam" && !ticket && !answered;
            spam_out += usize::from(ok);
            if !ok {
                misses.push(format!("- spam/{name}: spam got {disposition} ticket={ticket} answered={answered}"));
            }
        }
    }
    let (mut replies, mut exact) = (0, 0);
    for f in files("replies-de") {
        let want = std::fs::read_to_string(f.with_extension("expected.txt")).unwrap_or_default();
        let (_, _, _, _, text) = runner.run(&std::fs::read(&f).unwrap());
        replies += 1;
        if text.trim() == want.trim() {
            exact += 1;
        } else {
            misses.push(format!("- replies-de/{}: new text {text:?}", f.file_name().unwrap().to_string_lossy()));
        }
    }
    println!("\nown fixtures");
    println!("spam/phishing kept out of tickets (fixtures/spam): {spam_out}/{spam}");
    println!("look-alikes kept as tickets (fixtures/spam *not-spam*): {alike_ticket}/{alike}");
    println!("German client replies, new text exact (fixtures/replies-de): {exact}/{replies}");
    if verbose && !misses.is_empty() {
        println!("{}", misses.join("\n"));
    }
}
