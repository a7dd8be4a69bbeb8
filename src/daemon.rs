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
use crate::outbox;
use crate::pipeline::{self, Pipeline, SharedPipeline};
use crate::source;
use crate::status;
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

/// A start-up error that a restart cannot fix: exit status
/// [`status::EXIT_PERMANENT`] (the unit's `RestartPreventExitStatus=`).
fn permanent(e: anyhow::Error) -> anyhow::Error {
    anyhow::Error::new(status::Exit { code: status::EXIT_PERMANENT, message: format!("{e:#}") })
}

/// Open the store; a store of a newer supportd is a permanent error.
fn open_store(path: &std::path::Path) -> Result<Store> {
    Store::open(path).map_err(|e| {
        let newer = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| c.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0)))
            .is_ok_and(|v| v as usize > crate::store::MIGRATIONS.len());
        if newer { permanent(e) } else { e }
    })
}

/// The daemon's health record into the store, on every change and every
/// [`status::HEARTBEAT_EVERY`], on the blocking pool (no loop waits for it).
/// It goes through the daemon's one connection: a second writer would make
/// the batches' transactions fail with SQLITE_BUSY (a stale WAL snapshot)
/// instead of waiting; so a heartbeat may wait for the batch in hand.
async fn health_notes(store: Arc<Mutex<Store>>, mut stop: watch::Receiver<bool>) {
    let mut failing = false;
    loop {
        status::HEALTH.heartbeat(Utc::now());
        let h = status::HEALTH.snapshot();
        let s2 = store.clone();
        let written = tokio::task::spawn_blocking(move || match s2.lock() {
            Ok(s) => status::write_health(s.conn(), &h),
            Err(_) => Err(anyhow::anyhow!("store lock poisoned")),
        })
        .await;
        match written {
            Ok(Ok(())) => failing = false,
            Ok(Err(e)) if !failing => {
                failing = true;
                warn!("health notes: {e:#}");
            }
            Ok(Err(_)) => {}
            Err(e) => return error!("health notes: {e}"),
        }
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(status::HEARTBEAT_EVERY) => {}
            _ = status::HEALTH.changed().notified() => {
                // at most a few writes per second, however busy the loops are
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            _ = stop.changed() => return,
        }
    }
}

/// The metrics listener's task and address.
type MetricsTask = Option<(std::net::SocketAddr, tokio::task::JoinHandle<Result<()>>)>;

/// `[metrics] listen` after a reload: a new address is bound (and the old
/// listener closed) at once; a failed bind keeps the old one (logged).
async fn apply_metrics_listen(
    current: MetricsTask,
    want: Option<std::net::SocketAddr>,
    store_path: &std::path::Path,
    stop: &watch::Receiver<bool>,
) -> MetricsTask {
    if current.as_ref().map(|(a, _)| *a) == want {
        return current;
    }
    let Some(addr) = want else {
        if let Some((old, task)) = current {
            task.abort();
            info!("SIGHUP: metrics listener on {old} closed (metrics.listen removed)");
        }
        return None;
    };
    match crate::metrics::bind(addr).await {
        Ok(listener) => {
            if let Some((old, task)) = current {
                task.abort();
                info!("SIGHUP: metrics moved from {old} to {addr}");
            }
            Some((addr, tokio::spawn(crate::metrics::serve(listener, store_path.to_path_buf(), stop.clone()))))
        }
        Err(e) => {
            error!("SIGHUP: {e:#}; keeping the metrics listener as it was");
            current
        }
    }
}

/// The SIGUSR1 line: the verdict and the figures, from the daemon's record.
fn status_line(store: &Arc<Mutex<Store>>, store_path: &std::path::Path) -> String {
    let now = Utc::now();
    let f = match store.lock() {
        Ok(s) => status::figures(s.conn(), store_path, now),
        Err(_) => Err(anyhow::anyhow!("store lock poisoned")),
    };
    let h = status::HEALTH.snapshot();
    match f {
        Ok(f) => {
            let v = status::verdict(Some(&h), &f, now, true, status::pid_alive);
            format!(
                "status: {}; mailbox={} fetch_errors={} relay={} send_errors={} outbox_queued={} outbox_failed={} quarantined={}{}",
                if v.healthy { "healthy" } else { "degraded" },
                h.mailbox.state,
                h.mailbox.fetch_errors,
                h.relay.state,
                h.relay.send_errors,
                f.outbox.queued,
                f.outbox.failed,
                f.quarantined,
                if v.reasons.is_empty() { String::new() } else { format!("; {}", v.reasons.join("; ")) }
            )
        }
        Err(e) => format!("status: store not readable: {e:#}"),
    }
}

