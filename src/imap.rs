//! The IMAP edge: connect (TLS, STARTTLS or plain), fetch new mail by UID,
//! acknowledge processed mail (move to a folder or flag `\Seen`), and wait
//! for new mail with IDLE (or NOOP + sleep where the server has no IDLE).
//!
//! Built on async-imap 0.12 (tokio runtime) over a tokio-rustls stream. The
//! traps from FACTS.md §1 are handled here: the greeting is read before
//! LOGIN, `UID FETCH n:*` results are filtered on `uid > last`, and the IDLE
//! stop handle is kept alive for the whole wait.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use async_imap::types::{Capabilities, UnsolicitedResponse};
use futures::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// How the connection is secured (config key `security`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Implicit TLS from the first byte (IMAPS 993, SMTPS 465).
    Tls,
    /// Plain connection upgraded with STARTTLS; the upgrade is required.
    StartTls,
    /// No encryption at all (loopback tests only).
    Plain,
}

impl Security {
    /// Parses the config spelling: `"tls"`, `"starttls"`, `"plain"`.
    pub fn parse(s: &str) -> Option<Security> {
        match s {
            "tls" => Some(Security::Tls),
            "starttls" => Some(Security::StartTls),
            "plain" => Some(Security::Plain),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ImapSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    /// Ignored when `token` is set.
    pub password: String,
    /// `Some`: `AUTHENTICATE XOAUTH2` with a token from here instead of LOGIN.
    pub token: Option<crate::oauth::TokenSource>,
    /// Extra CA (PEM) trusted in addition to the system roots.
    pub ca_file: Option<PathBuf>,
    pub folder: String,
    /// `None`: acknowledge only sets `\Seen`.
    pub processed_folder: Option<String>,
}

/// A fetched message: its UID in the selected folder and the raw RFC 5322 bytes.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub uid: u32,
    pub raw: Vec<u8>,
    /// The server's INTERNALDATE: when the mail arrived in the mailbox.
    pub internal_date: Option<chrono::DateTime<chrono::Utc>>,
}

/// Timeout for connecting (TCP + TLS + greeting + LOGIN + SELECT).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Timeout for one command round trip (store, NOOP, IDLE start and end,
/// logout); a fetch or acknowledge instead fails only when the server sends
/// nothing for this long (see [`unless_stalled`]).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest single IDLE: RFC 2177 asks clients to re-issue IDLE at least
/// every 29 minutes, so `wait` returns after this even if `max` is longer.
pub const MAX_IDLE: Duration = Duration::from_secs(25 * 60);

type Session = async_imap::Session<ImapStream>;

/// A logged-in IMAP session with the source folder selected.
pub struct ImapMailbox {
    session: Option<Session>,
    uid_validity: u32,
    capabilities: Vec<String>,
    folder: String,
    processed_folder: Option<String>,
    /// Set by `fetch_after`: mail was left for the next fetch.
    more_waiting: bool,
    /// Bytes read from the server on this connection (counted by the stream).
    received: Arc<AtomicU64>,
    /// How long a fetch or acknowledge may go without data from the server.
    stall: Duration,
    /// Called while a fetch or acknowledge is receiving data.
    on_progress: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl fmt::Debug for ImapMailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapMailbox")
            .field("folder", &self.folder)
            .field("uid_validity", &self.uid_validity)
            .field("capabilities", &self.capabilities)
            .finish_non_exhaustive()
    }
}

impl ImapMailbox {
    /// TCP, TLS/STARTTLS (system roots + optional extra CA), greeting, LOGIN,
    /// CREATE the processed folder if missing, SELECT the folder.
    pub async fn connect(s: &ImapSettings) -> anyhow::Result<ImapMailbox> {
        tokio::time::timeout(CONNECT_TIMEOUT, Self::connect_inner(s))
            .await
            .map_err(|_| anyhow!("IMAP connect to {}:{} timed out after {:?}", s.host, s.port, CONNECT_TIMEOUT))?
    }

