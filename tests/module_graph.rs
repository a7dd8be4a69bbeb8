//! The shape of `src/`: the `crate::` import graph of its modules has no
//! cycle, the pure modules (the mail decision, the words) import no store,
//! IO or clock, and no file is longer than 1,600 lines (issue #16).
//!
//! The graph is read from the source text: every `crate::name` outside a
//! comment is an edge from the file's top-level module (`src/pipeline/…` is
//! `pipeline`) to `name`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 1600;

/// Files allowed above [`MAX_LINES`] for now, with the reason.
/// (None: `src/classify.rs` is 1,080 lines since the [triage] split.)
const TOO_LONG_FOR_NOW: &[&str] = &[];

/// The pure modules (files, or directories of files) and what none of
/// their files may name: the store, the mailbox and transport edges, the
/// daemon, the outbox queueing, the file system, the network, the database
/// and the clock.
const PURE: &[&str] = &["src/pipeline/decide.rs", "src/pipeline/decide", "src/words.rs"];
const IMPURE: &[&str] = &[
    "crate::store",
    "crate::imap",
    "crate::smtp",
    "crate::transport",
    "crate::daemon",
    "crate::source",
    "crate::outbox",
    "crate::journal",
    "crate::inflight",
    "crate::status",
    "crate::metrics",
    "queue_mail",
    "queue_mail_parts",
    "crate::cli",
    "std::fs",
    "std::net",
    "std::process",
    "tokio",
    "rusqlite",
    "Utc::now",
    "Local::now",
    "SystemTime::now",
    "Instant::now",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The text of a source file without its comments (line comments and
/// `/* */` blocks; a `//` inside a string cuts the rest of that line, which
/// can only hide an import, never invent one).
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_block = false;
    for line in text.lines() {
        let mut rest = line;
        loop {
            if in_block {
                match rest.find("*/") {
                    Some(i) => {
                        rest = &rest[i + 2..];
                        in_block = false;
                    }
                    None => break,
                }
            } else {
                let block = rest.find("/*");
                let line_c = rest.find("//");
                match (block, line_c) {
                    (Some(b), l) if l.is_none_or(|l| b < l) => {
                        out.push_str(&rest[..b]);
                        rest = &rest[b + 2..];
                        in_block = true;
                    }
                    (_, Some(l)) => {
                        out.push_str(&rest[..l]);
                        break;
                    }
                    _ => {
                        out.push_str(rest);
                        break;
                    }
                }
            }
        }
        out.push('\n');
    }
    out
}

/// `src/pipeline/apply/agent.rs` -> `pipeline`; `src/lib.rs` -> `lib`.
fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().to_string();
    first.trim_end_matches(".rs").to_string()
}

/// Every `crate::name` in the code.
fn crate_refs(code: &str) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `supportd_crate::` and the like
        }
        let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !name.is_empty() {
            refs.insert(name);
        }
    }
    refs
}

/// The module graph of `src/`: top-level module -> the modules it names.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| top_module(src, f)).collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let m = top_module(src, f);
        let code = code_of(&std::fs::read_to_string(f).unwrap());
        let deps = g.entry(m.clone()).or_default();
        for r in crate_refs(&code) {
            if r != m && modules.contains(&r) {
                deps.insert(r);
            }
        }
    }
    g
}

/// The cycles of a graph: each strongly connected component of more than
/// one module (Tarjan), as a sorted list.
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let i = t.index.len();
        t.index.insert(v, i);
        t.low.insert(v, i);
        t.stack.push(v);
        t.on.insert(v);
        let g = t.g;
        for w in g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = t.stack.pop().unwrap();
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t =
        T { g, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), on: BTreeSet::new(), out: Vec::new() };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn the_module_graph_of_src_has_no_cycle() {
    let g = graph(&src());
    assert!(g.len() > 20, "the graph was read: {} modules", g.len());
    assert!(g["pipeline"].contains("store"), "edges were read: pipeline -> store");
    let found = cycles(&g);
    assert!(
        found.is_empty(),
        "import cycles among the modules of src/ (each list imports itself through the others): {found:?}"
    );
    // The cycles issue #16 broke stay broken.
    for (from, to) in [("pipeline", "reports"), ("inflight", "pipeline"), ("store", "inflight")] {
        assert!(!g[from].contains(to), "{from} imports {to} again");
    }
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let g: BTreeMap<String, BTreeSet<String>> =
        [("a", vec!["b"]), ("b", vec!["c"]), ("c", vec!["a", "d"]), ("d", vec![]), ("e", vec!["e", "d"])]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
            .collect();
    assert_eq!(cycles(&g), vec![vec!["a".to_string(), "b".into(), "c".into()]]);
    let code = code_of("use crate::store; // crate::daemon\n/* crate::imap */ let x = crate::text::f();");
    assert_eq!(crate_refs(&code), ["store", "text"].into_iter().map(String::from).collect());
}

#[test]
fn the_pure_modules_import_no_store_io_or_clock() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for p in PURE {
        let path = root.join(p);
        let mut files = Vec::new();
        if path.is_dir() {
            rust_files(&path, &mut files);
        } else if path.exists() {
            files.push(path);
        }
        for f in files {
            let code = code_of(&std::fs::read_to_string(&f).unwrap());
            for bad in IMPURE {
                let hit = code.match_indices(bad).any(|(i, _)| {
                    let before = code[..i].chars().next_back();
                    let after = code[i + bad.len()..].chars().next();
                    !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                        && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                assert!(!hit, "{} is pure but names {bad}", f.display());
            }
            checked += 1;
        }
    }
    assert!(checked >= 2, "the pure modules exist ({checked} files checked)");
}

#[test]
fn no_file_in_src_is_longer_than_1600_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut long = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(root).unwrap().to_string_lossy().to_string();
        let n = std::fs::read_to_string(f).unwrap().lines().count();
        if n > MAX_LINES && !TOO_LONG_FOR_NOW.contains(&rel.as_str()) {
            long.push(format!("{rel}: {n} lines"));
        }
    }
    assert!(long.is_empty(), "files above {MAX_LINES} lines: {long:?}");
}
