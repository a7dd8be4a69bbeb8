//! Where outgoing mail goes: a directory of `.eml` files (the default, no
//! mail server needed) or SMTP (see [`crate::smtp`]).

use std::path::PathBuf;

use anyhow::Result;

/// Why a send failed, and whether trying again can help.
#[derive(Debug)]
pub enum SendError {
    /// Connection refused, 4xx, timeout, TLS trouble: try again later.
    Transient(String),
    /// A 5xx answer: the server will not take this mail.
    Permanent(String),
    /// The destination as a whole is not there (relay down, TLS broken,
    /// outbox directory not writable): the outbox suspends it instead of
    /// trying every queued mail.
    Unreachable(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Transient(s) => write!(f, "temporary failure: {s}"),
            SendError::Permanent(s) => write!(f, "permanent failure: {s}"),
            SendError::Unreachable(s) => write!(f, "unreachable: {s}"),
        }
    }
}

/// A configured transport: where mail goes, and how fast.
pub struct Transport {
    dest: Dest,
    /// `[transport] max_per_minute` (None: no limit).
    limit: Option<RateLimit>,
    /// `[transport] max_concurrency`: sends in flight at once.
    concurrency: usize,
}

/// At most `per_minute` sends in any 60 seconds: the start times of the
/// last sends, oldest first. Microsoft 365 refuses a mailbox's 31st mail
/// of a minute (throttling), which would only cost retries.
pub struct RateLimit {
    per_minute: usize,
    window: std::sync::Mutex<std::collections::VecDeque<tokio::time::Instant>>,
}

/// The window of [`RateLimit`].
pub const RATE_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

impl RateLimit {
    pub fn new(per_minute: u32) -> RateLimit {
        RateLimit { per_minute: per_minute.max(1) as usize, window: Default::default() }
    }

    /// How long until the next send may start (zero: now, and the slot is taken).
    fn take(&self) -> std::time::Duration {
        let now = tokio::time::Instant::now();
        let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        while w.front().is_some_and(|t| now.duration_since(*t) >= RATE_WINDOW) {
            w.pop_front();
        }
        if w.len() < self.per_minute {
            w.push_back(now);
            return std::time::Duration::ZERO;
        }
        w.front().map(|t| RATE_WINDOW.saturating_sub(now.duration_since(*t))).unwrap_or_default()
    }
}

/// Where a transport sends.
enum Dest {
    /// Writes each mail as `<outbox id>-<kind>.eml` into the directory.
    File(PathBuf),
    /// Hands each mail to an SMTP relay (submission or MX).
    Smtp(crate::smtp::SmtpTransport),
}

impl From<crate::smtp::SendError> for SendError {
    fn from(e: crate::smtp::SendError) -> Self {
        match e {
            crate::smtp::SendError::Transient(m) => SendError::Transient(m),
            crate::smtp::SendError::Permanent(m) => SendError::Permanent(m),
            crate::smtp::SendError::Unreachable(m) => SendError::Unreachable(m),
        }
    }
}

/// The SMTP edge's settings for a `[transport]` endpoint.
pub fn smtp_settings(e: &crate::config::Endpoint) -> crate::smtp::SmtpSettings {
    crate::smtp::SmtpSettings {
        host: e.host.clone(),
        port: e.port,
        security: crate::imap_source::security(e.security),
        username: e.username.clone(),
        password: e.password.clone(),
        token: e.token.clone(),
        ca_file: e.ca_file.clone(),
    }
}

impl Transport {
    /// Where the mails go, for log lines (`127.0.0.1:25`, a directory).
    pub fn destination(&self) -> String {
        match &self.dest {
            Dest::File(dir) => dir.display().to_string(),
            Dest::Smtp(t) => t.endpoint().to_string(),
        }
    }

    pub fn from_config(cfg: &crate::config::Config) -> Result<Transport> {
        let dest = match &cfg.transport {
            crate::config::TransportConfig::File { path } => Dest::File(path.clone()),
            crate::config::TransportConfig::Smtp { endpoint } => {
                let t = crate::smtp::SmtpTransport::new(&smtp_settings(endpoint))
                    .map_err(|e| anyhow::anyhow!("{}: transport: {e:#}", cfg.source))?;
                Dest::Smtp(t)
            }
        };
        Ok(Transport {
            dest,
            limit: (cfg.max_per_minute > 0).then(|| RateLimit::new(cfg.max_per_minute)),
            concurrency: cfg.max_concurrency.max(1) as usize,
        })
    }

    /// How many sends may be in flight at once (`max_concurrency`).
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Wait for a slot under `max_per_minute` (no limit: at once), asking
    /// `stop()` at least every second meanwhile. False: it said stop
    /// (no slot was taken).
    pub async fn wait_for_slot(&self, stop: &impl Fn() -> bool) -> bool {
        let Some(l) = &self.limit else { return true };
        loop {
            let wait = l.take();
            if wait.is_zero() {
                return true;
            }
            if stop() {
                return false;
            }
            tokio::time::sleep(wait.min(std::time::Duration::from_secs(1))).await;
        }
    }

    /// Closes the connections kept open for the next send (SMTP: QUIT).
    pub async fn close_idle(&self) {
        if let Dest::Smtp(t) = &self.dest {
            t.close_idle().await;
        }
    }

    /// Send one rendered mail to `to` (envelope recipients).
    pub async fn send(&self, id: i64, kind: &str, from: &str, to: &[String], raw: &[u8]) -> Result<(), SendError> {
        match &self.dest {
            Dest::Smtp(t) => t.send_raw(from, to, raw).await.map_err(SendError::from),
            Dest::File(dir) => {
                let name = format!("{id:06}-{kind}.eml");
                let tmp = dir.join(format!(".{name}.tmp"));
                let dst = dir.join(&name);
                let write = || -> std::io::Result<()> {
                    std::fs::create_dir_all(dir)?;
                    std::fs::write(&tmp, raw)?;
                    std::fs::rename(&tmp, &dst)
                };
                write().map_err(|e| SendError::Unreachable(format!("writing {}: {e}", dst.display())))
            }
        }
    }
}