    async fn connect_inner(s: &ImapSettings) -> anyhow::Result<ImapMailbox> {
        let tcp = TcpStream::connect((s.host.as_str(), s.port))
            .await
            .with_context(|| format!("IMAP connect to {}:{}", s.host, s.port))?;
        tcp.set_nodelay(true).ok();
        let link = match s.security {
            Security::Plain => Link::Plain(tcp),
            Security::Tls => Link::Tls(Box::new(tls_handshake(tcp, s).await?)),
            Security::StartTls => {
                let mut client = async_imap::Client::new(tcp);
                read_greeting(&mut client).await?;
                client.run_command_and_check_ok("STARTTLS", None).await.context("IMAP STARTTLS refused")?;
                let tcp = client.into_inner();
                Link::Tls(Box::new(tls_handshake(tcp, s).await?))
            }
        };
        let received = Arc::new(AtomicU64::new(0));
        let stream = ImapStream { link, received: received.clone() };
        let mut client = async_imap::Client::new(stream);
        if s.security != Security::StartTls {
            read_greeting(&mut client).await?;
        }
        let mut session = match &s.token {
            None => client
                .login(&s.username, &s.password)
                .await
                .map_err(|(e, _client)| anyhow!("IMAP login as {} failed: {e}", s.username))?,
            Some(source) => authenticate_xoauth2(client, s, source).await?,
        };

        let caps = session.capabilities().await.context("IMAP CAPABILITY")?;
        let capabilities = capability_names(&caps);

        if let Some(processed) = &s.processed_folder {
            ensure_folder(&mut session, processed).await?;
        }
        let mailbox = session.select(&s.folder).await.with_context(|| format!("IMAP SELECT {}", s.folder))?;
        let uid_validity =
            mailbox.uid_validity.ok_or_else(|| anyhow!("IMAP server sent no UIDVALIDITY for {}", s.folder))?;
        drain_unsolicited(&session);
        Ok(ImapMailbox {
            session: Some(session),
            uid_validity,
            capabilities,
            folder: s.folder.clone(),
            processed_folder: s.processed_folder.clone(),
            more_waiting: false,
            received,
            stall: COMMAND_TIMEOUT,
            on_progress: None,
        })
    }

    pub fn uid_validity(&self) -> u32 {
        self.uid_validity
    }

    pub fn supports_idle(&self) -> bool {
        self.has_capability("IDLE")
    }

    /// Capability names as the server announced them after login (upper case).
    pub fn capabilities(&self) -> &[String] {
        &self.capabilities
    }

    pub fn has_capability(&self, name: &str) -> bool {
        self.capabilities.iter().any(|c| c.eq_ignore_ascii_case(name))
    }

    /// Acts as if the server had not announced `name` (e.g. "MOVE" or
    /// "IDLE"), so tests can exercise the fallback paths against a server
    /// that has everything.
    #[doc(hidden)]
    pub fn forget_capability(&mut self, name: &str) {
        self.capabilities.retain(|c| !c.eq_ignore_ascii_case(name));
    }

    /// `f` is called while a fetch or acknowledge keeps receiving data: a
    /// large mail on a slow link may take longer than the daemon's usual
    /// limit for one piece of work, and is not a hang.
    pub fn on_progress(&mut self, f: impl Fn() + Send + Sync + 'static) {
        self.on_progress = Some(Arc::new(f));
    }

    /// How long a fetch or acknowledge may go without data from the server
    /// ([`COMMAND_TIMEOUT`] unless set; tests shorten it).
    pub fn set_stall_timeout(&mut self, stall: Duration) {
        self.stall = stall;
    }

    fn session(&mut self) -> anyhow::Result<&mut Session> {
        self.session.as_mut().ok_or_else(|| anyhow!("IMAP session lost (an earlier IDLE failed): reconnect"))
    }

