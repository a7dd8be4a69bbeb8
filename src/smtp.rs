//! The SMTP transport: sends already-rendered RFC 5322 bytes with an explicit
//! envelope over connections it opens and keeps (lettre speaks the protocol,
//! tokio-rustls/ring the TLS), and classifies failures as
//! permanent (5xx reply: do not retry) or transient (everything else: retry).

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio_rustls::rustls::pki_types::ServerName;

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

/// An SMTP client for one relay; cheap to share (`&self` sends, clones
/// share the idle connections).
///
/// Connections are opened by us, not by lettre's transport: lettre writes a
/// mail's body and its final `CRLF . CRLF` in two writes and never sets
/// `TCP_NODELAY`, so Nagle's algorithm held the final dot until the relay's
/// delayed ACK, 40 ms per mail (845 answers took 40 s over loopback). Its
/// pool also spawned a task when the transport was built, which panicked
/// in the commands that build it before their runtime (`ingest` with an
/// SMTP transport aborted). lettre still speaks the protocol
/// ([`AsyncSmtpConnection`]); its STARTTLS and AUTH are used as before.
#[derive(Clone)]
pub struct SmtpTransport {
    connector: Arc<Connector>,
    endpoint: String,
    /// Static credentials (PLAIN, then LOGIN), or `None`.
    creds: Option<Credentials>,
    /// `Some` for XOAUTH2: credentials are made per send from a fresh token.
    oauth: Option<Arc<OauthState>>,
    /// Connections after a successful send, kept for the next one.
    idle: Arc<Mutex<Vec<Idle>>>,
    /// The fixed part of [`send_bound`] (tests shorten it).
    base: Duration,
}

/// An open, logged-in connection waiting for the next send.
struct Idle {
    conn: AsyncSmtpConnection,
    since: Instant,
    /// The XOAUTH2 token it logged in with (`None`: static credentials or none).
    token: Option<String>,
}

/// How long an idle connection is kept: relays drop idle clients (Postfix
/// after `smtpd_timeout`, 300 s; busy ones sooner); one kept longer is
/// closed with QUIT instead of being tried.
pub const KEEP_IDLE: Duration = Duration::from_secs(30);

/// How long a kept connection may take to answer NOOP or QUIT: a relay
/// that went silent must not hold up the send that wanted it, or the
/// outbox going idle.
const QUIT_TIMEOUT: Duration = Duration::from_secs(5);

/// QUIT, then close, within [`QUIT_TIMEOUT`] (dropped unanswered after it).
async fn quit(mut conn: AsyncSmtpConnection) {
    let _ = tokio::time::timeout(QUIT_TIMEOUT, conn.abort()).await;
}

/// Opens connections: TCP (with `TCP_NODELAY`), TLS, EHLO.
struct Connector {
    host: String,
    port: u16,
    tls: ConnectTls,
    hello: ClientId,
}

enum ConnectTls {
    Plain,
    /// Implicit TLS (port 465): the handshake comes before the greeting.
    Wrapper(Arc<tokio_rustls::rustls::ClientConfig>, ServerName<'static>),
    /// STARTTLS required, by lettre on the connection.
    StartTls(TlsParameters),
}

struct OauthState {
    username: String,
    source: crate::oauth::TokenSource,
}

impl std::fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTransport").field("endpoint", &self.endpoint).finish_non_exhaustive()
    }
}

impl SmtpTransport {
    /// `host:port` of the relay.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Replaces the fixed two minutes of [`send_bound`] (tests).
    #[doc(hidden)]
    pub fn set_send_base(&mut self, base: Duration) {
        self.base = base;
    }

