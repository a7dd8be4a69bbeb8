//! A tiny scripted IMAP server on loopback for the faults the real Dovecot
//! cannot be made to show: a connection cut in the middle of a literal, a
//! malformed FETCH answer, a MOVE that fails. Plain text, one thread per
//! connection, just enough of IMAP4rev1 (+ IDLE, MOVE, UIDPLUS) for
//! supportd's client: LOGIN, CAPABILITY, LIST, CREATE, SUBSCRIBE, SELECT,
//! UID SEARCH, UID FETCH, UID MOVE, UID STORE, IDLE/DONE, NOOP, LOGOUT.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What the next `UID FETCH` answer does instead of the right thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchFault {
    /// `{n}` announced, half of the bytes sent, then the connection is closed.
    CutMidLiteral,
    /// A FETCH line the IMAP grammar does not allow.
    Garbage,
    /// `* 1 FETCH (UID 1 FLAGS (\Seen))`: no body item at all.
    NoBody,
    /// `BODY[] NIL`.
    NilBody,
    /// A slow link: the whole answer, in pieces of `chunk` bytes with
    /// `every_ms` between them.
    Trickle { chunk: usize, every_ms: u64 },
    /// Half of the literal, then nothing for `secs` seconds, then the rest.
    StallMidLiteral { secs: u64 },
}

#[derive(Default)]
pub struct PeerState {
    /// The INBOX: (uid, raw), in UID order.
    pub inbox: Vec<(u32, Vec<u8>)>,
    pub processed: Vec<(u32, Vec<u8>)>,
    pub next_uid: u32,
    pub uid_validity: u32,
    pub fetch_faults: VecDeque<FetchFault>,
    /// This many `UID MOVE`s answer `NO` (after the commit, from supportd's view).
    pub move_failures: usize,
    pub connections: usize,
    /// How often each UID's body was sent in full.
    pub fetched: BTreeMap<u32, usize>,
    pub moves_refused: usize,
    pub log: Vec<String>,
}

pub struct ImapPeer {
    pub port: u16,
    pub state: Arc<Mutex<PeerState>>,
}

impl ImapPeer {
    pub fn start() -> ImapPeer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(PeerState { next_uid: 1, uid_validity: 1_700_000_000, ..Default::default() }));
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let st = st.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, &st);
                });
            }
        });
        ImapPeer { port, state }
    }

    pub fn deliver(&self, raw: &[u8]) -> u32 {
        let mut s = self.state.lock().unwrap();
        let uid = s.next_uid;
        s.next_uid += 1;
        s.inbox.push((uid, raw.to_vec()));
        uid
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut PeerState) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }
}