    /// Messages with UID > `last_uid`, ascending, at most `max` of them and,
    /// beyond the first, at most [`FETCH_BYTES`] of mail (their RFC822.SIZE,
    /// asked first when more than one is waiting). The flags are not
    /// touched (BODY.PEEK[]). `UID FETCH n:*` always returns the newest
    /// message even when its UID is below n: those are filtered out here.
    /// [`more_waiting`](Self::more_waiting) says whether mail was left for
    /// the next fetch.
    pub async fn fetch_after(&mut self, last_uid: u32, max: usize) -> anyhow::Result<Vec<Fetched>> {
        self.more_waiting = false;
        if max == 0 {
            return Ok(Vec::new());
        }
        let Some(first) = last_uid.checked_add(1) else {
            return Ok(Vec::new());
        };
        let (received, stall, progress) = (self.received.clone(), self.stall, self.on_progress.clone());
        let session = self.session()?;
        let fut = async {
            // Ask for the UIDs first so a large backlog is fetched in bounded batches.
            let mut uids: Vec<u32> = session
                .uid_search(format!("UID {first}:*"))
                .await
                .context("IMAP UID SEARCH")?
                .into_iter()
                .filter(|&u| u > last_uid)
                .collect();
            uids.sort_unstable();
            let mut more = uids.len() > max;
            uids.truncate(max);
            if uids.is_empty() {
                return Ok((Vec::new(), false));
            }
            if uids.len() > 1 {
                // Their sizes, so that a backlog of large mails is not held
                // in memory 200 at a time (25 MB each at most: 5 GB).
                let mut sizes: Vec<(u32, u64)> = Vec::with_capacity(uids.len());
                {
                    let mut stream = session
                        .uid_fetch(uid_set(&uids), "(UID RFC822.SIZE)")
                        .await
                        .context("IMAP UID FETCH RFC822.SIZE")?;
                    while let Some(f) = stream.try_next().await.context("IMAP UID FETCH RFC822.SIZE response")? {
                        if let (Some(uid), Some(size)) = (f.uid, f.size) {
                            sizes.push((uid, u64::from(size)));
                        }
                    }
                }
                sizes.sort_unstable();
                let keep = within_bytes(&uids, &sizes, FETCH_BYTES);
                more |= keep < uids.len();
                uids.truncate(keep);
            }
            let set = uid_set(&uids);
            // Each response is copied out and dropped as it arrives: the
            // batch is held once, not twice (the responses and the copies).
            let mut out: Vec<Fetched> = Vec::with_capacity(uids.len());
            // Which of `uids` came with a body: a repeated response is not
            // copied again (the batch stays within its bytes whatever the
            // server sends).
            let mut got = vec![false; uids.len()];
            // Indexes in `uids` of answers without a body.
            let mut bodyless: Vec<usize> = Vec::new();
            {
                let mut stream =
                    session.uid_fetch(&set, "(UID INTERNALDATE BODY.PEEK[])").await.context("IMAP UID FETCH")?;
                while let Some(f) = stream.try_next().await.context("IMAP UID FETCH response")? {
                    // A FETCH of a requested UID without its body (no BODY[]
                    // item, or BODY[] NIL) is a server fault, not an empty
                    // mail: storing it would acknowledge, i.e. lose, the real
                    // one. The whole fetch fails and stays unacknowledged.
                    // FETCH responses for other UIDs (flag updates) are ignored.
                    let Some(uid) = f.uid else { continue };
                    let Ok(k) = uids.binary_search(&uid) else { continue };
                    if got[k] {
                        continue;
                    }
                    match f.body() {
                        Some(raw) => {
                            got[k] = true;
                            out.push(Fetched {
                                uid,
                                raw: raw.to_vec(),
                                internal_date: f.internal_date().map(|d| d.with_timezone(&chrono::Utc)),
                            });
                        }
                        None => bodyless.push(k),
                    }
                }
            }
            out.sort_by_key(|f| f.uid);
            if let Some(&k) = bodyless.iter().find(|&&k| !got[k]) {
                bail!("IMAP server answered UID FETCH for UID {} without the message body (BODY[])", uids[k]);
            }
            anyhow::Ok((out, more))
        };
        let (out, more) = unless_stalled(fut, &received, stall, progress.as_deref(), "IMAP fetch").await?;
        self.more_waiting = more;
        Ok(out)
    }