async fn run_async(cfg: Config, config_path: PathBuf, once: bool) -> Result<()> {
    // Signal handlers first: a SIGTERM during start-up must not kill us
    // with the default action halfway through opening the store.
    let mut term = tokio::signal::unix::signal(SignalKind::terminate())?;
    let mut int = tokio::signal::unix::signal(SignalKind::interrupt())?;
    // SIGHUP's default action would end the process: say what to do instead.
    let mut hup = tokio::signal::unix::signal(SignalKind::hangup())?;
    // SIGUSR1/2 would end it silently too: USR1 logs a status line, USR2
    // sends the outbox now (also to a suspended relay).
    let mut usr1 = tokio::signal::unix::signal(SignalKind::user_defined1())?;
    let mut usr2 = tokio::signal::unix::signal(SignalKind::user_defined2())?;
    // Built while the store opens and the mailbox connects.
    crate::pipeline::build_classifier_ahead(&cfg);
    let imap = ImapSource::from_config(&cfg).transpose()?;
    // The daemon's connection is opened meanwhile too (`--once` connects in its pass).
    let ahead = imap.as_ref().filter(|_| !once).map(crate::imap_source::connect_ahead);
    let mut store = open_store(&cfg.store_path)?;
    store.set_cache_mib(cfg.store_cache_mib)?;
    store.checkpoint_in_background(&cfg.store_path)?;
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
    let (stop_tx, stop_rx) = watch::channel(false);
    // Poked after every committed batch: the outbox worker sends at once.
    let queued = Arc::new(Notify::new());
    // SIGUSR2: send now, also to a suspended relay.
    let flush = Arc::new(Notify::new());

    if once {
        let n = mailbox_pass(&cfg, imap.as_ref(), &pipeline, &store, &|| false).await?;
        clock_pass(&pipeline, &store).await?;
        let pass = crate::outbox::deliver_due(&store, &transport, &cfg.support_address, Utc::now).await?;
        let summary =
            format!("processed {n} mails; outbox: {} sent, {} to retry, {} failed", pass.sent, pass.retry, pass.failed);
        info!("one pass: {summary}");
        if let Some(e) = &pass.unreachable {
            let left = {
                let s = store.lock().map_err(|_| anyhow::anyhow!("store lock poisoned"))?;
                status::figures(s.conn(), &cfg.store_path, Utc::now())?.outbox.queued
            };
            warn!("{} unreachable: {e}; {left} mails stay queued", transport.destination());
            eprintln!("{summary}; {} unreachable, {left} mails stay queued", transport.destination());
        } else {
            eprintln!("{summary}");
        }
        if pass.retry > 0 || pass.failed > 0 || pass.unreachable.is_some() {
            // cron (and any caller) sees it: mail could not be delivered
            return Err(status::Exit {
                code: status::EXIT_UNDELIVERED,
                message: format!(
                    "mail could not be delivered ({} to retry, {} failed): exit {}",
                    pass.retry,
                    pass.failed,
                    status::EXIT_UNDELIVERED
                ),
            }
            .into());
        }
        return Ok(());
    }

    // Bound before the loops start: a taken port fails the start (for good:
    // a restart would find it taken again), not a scrape.
    let mut metrics: MetricsTask = match cfg.metrics_listen {
        Some(addr) => {
            let listener = crate::metrics::bind(addr).await.map_err(permanent)?;
            Some((addr, tokio::spawn(crate::metrics::serve(listener, cfg.store_path.clone(), stop_rx.clone()))))
        }
        None => None,
    };

    status::HEALTH.started(Utc::now());
    let notes = tokio::spawn(health_notes(store.clone(), stop_rx.clone()));
    let beats =
        [Arc::new(Heartbeat::new("mailbox")), Arc::new(Heartbeat::new("outbox")), Arc::new(Heartbeat::new("clock"))];
    let mailbox = match imap {
        Some(src) => tokio::spawn(crate::imap_source::run(
            src,
            ahead,
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
        flush.clone(),
        stop_rx.clone(),
        beats[1].clone(),
    ));
    // Poked after a reload: the clock runs at once, so a customer added to the
    // config gets its handover mail now rather than at the next minute.
    let clock_now = Arc::new(Notify::new());
    let clock = tokio::spawn(clock_loop(
        pipeline.clone(),
        store.clone(),
        queued.clone(),
        clock_now.clone(),
        stop_rx.clone(),
        beats[2].clone(),
    ));

    notify(&[sd_notify::NotifyState::Ready, sd_notify::NotifyState::Status("watching the mailbox")]);
    info!("supportd {} running on {} (pid {})", env!("CARGO_PKG_VERSION"), cfg.source, std::process::id());
    let watchdog = sd_notify::watchdog_enabled().map(|us| us / 2);
    // One timer for the whole run: signals (a storm of SIGHUPs) must not
    // push the next ping out.
    let mut tick = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Logged once per change, so the journal says why systemd killed us.
    let mut withheld: Option<String> = None;
    // A reload runs beside the loop (it builds the classifier); HUPs that
    // come meanwhile are folded into one more reload after it.
    let mut reloading: Option<tokio::task::JoinHandle<Option<Config>>> = None;
    let mut reload_again = false;
    let mut running_cfg = cfg.clone();

    loop {
        tokio::select! {
            _ = int.recv() => { info!("SIGINT: stopping"); break; }
            _ = term.recv() => { info!("SIGTERM: stopping"); break; }
            _ = hup.recv() => {
                if reloading.is_some() {
                    reload_again = true;
                } else {
                    reloading = Some(spawn_reload(&config_path, &running_cfg, &pipeline, &store));
                }
            }
            done = async { reloading.as_mut().expect("guarded").await }, if reloading.is_some() => {
                reloading = None;
                if let Ok(Some(new)) = done {
                    metrics = apply_metrics_listen(metrics, new.metrics_listen, &cfg.store_path, &stop_rx).await;
                    running_cfg = new;
                    clock_now.notify_one();
                }
                if std::mem::take(&mut reload_again) {
                    reloading = Some(spawn_reload(&config_path, &running_cfg, &pipeline, &store));
                }
            }
            _ = usr1.recv() => {
                let (store, path) = (store.clone(), cfg.store_path.clone());
                match tokio::task::spawn_blocking(move || status_line(&store, &path)).await {
                    Ok(line) => info!("SIGUSR1: {line}"),
                    Err(e) => error!("SIGUSR1: {e}"),
                }
            }
            _ = usr2.recv() => {
                info!("SIGUSR2: sending the outbox now");
                flush.notify_one();
            }
            _ = tick.tick() => {
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
    let t0 = std::time::Instant::now();
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
    if let Some((_, m)) = metrics {
        m.abort();
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), notes).await;
    status::HEALTH.stopped(Utc::now());
    let (h, s2) = (status::HEALTH.snapshot(), store.clone());
    let noted = tokio::task::spawn_blocking(move || match s2.lock() {
        Ok(s) => status::write_health(s.conn(), &h),
        Err(_) => Err(anyhow::anyhow!("store lock poisoned")),
    });
    match tokio::time::timeout(Duration::from_secs(2), noted).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => warn!("cannot note the stop in the store: {e:#}"),
        _ => warn!("cannot note the stop in the store"),
    }
    info!("stopped in {:.2} s", t0.elapsed().as_secs_f64());
    Ok(())
}

/// [`reload`] on the blocking pool; its result is the new config (if it was taken).
fn spawn_reload(
    path: &std::path::Path,
    running: &Config,
    pipeline: &Arc<SharedPipeline>,
    store: &Arc<Mutex<Store>>,
) -> tokio::task::JoinHandle<Option<Config>> {
    let (path, running, pipeline, store) = (path.to_path_buf(), running.clone(), pipeline.clone(), store.clone());
    tokio::task::spawn_blocking(move || reload(&path, &running, &pipeline, &store))
}

/// SIGHUP: read the config file again; if it is valid, the next batch uses
/// the new customers, agents, categories, hours, templates and classifier.
/// An invalid config is refused and the old one stays. Mailbox, transport and
/// store settings need a restart (logged when they changed); a new
/// `metrics.listen` is applied by the caller. Returns the new config if taken.
fn reload(
    path: &std::path::Path,
    running: &Config,
    pipeline: &Arc<SharedPipeline>,
    store: &Arc<Mutex<Store>>,
) -> Option<Config> {
    let new = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            error!(
                "SIGHUP: {} is invalid, keeping the running config: {}",
                path.display(),
                e.to_string().replace('\n', "; ")
            );
            return None;
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
            // The running mailbox/transport/store stay what they are.
            Some(Config {
                mailbox: running.mailbox.clone(),
                transport: running.transport.clone(),
                store_path: running.store_path.clone(),
                ..new
            })
        }
        Err(e) => {
            error!("SIGHUP: {}: {e:#}; keeping the running config", path.display());
            None
        }
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
        let t = crate::schedule::tick_store(&pipeline, &mut s, Utc::now())?;
        crate::store::retention::tick_logged(s.conn_mut(), &pipeline.cfg.retention, Utc::now());
        // The dictionaries' work a quiet mailbox leaves (at most 5,000 rows a minute).
        crate::store::dict::tick_logged(s.conn_mut(), Utc::now(), pipeline.cfg.dictionary_samples, 25);
        // The page cache follows the store's growth (`store.cache_mib` unset).
        if pipeline.cfg.store_cache_mib.is_none() {
            s.set_cache_mib(None)?;
        }
        Ok(t)
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
    now: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    beat: Arc<Heartbeat>,
) -> Result<()> {
    let mut failing = false;
    loop {
        beat.working();
        match clock_pass(&pipeline, &store).await {
            Ok(t) => {
                if !t.escalated.is_empty()
                    || !t.warned.is_empty()
                    || !t.reminded.is_empty()
                    || !t.reports.is_empty()
                    || !t.welcomed.is_empty()
                    || !t.digests.is_empty()
                    || !t.followups.is_empty()
                {
                    info!(
                        "clock: {} escalated, {} warned, {} change reminders, {} reports, {} handover mails, \
                         {} digests, {} waiting-ticket reminders/closes",
                        t.escalated.len(),
                        t.warned.len(),
                        t.reminded.len(),
                        t.reports.len(),
                        t.welcomed.len(),
                        t.digests.len(),
                        t.followups.len()
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
            _ = now.notified() => {}
            _ = stop.changed() => return Ok(()),
        }
    }
}

/// Process everything waiting in the mailbox once (a Maildir: until
/// `stop()` says so between two batches); returns the count.
async fn mailbox_pass(
    cfg: &Config,
    imap: Option<&ImapSource>,
    pipeline: &Arc<SharedPipeline>,
    store: &Arc<Mutex<Store>>,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<usize> {
    match &cfg.mailbox {
        MailboxConfig::Maildir { path } => {
            let path = path.clone();
            let pipeline = pipeline.current();
            let store = store.clone();
            let stopping = stop();
            if stopping {
                return Ok(0);
            }
            let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let f2 = flag.clone();
            let drain = tokio::task::spawn_blocking(move || {
                maildir_drain(&path, &pipeline, &store, &|| f2.load(std::sync::atomic::Ordering::Relaxed))
            });
            tokio::pin!(drain);
            loop {
                tokio::select! {
                    r = &mut drain => return r?,
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {
                        if stop() {
                            flag.store(true, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                }
            }
        }
        MailboxConfig::Imap { .. } => match imap {
            Some(src) => crate::imap_source::drain_once(src, pipeline, store).await,
            None => anyhow::bail!("{}: mailbox.kind = \"imap\" without IMAP settings", cfg.source),
        },
    }
}

/// Drain a Maildir's `new/` in batches: process + commit, then move to
/// `cur/`. `stop()` is asked between batches (SIGTERM: the batch in hand is
/// committed and acknowledged, the rest waits for the next start).
pub fn maildir_drain(
    path: &std::path::Path,
    pipeline: &Pipeline,
    store: &Mutex<Store>,
    stop: &dyn Fn() -> bool,
) -> Result<usize> {
    source::ensure_maildir(path)?;
    let mut total = 0;
    loop {
        if stop() {
            return Ok(total);
        }
        let files = source::maildir_pending(path, BATCH)?;
        if files.is_empty() {
            return Ok(total);
        }
        // As many as an IMAP fetch holds (the mails' bytes), moved into the batch, not copied.
        let items = source::read_maildir_items(&files, crate::imap::FETCH_BYTES);
        let n = items.len();
        let mut mails = Vec::with_capacity(n);
        let mut done = Vec::with_capacity(n);
        for i in items {
            mails.push((i.source, i.raw));
            done.extend(i.maildir_file);
        }
        {
            let mut s = store.lock().map_err(|_| anyhow::anyhow!("store lock poisoned"))?;
            pipeline::process_batch(pipeline, &mut s, &mails, Utc::now()).context("processing a Maildir batch")?;
        }
        for f in &done {
            source::maildir_ack(f)?;
        }
        total += n;
        if n == 0 {
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
        let stopping = || *stop.borrow();
        match mailbox_pass(&cfg, None, &pipeline, &store, &stopping).await {
            Ok(n) => {
                status::HEALTH.mailbox_ok(Utc::now());
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
                status::HEALTH.mailbox_failed(&format!("{e:#}"), Utc::now());
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
/// committed (`queued`), `flush` (SIGUSR2) or the stop signal. On stop, the
/// send in hand is finished and the rest stays queued for the next start.
/// A destination that cannot be reached is suspended: the queue is tried
/// again as a whole after [`outbox::RELAY_RETRY_MIN`], doubling up to
/// [`outbox::RELAY_RETRY_MAX`], with one log line per round.
async fn outbox_loop(
    cfg: Config,
    store: Arc<Mutex<Store>>,
    transport: Arc<Transport>,
    queued: Arc<Notify>,
    flush: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    beat: Arc<Heartbeat>,
) -> Result<()> {
    let mut failing = false;
    let dest = transport.destination();
    // Failed rounds in a row, and the wait after the next failed one.
    let mut rounds = 0u32;
    let mut relay_wait = outbox::RELAY_RETRY_MIN;
    loop {
        beat.working();
        // Asked before each send: every send is a new piece of work.
        let stopping = || {
            beat.working();
            *stop.borrow()
        };
        // A group of large mails may take longer than one piece of work.
        let expect = |d: Duration| beat.expect_within(d.max(watchdog::WORK_LIMIT) + watchdog::GRACE);
        let pass = outbox::deliver_due_with(&store, &transport, &cfg.support_address, Utc::now, stopping, expect);
        let mut suspended = false;
        let wait = match pass.await {
            Ok(p) => {
                if failing {
                    info!("outbox: working again");
                }
                failing = false;
                match p.unreachable {
                    Some(e) => {
                        rounds += 1;
                        suspended = true;
                        let wait = relay_wait;
                        relay_wait = (relay_wait * 2).min(outbox::RELAY_RETRY_MAX);
                        let now = Utc::now();
                        status::HEALTH.relay_suspended(now + chrono::Duration::from_std(wait)?, now);
                        let left = queued_count(&store).await;
                        warn!(
                            relay = dest,
                            round = rounds,
                            "relay {dest} unreachable (round {rounds}): {e}; {left} mails stay queued, \
                             next round in {} s",
                            wait.as_secs()
                        );
                        wait
                    }
                    None => {
                        if rounds > 0 && p.sent > 0 {
                            info!(relay = dest, "relay {dest} reachable again after {rounds} failed rounds");
                            rounds = 0;
                            relay_wait = outbox::RELAY_RETRY_MIN;
                        }
                        next_due_in(&store).await
                    }
                }
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
        if wait >= crate::smtp::KEEP_IDLE {
            // nothing due soon: QUIT rather than let the relay time us out
            transport.close_idle().await;
        }
        beat.waiting(wait);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            // new mail does not end a suspension: the round does
            _ = queued.notified(), if !suspended => {}
            _ = flush.notified() => {}
            _ = stop.changed() => return Ok(()),
        }
    }
}

/// Queued outgoing mails (for the suspension's log line).
async fn queued_count(store: &Arc<Mutex<Store>>) -> i64 {
    let store = store.clone();
    tokio::task::spawn_blocking(move || -> Result<i64> {
        let s = store.lock().map_err(|_| anyhow::anyhow!("store lock poisoned"))?;
        Ok(s.conn().query_row("SELECT count(*) FROM outbox WHERE state = 'queued'", [], |r| r.get(0))?)
    })
    .await
    .ok()
    .and_then(|r| r.ok())
    .unwrap_or(-1)
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
