//! `supportd run`: the mailbox loop and the outbox worker under one
//! cancellation signal; SIGTERM/SIGINT finish the mail in hand and stop;
//! systemd readiness and watchdog via sd_notify.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use tokio::signal::unix::SignalKind;
use tokio::sync::{Notify, watch};
use tracing::{error, info, warn};

use crate::config::{Config, MailboxConfig};
use crate::imap_source::ImapSource;
use crate::pipeline::{self, Pipeline, SharedPipeline};
use crate::source;
use crate::store::Store;
use crate::transport::Transport;
use crate::watchdog::{self, Heartbeat};

/// How often the Maildir is looked at.
const MAILDIR_POLL: Duration = Duration::from_millis(500);
/// Mails per transaction.
const BATCH: usize = 200;
/// How long SIGTERM waits for the loops (the batch in hand is finished).
const STOP_DEADLINE: Duration = Duration::from_secs(15);
/// Longest outbox sleep with nothing queued (new rows also wake it).
const OUTBOX_IDLE: Duration = Duration::from_secs(30);
/// Outbox sleep after a store error.
const OUTBOX_ERROR_WAIT: Duration = Duration::from_secs(5);

/// Run the daemon until a stop signal (or one pass with `once`).
pub fn run(cfg: Config, config_path: PathBuf, once: bool) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(run_async(cfg, config_path, once))
}

fn notify(state: &[sd_notify::NotifyState]) {
    if std::env::var_os("NOTIFY_SOCKET").is_some()
        && let Err(e) = sd_notify::notify(state)
    {
        warn!("sd_notify: {e}");
    }
}

async fn run_async(cfg: Config, config_path: PathBuf, once: bool) -> Result<()> {
    // Signal handlers first: a SIGTERM during start-up must not kill us
    // with the default action halfway through opening the store.
    let mut term = tokio::signal::unix::signal(SignalKind::terminate())?;
    let mut int = tokio::signal::unix::signal(SignalKind::interrupt())?;
    // SIGHUP's default action would end the process: say what to do instead.
    let mut hup = tokio::signal::unix::signal(SignalKind::hangup())?;
    let mut store = Store::open(&cfg.store_path)?;
    // A mail that killed the last run is quarantined now, not retried forever.
    crate::inflight::guard(&mut store, &cfg.store_path)?;
    if !once {
        // Sends cut off by a crash of the previous run go out now, not after the lease.
        let n = crate::store::outbox_release_claims(store.conn(), Utc::now())?;
        if n > 0 {
            warn!("{n} outgoing mails were being sent when the last run ended: sending them again");
        }
    }
    let pipeline = SharedPipeline::new(Pipeline::new(cfg.clone(), store.conn())?);
    let store = Arc::new(Mutex::new(store));
    let transport = Arc::new(Transport::from_config(&cfg)?);
    let imap = ImapSource::from_config(&cfg).transpose()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    // Poked after every committed batch: the outbox worker sends at once.
    let queued = Arc::new(Notify::new());

    if once {
        let n = mailbox_pass(&cfg, imap.as_ref(), &pipeline, &store).await?;
        clock_pass(&pipeline, &store).await?;
        let pass = crate::outbox::deliver_due(&store, &transport, &cfg.support_address, Utc::now).await?;
        info!(
            "one pass: {n} mails processed; outbox {} sent, {} to retry, {} failed",
            pass.sent, pass.retry, pass.failed
        );
        eprintln!("processed {n} mails; outbox: {} sent, {} to retry, {} failed", pass.sent, pass.retry, pass.failed);
        return Ok(());
    }

    // Bound before the loops start: a taken port fails the start, not a scrape.
    let metrics = match cfg.metrics_listen {
        Some(addr) => {
            let listener = crate::metrics::bind(addr).await?;
            Some(tokio::spawn(crate::metrics::serve(listener, cfg.store_path.clone(), stop_rx.clone())))
        }
        None => None,
    };

    let beats =
        [Arc::new(Heartbeat::new("mailbox")), Arc::new(Heartbeat::new("outbox")), Arc::new(Heartbeat::new("clock"))];
    let mailbox = match imap {
        Some(src) => tokio::spawn(crate::imap_source::run(
            src,
            pipeline.clone(),
            store.clone(),
            queued.clone(),
            stop_rx.clone(),
            beats[0].clone(),
        )),
        None => tokio::spawn(mailbox_loop(
            cfg.clone(),
            pipeline.clone(),
            store.clone(),
            queued.clone(),
            stop_rx.clone(),
            beats[0].clone(),
        )),
    };
    let outbox = tokio::spawn(outbox_loop(
        cfg.clone(),
        store.clone(),
        transport.clone(),
        queued.clone(),
        stop_rx.clone(),
        beats[1].clone(),
    ));
    let clock =
        tokio::spawn(clock_loop(pipeline.clone(), store.clone(), queued.clone(), stop_rx.clone(), beats[2].clone()));

    notify(&[sd_notify::NotifyState::Ready, sd_notify::NotifyState::Status("watching the mailbox")]);
    info!("supportd running on {}", cfg.source);
    let watchdog = sd_notify::watchdog_enabled().map(|us| us / 2);
    // Logged once per change, so the journal says why systemd killed us.
    let mut withheld: Option<String> = None;

    loop {
        let tick = tokio::time::sleep(watchdog.unwrap_or(Duration::from_secs(3600)));
        tokio::select! {
            _ = int.recv() => { info!("SIGINT: stopping"); break; }
            _ = term.recv() => { info!("SIGTERM: stopping"); break; }
            _ = hup.recv() => reload(&config_path, &cfg, &pipeline, &store),
            _ = tick => {
                if watchdog.is_some() {
                    let loops = [
                        (&*beats[0], mailbox.is_finished()),
                        (&*beats[1], outbox.is_finished()),
                        (&*beats[2], clock.is_finished()),
                    ];
                    match watchdog::unhealthy(&loops, std::time::Instant::now()) {
                        None => {
                            if withheld.take().is_some() {
                                info!("watchdog: all loops healthy again");
                            }
                            notify(&[sd_notify::NotifyState::Watchdog]);
                        }
                        Some(why) => {
                            if withheld.as_deref() != Some(why.as_str()) {
                                error!("watchdog: not sending WATCHDOG=1: {why}");
                            }
                            withheld = Some(why);
                        }
                    }
                }
            }
        }
    }
    notify(&[sd_notify::NotifyState::Stopping, sd_notify::NotifyState::Status("stopping")]);
    let _ = stop_tx.send(true);
    // One deadline for both loops together (systemd's TimeoutStopSec is longer).
    let deadline = tokio::time::Instant::now() + STOP_DEADLINE;
    for (name, task) in [("mailbox", mailbox), ("outbox", outbox), ("clock", clock)] {
        match tokio::time::timeout_at(deadline, task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => error!("{name} loop ended with an error: {e:#}"),
            Ok(Err(e)) => error!("{name} loop panicked: {e}"),
            Err(_) => error!("{name} loop still running after {STOP_DEADLINE:?}: abandoned"),
        }
    }
    if let Some(m) = metrics {
        m.abort();
    }
    info!("stopped");
    Ok(())
}