    /// Whether the last [`fetch_after`](Self::fetch_after) left mail on the
    /// server for the next one (a backlog).
    pub fn more_waiting(&self) -> bool {
        self.more_waiting
    }

    /// Marks messages as processed: MOVE to the processed folder (UID MOVE, or
    /// UID COPY + \Deleted + UID EXPUNGE without MOVE), or only `\Seen` when
    /// no processed folder is configured.
    pub async fn acknowledge(&mut self, uids: &[u32]) -> anyhow::Result<()> {
        if uids.is_empty() {
            return Ok(());
        }
        let mut sorted = uids.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let set = uid_set(&sorted);
        let has_move = self.has_capability("MOVE");
        let has_uidplus = self.has_capability("UIDPLUS");
        let processed = self.processed_folder.clone();
        let (received, stall, progress) = (self.received.clone(), self.stall, self.on_progress.clone());
        let session = self.session()?;
        let fut = async {
            match &processed {
                None => {
                    let _: Vec<_> = session
                        .uid_store(&set, "+FLAGS.SILENT (\\Seen)")
                        .await
                        .context("IMAP UID STORE \\Seen")?
                        .try_collect()
                        .await
                        .context("IMAP UID STORE response")?;
                }
                Some(folder) if has_move => {
                    session.uid_mv(&set, folder).await.with_context(|| format!("IMAP UID MOVE to {folder}"))?;
                }
                Some(folder) => {
                    session.uid_copy(&set, folder).await.with_context(|| format!("IMAP UID COPY to {folder}"))?;
                    let _: Vec<_> = session
                        .uid_store(&set, "+FLAGS.SILENT (\\Seen \\Deleted)")
                        .await
                        .context("IMAP UID STORE \\Deleted")?
                        .try_collect()
                        .await
                        .context("IMAP UID STORE response")?;
                    if has_uidplus {
                        let _: Vec<_> = session
                            .uid_expunge(&set)
                            .await
                            .context("IMAP UID EXPUNGE")?
                            .try_collect()
                            .await
                            .context("IMAP UID EXPUNGE response")?;
                    } else {
                        // Without UIDPLUS only a full EXPUNGE exists; it also
                        // removes other \Deleted mail in this folder.
                        tracing::warn!("IMAP server lacks MOVE and UIDPLUS: using EXPUNGE");
                        let _: Vec<_> = session
                            .expunge()
                            .await
                            .context("IMAP EXPUNGE")?
                            .try_collect()
                            .await
                            .context("IMAP EXPUNGE response")?;
                    }
                }
            }
            anyhow::Ok(())
        };
        unless_stalled(fut, &received, stall, progress.as_deref(), "IMAP acknowledge").await?;
        // Our own EXPUNGE responses are not news for `wait`.
        drain_unsolicited(self.session()?);
        Ok(())
    }