fn uids_in(set: &str, all: &[u32]) -> Vec<u32> {
    let max = all.iter().copied().max().unwrap_or(0);
    let mut out = Vec::new();
    for part in set.split(',') {
        let (a, b) = part.split_once(':').unwrap_or((part, part));
        let p = |x: &str| if x == "*" { max } else { x.parse::<u32>().unwrap_or(0) };
        let (lo, hi) = (p(a).min(p(b)), p(a).max(p(b)));
        out.extend(all.iter().copied().filter(|u| *u >= lo && *u <= hi));
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn serve(conn: TcpStream, st: &Mutex<PeerState>) -> std::io::Result<()> {
    st.lock().unwrap().connections += 1;
    let mut w = conn.try_clone()?;
    let mut r = BufReader::new(conn);
    w.write_all(b"* OK [CAPABILITY IMAP4rev1 IDLE MOVE UIDPLUS] scripted peer ready\r\n")?;
    let mut line = String::new();
    'lines: loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let l = line.trim_end().to_string();
        st.lock().unwrap().log.push(l.clone());
        let (tag, rest) = l.split_once(' ').unwrap_or((l.as_str(), ""));
        let upper = rest.to_ascii_uppercase();
        let words: Vec<&str> = rest.split_whitespace().collect();
        let ok = |w: &mut TcpStream, text: &str| w.write_all(format!("{tag} OK {text}\r\n").as_bytes());
        if upper.starts_with("LOGIN") {
            ok(&mut w, "LOGIN completed")?;
        } else if upper.starts_with("CAPABILITY") {
            w.write_all(b"* CAPABILITY IMAP4rev1 IDLE MOVE UIDPLUS\r\n")?;
            ok(&mut w, "CAPABILITY completed")?;
        } else if upper.starts_with("LIST") {
            w.write_all(b"* LIST (\\HasNoChildren) \".\" Processed\r\n")?;
            ok(&mut w, "LIST completed")?;
        } else if upper.starts_with("SELECT") || upper.starts_with("EXAMINE") {
            let s = st.lock().unwrap();
            let msg = format!(
                "* FLAGS (\\Seen \\Deleted)\r\n* {} EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY {}] UIDs valid\r\n* OK [UIDNEXT {}] next\r\n{tag} OK [READ-WRITE] SELECT completed\r\n",
                s.inbox.len(),
                s.uid_validity,
                s.next_uid
            );
            drop(s);
            w.write_all(msg.as_bytes())?;
        } else if upper.starts_with("UID SEARCH") {
            let s = st.lock().unwrap();
            let all: Vec<u32> = s.inbox.iter().map(|(u, _)| *u).collect();
            let set = words.last().copied().unwrap_or("1:*");
            let hits = uids_in(set, &all);
            drop(s);
            let list: Vec<String> = hits.iter().map(u32::to_string).collect();
            w.write_all(format!("* SEARCH {}\r\n", list.join(" ")).trim_end().as_bytes())?;
            w.write_all(b"\r\n")?;
            ok(&mut w, "SEARCH completed")?;
        } else if upper.starts_with("UID FETCH") {
            let mut s = st.lock().unwrap();
            let all: Vec<u32> = s.inbox.iter().map(|(u, _)| *u).collect();
            let hits = uids_in(words.get(2).copied().unwrap_or(""), &all);
            let fault = if hits.is_empty() { None } else { s.fetch_faults.pop_front() };
            let mut out = Vec::new();
            for uid in &hits {
                let seq = s.inbox.iter().position(|(u, _)| u == uid).unwrap() + 1;
                let raw = s.inbox[seq - 1].1.clone();
                match fault {
                    Some(FetchFault::CutMidLiteral) => {
                        out.extend_from_slice(
                            format!("* {seq} FETCH (UID {uid} BODY[] {{{}}}\r\n", raw.len()).as_bytes(),
                        );
                        out.extend_from_slice(&raw[..raw.len() / 2]);
                        drop(s);
                        w.write_all(&out)?;
                        w.flush()?;
                        let _ = w.shutdown(std::net::Shutdown::Both);
                        return Ok(());
                    }
                    Some(FetchFault::Garbage) => {
                        out.extend_from_slice(format!("* {seq} FETCH (UID {uid}x BODY[] ((( \"\r\n").as_bytes())
                    }
                    Some(FetchFault::NoBody) => {
                        out.extend_from_slice(format!("* {seq} FETCH (UID {uid} FLAGS (\\Seen))\r\n").as_bytes())
                    }
                    Some(FetchFault::NilBody) => {
                        out.extend_from_slice(format!("* {seq} FETCH (UID {uid} BODY[] NIL)\r\n").as_bytes())
                    }
                    Some(FetchFault::StallMidLiteral { secs }) => {
                        // One mail's answer, not holding the state while it stalls.
                        drop(s);
                        out.extend_from_slice(
                            format!("* {seq} FETCH (UID {uid} BODY[] {{{}}}\r\n", raw.len()).as_bytes(),
                        );
                        out.extend_from_slice(&raw[..raw.len() / 2]);
                        w.write_all(&out)?;
                        w.flush()?;
                        std::thread::sleep(std::time::Duration::from_secs(secs));
                        w.write_all(&raw[raw.len() / 2..])?;
                        w.write_all(format!(")\r\n{tag} OK FETCH completed\r\n").as_bytes())?;
                        continue 'lines;
                    }
                    Some(FetchFault::Trickle { .. }) | None => {
                        out.extend_from_slice(
                            format!("* {seq} FETCH (UID {uid} BODY[] {{{}}}\r\n", raw.len()).as_bytes(),
                        );
                        out.extend_from_slice(&raw);
                        out.extend_from_slice(b")\r\n");
                        *s.fetched.entry(*uid).or_default() += 1;
                    }
                }
            }
            drop(s);
            out.extend_from_slice(format!("{tag} OK FETCH completed\r\n").as_bytes());
            match fault {
                Some(FetchFault::Trickle { chunk, every_ms }) => {
                    for piece in out.chunks(chunk.max(1)) {
                        w.write_all(piece)?;
                        w.flush()?;
                        std::thread::sleep(std::time::Duration::from_millis(every_ms));
                    }
                }
                _ => w.write_all(&out)?,
            }
        } else if upper.starts_with("UID MOVE") || upper.starts_with("UID COPY") {
            let mut s = st.lock().unwrap();
            if s.move_failures > 0 {
                s.move_failures -= 1;
                s.moves_refused += 1;
                drop(s);
                w.write_all(format!("{tag} NO [TRYCREATE] Mailbox doesn't exist: Processed\r\n").as_bytes())?;
                continue;
            }
            let all: Vec<u32> = s.inbox.iter().map(|(u, _)| *u).collect();
            let hits = uids_in(words.get(2).copied().unwrap_or(""), &all);
            let mut out = String::new();
            for uid in hits {
                let seq = s.inbox.iter().position(|(u, _)| *u == uid).unwrap();
                let m = s.inbox.remove(seq);
                s.processed.push(m);
                out.push_str(&format!("* {} EXPUNGE\r\n", seq + 1));
            }
            drop(s);
            out.push_str(&format!("{tag} OK MOVE completed\r\n"));
            w.write_all(out.as_bytes())?;
        } else if upper.starts_with("IDLE") {
            w.write_all(b"+ idling\r\n")?;
            line.clear();
            if r.read_line(&mut line)? == 0 {
                return Ok(());
            }
            ok(&mut w, "IDLE terminated")?;
        } else if upper.starts_with("LOGOUT") {
            w.write_all(format!("* BYE bye\r\n{tag} OK LOGOUT completed\r\n").as_bytes())?;
            return Ok(());
        } else {
            // NOOP, CREATE, SUBSCRIBE, UID STORE, UID EXPUNGE, ...
            ok(&mut w, "completed")?;
        }
    }
}
