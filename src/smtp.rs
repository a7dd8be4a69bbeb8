//! The SMTP transport: sends already-rendered RFC 5322 bytes with an explicit
//! envelope through lettre (tokio + rustls/ring), and classifies failures as
//! permanent (5xx reply: do not retry) or transient (everything else: retry).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::imap::{Security, load_pem_certs};

/// Timeout for the connection to the relay (lettre's own `timeout`: on its
/// async transport it covers the connect only).
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The slowest upstream a send is allowed (128 kbit/s): see [`send_bound`].
pub const MIN_SEND_RATE: u64 = 16 * 1024;

/// How long one send of `len` bytes may take in all: two minutes, plus the
/// mail's size at [`MIN_SEND_RATE`]. A fixed bound failed a large mail (a
/// team notification carrying 10 MB of the customer's files) on every try
/// over a slow upstream, and as a timeout counts as "relay unreachable",
/// the queue behind it waited for ever.
pub fn send_bound(len: usize) -> Duration {
    bound_from(SMTP_TIMEOUT * 4, len)
}

/// [`send_bound`] with `base` as its fixed part.
fn bound_from(base: Duration, len: usize) -> Duration {
    base + Duration::from_millis(len as u64 * 1000 / MIN_SEND_RATE)
}

#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<String>,
    /// `Some`: `AUTH XOAUTH2` with `username` and a token from here (fetched
    /// per send) instead of `password`.
    pub token: Option<crate::oauth::TokenSource>,
    /// Extra CA (PEM) trusted in addition to the system roots.
    pub ca_file: Option<PathBuf>,
}

/// Why a send failed. `Permanent` means the server answered with a 5xx
/// reply (or the envelope itself is unusable): retrying the same mail will not help.
/// `Unreachable`: the relay itself could not be talked to (connection
/// refused or lost, TLS failure, timeout, 421 "service not available"):
/// no other mail will get through either until it is back. Everything else
/// (a 4xx reply to this mail) is `Transient`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    Transient(String),
    Permanent(String),
    Unreachable(String),
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent(_))
    }

    pub fn message(&self) -> &str {
        match self {
            SendError::Transient(m) | SendError::Permanent(m) | SendError::Unreachable(m) => m,
        }
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Transient(m) => write!(f, "transient SMTP failure: {m}"),
            SendError::Permanent(m) => write!(f, "permanent SMTP failure: {m}"),
            SendError::Unreachable(m) => write!(f, "SMTP relay unreachable: {m}"),
        }
    }
}

impl std::error::Error for SendError {}

impl From<lettre::transport::smtp::Error> for SendError {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        let msg = error_chain(&e);
        if e.is_permanent() {
            SendError::Permanent(msg)
        } else if e.is_transient() && e.status().is_some_and(|c| c.to_string() != "421") {
            // a 4xx reply to this mail; 421 closes the whole session
            SendError::Transient(msg)
        } else if e.is_response() || e.is_client() {
            SendError::Transient(msg)
        } else {
            // connection, network, TLS, timeout, 421: the relay as a whole
            SendError::Unreachable(msg)
        }
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
    /// `Some` for XOAUTH2: `inner` is rebuilt whenever the token changes.
    oauth: Option<Arc<OauthState>>,
    /// The fixed part of [`send_bound`] (tests shorten it).
    base: Duration,
}

struct OauthState {
    settings: SmtpSettings,
    username: String,
    source: crate::oauth::TokenSource,
    /// The token the current transport (and its pooled connections) was built with.
    current: Mutex<Option<(String, AsyncSmtpTransport<Tokio1Executor>)>>,
}

impl std::fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTransport").field("endpoint", &self.endpoint).finish_non_exhaustive()
    }
}

impl SmtpTransport {
    /// `Tls` = implicit TLS, `StartTls` = STARTTLS required, `Plain` = no
    /// encryption. With TLS, the system roots plus `ca_file` are trusted.
    /// Credentials are used when both username and password are set; with
    /// `token`, XOAUTH2 is used and the token is fetched for every send.
    /// `host:port` of the relay.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Replaces the fixed two minutes of [`send_bound`] (tests).
    #[doc(hidden)]
    pub fn set_send_base(&mut self, base: Duration) {
        self.base = base;
    }

