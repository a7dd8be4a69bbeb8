//! The `supportd` binary: parse the command line, set up logging (journald
//! or stderr, see `supportd::journal`), run, and
//! turn the result into an exit status (0 ok, 1 runtime failure, 2 bad usage
//! or bad config) with the error on stderr. 3: a mail went over
//! `limits.max_processing_secs` and the process was stopped (`inflight`).
//! 4: `run` cannot start for good (newer store schema, metrics port taken);
//! 75: `run --once` could not deliver mail; `status`: 1 when degraded or
//! not running (`supportd::status::Exit`).

use clap::Parser;

fn main() {
    limit_malloc_arenas();
    let cli = supportd::cli::Cli::parse();
    if !matches!(cli.command, supportd::cli::Command::Run { .. }) {
        default_sigpipe();
    }
    // journald (structured fields) under systemd, else stderr; RUST_LOG filters both.
    supportd::journal::init(if matches!(cli.command, supportd::cli::Command::Run { .. }) { "info" } else { "warn" });
    match supportd::cli::run(cli) {
        Ok(()) => {}
        Err(e) => {
            if let Some(x) = e.downcast_ref::<supportd::status::Exit>() {
                // an exit status of its own (status verdict, run --once, permanent start errors)
                if !x.message.is_empty() {
                    eprintln!("supportd: {}", x.message.replace('\n', " "));
                }
                std::process::exit(x.code);
            }
            let usage = e.downcast_ref::<supportd::cli::UsageError>().is_some();
            let msg = format!("{e:#}");
            if usage && msg.contains('\n') {
                // A config with several problems: one line each.
                eprintln!("{msg}");
            } else {
                eprintln!("supportd: {}", msg.replace('\n', " "));
            }
            std::process::exit(if usage { 2 } else { 1 });
        }
    }
}

/// A command whose output goes into a pipe that closes early (`supportd
/// messages list | head -1`) ends quietly, as `ls` or `grep` do, instead of
/// panicking on the write (Rust ignores SIGPIPE, so `println!` would get
/// EPIPE and panic with exit 101). Not for `run`: the daemon's sockets must
/// never kill it.
#[cfg(unix)]
fn default_sigpipe() {
    unsafe extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
    }
    /// SIGPIPE and SIG_DFL of signal.h (Linux).
    const SIGPIPE: i32 = 13;
    const SIG_DFL: usize = 0;
    // SAFETY: resets one signal's disposition to the default before any
    // other thread exists; no handler code runs.
    unsafe {
        signal(SIGPIPE, SIG_DFL);
    }
}

#[cfg(not(unix))]
fn default_sigpipe() {}

/// glibc gives each thread that allocates an arena of its own (up to eight
/// per core), and memory freed in one arena is not reused by the others: the
/// daemon's runtime and blocking-pool threads grew its resident memory that
/// way. Four arenas: the writer, the prepare thread and the I/O tasks each
/// find one of their own. With two, the writer and the prepare thread waited
/// on each other's arena lock (`perf` of the IMAP bench: 116 ms of 400 blocked
/// in `__lll_lock_wait_private`, now about 15 ms); the peer's 500 mails over
/// IMAP TLS went from a median of 1,216 to 1,355 mails/s (the same binary,
/// twelve interleaved runs each), at +0.5 MB peak RSS (ingest's peak RSS is
/// unchanged, 25.2-25.4 MB).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    unsafe extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    /// `M_ARENA_MAX` of glibc's malloc.h.
    const M_ARENA_MAX: i32 = -8;
    // SAFETY: mallopt only sets a tuning parameter of the allocator; it is
    // called before any other thread exists.
    unsafe {
        mallopt(M_ARENA_MAX, 4);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