/// SIGHUP: read the config file again; if it is valid, the next batch uses
/// the new customers, agents, categories, hours, templates and classifier.
/// An invalid config is refused and the old one stays. Mailbox, transport and
/// store settings need a restart (logged when they changed).
fn reload(path: &std::path::Path, running: &Config, pipeline: &Arc<SharedPipeline>, store: &Arc<Mutex<Store>>) {
    let new = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            error!(
                "SIGHUP: {} is invalid, keeping the running config: {}",
                path.display(),
                e.to_string().replace('\n', "; ")
            );
            return;
        }
    };
    let built = match store.lock() {
        Ok(s) => Pipeline::new(new.clone(), s.conn()),
        Err(_) => Err(anyhow::anyhow!("store lock poisoned")),
    };
    match built {
        Ok(p) => {
            pipeline.replace(p);
            let restart_needed = format!("{:?}{:?}{:?}", new.mailbox, new.transport, new.store_path)
                != format!("{:?}{:?}{:?}", running.mailbox, running.transport, running.store_path);
            if restart_needed {
                warn!(
                    "SIGHUP: reloaded {}; mailbox, transport and store changes take effect after a restart",
                    path.display()
                );
            } else {
                info!("SIGHUP: reloaded {}", path.display());
            }
        }
        Err(e) => error!("SIGHUP: {}: {e:#}; keeping the running config", path.display()),
    }
}

/// How often the clock looks for SLA warnings, escalations and reminders.
const CLOCK_INTERVAL: Duration = Duration::from_secs(60);

/// One run of the clock (`schedule::tick`) in its own transaction.
async fn clock_pass(pipeline: &Arc<SharedPipeline>, store: &Arc<Mutex<Store>>) -> Result<crate::schedule::Tick> {
    let pipeline = pipeline.current();
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        let mut s = store.lock().map_err(|_| anyhow::anyhow!("store lock poisoned"))?;
        crate::schedule::tick_store(&pipeline, &mut s, Utc::now())
    })
    .await?
}

