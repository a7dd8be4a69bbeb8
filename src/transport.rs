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

/// A configured transport.
pub enum Transport {
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
        match self {
            Transport::File(dir) => dir.display().to_string(),
            Transport::Smtp(t) => t.endpoint().to_string(),
        }
    }

    pub fn from_config(cfg: &crate::config::Config) -> Result<Transport> {
        match &cfg.transport {
            crate::config::TransportConfig::File { path } => Ok(Transport::File(path.clone())),
            crate::config::TransportConfig::Smtp { endpoint } => {
                let t = crate::smtp::SmtpTransport::new(&smtp_settings(endpoint))
                    .map_err(|e| anyhow::anyhow!("{}: transport: {e:#}", cfg.source))?;
                Ok(Transport::Smtp(t))
            }
        }
    }

    /// Send one rendered mail to `to` (envelope recipients).
    pub async fn send(&self, id: i64, kind: &str, from: &str, to: &[String], raw: &[u8]) -> Result<(), SendError> {
        match self {
            Transport::Smtp(t) => t.send_raw(from, to, raw).await.map_err(SendError::from),
            Transport::File(dir) => {
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
