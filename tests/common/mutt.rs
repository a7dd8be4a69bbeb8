//! A real mail client for the live tests: neomutt (Debian package, installed
//! by `scripts/mailservers.sh install`) driven in tmux (`new-session -d`,
//! `send-keys`, `capture-pane -p`) on a private tmux server socket, one
//! generated muttrc per person: IMAP INBOX on the loopback Dovecot (STARTTLS,
//! the test CA), SMTP submission on the loopback Postfix (STARTTLS + AUTH),
//! `edit_headers`, and an `$editor` script that puts the text the test
//! prepared into the draft neomutt wrote: above neomutt's own quote and
//! attribution (top-posting), below it (bottom-posting, before the
//! signature), extra header lines (e.g. `Cc:`) into the header block.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use super::mailservers::MailServers;

/// How long one screen may take to appear (IMAP login, SMTP send).
pub const SCREEN_WAIT: Duration = Duration::from_secs(20);

fn have(bin: &str) -> bool {
    ["/usr/bin", "/bin", "/usr/local/bin"].iter().any(|d| Path::new(d).join(bin).exists())
}

/// neomutt and tmux are there, installed through `scripts/mailservers.sh
/// install` if missing. `Err` (with the reason) only if that is impossible.
pub fn ensure_installed() -> Result<(), String> {
    if have("neomutt") && have("tmux") {
        return Ok(());
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mailservers.sh");
    let out = Command::new("bash").arg(script).arg("install").output().map_err(|e| format!("mailservers.sh: {e}"))?;
    if have("neomutt") && have("tmux") {
        return Ok(());
    }
    Err(format!(
        "neomutt/tmux missing and `scripts/mailservers.sh install` could not install them:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// A private tmux server (its own socket in the test's directory), killed on drop.
pub struct Tmux {
    sock: PathBuf,
}

impl Tmux {
    pub fn new(dir: &Path) -> Tmux {
        Tmux { sock: dir.join("tmux.sock") }
    }

    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-u")
            .arg("-S")
            .arg(&self.sock)
            .args(args)
            .env("LANG", "C.UTF-8")
            .env_remove("TMUX")
            .output()
            .expect("run tmux")
    }

    /// A detached session running `shell` (120x40); the pane stays after the
    /// program exits ("[exited N]" line), so its last screen can be read.
    pub fn start(&self, name: &str, home: &Path, shell: &str) {
        let home = format!("HOME={}", home.display());
        let line = format!("{shell}; echo \"[exited $?]\"; exec sleep 600");
        let out = self.cmd(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "120",
            "-y",
            "40",
            "-e",
            &home,
            "-e",
            "LANG=C.UTF-8",
            "-e",
            "TERM=screen",
            "-e",
            "TZ=Europe/Berlin",
            &line,
        ]);
        assert!(out.status.success(), "tmux new-session: {}", String::from_utf8_lossy(&out.stderr));
    }

    pub fn screen(&self, name: &str) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", name]).stdout).into_owned()
    }

    /// Keys by tmux name (`Enter`, `Escape`, `y`, ...).
    pub fn keys(&self, name: &str, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", name];
        args.extend_from_slice(keys);
        self.cmd(&args);
    }

    /// Literal text, typed.
    pub fn text(&self, name: &str, text: &str) {
        self.cmd(&["send-keys", "-t", name, "-l", text]);
    }

    /// Polls the screen until `pred` holds; `Err` carries the last screen.
    pub fn wait(&self, name: &str, what: &str, max: Duration, pred: impl Fn(&str) -> bool) -> Result<String, String> {
        let t0 = Instant::now();
        loop {
            let s = self.screen(name);
            if pred(&s) {
                return Ok(s);
            }
            if t0.elapsed() > max {
                return Err(format!("{name}: no {what} on the screen after {max:?}; the screen:\n{s}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn wait_for(&self, name: &str, needle: &str, max: Duration) -> Result<String, String> {
        self.wait(name, &format!("{needle:?}"), max, |s| s.contains(needle))
    }

    pub fn kill_session(&self, name: &str) {
        self.cmd(&["kill-session", "-t", name]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // only our own server (its socket), never the user's default one
        self.cmd(&["kill-server"]);
        let _ = std::fs::remove_file(&self.sock);
    }
}

/// One person with a mail client.
pub struct Person {
    pub key: String,
    pub realname: String,
    pub address: String,
    /// The IMAP login whose INBOX this person reads (a team mailbox for agents).
    pub mailbox: String,
    pub dir: PathBuf,
    pub rc: PathBuf,
}

/// What the editor script puts into neomutt's draft.
#[derive(Default, Clone)]
pub struct Draft {
    /// Above neomutt's attribution line and quote (top-posting).
    pub top: String,
    /// Below the quote, before neomutt's signature (bottom-posting).
    pub bottom: String,
    /// Extra header lines for the header block (`edit_headers`).
    pub headers: String,
}

impl Draft {
    pub fn top(text: &str) -> Draft {
        Draft { top: text.into(), ..Draft::default() }
    }
}

const EDITOR: &str = r#"#!/bin/sh
# neomutt's $editor in tests/common/mutt.rs: puts the prepared text into the
# draft neomutt wrote ($1: headers, empty line, body with neomutt's own
# attribution, "> " quote and signature). plan.headers -> end of the header
# block, plan.top -> start of the body, plan.bottom -> before the signature
# ("-- ") or at the end.
d=$(dirname "$0")
awk -v hdr="$d/plan.headers" -v top="$d/plan.top" -v bottom="$d/plan.bottom" '
function put(file,   line) { while ((getline line < file) > 0) print line; close(file) }
BEGIN { inhead = 1 }
inhead && $0 == "" { put(hdr); print ""; put(top); inhead = 0; next }
inhead { print; next }
!done && $0 == "-- " { put(bottom); done = 1 }
{ print }
END { if (!done) put(bottom) }
' "$1" > "$1.new" && mv "$1.new" "$1"
"#;

/// neomutt for several people against one Dovecot + Postfix instance.
pub struct Mutt {
    pub tmux: Tmux,
    root: PathBuf,
    imap_port: u16,
    submission_port: u16,
    ca_file: PathBuf,
    password: String,
    sessions: std::cell::Cell<u32>,
}

/// `user@host` in a URL's user part.
fn url_user(addr: &str) -> String {
    addr.replace('@', "%40")
}

/// A token of a Message-ID that neomutt's `~i` pattern can take as it is
/// (letters and digits only; the longest run, unique enough for a test).
fn id_token(message_id: &str) -> String {
    message_id.split(|c: char| !c.is_ascii_alphanumeric()).max_by_key(|s| s.len()).unwrap_or("").to_string()
}

impl Mutt {
    pub fn new(ms: &MailServers, root: &Path) -> Mutt {
        Mutt {
            tmux: Tmux::new(root),
            root: root.to_path_buf(),
            imap_port: ms.imap_port,
            submission_port: ms.submission_port,
            ca_file: ms.ca_file.clone(),
            password: ms.password.clone(),
            sessions: std::cell::Cell::new(0),
        }
    }

    /// A person: directory, muttrc, editor script, signature (if any).
    /// `mailbox` is the IMAP login to read (the own address, or a team mailbox).
    pub fn person(
        &self,
        key: &str,
        realname: &str,
        address: &str,
        mailbox: &str,
        signature: Option<&str>,
        attribution: &str,
    ) -> Person {
        let dir = self.root.join(key);
        std::fs::create_dir_all(&dir).unwrap();
        let editor = dir.join("editor.sh");
        std::fs::write(&editor, EDITOR).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
        let sig = match signature {
            Some(s) => {
                std::fs::write(dir.join("signature"), s).unwrap();
                format!("set signature=\"{}\"\n", dir.join("signature").display())
            }
            None => "unset signature\n".to_string(),
        };
        let host = address.split_once('@').map(|(_, d)| d).unwrap_or("localhost");
        let rc = format!(
            "# generated by tests/common/mutt.rs\n\
             set folder=\"imap://{mb}@127.0.0.1:{imap}/\"\n\
             set spoolfile=\"+INBOX\"\n\
             set imap_user=\"{mbplain}\"\n\
             set imap_pass=\"{pw}\"\n\
             set imap_idle=no\n\
             set ssl_starttls=yes\n\
             set ssl_force_tls=yes\n\
             set ssl_ca_certificates_file=\"{ca}\"\n\
             set smtp_url=\"smtp://{me}@127.0.0.1:{sub}/\"\n\
             set smtp_pass=\"{pw}\"\n\
             set from=\"{addr}\"\n\
             set realname=\"{realname}\"\n\
             set use_from=yes\n\
             set hostname=\"{host}\"\n\
             set charset=\"utf-8\"\n\
             set send_charset=\"utf-8\"\n\
             set edit_headers=yes\n\
             set editor=\"{editor}\"\n\
             {sig}\
             set attribution=\"{attribution}\"\n\
             set indent_string=\"> \"\n\
             set include=yes\n\
             set fast_reply=yes\n\
             set reply_to=yes\n\
             set reply_self=no\n\
             set metoo=no\n\
             set abort_unmodified=no\n\
             set abort_noattach=no\n\
             set record=\"\"\n\
             set copy=no\n\
             set postpone=no\n\
             set header_cache=\"\"\n\
             set message_cachedir=\"\"\n\
             set quit=yes\n\
             set wait_key=no\n\
             set sleep_time=0\n\
             set beep=no\n\
             set mark_old=no\n\
             set move=no\n\
             set delete=no\n\
             set confirmappend=no\n\
             set mail_check=1\n\
             set timeout=1\n\
             set sort=date-received\n\
             set date_format=\"%d.%m.%y %H:%M\"\n\
             set index_format=\"%4C %Z %D %-22.22F %s\"\n\
             set crypt_autosign=no\n\
             set crypt_opportunistic_encrypt=no\n\
             set pager_stop=yes\n\
             ignore *\n\
             unignore from: to: cc: date: subject: message-id:\n\
             hdr_order from: to: cc: date: subject: message-id:\n",
            mb = url_user(mailbox),
            mbplain = mailbox,
            imap = self.imap_port,
            sub = self.submission_port,
            me = url_user(address),
            pw = self.password,
            ca = self.ca_file.display(),
            addr = address,
            editor = editor.display(),
        );
        let rc_path = dir.join("muttrc");
        std::fs::write(&rc_path, rc).unwrap();
        Person {
            key: key.into(),
            realname: realname.into(),
            address: address.into(),
            mailbox: mailbox.into(),
            dir,
            rc: rc_path,
        }
    }

    fn session(&self, p: &Person) -> String {
        self.sessions.set(self.sessions.get() + 1);
        format!("{}-{}", p.key, self.sessions.get())
    }

    fn plan(&self, p: &Person, d: &Draft) {
        for (f, text) in [("plan.top", &d.top), ("plan.bottom", &d.bottom), ("plan.headers", &d.headers)] {
            std::fs::write(p.dir.join(f), text).unwrap();
        }
    }

    fn neomutt(&self, p: &Person, args: &str) -> String {
        format!("neomutt -n -F {} {args}", shell_quote(&p.rc.to_string_lossy()))
    }

    /// Sends in the compose menu and waits for neomutt to be done with it.
    fn send(&self, s: &str) -> Result<(), String> {
        self.tmux.wait_for(s, "y:Send", SCREEN_WAIT)?;
        self.tmux.keys(s, &["y"]);
        self.tmux.wait(s, "the end of the compose menu", SCREEN_WAIT, |sc| !sc.contains("y:Send"))?;
        Ok(())
    }

    /// A new mail as from the command line: `neomutt -s SUBJ [-c CC] [-a FILE] -- TO`;
    /// the editor puts `text` above neomutt's signature; `y` sends.
    pub fn compose(
        &self,
        p: &Person,
        to: &str,
        cc: &[&str],
        subject: &str,
        text: &str,
        attach: Option<&Path>,
    ) -> Result<(), String> {
        self.plan(p, &Draft::top(text));
        let mut args = format!("-s {}", shell_quote(subject));
        for c in cc {
            args.push_str(&format!(" -c {}", shell_quote(c)));
        }
        if let Some(a) = attach {
            args.push_str(&format!(" -a {}", shell_quote(&a.to_string_lossy())));
        }
        args.push_str(&format!(" -- {}", shell_quote(to)));
        let s = self.session(p);
        self.tmux.start(&s, &p.dir, &self.neomutt(p, &args));
        let r = self.send(&s).and_then(|_| self.tmux.wait_for(&s, "[exited 0]", SCREEN_WAIT).map(|_| ()));
        self.tmux.kill_session(&s);
        r.map_err(|e| format!("{} composing {subject:?}: {e}", p.key))
    }

    /// Opens the INBOX in the TUI, limits it to the message `message_id`
    /// (`l` `~i ...`), opens it (Enter; its Message-ID header is shown),
    /// presses `r` (or `g`, group reply), lets the editor write `draft`,
    /// attaches `attach` with the compose menu's `a`, sends with `y`, quits.
    pub fn reply(
        &self,
        p: &Person,
        message_id: &str,
        group: bool,
        draft: &Draft,
        attach: Option<&Path>,
    ) -> Result<(), String> {
        self.plan(p, draft);
        let s = self.session(p);
        self.tmux.start(&s, &p.dir, &self.neomutt(p, ""));
        let r = (|| {
            self.open(&s, message_id)?;
            self.tmux.keys(&s, &[if group { "g" } else { "r" }]);
            self.tmux.wait_for(&s, "y:Send", SCREEN_WAIT)?;
            if let Some(a) = attach {
                self.tmux.keys(&s, &["a"]);
                self.tmux.wait_for(&s, "Attach file (", SCREEN_WAIT)?;
                self.tmux.text(&s, &a.to_string_lossy());
                self.tmux.keys(&s, &["Enter"]);
                // the compose menu may shorten the path: the name's first characters
                let name: String = a.file_name().unwrap().to_string_lossy().chars().take(10).collect();
                self.tmux.wait(&s, "the attachment in the compose menu", SCREEN_WAIT, |sc| {
                    sc.contains(&name) && !sc.contains("Attach file (")
                })?;
            }
            self.send(&s)?;
            self.quit(&s)
        })();
        let r = r.map_err(|e| format!("{} replying to <{message_id}>: {e}", p.key));
        self.tmux.kill_session(&s);
        r
    }

    /// In a running session at the index: limit to the message, open it.
    fn open(&self, s: &str, message_id: &str) -> Result<String, String> {
        self.tmux.wait_for(s, "g:Group", SCREEN_WAIT)?;
        self.tmux.keys(s, &["l"]);
        self.tmux.wait_for(s, "Limit to messages", SCREEN_WAIT)?;
        self.tmux.text(s, &format!("~i {}", id_token(message_id)));
        self.tmux.keys(s, &["Enter"]);
        self.tmux.wait(s, "the limited index", SCREEN_WAIT, |sc| !sc.contains("Limit to messages"))?;
        self.tmux.keys(s, &["Enter"]);
        // the pager shows the Message-ID header (unignored in the muttrc)
        let short = &message_id[..message_id.len().min(40)];
        self.tmux.wait(s, "the opened message", SCREEN_WAIT, |sc| sc.contains("i:Exit") && sc.contains(short))
    }

    /// From pager or index: `q` until neomutt exits.
    fn quit(&self, s: &str) -> Result<(), String> {
        for _ in 0..4 {
            let sc = self.tmux.wait(s, "a quiet screen", SCREEN_WAIT, |sc| !sc.contains("Sending message"))?;
            if sc.contains("[exited 0]") {
                return Ok(());
            }
            self.tmux.keys(s, &["q"]);
            if self.tmux.wait_for(s, "[exited 0]", Duration::from_secs(2)).is_ok() {
                return Ok(());
            }
        }
        Err(format!("{s}: neomutt did not quit; the screen:\n{}", self.tmux.screen(s)))
    }

    /// The index screen of the person's INBOX once `needle` is on it.
    pub fn index_screen(&self, p: &Person, needle: &str) -> Result<String, String> {
        let s = self.session(p);
        self.tmux.start(&s, &p.dir, &self.neomutt(p, ""));
        let r = self.tmux.wait(&s, "the index", SCREEN_WAIT, |sc| sc.contains("g:Group") && sc.contains(needle));
        let _ = self.quit(&s);
        self.tmux.kill_session(&s);
        r
    }

    /// The pager screen of one message of the person's INBOX.
    pub fn message_screen(&self, p: &Person, message_id: &str) -> Result<String, String> {
        let s = self.session(p);
        self.tmux.start(&s, &p.dir, &self.neomutt(p, ""));
        let r = self.open(&s, message_id);
        let _ = self.quit(&s);
        self.tmux.kill_session(&s);
        r
    }
}

pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
