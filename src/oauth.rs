//! OAuth 2 access tokens for XOAUTH2 (IMAP `AUTHENTICATE XOAUTH2`, SMTP
//! `AUTH XOAUTH2`). supportd does not run the OAuth flow itself: the token is
//! read from a file that an external refresher keeps fresh (`token_file`), or
//! printed by a configured command (`token_command`). Either is consulted on
//! every connect and once more after the server rejected a token.
//!
//! Tokens are secrets: no error message, log line or `Debug` output here
//! contains one.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};

/// How long a `token_command` may run.
pub const TOKEN_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Where an access token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// First line of this file, re-read on every connect.
    File(PathBuf),
    /// argv; the first line of its stdout is the token.
    Command(Vec<String>),
}

/// A token source plus the config key it came from (`mailbox.token_file`),
/// which every error names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSource {
    pub key: String,
    pub kind: TokenKind,
}

impl TokenSource {
    /// A fresh token (file read or command run now). Errors name the key,
    /// never the token.
    pub async fn fetch(&self) -> Result<String> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.fetch_blocking())
            .await
            .map_err(|e| anyhow!("{}: token fetch panicked: {e}", self.key))?
    }

    /// Blocking form of [`TokenSource::fetch`].
    pub fn fetch_blocking(&self) -> Result<String> {
        let key = &self.key;
        let text = match &self.kind {
            TokenKind::File(p) => {
                std::fs::read_to_string(p).map_err(|e| anyhow!("{key}: cannot read {}: {e}", p.display()))?
            }
            TokenKind::Command(argv) => run_command(key, argv)?,
        };
        let token = text.lines().next().unwrap_or("").trim();
        if token.is_empty() {
            match &self.kind {
                TokenKind::File(p) => bail!("{key}: {} holds no token (first line is empty)", p.display()),
                TokenKind::Command(_) => bail!("{key}: the command printed no token (first line of stdout is empty)"),
            }
        }
        if token.chars().any(|c| c.is_control()) {
            bail!("{key}: the token contains control characters");
        }
        Ok(token.to_string())
    }
}

fn run_command(key: &str, argv: &[String]) -> Result<String> {
    let (prog, args) = argv.split_first().ok_or_else(|| anyhow!("{key}: empty command"))?;
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| anyhow!("{key}: cannot run {prog:?}: {e}"))?;
    // Drain both pipes in threads so a chatty command cannot block on a full pipe.
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(r) = r {
                let _ = r.take(1 << 20).read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let err = drain(child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if start.elapsed() >= TOKEN_COMMAND_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("{key}: {prog:?} did not finish within {TOKEN_COMMAND_TIMEOUT:?} (killed)");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => bail!("{key}: waiting for {prog:?}: {e}"),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if !status.success() {
        // stderr is the command's own diagnostics; stdout (which may hold a token) is never shown
        let msg = String::from_utf8_lossy(&stderr);
        let first = msg.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        let first: String = first.chars().take(200).collect();
        let detail = if first.is_empty() { String::new() } else { format!(": {first}") };
        bail!("{key}: {prog:?} failed ({status}){detail}");
    }
    String::from_utf8(stdout).map_err(|_| anyhow!("{key}: {prog:?} printed non-UTF-8 output"))
}

/// The SASL XOAUTH2 initial response (before base64).
pub fn xoauth2_response(user: &str, token: &str) -> String {
    format!("user={user}\x01auth=Bearer {token}\x01\x01")
}

/// async-imap authenticator for `AUTHENTICATE XOAUTH2`: the first (empty)
/// challenge gets the credentials; a later one is the server's JSON error,
/// answered with an empty line as the mechanism requires.
pub struct Xoauth2 {
    response: Option<String>,
}

impl Xoauth2 {
    pub fn new(user: &str, token: &str) -> Xoauth2 {
        Xoauth2 { response: Some(xoauth2_response(user, token)) }
    }
}

impl async_imap::Authenticator for Xoauth2 {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        self.response.take().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(script: &str) -> TokenSource {
        TokenSource {
            key: "mailbox.token_command".into(),
            kind: TokenKind::Command(vec!["sh".into(), "-c".into(), script.into()]),
        }
    }

    #[test]
    fn command_first_line_is_the_token() {
        assert_eq!(cmd("printf 'tok123\\nother\\n'").fetch_blocking().unwrap(), "tok123");
    }

    #[test]
    fn failing_command_names_the_key_and_not_stdout() {
        let e = cmd("echo leaked-token; echo 'refresh token expired' >&2; exit 3").fetch_blocking().unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("mailbox.token_command: \"sh\" failed"), "{s}");
        assert!(s.contains("refresh token expired"), "{s}");
        assert!(!s.contains("leaked-token"), "{s}");
        let e = cmd("true").fetch_blocking().unwrap_err();
        assert!(e.to_string().contains("printed no token"), "{e}");
    }

    #[test]
    fn file_is_reread_every_time() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        let src = TokenSource { key: "transport.token_file".into(), kind: TokenKind::File(p.clone()) };
        assert!(src.fetch_blocking().unwrap_err().to_string().starts_with("transport.token_file: cannot read"));
        std::fs::write(&p, "one\n").unwrap();
        assert_eq!(src.fetch_blocking().unwrap(), "one");
        std::fs::write(&p, "two\n").unwrap();
        assert_eq!(src.fetch_blocking().unwrap(), "two");
        std::fs::write(&p, "\n").unwrap();
        assert!(src.fetch_blocking().unwrap_err().to_string().contains("holds no token"));
    }

    #[test]
    fn authenticator_answers_once_then_empty() {
        use async_imap::Authenticator as _;
        let mut a = Xoauth2::new("u@example.org", "t");
        assert_eq!(a.process(b""), "user=u@example.org\x01auth=Bearer t\x01\x01");
        assert_eq!(a.process(b"{\"status\":\"401\"}"), "");
    }
}