    pub fn new(s: &SmtpSettings) -> anyhow::Result<SmtpTransport> {
        let endpoint = format!("{}:{}", s.host, s.port);
        if let Some(source) = &s.token {
            let username = s.username.clone().ok_or_else(|| anyhow::anyhow!("SMTP: XOAUTH2 needs a username"))?;
            // checks TLS settings and the CA file now rather than at the first send
            let inner = build(s, None)?;
            let oauth = OauthState { settings: s.clone(), username, source: source.clone(), current: Mutex::new(None) };
            return Ok(SmtpTransport { inner, endpoint, oauth: Some(Arc::new(oauth)), base: SMTP_TIMEOUT * 4 });
        }
        let creds = match (&s.username, &s.password) {
            (Some(u), Some(p)) => Some((Credentials::new(u.clone(), p.clone()), Mechanism::Plain)),
            (None, None) => None,
            _ => anyhow::bail!("SMTP: username and password must be given together"),
        };
        Ok(SmtpTransport { inner: build(s, creds)?, endpoint, oauth: None, base: SMTP_TIMEOUT * 4 })
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
        let Some(oauth) = &self.oauth else {
            return self.send_with(&self.inner, &envelope, raw).await.map_err(|e| self.classify(e));
        };
        // XOAUTH2: a token fetched now; a rejected one is replaced once.
        let token = self.token(oauth).await?;
        let inner = self.transport_for(oauth, &token)?;
        match self.send_with(&inner, &envelope, raw).await {
            Ok(()) => Ok(()),
            Err(e) if is_auth_failure(&e) => {
                tracing::info!(endpoint = %self.endpoint, key = %oauth.source.key, "SMTP XOAUTH2 token rejected; fetching a fresh one");
                let fresh = self.token(oauth).await?;
                if fresh == token {
                    return Err(self.auth_failed(oauth, &e, "gives no newer one"));
                }
                let inner = self.transport_for(oauth, &fresh)?;
                match self.send_with(&inner, &envelope, raw).await {
                    Err(e) if is_auth_failure(&e) => Err(self.auth_failed(oauth, &e, "also gave a rejected one")),
                    r => r.map_err(|e| self.classify(e)),
                }
            }
            Err(e) => Err(self.classify(e)),
        }
    }

    async fn send_with(
        &self,
        inner: &AsyncSmtpTransport<Tokio1Executor>,
        envelope: &Envelope,
        raw: &[u8],
    ) -> Result<(), SendErrorOrTimeout> {
        // lettre's own timeout covers the connect; this bounds the whole send.
        match tokio::time::timeout(bound_from(self.base, raw.len()), inner.send_raw(envelope, raw)).await {
            Err(_) => Err(SendErrorOrTimeout::Timeout),
            Ok(Err(e)) => Err(SendErrorOrTimeout::Smtp(e)),
            Ok(Ok(_response)) => Ok(()),
        }
    }

    fn classify(&self, e: SendErrorOrTimeout) -> SendError {
        match e {
            SendErrorOrTimeout::Timeout => SendError::Unreachable(format!("SMTP send to {} timed out", self.endpoint)),
            SendErrorOrTimeout::Smtp(e) => match SendError::from(e) {
                SendError::Permanent(m) => SendError::Permanent(format!("{}: {m}", self.endpoint)),
                SendError::Transient(m) => SendError::Transient(format!("{}: {m}", self.endpoint)),
                SendError::Unreachable(m) => SendError::Unreachable(format!("{}: {m}", self.endpoint)),
            },
        }
    }

    /// A rejected token is transient: the outbox retries later, by which
    /// time the refresher (or the command) has a new one.
    fn auth_failed(&self, oauth: &OauthState, e: &SendErrorOrTimeout, what: &str) -> SendError {
        let key = &oauth.source.key;
        let detail = match e {
            SendErrorOrTimeout::Smtp(e) if e.status().is_none() => {
                "the server answered AUTH with an XOAUTH2 error challenge".to_string()
            }
            SendErrorOrTimeout::Smtp(e) => error_chain(e),
            SendErrorOrTimeout::Timeout => "timeout".into(),
        };
        SendError::Transient(format!(
            "{}: XOAUTH2 login as {} rejected ({detail}); the token came from {key}, which {what}",
            self.endpoint, oauth.username
        ))
    }

    async fn token(&self, oauth: &OauthState) -> Result<String, SendError> {
        oauth.source.fetch().await.map_err(|e| SendError::Transient(format!("{}: {e:#}", self.endpoint)))
    }

    /// The transport built for `token`, rebuilt (dropping pooled connections
    /// logged in with an older token) when the token changed.
    fn transport_for(&self, oauth: &OauthState, token: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
        let mut current = oauth.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((t, inner)) = current.as_ref()
            && t == token
        {
            return Ok(inner.clone());
        }
        let creds = Credentials::new(oauth.username.clone(), token.to_string());
        let inner = build(&oauth.settings, Some((creds, Mechanism::Xoauth2)))
            .map_err(|e| SendError::Permanent(format!("{}: {e:#}", self.endpoint)))?;
        *current = Some((token.to_string(), inner.clone()));
        Ok(inner)
    }
}

enum SendErrorOrTimeout {
    Smtp(lettre::transport::smtp::Error),
    Timeout,
}

/// 535 (credentials invalid), 534 (mechanism too weak / web login
/// required), 454 (temporary auth failure), or lettre's complaint about the
/// JSON challenge a server sends back when it rejects an XOAUTH2 token.
fn is_auth_failure(e: &SendErrorOrTimeout) -> bool {
    let SendErrorOrTimeout::Smtp(e) = e else { return false };
    if let Some(code) = e.status() {
        return matches!(code.to_string().as_str(), "535" | "534" | "454");
    }
    e.is_client() && error_chain(e).contains("does not expect a challenge")
}

/// One lettre transport: TLS mode, CA, port, timeout, and optional credentials + mechanism.
fn build(
    s: &SmtpSettings,
    creds: Option<(Credentials, Mechanism)>,
) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
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
    match creds {
        Some((c, Mechanism::Xoauth2)) => {
            builder = builder.credentials(c).authentication(vec![Mechanism::Xoauth2]);
        }
        // lettre's default: PLAIN, then LOGIN
        Some((c, _)) => builder = builder.credentials(c),
        None => {}
    }
    Ok(builder.build())
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
