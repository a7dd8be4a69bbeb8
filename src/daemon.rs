//! `supportd run`: the mailbox loop and the outbox worker under one
//! cancellation signal; SIGTERM/SIGINT finish the mail in hand and stop;
//! systemd readiness and watchdog via sd_notify.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::config::{Config, MailboxConfig};
use crate::pipeline::{self, Pipeline};
use crate::source;
use crate::store::Store;
use crate::transport::Transport;

/// How often the Maildir is looked at.
const MAILDIR_POLL: Duration = Duration::from_millis(500);
/// Mails per transaction.
const BATCH: usize = 200;

/// Run the daemon until a stop signal (or one pass with `once`).
pub fn run(cfg: Config, _config_path: PathBuf, once: bool) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(run_async(cfg, once))
}

fn notify(state: &[sd_notify::NotifyState]) {
    if std::env::var_os("NOTIFY_SOCKET").is_some()
        && let Err(e) = sd_notify::notify(state)
    {
        warn!("sd_notify: {e}");
    }
}

async fn run_async(cfg: Config, once: bool) -> Result<()> {
    let store = Store::open(&cfg.store_path)?;
    let pipeline = Arc::new(Pipeline::new(cfg.clone(), store.conn())?);
    let store = Arc::new(Mutex::new(store));
    let transport = Arc::new(Transport::from_config(&cfg)?);
    let (stop_tx, stop_rx) = watch::channel(false);

    if once {
        let n = mailbox_pass(&cfg, &pipeline, &store).await?;
        let pass = crate::outbox::deliver_due(&store, &transport, &cfg.support_address, Utc::now).await?;
        info!(
            "one pass: {n} mails processed; outbox {} sent, {} to retry, {} failed",
            pass.sent, pass.retry, pass.failed
        );
        eprintln!("processed {n} mails; outbox: {} sent, {} to retry, {} failed", pass.sent, pass.retry, pass.failed);
        return Ok(());
    }

    let mailbox = tokio::spawn(mailbox_loop(cfg.clone(), pipeline.clone(), store.clone(), stop_rx.clone()));
    let outbox = tokio::spawn(outbox_loop(cfg.clone(), store.clone(), transport.clone(), stop_rx.clone()));

    notify(&[sd_notify::NotifyState::Ready, sd_notify::NotifyState::Status("watching the mailbox")]);
    info!("supportd running on {}", cfg.source);
    let watchdog = sd_notify::watchdog_enabled().map(|us| us / 2);

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        let tick = tokio::time::sleep(watchdog.unwrap_or(Duration::from_secs(3600)));
        tokio::select! {
            _ = tokio::signal::ctrl_c() => { info!("SIGINT: stopping"); break; }
            _ = term.recv() => { info!("SIGTERM: stopping"); break; }
            _ = tick => {
                if watchdog.is_some() && !mailbox.is_finished() && !outbox.is_finished() {
                    notify(&[sd_notify::NotifyState::Watchdog]);
                }
            }
        }
    }
    notify(&[sd_notify::NotifyState::Stopping]);
    let _ = stop_tx.send(true);
    let deadline = Duration::from_secs(20);
    for (name, task) in [("mailbox", mailbox), ("outbox", outbox)] {
        match tokio::time::timeout(deadline, task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => error!("{name} loop ended with an error: {e:#}"),
            Ok(Err(e)) => error!("{name} loop panicked: {e}"),
            Err(_) => error!("{name} loop still running after {deadline:?}: abandoned"),
        }
    }
    info!("stopped");
    Ok(())
}

/// Process everything waiting in the mailbox once; returns the count.
async fn mailbox_pass(cfg: &Config, pipeline: &Arc<Pipeline>, store: &Arc<Mutex<Store>>) -> Result<usize> {
    match &cfg.mailbox {
        MailboxConfig::Maildir { path } => {
            let path = path.clone();
            let pipeline = pipeline.clone();
            let store = store.clone();
            tokio::task::spawn_blocking(move || maildir_drain(&path, &pipeline, &store)).await?
        }
        MailboxConfig::Imap { .. } => {
            anyhow::bail!("{}: mailbox.kind = \"imap\" is not built into this binary yet", cfg.source)
        }
    }
}

/// Drain a Maildir's `new/` in batches: process + commit, then move to `cur/`.
pub fn maildir_drain(path: &std::path::Path, pipeline: &Pipeline, store: &Mutex<Store>) -> Result<usize> {
    source::ensure_maildir(path)?;
    let mut total = 0;
    loop {
        let files = source::maildir_pending(path, BATCH)?;
        if files.is_empty() {
            return Ok(total);
        }
        let items = source::read_maildir_items(&files);
        let mails: Vec<(String, Vec<u8>)> = items.iter().map(|i| (i.source.clone(), i.raw.clone())).collect();
        {
            let mut s = store.lock().map_err(|_| anyhow::anyhow!("store lock poisoned"))?;
            pipeline::process_batch(pipeline, &mut s, &mails, Utc::now()).context("processing a Maildir batch")?;
        }
        for i in &items {
            if let Some(f) = &i.maildir_file {
                source::maildir_ack(f)?;
            }
        }
        total += items.len();
        if items.is_empty() {
            // Every file vanished or was unreadable: do not spin.
            return Ok(total);
        }
    }
}

async fn mailbox_loop(
    cfg: Config,
    pipeline: Arc<Pipeline>,
    store: Arc<Mutex<Store>>,
    mut stop: watch::Receiver<bool>,
) -> Result<()> {
    let mut failing = false;
    let mut backoff = Duration::from_secs(1);
    loop {
        match mailbox_pass(&cfg, &pipeline, &store).await {
            Ok(_) => {
                if failing {
                    info!("mailbox: working again");
                }
                failing = false;
                backoff = Duration::from_secs(1);
            }
            Err(e) => {
                if !failing {
                    error!("mailbox: {e:#}; retrying with backoff");
                }
                failing = true;
                backoff = (backoff * 2).min(Duration::from_secs(300));
            }
        }
        let wait = if failing { backoff } else { MAILDIR_POLL };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return Ok(()),
        }
    }
}

async fn outbox_loop(
    cfg: Config,
    store: Arc<Mutex<Store>>,
    transport: Arc<Transport>,
    mut stop: watch::Receiver<bool>,
) -> Result<()> {
    loop {
        if let Err(e) = crate::outbox::deliver_due(&store, &transport, &cfg.support_address, Utc::now).await {
            error!("outbox: {e:#}");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stop.changed() => {
                // One last pass so nothing due waits for the next start.
                let _ = crate::outbox::deliver_due(&store, &transport, &cfg.support_address, Utc::now).await;
                return Ok(());
            }
        }
    }
}