    /// Waits until the server reports a change in the selected folder or
    /// `max` passes. Uses IDLE (ended with DONE) when the server has it,
    /// otherwise NOOP followed by a sleep of `max`. Returns at once if a
    /// change was already reported during an earlier command. One IDLE
    /// lasts at most [`MAX_IDLE`]; callers loop anyway.
    pub async fn wait(&mut self, max: Duration) -> anyhow::Result<()> {
        if drain_unsolicited(self.session()?) {
            return Ok(());
        }
        if !self.supports_idle() {
            let session = self.session()?;
            tokio::time::timeout(COMMAND_TIMEOUT, session.noop())
                .await
                .map_err(|_| anyhow!("IMAP NOOP timed out"))?
                .context("IMAP NOOP")?;
            if drain_unsolicited(session) {
                return Ok(());
            }
            tokio::time::sleep(max).await;
            return Ok(());
        }

        let max = max.min(MAX_IDLE);
        let session =
            self.session.take().ok_or_else(|| anyhow!("IMAP session lost (an earlier IDLE failed): reconnect"))?;
        let mut idle = session.idle();
        tokio::time::timeout(COMMAND_TIMEOUT, idle.init())
            .await
            .map_err(|_| anyhow!("IMAP IDLE start timed out"))?
            .context("IMAP IDLE")?;
        {
            // Keep `_stop` alive until the wait is over: dropping the stop
            // handle ends the wait at once (FACTS.md §1, busy loop otherwise).
            let (fut, _stop) = idle.wait_with_timeout(max);
            match tokio::time::timeout(max, fut).await {
                Err(_elapsed) => {}
                Ok(Ok(resp)) => tracing::debug!(?resp, "IMAP IDLE ended"),
                Ok(Err(e)) => return Err(anyhow!(e).context("IMAP IDLE wait")),
            }
        }
        let session = tokio::time::timeout(COMMAND_TIMEOUT, idle.done())
            .await
            .map_err(|_| anyhow!("IMAP IDLE DONE timed out"))?
            .context("IMAP IDLE DONE")?;
        // Responses that arrived while ending IDLE are in the channel; they
        // belong to this wait, which is over now.
        drain_unsolicited(&session);
        self.session = Some(session);
        Ok(())
    }

    /// LOGOUT and close the connection.
    pub async fn logout(mut self) -> anyhow::Result<()> {
        if let Some(mut session) = self.session.take() {
            tokio::time::timeout(COMMAND_TIMEOUT, session.logout())
                .await
                .map_err(|_| anyhow!("IMAP LOGOUT timed out"))?
                .context("IMAP LOGOUT")?;
        }
        Ok(())
    }
}

/// Reads the server greeting; it must come before LOGIN (FACTS.md §1).
async fn read_greeting<T>(client: &mut async_imap::Client<T>) -> anyhow::Result<()>
where
    T: AsyncRead + AsyncWrite + Unpin + fmt::Debug + Send,
{
    let greeting = client
        .read_response()
        .await
        .context("IMAP greeting")?
        .ok_or_else(|| anyhow!("IMAP server closed the connection before its greeting"))?;
    use async_imap::imap_proto::{Response, Status};
    if let Response::Data { status, outcome, .. } = greeting.parsed()
        && matches!(status, Status::Bye | Status::No)
    {
        bail!("IMAP server refused the connection: {outcome:?}");
    }
    Ok(())
}

/// CREATE (and SUBSCRIBE) the folder unless it already exists.
async fn ensure_folder(session: &mut Session, folder: &str) -> anyhow::Result<()> {
    let names: Vec<_> = session
        .list(None, Some(folder))
        .await
        .context("IMAP LIST")?
        .try_collect()
        .await
        .context("IMAP LIST response")?;
    if names.iter().any(|n| n.name() == folder) {
        return Ok(());
    }
    session.create(folder).await.with_context(|| format!("IMAP CREATE {folder}"))?;
    if let Err(e) = session.subscribe(folder).await {
        tracing::debug!(folder, error = %e, "IMAP SUBSCRIBE failed (ignored)");
    }
    Ok(())
}

/// Empties the unsolicited-response channel; true if it held news about the
/// folder (EXISTS, RECENT, EXPUNGE).
fn drain_unsolicited(session: &Session) -> bool {
    let mut news = false;
    while let Ok(r) = session.unsolicited_responses.try_recv() {
        if matches!(
            r,
            UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_) | UnsolicitedResponse::Expunge(_)
        ) {
            news = true;
        }
    }
    news
}