    /// `Tls` = implicit TLS, `StartTls` = STARTTLS required, `Plain` = no
    /// encryption. With TLS, the system roots plus `ca_file` are trusted.
    /// Credentials are used when both username and password are set; with
    /// `token`, XOAUTH2 is used and the token is fetched for every send.
    /// Needs no runtime: nothing is connected or spawned until a send.
    pub fn new(s: &SmtpSettings) -> anyhow::Result<SmtpTransport> {
        let endpoint = format!("{}:{}", s.host, s.port);
        let tls = match s.security {
            Security::Plain => ConnectTls::Plain,
            Security::Tls => {
                let config = crate::imap::tls_client_config(s.ca_file.as_deref()).context("SMTP TLS")?;
                let name = ServerName::try_from(s.host.clone())
                    .with_context(|| format!("SMTP: invalid TLS server name {:?}", s.host))?;
                ConnectTls::Wrapper(config, name)
            }
            Security::StartTls => {
                let mut params = TlsParameters::builder(s.host.clone());
                if let Some(path) = &s.ca_file {
                    // parse with our loader first: it reports empty or broken files clearly
                    load_pem_certs(path)?;
                    let pem = std::fs::read(path).with_context(|| format!("reading CA file {}", path.display()))?;
                    let cert = Certificate::from_pem(&pem).with_context(|| format!("CA file {}", path.display()))?;
                    params = params.add_root_certificate(cert);
                }
                ConnectTls::StartTls(params.build_rustls().context("SMTP TLS parameters")?)
            }
        };
        let connector = Arc::new(Connector { host: s.host.clone(), port: s.port, tls, hello: ClientId::default() });
        let (creds, oauth) = match (&s.token, &s.username, &s.password) {
            (Some(source), Some(u), _) => {
                (None, Some(Arc::new(OauthState { username: u.clone(), source: source.clone() })))
            }
            (Some(_), None, _) => anyhow::bail!("SMTP: XOAUTH2 needs a username"),
            (None, Some(u), Some(p)) => (Some(Credentials::new(u.clone(), p.clone())), None),
            (None, None, None) => (None, None),
            _ => anyhow::bail!("SMTP: username and password must be given together"),
        };
        Ok(SmtpTransport {
            connector,
            endpoint,
            creds,
            oauth,
            idle: Arc::new(Mutex::new(Vec::new())),
            base: SMTP_TIMEOUT * 4,
        })
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
            return self.send_with(self.creds.as_ref(), None, &envelope, raw).await.map_err(|e| self.classify(e));
        };
        // XOAUTH2: a token fetched now; a rejected one is replaced once.
        let token = self.token(oauth).await?;
        let creds = Credentials::new(oauth.username.clone(), token.clone());
        match self.send_with(Some(&creds), Some(&token), &envelope, raw).await {
            Ok(()) => Ok(()),
            Err(e) if is_auth_failure(&e) => {
                tracing::info!(endpoint = %self.endpoint, key = %oauth.source.key, "SMTP XOAUTH2 token rejected; fetching a fresh one");
                let fresh = self.token(oauth).await?;
                if fresh == token {
                    return Err(self.auth_failed(oauth, &e, "gives no newer one"));
                }
                let creds = Credentials::new(oauth.username.clone(), fresh.clone());
                match self.send_with(Some(&creds), Some(&fresh), &envelope, raw).await {
                    Err(e) if is_auth_failure(&e) => Err(self.auth_failed(oauth, &e, "also gave a rejected one")),
                    r => r.map_err(|e| self.classify(e)),
                }
            }
            Err(e) => Err(self.classify(e)),
        }
    }

    /// One send on an idle connection logged in the same way, else on a
    /// new one; bounded as a whole by [`send_bound`].
    async fn send_with(
        &self,
        creds: Option<&Credentials>,
        token: Option<&str>,
        envelope: &Envelope,
        raw: &[u8],
    ) -> Result<(), SendErrorOrTimeout> {
        let send = async {
            let mut conn = match self.take_idle(token).await {
                Some(conn) => conn,
                None => self.connect(creds).await?,
            };
            conn.send(envelope, raw).await.map_err(SendErrorOrTimeout::Smtp)?;
            // a failed send leaves the connection closed (lettre sends QUIT)
            self.lock_idle().push(Idle { conn, since: Instant::now(), token: token.map(str::to_string) });
            Ok(())
        };
        match tokio::time::timeout(bound_from(self.base, raw.len()), send).await {
            Err(_) => Err(SendErrorOrTimeout::Timeout),
            Ok(r) => r,
        }
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most recently used idle connection that answers NOOP and logged
    /// in with `token`; the others on the way are closed.
    async fn take_idle(&self, token: Option<&str>) -> Option<AsyncSmtpConnection> {
        loop {
            let idle = self.lock_idle().pop()?;
            let mut conn = idle.conn;
            if idle.token.as_deref() != token || idle.since.elapsed() >= KEEP_IDLE {
                quit(conn).await;
                continue;
            }
            if tokio::time::timeout(QUIT_TIMEOUT, conn.test_connected()).await.unwrap_or(false) {
                return Some(conn);
            }
            // NOOP unanswered or refused: the connection is gone; dropping closes it
        }
    }

    /// Closes (QUIT) the idle connections: the outbox has nothing to send soon.
    pub async fn close_idle(&self) {
        let idle = std::mem::take(&mut *self.lock_idle());
        for i in idle {
            quit(i.conn).await;
        }
    }

    /// How many connections wait for the next send (tests).
    #[doc(hidden)]
    pub fn idle_connections(&self) -> usize {
        self.lock_idle().len()
    }

    /// TCP (each resolved address in turn, each within [`SMTP_TIMEOUT`],
    /// `TCP_NODELAY` set), implicit TLS or STARTTLS, EHLO, AUTH.
    async fn connect(&self, creds: Option<&Credentials>) -> Result<AsyncSmtpConnection, SendErrorOrTimeout> {
        let c = &*self.connector;
        let unreachable = |what: String| SendErrorOrTimeout::Network(what);
        let addrs = tokio::net::lookup_host((c.host.as_str(), c.port))
            .await
            .map_err(|e| unreachable(format!("resolving {}: {e}", c.host)))?;
        let mut last = format!("{} resolves to no address", c.host);
        let mut tcp = None;
        for addr in addrs {
            match tokio::time::timeout(SMTP_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
                Ok(Ok(s)) => {
                    tcp = Some(s);
                    break;
                }
                Ok(Err(e)) => last = format!("connecting to {addr}: {e}"),
                Err(_) => last = format!("connecting to {addr}: timed out"),
            }
        }
        let tcp = tcp.ok_or_else(|| unreachable(last))?;
        // The body and the final dot are two writes: without this, the dot
        // waits for the relay's delayed ACK (see the type's comment).
        tcp.set_nodelay(true).map_err(|e| unreachable(format!("TCP_NODELAY: {e}")))?;
        let smtp = SendErrorOrTimeout::Smtp;
        let mut conn = match &c.tls {
            ConnectTls::Plain => {
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &c.hello).await.map_err(smtp)?
            }
            ConnectTls::StartTls(params) => {
                let mut conn =
                    AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &c.hello).await.map_err(smtp)?;
                conn.starttls(params.clone(), &c.hello).await.map_err(smtp)?;
                conn
            }
            ConnectTls::Wrapper(config, name) => {
                let tls = tokio_rustls::TlsConnector::from(config.clone())
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| unreachable(format!("TLS handshake: {e}")))?;
                AsyncSmtpConnection::connect_with_transport(Box::new(TlsOverTcp(tls)), &c.hello).await.map_err(smtp)?
            }
        };
        if let Some(creds) = creds {
            let mechanisms: &[Mechanism] =
                if self.oauth.is_some() { &[Mechanism::Xoauth2] } else { &[Mechanism::Plain, Mechanism::Login] };
            if let Err(e) = conn.auth(mechanisms, creds).await {
                conn.abort().await;
                return Err(smtp(e));
            }
        }
        Ok(conn)
    }

    fn classify(&self, e: SendErrorOrTimeout) -> SendError {
        match e {
            SendErrorOrTimeout::Timeout => SendError::Unreachable(format!("SMTP send to {} timed out", self.endpoint)),
            SendErrorOrTimeout::Network(m) => SendError::Unreachable(format!("{}: {m}", self.endpoint)),
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
            SendErrorOrTimeout::Network(m) => m.clone(),
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
}

enum SendErrorOrTimeout {
    Smtp(lettre::transport::smtp::Error),
    /// Resolving, connecting or the TLS handshake failed: the relay as a whole.
    Network(String),
    Timeout,
}

/// Implicit TLS under lettre's connection (lettre's own TLS would start only
/// after it read the greeting).
struct TlsOverTcp(tokio_rustls::client::TlsStream<tokio::net::TcpStream>);

impl std::fmt::Debug for TlsOverTcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsOverTcp")
    }
}

impl tokio::io::AsyncRead for TlsOverTcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TlsOverTcp {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsOverTcp {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_error_display_names_the_kind() {
        assert!(SendError::Permanent("550".into()).to_string().starts_with("permanent"));
        assert!(!SendError::Transient("421".into()).is_permanent());
    }
}
