//! Mail sources at the edge: a Maildir (`new/` -> processed -> `cur/`), single
//! `.eml` files, directories of them, and stdin.
//!
//! Invariant: a Maildir file is moved to `cur/` only after the transaction
//! holding its row committed.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// One mail read from a source, with what is needed to acknowledge it.
#[derive(Debug)]
pub struct Item {
    /// Shown in logs and stored with the message (`maildir:…`, `file:…`, `stdin`).
    pub source: String,
    pub raw: Vec<u8>,
    /// A Maildir `new/` file to move to `cur/` after the commit.
    pub maildir_file: Option<PathBuf>,
}

/// Whether `dir` looks like a Maildir.
pub fn is_maildir(dir: &Path) -> bool {
    dir.join("new").is_dir() && dir.join("cur").is_dir()
}

/// Create `new/`, `cur/`, `tmp/` if missing.
pub fn ensure_maildir(dir: &Path) -> Result<()> {
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(dir.join(sub)).with_context(|| format!("creating {}", dir.join(sub).display()))?;
    }
    Ok(())
}

/// The oldest `limit` files in a Maildir's `new/`, oldest name first
/// (Maildir names start with the delivery time). Called once per batch, so
/// a backlog is listed many times: the directory entries' own type is
/// used (no `stat` per file, which took most of the time with 50,000 files
/// waiting), and only the oldest `limit` are sorted.
pub fn maildir_pending(dir: &Path, limit: usize) -> Result<Vec<PathBuf>> {
    let new = dir.join("new");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&new)
        .with_context(|| format!("reading {}", new.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| {
            !e.file_name().to_string_lossy().starts_with('.')
                && match e.file_type() {
                    Ok(t) if t.is_symlink() => e.path().is_file(),
                    Ok(t) => t.is_file(),
                    Err(_) => false,
                }
        })
        .map(|e| e.path())
        .collect();
    if limit < files.len() {
        files.select_nth_unstable(limit);
        files.truncate(limit);
    }
    files.sort();
    Ok(files)
}

/// Read Maildir files into items, in order, while they stay within
/// `max_bytes` (by their size on disk; the first is read whatever its
/// size): the rest stays in `new/` for the next batch.
pub fn read_maildir_items(files: &[PathBuf], max_bytes: u64) -> Vec<Item> {
    let mut total = 0u64;
    let mut out = Vec::new();
    for p in files {
        let size = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        total = total.saturating_add(size);
        if !out.is_empty() && total > max_bytes {
            break;
        }
        match std::fs::read(p) {
            Ok(raw) => out.push(Item {
                source: format!("maildir:{}", p.file_name().unwrap_or_default().to_string_lossy()),
                raw,
                maildir_file: Some(p.clone()),
            }),
            // Vanished (another reader) or unreadable: leave it for the next pass.
            Err(e) => tracing::warn!("cannot read {}: {e}", p.display()),
        }
    }
    out
}

/// Acknowledge a committed Maildir file: move it from `new/` to `cur/` with the Seen flag.
pub fn maildir_ack(file: &Path) -> Result<()> {
    let name = file.file_name().context("maildir file name")?.to_string_lossy().into_owned();
    let base = name.split(":2,").next().unwrap_or(&name);
    let cur = file.parent().and_then(Path::parent).context("maildir layout")?.join("cur").join(format!("{base}:2,S"));
    std::fs::rename(file, &cur).with_context(|| format!("moving {} to {}", file.display(), cur.display()))
}

/// The files `ingest` reads, in order. The file names of a directory are
/// kept in one buffer, not as a path each, and sorted there: a directory
/// of 200,000 mails took 18 MB as paths, so about 5 MB.
#[derive(Debug, Default)]
pub struct IngestFiles {
    /// Each argument: a directory (its files follow as names) or a file
    /// (an entry with an empty name), and whether it is a Maildir.
    bases: Vec<(PathBuf, bool)>,
    /// The names, one after the other.
    names: Vec<u8>,
    /// Per file: its base and where its name ends in `names` (it starts
    /// where the previous one ended).
    files: Vec<(u32, u32)>,
}