/// `AUTHENTICATE XOAUTH2` with a token from `source`. When the server
/// rejects it, the token is fetched once more (a refresher may have replaced
/// it, or the command mints a new one) and, if it changed, tried again on the
/// same connection. Errors name the user and the config key, never the token.
async fn authenticate_xoauth2(
    client: async_imap::Client<ImapStream>,
    s: &ImapSettings,
    source: &crate::oauth::TokenSource,
) -> anyhow::Result<Session> {
    let key = &source.key;
    let token = source.fetch().await?;
    let client = match client.authenticate("XOAUTH2", crate::oauth::Xoauth2::new(&s.username, &token)).await {
        Ok(session) => return Ok(session),
        Err((e @ (async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_)), client)) => {
            tracing::info!(user = %s.username, key = %key, "IMAP XOAUTH2 token rejected ({e}); fetching a fresh one");
            client
        }
        Err((e, _)) => bail!("IMAP XOAUTH2 login as {} failed: {e} (token from {key})", s.username),
    };
    let fresh = source.fetch().await?;
    if fresh == token {
        bail!(
            "IMAP XOAUTH2 login as {} failed: the server rejected the token from {key} (expired or not valid for this user?) and {key} gives no newer one",
            s.username
        );
    }
    client.authenticate("XOAUTH2", crate::oauth::Xoauth2::new(&s.username, &fresh)).await.map_err(|(e, _)| {
        anyhow!(
            "IMAP XOAUTH2 login as {} failed: {e}; the server rejected both the token from {key} and the fresh one fetched after it",
            s.username
        )
    })
}

fn capability_names(caps: &Capabilities) -> Vec<String> {
    use async_imap::types::Capability;
    caps.iter()
        .map(|c| match c {
            Capability::Imap4rev1 => "IMAP4REV1".to_string(),
            Capability::Auth(a) => format!("AUTH={}", a.to_ascii_uppercase()),
            Capability::Atom(a) => a.to_ascii_uppercase(),
        })
        .collect()
}

/// Compact UID set: `1:3,7,9:10`.
/// The most mail bytes one fetch holds beyond its first mail (their
/// RFC822.SIZE): a batch in processing, the next one read ahead and the
/// fetch in progress stay within a few times this, whatever the backlog.
pub const FETCH_BYTES: u64 = 4 << 20;

/// How many of `uids` (ascending) one fetch takes: at least one, then as
/// long as their sizes (`sizes`: (UID, RFC822.SIZE), sorted) stay within
/// `budget`. A UID whose size the server did not say counts as 0.
pub fn within_bytes(uids: &[u32], sizes: &[(u32, u64)], budget: u64) -> usize {
    let mut total = 0u64;
    for (i, uid) in uids.iter().enumerate() {
        let size = sizes.binary_search_by_key(uid, |&(u, _)| u).map(|k| sizes[k].1).unwrap_or(0);
        total = total.saturating_add(size);
        if i > 0 && total > budget {
            return i;
        }
    }
    uids.len()
}

pub fn uid_set(sorted_uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < sorted_uids.len() {
        let start = sorted_uids[i];
        let mut end = start;
        while i + 1 < sorted_uids.len() && sorted_uids[i + 1] == end.wrapping_add(1) {
            i += 1;
            end = sorted_uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

// --- TLS ---------------------------------------------------------------------

/// The system's root certificates, read and parsed once per process: every
/// TLS connection (IMAP, and each SMTP connection of the outbox) took
/// them from the ~140 certificates of the system bundle again before.
///
/// Where the system has a bundle file (openssl-probe's `cert_file`, e.g.
/// Debian's `/etc/ssl/certs/ca-certificates.crt`, which
/// `update-ca-certificates` makes from the same certificates as the
/// directory), that file alone is read: `load_native_certs` read the
/// directory too, each certificate there once more as its file and once as
/// its hash link (2.3 ms instead of 0.7 ms, 9 ms with a cold page cache,
/// on the daemon's first IMAP connection), and it also trusted what lies
/// in the directory without being in the bundle, such as Debian's
/// self-signed `ssl-cert-snakeoil.pem` ("localhost"). With `SSL_CERT_FILE` or
/// `SSL_CERT_DIR` set, or without a usable bundle, `load_native_certs`
/// decides as before.
fn native_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let from_env = std::env::var_os("SSL_CERT_FILE").is_some() || std::env::var_os("SSL_CERT_DIR").is_some();
        if let Some(bundle) = openssl_probe::probe().cert_file.filter(|_| !from_env) {
            match load_pem_certs(&bundle) {
                Ok(certs) => {
                    let mut roots = RootCertStore::empty();
                    let (added, _ignored) = roots.add_parsable_certificates(certs);
                    if added > 0 {
                        return roots;
                    }
                }
                Err(e) => tracing::debug!(error = %format!("{e:#}"), "the system's certificate bundle"),
            }
        }
        let res = rustls_native_certs::load_native_certs();
        for e in &res.errors {
            tracing::debug!(error = %e, "loading a system root certificate failed");
        }
        let mut roots = RootCertStore::empty();
        let (_added, _ignored) = roots.add_parsable_certificates(res.certs);
        roots
    })
}

