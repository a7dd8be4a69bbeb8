//! The Prometheus text endpoint (`[metrics] listen`, loopback only):
//! `GET /metrics` answers with [`status::metrics_text`], `GET /healthz` with
//! `{"healthy": bool, "reasons": [...]}` (200 healthy, 503 not), both read
//! from the store over a read-only connection of their own (so a scrape never
//! waits for the mailbox loop's store lock) and the daemon's health record;
//! `HEAD` gives the same head without the body.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use rusqlite::{Connection, OpenFlags};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::status;

/// Longest time a client may take to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest request head read.
const MAX_HEAD: usize = 8192;

/// Bind the listener (before READY, so a taken port fails the start).
pub async fn bind(addr: std::net::SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr).await.with_context(|| format!("metrics.listen = \"{addr}\": cannot listen"))
}

/// Serve scrapes until `stop` turns true.
pub async fn serve(listener: TcpListener, store_path: PathBuf, mut stop: watch::Receiver<bool>) -> Result<()> {
    if let Ok(a) = listener.local_addr() {
        info!("metrics on http://{a}/metrics");
    }
    loop {
        tokio::select! {
            _ = stop.changed() => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok((sock, _)) => {
                    let path = store_path.clone();
                    tokio::spawn(async move {
                        if let Err(e) = answer(sock, path).await {
                            debug!("metrics request: {e:#}");
                        }
                    });
                }
                Err(e) => {
                    warn!("metrics: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}

/// The first line of an HTTP request head, once the head is complete.
async fn request_line(sock: &mut TcpStream) -> Result<String> {
    let mut buf = vec![0u8; MAX_HEAD];
    let mut n = 0;
    while n < buf.len() {
        let k = tokio::time::timeout(READ_TIMEOUT, sock.read(&mut buf[n..])).await.context("request timed out")??;
        if k == 0 {
            break;
        }
        n += k;
        if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") || buf[..n].windows(2).any(|w| w == b"\n\n") {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or_default().to_string())
}

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Metrics,
    Health,
}

/// A request line: the page (if any) and whether the body is wanted (`HEAD`: no).
pub fn page_of(line: &str) -> Option<(Page, bool)> {
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let body = match method {
        "GET" => true,
        "HEAD" => false,
        _ => return None,
    };
    match path {
        "/metrics" => Some((Page::Metrics, body)),
        "/healthz" => Some((Page::Health, body)),
        _ => None,
    }
}

/// Status line, content type and body for a request line. `read` produces
/// the page (metrics text, or the verdict as (healthy, JSON)).
pub fn route(line: &str, read: impl FnOnce(Page) -> Result<(bool, String)>) -> (&'static str, &'static str, String) {
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("");
    match page_of(line) {
        Some((page, _)) => match (page, read(page)) {
            (Page::Metrics, Ok((_, text))) => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", text),
            (Page::Health, Ok((true, json))) => ("200 OK", "application/json", json),
            (Page::Health, Ok((false, json))) => ("503 Service Unavailable", "application/json", json),
            (Page::Metrics, Err(e)) => {
                ("503 Service Unavailable", "text/plain; charset=utf-8", format!("store not readable: {e:#}\n"))
            }
            (Page::Health, Err(e)) => (
                "503 Service Unavailable",
                "application/json",
                format!("{}\n", json!({"healthy": false, "reasons": [format!("store not readable: {e:#}")]})),
            ),
        },
        None if method == "GET" || method == "HEAD" => {
            ("404 Not Found", "text/plain; charset=utf-8", "supportd serves /metrics and /healthz\n".into())
        }
        None => ("405 Method Not Allowed", "text/plain; charset=utf-8", "GET or HEAD /metrics or /healthz\n".into()),
    }
}

/// The page from the store (read-only connection) and the daemon's record.
fn read_page(store_path: &Path, page: Page) -> Result<(bool, String)> {
    let c = Connection::open_with_flags(store_path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {}", store_path.display()))?;
    c.busy_timeout(Duration::from_secs(5))?;
    let now = Utc::now();
    let f = status::figures(&c, store_path, now)?;
    let h = status::HEALTH.snapshot();
    Ok(match page {
        Page::Metrics => (true, status::metrics_text(&f, &h, now)),
        Page::Health => {
            let v = status::verdict(Some(&h), &f, now, true, status::pid_alive);
            (v.healthy, format!("{}\n", json!({"healthy": v.healthy, "reasons": v.reasons})))
        }
    })
}

async fn answer(mut sock: TcpStream, store_path: PathBuf) -> Result<()> {
    let line = request_line(&mut sock).await?;
    let page = match page_of(&line) {
        Some((p, _)) => {
            Some(tokio::task::spawn_blocking(move || read_page(&store_path, p)).await.context("metrics task")?)
        }
        None => None,
    };
    let with_body = page_of(&line).is_none_or(|(_, b)| b);
    let (status, ctype, body) = route(&line, |_| page.unwrap_or_else(|| Err(anyhow::anyhow!("store not read"))));
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    sock.write_all(head.as_bytes()).await?;
    if with_body {
        sock.write_all(body.as_bytes()).await?;
    }
    sock.shutdown().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Proves: GET and HEAD of /metrics and /healthz are served (HEAD
    /// without a body), /healthz is 200 when healthy and 503 otherwise,
    /// other paths 404, other methods 405, an unreadable store 503.
    #[test]
    fn get_and_head_of_metrics_and_healthz_are_served() {
        let ok = |p: Page| Ok((p == Page::Metrics, "m 1\n".to_string()));
        assert_eq!(route("GET /metrics HTTP/1.1", ok).0, "200 OK");
        assert_eq!(route("GET /metrics?x=1 HTTP/1.0", ok).2, "m 1\n");
        assert_eq!(route("HEAD /metrics HTTP/1.1", ok).0, "200 OK");
        assert_eq!(page_of("HEAD /metrics HTTP/1.1"), Some((Page::Metrics, false)));
        assert_eq!(page_of("GET /healthz HTTP/1.1"), Some((Page::Health, true)));
        assert_eq!(route("GET /healthz HTTP/1.1", ok).0, "503 Service Unavailable");
        assert_eq!(route("GET /healthz HTTP/1.1", |_| Ok((true, "{}".into()))).0, "200 OK");
        assert_eq!(route("GET / HTTP/1.1", ok).0, "404 Not Found");
        assert_eq!(route("POST /metrics HTTP/1.1", ok).0, "405 Method Not Allowed");
        assert_eq!(route("", ok).0, "405 Method Not Allowed");
        assert_eq!(route("GET /metrics HTTP/1.1", |_| anyhow::bail!("locked")).0, "503 Service Unavailable");
        let (st, _, body) = route("GET /healthz HTTP/1.1", |_| anyhow::bail!("locked"));
        assert_eq!(st, "503 Service Unavailable");
        assert!(body.contains("\"healthy\":false"), "{body}");
    }
}
