//! A tiny scripted SMTP relay on loopback for what the real Postfix cannot
//! be made to do on demand: take its time over each mail, or fall silent on
//! a connection. Plain text, no AUTH, one thread per connection.

use std::io::{BufRead, BufReader, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use supportd::smtp::SmtpSettings;

pub struct SmtpPeer {
    pub port: u16,
    /// The most mails waiting for their 250 at once.
    most: Arc<AtomicUsize>,
    /// Mails answered with 250 after DATA.
    taken: Arc<AtomicUsize>,
    /// Connections accepted.
    connections: Arc<AtomicUsize>,
}

impl SmtpPeer {
    /// `delay` before each 250 after DATA; with `silent_after: Some(n)`, a
    /// connection that took `n` mails reads on and answers nothing more (a
    /// relay that hangs, a NAT that dropped the flow).
    pub fn start(delay: Duration, silent_after: Option<usize>) -> SmtpPeer {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let now = Arc::new(AtomicUsize::new(0));
        let (most, taken, connections) =
            (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (m, t, c) = (most.clone(), taken.clone(), connections.clone());
        std::thread::spawn(move || {
            for stream in l.incoming() {
                let Ok(mut w) = stream else { return };
                c.fetch_add(1, Ordering::SeqCst);
                let (now, most, taken) = (now.clone(), m.clone(), t.clone());
                std::thread::spawn(move || {
                    let mut r = BufReader::new(w.try_clone().unwrap());
                    let _ = w.write_all(b"220 stub ESMTP\r\n");
                    let mut line = String::new();
                    let mut mails = 0;
                    loop {
                        line.clear();
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if silent_after.is_some_and(|n| mails >= n) {
                            continue;
                        }
                        let cmd = line.to_ascii_uppercase();
                        let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                            b"250-stub\r\n250 8BITMIME\r\n"
                        } else if cmd.starts_with("DATA") {
                            let _ = w.write_all(b"354 go on\r\n");
                            loop {
                                line.clear();
                                if r.read_line(&mut line).unwrap_or(0) == 0 || line == ".\r\n" {
                                    break;
                                }
                            }
                            let at_once = now.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(at_once, Ordering::SeqCst);
                            std::thread::sleep(delay);
                            now.fetch_sub(1, Ordering::SeqCst);
                            taken.fetch_add(1, Ordering::SeqCst);
                            mails += 1;
                            b"250 queued\r\n"
                        } else if cmd.starts_with("QUIT") {
                            let _ = w.write_all(b"221 bye\r\n");
                            return;
                        } else {
                            b"250 ok\r\n"
                        };
                        let _ = w.write_all(reply);
                    }
                });
            }
        });
        SmtpPeer { port, most, taken, connections }
    }

    /// Plain SMTP to this relay, no AUTH.
    pub fn settings(&self) -> SmtpSettings {
        super::mailservers::plain_smtp(self.port)
    }

    /// The most mails it held before their 250 at once.
    pub fn most_at_once(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }

    pub fn taken(&self) -> usize {
        self.taken.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}
