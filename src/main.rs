//! The `supportd` binary: parse the command line, set up logging, run, and
//! turn the result into an exit status (0 ok, 1 runtime failure, 2 bad usage
//! or bad config) with the error on stderr.

use clap::Parser;

fn main() {
    let cli = supportd::cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(if matches!(cli.command, supportd::cli::Command::Run { .. }) {
            "info"
        } else {
            "warn"
        })
    });
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
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
