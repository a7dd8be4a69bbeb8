//! The `supportd` binary: parse the command line, set up logging (journald
//! or stderr, see `supportd::journal`), run, and
//! turn the result into an exit status (0 ok, 1 runtime failure, 2 bad usage
//! or bad config) with the error on stderr.

use clap::Parser;

fn main() {
    let cli = supportd::cli::Cli::parse();
    // journald (structured fields) under systemd, else stderr; RUST_LOG filters both.
    supportd::journal::init(if matches!(cli.command, supportd::cli::Command::Run { .. }) { "info" } else { "warn" });
    match supportd::cli::run(cli) {
        Ok(()) => {}
        Err(e) => {
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
