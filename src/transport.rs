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
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Transient(s) => write!(f, "temporary failure: {s}"),
            SendError::Permanent(s) => write!(f, "permanent failure: {s}"),
        }
    }
}

/// A configured transport.
pub enum Transport {
    /// Writes each mail as `<outbox id>-<kind>.eml` into the directory.
    File(PathBuf),
}

impl Transport {
    pub fn from_config(cfg: &crate::config::Config) -> Result<Transport> {
        match &cfg.transport {
            crate::config::TransportConfig::File { path } => Ok(Transport::File(path.clone())),
            crate::config::TransportConfig::Smtp { .. } => {
                anyhow::bail!("{}: transport.kind = \"smtp\" is not built into this binary yet", cfg.source)
            }
        }
    }

    /// Send one rendered mail to `to` (envelope recipients).
    pub async fn send(&self, id: i64, kind: &str, _from: &str, _to: &[String], raw: &[u8]) -> Result<(), SendError> {
        match self {
            Transport::File(dir) => {
                let name = format!("{id:06}-{kind}.eml");
                let tmp = dir.join(format!(".{name}.tmp"));
                let dst = dir.join(&name);
                let write = || -> std::io::Result<()> {
                    std::fs::create_dir_all(dir)?;
                    std::fs::write(&tmp, raw)?;
                    std::fs::rename(&tmp, &dst)
                };
                write().map_err(|e| SendError::Transient(format!("writing {}: {e}", dst.display())))
            }
        }
    }
}
