//! The Prometheus text endpoint (`[metrics] listen`, loopback only):
//! `GET /metrics` answers with [`status::metrics_text`] read from the store
//! over a read-only connection of its own, so a scrape never waits for the
//! mailbox loop's store lock (WAL lets readers run beside the writer).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use rusqlite::{Connection, OpenFlags};
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

/// Status line, content type and body for a request line.
pub fn route(line: &str, metrics: impl FnOnce() -> Result<String>) -> (&'static str, &'static str, String) {
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/metrics") => match metrics() {
            Ok(text) => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", text),
            Err(e) => ("503 Service Unavailable", "text/plain; charset=utf-8", format!("store not readable: {e:#}\n")),
        },
        ("GET", _) => ("404 Not Found", "text/plain; charset=utf-8", "supportd serves /metrics only\n".into()),
        _ => ("405 Method Not Allowed", "text/plain; charset=utf-8", "GET /metrics\n".into()),
    }
}

async fn answer(mut sock: TcpStream, store_path: PathBuf) -> Result<()> {
    let line = request_line(&mut sock).await?;
    let text = if line.starts_with("GET /metrics") {
        Some(
            tokio::task::spawn_blocking(move || {
                let c = Connection::open_with_flags(&store_path, OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .with_context(|| format!("opening {}", store_path.display()))?;
                c.busy_timeout(Duration::from_secs(5))?;
                status::metrics_text(&c, Utc::now())
            })
            .await
            .context("metrics task")?,
        )
    } else {
        None
    };
    let (status, ctype, body) = route(&line, || text.unwrap_or_else(|| Err(anyhow::anyhow!("store not read"))));
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    sock.write_all(head.as_bytes()).await?;
    sock.write_all(body.as_bytes()).await?;
    sock.shutdown().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_get_metrics_is_served() {
        let ok = || Ok("m 1\n".to_string());
        assert_eq!(route("GET /metrics HTTP/1.1", ok).0, "200 OK");
        assert_eq!(route("GET /metrics?x=1 HTTP/1.0", ok).2, "m 1\n");
        assert_eq!(route("GET / HTTP/1.1", ok).0, "404 Not Found");
        assert_eq!(route("POST /metrics HTTP/1.1", ok).0, "405 Method Not Allowed");
        assert_eq!(route("", ok).0, "405 Method Not Allowed");
        assert_eq!(route("GET /metrics HTTP/1.1", || anyhow::bail!("locked")).0, "503 Service Unavailable");
    }
}
