//! The SMTP transport: sends already-rendered RFC 5322 bytes with an explicit
//! envelope through lettre (tokio + rustls/ring), and classifies failures as
//! permanent (5xx reply: do not retry) or transient (everything else: retry).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::imap::{Security, load_pem_certs};

/// Timeout for each SMTP network operation (connect, each command, DATA).
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Extra CA (PEM) trusted in addition to the system roots.
    pub ca_file: Option<PathBuf>,
}

/// Why a send failed. `Permanent` means the server answered with a 5xx
/// reply (or the envelope itself is unusable): retrying the same mail will not help.
/// Everything else (connection refused, 4xx, TLS, timeout) is `Transient`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    Transient(String),
    Permanent(String),
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent(_))
    }

    pub fn message(&self) -> &str {
        match self {
            SendError::Transient(m) | SendError::Permanent(m) => m,
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Transient(m) => write!(f, "transient SMTP failure: {m}"),
            SendError::Permanent(m) => write!(f, "permanent SMTP failure: {m}"),
        }
    }
}

impl std::error::Error for SendError {}

impl From<lettre::transport::smtp::Error> for SendError {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        let msg = error_chain(&e);
        if e.is_permanent() { SendError::Permanent(msg) } else { SendError::Transient(msg) }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        source = s.source();
    }
    msg
}

/// An SMTP client for one relay; cheap to share (`&self` sends).
#[derive(Clone)]
pub struct SmtpTransport {
    inner: AsyncSmtpTransport<Tokio1Executor>,
    endpoint: String,
}

impl std::fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTransport").field("endpoint", &self.endpoint).finish_non_exhaustive()
    }
}

impl SmtpTransport {
    /// `Tls` = implicit TLS, `StartTls` = STARTTLS required, `Plain` = no
    /// encryption. With TLS, the system roots plus `ca_file` are trusted.
    /// Credentials are used when both username and password are set.
    pub fn new(s: &SmtpSettings) -> anyhow::Result<SmtpTransport> {
        let builder = match s.security {
            Security::Plain => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
            Security::Tls | Security::StartTls => {
                let mut params = TlsParameters::builder(s.host.clone());
                if let Some(path) = &s.ca_file {
                    // parse with our loader first: it reports empty or broken files clearly
                    load_pem_certs(path)?;
                    let pem = std::fs::read(path).with_context(|| format!("reading CA file {}", path.display()))?;
                    let cert = Certificate::from_pem(&pem).with_context(|| format!("CA file {}", path.display()))?;
                    params = params.add_root_certificate(cert);
                }
                let params = params.build_rustls().context("SMTP TLS parameters")?;
                let tls = if s.security == Security::Tls { Tls::Wrapper(params) } else { Tls::Required(params) };
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host).tls(tls)
            }
        };
        let mut builder = builder.port(s.port).timeout(Some(SMTP_TIMEOUT));
        match (&s.username, &s.password) {
            (Some(u), Some(p)) => {
                builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
            }
            (None, None) => {}
            _ => anyhow::bail!("SMTP: username and password must be given together"),
        }
        Ok(SmtpTransport { inner: builder.build(), endpoint: format!("{}:{}", s.host, s.port) })
    }

    /// Sends `raw` (a complete RFC 5322 message) with envelope sender `from`
    /// (empty = null sender `<>`) to the envelope recipients `to`.
    pub async fn send_raw(&self, from: &str, to: &[String], raw: &[u8]) -> Result<(), SendError> {
        let from_addr = if from.is_empty() {
            None
        } else {
            Some(
                from.parse::<Address>()
                    .map_err(|e| SendError::Permanent(format!("bad envelope sender {from:?}: {e}")))?,
            )
        };
        let to_addrs = to
            .iter()
            .map(|t| {
                t.parse::<Address>().map_err(|e| SendError::Permanent(format!("bad envelope recipient {t:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let envelope =
            Envelope::new(from_addr, to_addrs).map_err(|e| SendError::Permanent(format!("bad envelope: {e}")))?;
        // lettre's own timeout covers each network step; this bounds the whole send.
        match tokio::time::timeout(SMTP_TIMEOUT * 4, self.inner.send_raw(&envelope, raw)).await {
            Err(_) => Err(SendError::Transient(format!("SMTP send to {} timed out", self.endpoint))),
            Ok(Err(e)) => {
                let err = SendError::from(e);
                Err(match err {
                    SendError::Permanent(m) => SendError::Permanent(format!("{}: {m}", self.endpoint)),
                    SendError::Transient(m) => SendError::Transient(format!("{}: {m}", self.endpoint)),
                })
            }
            Ok(Ok(_response)) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_error_display_names_the_kind() {
        assert!(SendError::Permanent("550".into()).to_string().starts_with("permanent"));
        assert!(!SendError::Transient("421".into()).is_permanent());
    }
}