/// The clock: escalations, SLA warnings, change reminders, every minute.
/// Everything it does is recorded, so a restart repeats nothing and a
/// missed minute (or day) is caught up on the next tick.
async fn clock_loop(
    pipeline: Arc<SharedPipeline>,
    store: Arc<Mutex<Store>>,
    queued: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    beat: Arc<Heartbeat>,
) -> Result<()> {
    let mut failing = false;
    loop {
        beat.working();
        match clock_pass(&pipeline, &store).await {
            Ok(t) => {
                if !t.escalated.is_empty() || !t.warned.is_empty() || !t.reminded.is_empty() || !t.reports.is_empty() {
                    info!(
                        "clock: {} escalated, {} warned, {} change reminders, {} reports",
                        t.escalated.len(),
                        t.warned.len(),
                        t.reminded.len(),
                        t.reports.len()
                    );
                    queued.notify_one();
                }
                if failing {
                    info!("clock: working again");
                }
                failing = false;
            }
            Err(e) => {
                if !failing {
                    error!("clock: {e:#}");
                }
                failing = true;
            }
        }
        beat.waiting(CLOCK_INTERVAL);
        tokio::select! {
            _ = tokio::time::sleep(CLOCK_INTERVAL) => {}
            _ = stop.changed() => return Ok(()),
        }
    }
}

/// Process everything waiting in the mailbox once; returns the count.
async fn mailbox_pass(
    cfg: &Config,
    imap: Option<&ImapSource>,
    pipeline: &Arc<SharedPipeline>,
    store: &Arc<Mutex<Store>>,
) -> Result<usize> {
    match &cfg.mailbox {
        MailboxConfig::Maildir { path } => {
            let path = path.clone();
            let pipeline = pipeline.current();
            let store = store.clone();
            tokio::task::spawn_blocking(move || maildir_drain(&path, &pipeline, &store)).await?
        }
        MailboxConfig::Imap { .. } => match imap {
            Some(src) => crate::imap_source::drain_once(src, pipeline, store).await,
            None => anyhow::bail!("{}: mailbox.kind = \"imap\" without IMAP settings", cfg.source),
        },
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

/// The Maildir loop (IMAP has its own in [`crate::imap_source`]).
async fn mailbox_loop(
    cfg: Config,
    pipeline: Arc<SharedPipeline>,
    store: Arc<Mutex<Store>>,
    queued: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    beat: Arc<Heartbeat>,
) -> Result<()> {
    let mut failing = false;
    let mut backoff = Duration::from_secs(1);
    loop {
        beat.working();
        match mailbox_pass(&cfg, None, &pipeline, &store).await {
            Ok(n) => {
                if n > 0 {
                    queued.notify_one();
                }
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
        beat.waiting(wait);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return Ok(()),
        }
    }
}

/// Sends what is due, then sleeps until the next row is due, a batch was
/// committed (`queued`), or the stop signal. On stop, the send in hand is
/// finished and the rest stays queued for the next start.
async fn outbox_loop(
    cfg: Config,
    store: Arc<Mutex<Store>>,
    transport: Arc<Transport>,
    queued: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    beat: Arc<Heartbeat>,
) -> Result<()> {
    let mut failing = false;
    loop {
        beat.working();
        // Asked before each send: every send is a new piece of work.
        let stopping = || {
            beat.working();
            *stop.borrow()
        };
        let pass = crate::outbox::deliver_due_until(&store, &transport, &cfg.support_address, Utc::now, stopping);
        let wait = match pass.await {
            Ok(_) => {
                if failing {
                    info!("outbox: working again");
                }
                failing = false;
                next_due_in(&store).await
            }
            Err(e) => {
                if !failing {
                    error!("outbox: {e:#}");
                }
                failing = true;
                OUTBOX_ERROR_WAIT
            }
        };
        if *stop.borrow() {
            // What is still queued goes out on the next start.
            return Ok(());
        }
        beat.waiting(wait);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = queued.notified() => {}
            _ = stop.changed() => return Ok(()),
        }
    }
}

/// Time until the earliest queued row is due (at most [`OUTBOX_IDLE`]).
async fn next_due_in(store: &Arc<Mutex<Store>>) -> Duration {
    let store = store.clone();
    let next = tokio::task::spawn_blocking(move || {
        let s = store.lock().map_err(|_| anyhow::anyhow!("store lock poisoned"))?;
        crate::store::next_outbox_due(s.conn())
    })
    .await;
    match next {
        Ok(Ok(Some(t))) => {
            (t - Utc::now()).to_std().unwrap_or(Duration::ZERO).clamp(Duration::from_millis(50), OUTBOX_IDLE)
        }
        _ => OUTBOX_IDLE,
    }
}