/// Reads all certificates of a PEM file.
pub fn load_pem_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("reading CA file {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing CA file {}", path.display()))?;
    if certs.is_empty() {
        bail!("CA file {} holds no PEM certificate", path.display());
    }
    Ok(certs)
}

/// A rustls client config trusting the system roots plus the certificates
/// in `ca_file` (if any).
pub fn tls_client_config(ca_file: Option<&Path>) -> anyhow::Result<Arc<ClientConfig>> {
    let mut roots = native_roots().clone();
    if let Some(path) = ca_file {
        for cert in load_pem_certs(path)? {
            roots.add(cert).with_context(|| format!("CA file {}: unusable certificate", path.display()))?;
        }
    }
    if roots.is_empty() {
        bail!("no trusted root certificates (no system roots and no ca_file)");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

async fn tls_handshake(tcp: TcpStream, s: &ImapSettings) -> anyhow::Result<TlsStream<TcpStream>> {
    let config = tls_client_config(s.ca_file.as_deref())?;
    let name = ServerName::try_from(s.host.clone()).with_context(|| format!("invalid TLS server name {:?}", s.host))?;
    TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .with_context(|| format!("TLS handshake with {}:{}", s.host, s.port))
}

/// The byte stream under the IMAP session: plain TCP or TLS over TCP,
/// counting the bytes read from the server (see [`unless_stalled`]).
#[derive(Debug)]
pub struct ImapStream {
    link: Link,
    received: Arc<AtomicU64>,
}

#[derive(Debug)]
enum Link {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for ImapStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = match &mut this.link {
            Link::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Link::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        let n = buf.filled().len().saturating_sub(before);
        if n > 0 {
            this.received.fetch_add(n as u64, Ordering::Relaxed);
        }
        r
    }
}

impl AsyncWrite for ImapStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().link {
            Link::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Link::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().link {
            Link::Plain(s) => Pin::new(s).poll_flush(cx),
            Link::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().link {
            Link::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Link::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Longest any one fetch or acknowledge may take while data keeps coming
/// (a 25 MB mail at 7 KB/s): a server that trickles is cut off too.
pub const COMMAND_CEILING: Duration = Duration::from_secs(3600);

/// Runs `fut`, one IMAP command that may carry many megabytes (a fetch, a
/// MOVE of a batch), until it ends; it fails when the server has sent
/// nothing for `stall`, or after [`COMMAND_CEILING`]. A slow link therefore
/// still delivers a mail that takes longer than `stall` to arrive (a fixed
/// timeout would fail the same fetch after every reconnect, and no later
/// mail would come through). `on_progress` is called whenever data came
/// since the last look (the daemon's watchdog heartbeat).
pub async fn unless_stalled<T>(
    fut: impl std::future::Future<Output = anyhow::Result<T>>,
    received: &AtomicU64,
    stall: Duration,
    on_progress: Option<&(dyn Fn() + Send + Sync)>,
    what: &str,
) -> anyhow::Result<T> {
    let mut fut = std::pin::pin!(fut);
    let started = tokio::time::Instant::now();
    let mut seen = received.load(Ordering::Relaxed);
    let mut last_data = started;
    // Look a few times per `stall`, so a stall is noticed within 1.25 x `stall`.
    let look = (stall / 4).max(Duration::from_millis(10));
    loop {
        if let Ok(r) = tokio::time::timeout(look, fut.as_mut()).await {
            return r;
        }
        let now = tokio::time::Instant::now();
        let n = received.load(Ordering::Relaxed);
        if n != seen {
            seen = n;
            last_data = now;
            if let Some(f) = on_progress {
                f();
            }
        }
        if now.duration_since(last_data) >= stall {
            bail!("{what}: the server sent nothing for {stall:?}");
        }
        if now.duration_since(started) >= COMMAND_CEILING {
            bail!("{what}: not finished after {COMMAND_CEILING:?} (the server sends too slowly)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The system roots are the bundle's certificates: all of them and no
    /// other (on Debian the directory also holds ssl-cert's self-signed
    /// snakeoil certificate, which the bundle leaves out).
    #[test]
    fn the_system_roots_are_the_bundles_certificates() {
        if std::env::var_os("SSL_CERT_FILE").is_some() || std::env::var_os("SSL_CERT_DIR").is_some() {
            return;
        }
        let Some(bundle) = openssl_probe::probe().cert_file else { return };
        let certs = load_pem_certs(&bundle).unwrap();
        let mut expected = RootCertStore::empty();
        let (added, _) = expected.add_parsable_certificates(certs);
        assert!(added > 0, "{} holds no usable certificate", bundle.display());
        let subjects = |r: &RootCertStore| {
            let mut v: Vec<Vec<u8>> = r.roots.iter().map(|a| a.subject.as_ref().to_vec()).collect();
            v.sort();
            v
        };
        assert_eq!(subjects(native_roots()), subjects(&expected));
    }

    /// A server that keeps sending a byte a second is not a stall, but the
    /// command still ends at the ceiling.
    #[tokio::test(start_paused = true)]
    async fn a_command_that_keeps_trickling_ends_at_the_ceiling() {
        let received = Arc::new(AtomicU64::new(0));
        let r = received.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                r.fetch_add(1, Ordering::Relaxed);
            }
        });
        let t0 = tokio::time::Instant::now();
        let never = std::future::pending::<anyhow::Result<()>>();
        let err = unless_stalled(never, &received, COMMAND_TIMEOUT, None, "IMAP fetch").await.unwrap_err();
        let took = t0.elapsed();
        assert!(err.to_string().contains("not finished after"), "{err}");
        assert!(took >= COMMAND_CEILING && took <= COMMAND_CEILING + COMMAND_TIMEOUT, "{took:?}");
    }

    #[test]
    fn uid_set_compacts_runs() {
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
        assert_eq!(uid_set(&[]), "");
        assert_eq!(uid_set(&[u32::MAX - 1, u32::MAX]), "4294967294:4294967295");
    }

    /// A batch stops before the mail that would take it past the budget,
    /// but always holds one mail, however large; unknown sizes count as 0.
    #[test]
    fn a_fetch_takes_mails_within_its_byte_budget() {
        let sizes = [(3, 400), (4, 400), (5, 300), (9, 5000)];
        assert_eq!(within_bytes(&[3, 4, 5, 9], &sizes, 1000), 2, "400 + 400 fit, + 300 does not");
        assert_eq!(within_bytes(&[3, 4, 5, 9], &sizes, 1100), 3);
        assert_eq!(within_bytes(&[9, 10], &sizes, 1000), 1, "one mail larger than the budget goes alone");
        assert_eq!(within_bytes(&[3, 4, 6, 7], &sizes, 1000), 4, "no size said: 0");
        assert_eq!(within_bytes(&[], &sizes, 1000), 0);
        let huge = [(1, u64::MAX), (2, u64::MAX)];
        assert_eq!(within_bytes(&[1, 2], &huge, FETCH_BYTES), 1, "no overflow");
    }

    #[test]
    fn security_parses_config_spelling() {
        assert_eq!(Security::parse("starttls"), Some(Security::StartTls));
        assert_eq!(Security::parse("TLS"), None);
    }
}