impl IngestFiles {
    fn base(&mut self, path: PathBuf, maildir: bool) -> Result<u32> {
        self.bases.push((path, maildir));
        u32::try_from(self.bases.len() - 1).context("too many ingest arguments")
    }

    fn add(&mut self, base: u32, name: &[u8]) -> Result<()> {
        self.names.extend_from_slice(name);
        let end = u32::try_from(self.names.len()).context("too many files to ingest at once (4 GB of names)")?;
        self.files.push((base, end));
        Ok(())
    }

    /// Sorts the names of the files from `from` on (one base's) by their
    /// bytes, in the buffer itself: no allocation per name.
    fn sort_from(&mut self, from: usize) {
        let first = if from == 0 { 0 } else { self.files[from - 1].1 as usize };
        let mut ranges: Vec<(usize, usize)> = Vec::with_capacity(self.files.len() - from);
        let mut start = first;
        for &(_, end) in &self.files[from..] {
            ranges.push((start, end as usize));
            start = end as usize;
        }
        let names = &self.names;
        ranges.sort_unstable_by(|a, b| names[a.0..a.1].cmp(&names[b.0..b.1]));
        let mut sorted = Vec::with_capacity(self.names.len() - first);
        for (file, (a, b)) in self.files[from..].iter_mut().zip(ranges) {
            sorted.extend_from_slice(&self.names[a..b]);
            file.1 = (first + sorted.len()) as u32;
        }
        self.names.truncate(first);
        self.names.extend_from_slice(&sorted);
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// File `i`: its path and whether it is in a Maildir.
    pub fn get(&self, i: usize) -> Option<(PathBuf, bool)> {
        use std::os::unix::ffi::OsStrExt;
        let (base, end) = *self.files.get(i)?;
        let start = if i == 0 { 0 } else { self.files[i - 1].1 };
        let (dir, maildir) = &self.bases[base as usize];
        let name = &self.names[start as usize..end as usize];
        Some((if name.is_empty() { dir.clone() } else { dir.join(std::ffi::OsStr::from_bytes(name)) }, *maildir))
    }

    /// Every file in order.
    pub fn iter(&self) -> impl Iterator<Item = (PathBuf, bool)> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

/// Expand `ingest` arguments: files, directories of `.eml` files (sorted by
/// name), and Maildirs (their `new/`). `-` is stdin.
pub fn collect_paths(args: &[PathBuf]) -> Result<IngestFiles> {
    use std::os::unix::ffi::OsStrExt;
    let mut out = IngestFiles::default();
    for a in args {
        if a.as_os_str() == "-" || a.is_file() {
            let b = out.base(a.clone(), false)?;
            out.add(b, b"")?;
        } else if a.is_dir() {
            if is_maildir(a) {
                let b = out.base(a.join("new"), true)?;
                for f in maildir_pending(a, usize::MAX)? {
                    out.add(b, f.file_name().map(|n| n.as_bytes()).unwrap_or_default())?;
                }
            } else {
                let b = out.base(a.clone(), false)?;
                let from = out.len();
                for e in std::fs::read_dir(a).with_context(|| format!("reading directory {}", a.display()))? {
                    let Ok(e) = e else { continue };
                    let name = e.file_name();
                    let eml = Path::new(&name).extension().is_some_and(|x| x.eq_ignore_ascii_case("eml"));
                    if eml && a.join(&name).is_file() {
                        out.add(b, name.as_bytes())?;
                    }
                }
                // PathBuf's order: component-wise, i.e. by the names' bytes.
                out.sort_from(from);
            }
        } else {
            anyhow::bail!("{}: no such file or directory", a.display());
        }
    }
    Ok(out)
}

/// Read one ingest path into an item.
pub fn read_item(path: &Path, maildir: bool) -> Result<Item> {
    if path.as_os_str() == "-" {
        use std::io::Read;
        let mut raw = Vec::new();
        std::io::stdin().read_to_end(&mut raw).context("reading the mail from stdin")?;
        return Ok(Item { source: "stdin".into(), raw, maildir_file: None });
    }
    let raw = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Item {
        source: format!("{}:{}", if maildir { "maildir" } else { "file" }, path.display()),
        raw,
        maildir_file: maildir.then(|| path.to_path_buf()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ingest DIR FILE DIR MAILDIR -`: a directory's .eml files by name (not
    /// other files, not directories), a file as given, a Maildir's new/
    /// files oldest first, stdin; each with whether it is in a Maildir.
    #[test]
    fn ingest_arguments_expand_to_their_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let emls = dir.path().join("emls");
        std::fs::create_dir(&emls).unwrap();
        for name in ["b.eml", "a.EML", "c.txt", "ä.eml"] {
            std::fs::write(emls.join(name), "x").unwrap();
        }
        std::fs::create_dir(emls.join("d.eml")).unwrap();
        let single = dir.path().join("single.eml");
        std::fs::write(&single, "x").unwrap();
        let more = dir.path().join("more");
        std::fs::create_dir(&more).unwrap();
        for name in ["z.eml", "y.eml"] {
            std::fs::write(more.join(name), "x").unwrap();
        }
        let md = dir.path().join("md");
        ensure_maildir(&md).unwrap();
        for name in ["2.M2", "1.M1"] {
            std::fs::write(md.join("new").join(name), "x").unwrap();
        }
        let args = [emls.clone(), single.clone(), more.clone(), md.clone(), PathBuf::from("-")];
        let files = collect_paths(&args).unwrap();
        let got: Vec<(PathBuf, bool)> = files.iter().collect();
        assert_eq!(
            got,
            vec![
                (emls.join("a.EML"), false),
                (emls.join("b.eml"), false),
                (emls.join("ä.eml"), false),
                (single, false),
                (more.join("y.eml"), false),
                (more.join("z.eml"), false),
                (md.join("new/1.M1"), true),
                (md.join("new/2.M2"), true),
                (PathBuf::from("-"), false),
            ]
        );
        assert_eq!(files.len(), 9);
        assert!(files.get(9).is_none());
        let missing = dir.path().join("missing");
        let e = collect_paths(std::slice::from_ref(&missing)).unwrap_err();
        assert_eq!(e.to_string(), format!("{}: no such file or directory", missing.display()));
    }

    /// A batch takes Maildir files in order while their sizes stay within
    /// the budget, the first whatever its size; the rest stays in `new/`.
    #[test]
    fn a_maildir_batch_reads_files_within_its_byte_budget() {
        let dir = tempfile::tempdir().unwrap();
        ensure_maildir(dir.path()).unwrap();
        for (name, size) in [("1.M1", 600), ("2.M2", 600), ("3.M3", 600), ("4.M4", 5000)] {
            std::fs::write(dir.path().join("new").join(name), vec![b'x'; size]).unwrap();
        }
        std::fs::write(dir.path().join("new/.hidden"), "x").unwrap();
        std::fs::create_dir(dir.path().join("new/5.M5")).unwrap();
        let files = maildir_pending(dir.path(), 200).unwrap();
        assert_eq!(files.len(), 4, "no dot file, no directory: {files:?}");
        let oldest = maildir_pending(dir.path(), 2).unwrap();
        assert_eq!(oldest, files[..2], "the oldest names, in order");
        let names = |items: &[Item]| items.iter().map(|i| i.source.clone()).collect::<Vec<_>>();
        assert_eq!(names(&read_maildir_items(&files, 1000)), ["maildir:1.M1"]);
        assert_eq!(names(&read_maildir_items(&files, 1800)), ["maildir:1.M1", "maildir:2.M2", "maildir:3.M3"]);
        assert_eq!(read_maildir_items(&files[3..], 1000).len(), 1, "one file above the budget comes alone");
        assert_eq!(read_maildir_items(&files, u64::MAX).len(), 4);
        assert_eq!(read_maildir_items(&files, 1000)[0].raw.len(), 600);
    }
}
