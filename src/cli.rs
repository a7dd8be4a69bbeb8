//! The command line (`docs/contracts.md`, "Command line"). Raw arguments (clap) first; each
//! subcommand loads the validated config and does one job. `--json` prints
//! one object per line with the stable fields.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use chrono::{Datelike, Utc};
use clap::{Parser, Subcommand};
use serde_json::json;

use crate::config::{Config, ConfigErrors, Secrets};
use crate::domain::{Disposition, TicketTag};
use crate::pipeline::{self, Pipeline};
use crate::source;
use crate::store::{self, Store};

/// A usage or config problem: exit status 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

#[derive(Parser, Debug)]
#[command(
    name = "supportd",
    version,
    about = "The MEIN TEAM support-mailbox daemon",
    long_about = "The MEIN TEAM support-mailbox daemon: reads the support mailbox (IMAP or Maildir), turns every mail \
into a ticket or a follow-up in SQLite, answers with templated mails (SMTP or .eml files) and lets agents work \
tickets by replying with command tags. The contracts (dispositions, commands, JSON fields, config keys) are in \
/usr/share/doc/supportd/contracts.md (docs/contracts.md in the source).",
    after_help = "Exit status: 0 success, 1 runtime failure, 2 bad usage or bad config."
)]
pub struct Cli {
    /// Config file [default: $SUPPORTD_CONFIG, then /etc/supportd/supportd.toml if it exists, then config/supportd.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the daemon: watch the mailbox, process mail, send the outbox, until SIGTERM/SIGINT.
    Run {
        /// One pass (process what is in the mailbox, send what is due), then exit.
        #[arg(long)]
        once: bool,
    },
    /// Process .eml files, directories of them, Maildirs or stdin (`-`) once, then exit.
    Ingest {
        /// .eml files, directories of them, Maildirs, or `-` for one mail on stdin.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Only queue outgoing mail; do not hand it to the transport.
        #[arg(long)]
        no_send: bool,
        /// Mails per transaction.
        #[arg(long, default_value_t = 200)]
        batch: usize,
        /// One JSON object per mail (source, disposition, ticket, reason) instead of tab-separated text.
        #[arg(long)]
        json: bool,
        /// Print the plan of each mail as one JSON object (disposition, trail, ticket afterwards,
        /// events, mails with their text) and keep nothing: no store change, no mailbox
        /// acknowledged, nothing sent.
        #[arg(long)]
        dry_run: bool,
    },
    /// Classify one mail: category, confidence, reasons. Writes nothing.
    Classify {
        /// The mail (.eml file).
        file: PathBuf,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Tickets: list, show.
    Tickets {
        #[command(subcommand)]
        cmd: TicketsCmd,
    },
    /// Stored incoming mails with their dispositions: list, show.
    Messages {
        #[command(subcommand)]
        cmd: MessagesCmd,
    },
    /// Outgoing mails: list, retry, hold, release, delete, flush.
    Outbox {
        #[command(subcommand)]
        cmd: OutboxCmd,
    },
    /// Mails that could not be processed: list, show, process again.
    Quarantine {
        #[command(subcommand)]
        cmd: QuarantineCmd,
    },
    /// The daemon's health verdict and state: exit 0 healthy, 1 degraded or not running (reasons listed).
    Status {
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// A consistent copy of the store, mode 0600 (safe while the daemon runs; never overwrites a file).
    Backup {
        /// Where to write the copy (must not exist).
        path: PathBuf,
    },
    /// The holidays and support hours in force.
    Calendar {
        /// The year to show [default: this year].
        #[arg(long)]
        year: Option<i32>,
        /// One JSON object per closed day instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Validate the config and render every template; every problem is printed; exit 2 on any.
    CheckConfig {
        /// One JSON object per problem (file, key, rule, value), or one {"ok": true} line.
        #[arg(long)]
        json: bool,
    },
    /// The ticket report of one customer for one period: print it, or queue and send it with --send.
    Report {
        /// Customer name (case-insensitive) or one of its mail domains.
        #[arg(long)]
        customer: String,
        /// 2026-11 (month), 2026-Q4 (quarter), 2026-H2 (half-year) or 2026 (year).
        #[arg(long)]
        period: String,
        /// What to print: text (the mail body), csv (the attachment) or html (the HTML alternative).
        #[arg(long, default_value = "text", value_parser = ["text", "csv", "html"])]
        format: String,
        /// Queue the report mail to the customer's report_to and hand the outbox to the transport
        /// (a manual send: always sends, even if the scheduled report went out already).
        #[arg(long)]
        send: bool,
    },
    /// Retention by hand: remove the raw bytes of mails, their attachments and the outgoing mails of
    /// tickets closed more than DAYS ago (ticket data, events and report figures stay).
    Purge {
        /// Days: 365 or 365d.
        #[arg(long, value_name = "DAYS")]
        older_than: String,
        /// Only count what would go; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Erasure (GDPR Art. 17): remove a person's (ADDRESS) or a customer's (DOMAIN) mails, names and
    /// addresses everywhere in the store, keeping the counts reports need; writes a receipt.
    Forget {
        /// m.keller@kunde.de or kunde.de.
        #[arg(required_unless_present = "receipts", conflicts_with = "receipts")]
        who: Option<String>,
        /// Only count what would go; change nothing, write no receipt.
        #[arg(long)]
        dry_run: bool,
        /// Who asks for it, for the receipt [default: $SUDO_USER, else $USER].
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
        /// List the receipts of earlier erasures instead.
        #[arg(long)]
        receipts: bool,
        /// One JSON object (per receipt) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Customers: the handover mail at support start (`customer welcome NAME`).
    Customer {
        #[command(subcommand)]
        cmd: CustomerCmd,
    },
    /// The knowledge base: what a text would be offered, the agents' draft articles.
    Kb {
        #[command(subcommand)]
        cmd: KbCmd,
    },
    /// Print the shell completion script for bash, zsh or fish.
    Completions {
        /// The shell.
        #[arg(value_parser = ["bash", "zsh", "fish"])]
        shell: String,
    },
    /// Print the manual page (roff) of supportd.
    #[command(hide = true)]
    Man,
}

#[derive(Subcommand, Debug)]
pub enum TicketsCmd {
    /// Every ticket, oldest first.
    List {
        /// One JSON object per ticket instead of text.
        #[arg(long)]
        json: bool,
        /// Only tickets in this status (new, open, in_progress, waiting, forwarded, resolved, closed).
        #[arg(long)]
        status: Option<String>,
        /// Only tickets of this customer (its name, any case) or requester (an address).
        #[arg(long)]
        customer: Option<String>,
        /// Only rows from this day on (YYYY-MM-DD, or an RFC 3339 time).
        #[arg(long)]
        since: Option<String>,
        /// At most this many rows (a page).
        #[arg(long)]
        limit: Option<usize>,
        /// Only rows after this one (the last of the page before: its number or tag).
        #[arg(long)]
        after: Option<String>,
    },
    /// One ticket with its mails and events.
    Show {
        /// The ticket's tag, e.g. MT-000123.
        tag: String,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum MessagesCmd {
    /// Every stored incoming mail with its disposition, oldest first.
    List {
        /// One JSON object per mail instead of text.
        #[arg(long)]
        json: bool,
        /// Only mails with this disposition (new_ticket, follow_up, bounce, quarantined, ...).
        #[arg(long)]
        status: Option<String>,
        /// Only mails of this ticket (MT-000123 or its number).
        #[arg(long)]
        ticket: Option<String>,
        /// Only mails of this customer's tickets (its name, any case).
        #[arg(long)]
        customer: Option<String>,
        /// Only mails from this address.
        #[arg(long)]
        from: Option<String>,
        /// Only rows from this day on (YYYY-MM-DD, or an RFC 3339 time).
        #[arg(long)]
        since: Option<String>,
        /// At most this many rows (a page).
        #[arg(long)]
        limit: Option<usize>,
        /// Only rows after this one (the last of the page before: its number or tag).
        #[arg(long)]
        after: Option<String>,
    },
    /// One stored mail with its processing trail (what each stage decided).
    Show {
        /// The mail's row number (the first column of `messages list`).
        id: i64,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum OutboxCmd {
    /// Outgoing mails, oldest first.
    List {
        /// One JSON object per mail instead of text.
        #[arg(long)]
        json: bool,
        /// Only mails in this state: queued, held, sent or failed.
        #[arg(long, alias = "status", value_parser = store::OUTBOX_STATES)]
        state: Option<String>,
        /// Only mails of this ticket (MT-000123 or its number).
        #[arg(long)]
        ticket: Option<String>,
        /// Only mails of this customer's tickets (its name, any case).
        #[arg(long)]
        customer: Option<String>,
        /// Only mails to this address.
        #[arg(long, alias = "to")]
        recipient: Option<String>,
        /// Only rows from this day on (YYYY-MM-DD, or an RFC 3339 time).
        #[arg(long)]
        since: Option<String>,
        /// At most this many rows (a page).
        #[arg(long)]
        limit: Option<usize>,
        /// Only rows after this one (the last of the page before: its number or tag).
        #[arg(long)]
        after: Option<String>,
    },
    /// Queue failed (or waiting) outgoing mails for sending now.
    Retry {
        /// The outgoing mails' numbers (the first column of `outbox list`).
        #[arg(required_unless_present = "all_failed", value_name = "ID")]
        ids: Vec<i64>,
        /// Every mail the transport gave up on (not those deleted by the
        /// operator, not those whose bytes retention or erasure removed),
        /// like `postsuper -r` after a relay outage.
        #[arg(long, conflicts_with = "ids")]
        all_failed: bool,
    },
    /// Hold queued mails: they are not sent until released.
    Hold {
        /// Outgoing mail numbers.
        #[arg(required_unless_present = "all", value_name = "ID")]
        ids: Vec<i64>,
        /// Every queued mail.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
    /// Release held mails (held by `hold`, or after a restore): they are sent at the next outbox pass.
    Release {
        /// Outgoing mail numbers.
        #[arg(required_unless_present = "all", value_name = "ID")]
        ids: Vec<i64>,
        /// Every held mail.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
    /// Discard unsent mails (queued or held): never sent; kept as a record in state failed.
    Delete {
        /// Outgoing mail numbers.
        #[arg(required_unless_present = "all", value_name = "ID")]
        ids: Vec<i64>,
        /// Every held mail.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
    /// Make every queued (not held) mail due now, also those waiting for a retry.
    Flush,
}

#[derive(Subcommand, Debug)]
pub enum CustomerCmd {
    /// Send the Supportbeginn handover mail to the customer's contacts (again), or print it with --dry-run.
    Welcome {
        /// Customer name (case-insensitive) or one of its mail domains.
        name: String,
        /// Print the mail (subject, recipients, body); queue and send nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum KbCmd {
    /// The articles the knowledge base offers for a text, with their scores (what the ack would carry).
    Search {
        /// The mail's text; its first line counts as the subject, e.g. "Passwort vergessen".
        text: String,
        /// Search the articles of this language (de or en) [default: support.language].
        #[arg(long, value_parser = ["de", "en"])]
        lang: Option<String>,
        /// The mail's category, which sets the bar (kb.min_score times 0.6 for
        /// user_management, 2.2 for usage_question) [default: kb.min_score itself].
        #[arg(long, value_parser = ["usage_question", "user_management"])]
        category: Option<String>,
        /// One JSON object per article (every article that scored, offered or not).
        #[arg(long)]
        json: bool,
    },
    /// Draft articles from agents' answers (`#kb`), as article files to review and copy into kb/<lang>/.
    Drafts {
        /// One JSON object per draft instead of the article text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum QuarantineCmd {
    /// Every quarantined mail with its reason.
    List {
        /// One JSON object per mail instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The reason and the raw bytes of a quarantined mail.
    Show {
        /// The mail's row number (the first column of `quarantine list`).
        id: i64,
    },
    /// Run a quarantined mail through the pipeline again (after a fix or a config change).
    Reprocess {
        /// The mail's row number (the first column of `quarantine list`).
        id: i64,
    },
}

impl Command {
    /// Which secrets the command needs ([`Secrets`]): only commands that talk
    /// to the mailbox or the relay read their passwords and tokens, so the
    /// rest work as root outside the unit (no `$CREDENTIALS_DIRECTORY`).
    pub fn secrets(&self) -> Secrets {
        match self {
            Command::Run { .. } | Command::CheckConfig { .. } => Secrets::Read,
            Command::Ingest { no_send: false, dry_run: false, .. }
            | Command::Report { send: true, .. }
            | Command::Customer { cmd: CustomerCmd::Welcome { dry_run: false, .. } } => Secrets::Read,
            Command::Ingest { .. } | Command::Quarantine { cmd: QuarantineCmd::Reprocess { .. } } => Secrets::NoServers,
            _ => Secrets::Skip,
        }
    }
}

/// The installed package's config.
pub const INSTALLED_CONFIG: &str = "/etc/supportd/supportd.toml";

/// The config path: `--config`, `$SUPPORTD_CONFIG`, `/etc/supportd/supportd.toml`
/// if it exists (the installed package), `config/supportd.toml` (a checkout).
pub fn config_path(arg: Option<PathBuf>) -> PathBuf {
    arg.or_else(|| std::env::var_os("SUPPORTD_CONFIG").map(PathBuf::from)).unwrap_or_else(|| {
        if Path::new(INSTALLED_CONFIG).is_file() {
            PathBuf::from(INSTALLED_CONFIG)
        } else {
            PathBuf::from("config/supportd.toml")
        }
    })
}

/// Load the config with every secret (see [`load_config_with`]).
pub fn load_config(path: &Path) -> Result<Config> {
    load_config_with(path, Secrets::Read)
}

/// Load and validate the config, reading the secrets `secrets` asks for; a
/// problem is a [`UsageError`] (exit 2).
pub fn load_config_with(path: &Path, secrets: Secrets) -> Result<Config> {
    Config::load_with(path, secrets).map_err(|e: ConfigErrors| anyhow::Error::new(UsageError(e.to_string())))
}

/// Open the store and build the pipeline for a config.
pub fn open(cfg: Config) -> Result<(Store, Pipeline)> {
    let store = Store::open(&cfg.store_path)?;
    store.set_cache_mib(cfg.store_cache_mib)?;
    let pipeline = Pipeline::new(cfg, store.conn())?;
    // The report figures kept per month (migration 0019): filled for this
    // calendar at the first start, new first responses measured. A report
    // reads every ticket when this could not be done.
    if let Err(e) = crate::reports::fast::refresh(&pipeline, store.conn()) {
        tracing::warn!("report figures not kept up to date: {e:#}");
    }
    Ok((store, pipeline))
}

/// Open the existing store for a command that only reads it (never creates one).
pub fn open_existing(cfg: &Config) -> Result<Store> {
    Store::open_existing(&cfg.store_path)
}

pub fn run(cli: Cli) -> Result<()> {
    let path = config_path(cli.config);
    // Only the commands that talk to the mailbox or the relay read their secrets.
    let secrets = cli.command.secrets();
    let load_config = |p: &Path| load_config_with(p, secrets);
    match cli.command {
        Command::CheckConfig { json } => check_config(&path, json),
        Command::Customer { cmd: CustomerCmd::Welcome { name, dry_run } } => {
            customer_welcome(&path, load_config(&path)?, &name, dry_run)
        }
        Command::Kb { cmd } => kb_command(&path, load_config(&path)?, cmd),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let shell = match shell.as_str() {
                "zsh" => clap_complete::Shell::Zsh,
                "fish" => clap_complete::Shell::Fish,
                _ => clap_complete::Shell::Bash,
            };
            clap_complete::generate(shell, &mut Cli::command(), "supportd", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(())
        }
        Command::Calendar { year, json } => {
            let cfg = load_config(&path)?;
            let h = &cfg.hours;
            let cal = crate::calendar::BusinessCalendar::new(
                h.timezone,
                h.weekdays.clone(),
                h.open,
                h.close,
                h.bw_holidays,
                h.extra_closed_days.clone(),
            )
            .map_err(|e| UsageError(format!("{}: hours: {e}", path.display())))?;
            let year = year.unwrap_or_else(|| Utc::now().with_timezone(&h.timezone).year());
            if json {
                for d in cal.holidays(year) {
                    println!(
                        "{}",
                        json_line(&json!({
                            "date": d.date.format("%Y-%m-%d").to_string(),
                            "weekday": d.date.format("%a").to_string().to_lowercase(),
                            "name_de": d.name_de,
                            "name_en": d.name_en,
                            "support_weekday": h.weekdays.contains(&d.date.weekday()),
                        }))
                    );
                }
            } else {
                print!("{}", cal.render_year(year));
            }
            Ok(())
        }
        Command::Classify { file, json } => {
            let cfg = load_config(&path)?;
            let classifier = match &cfg.classifier_path {
                Some(p) => crate::classify::Classifier::load(p).map_err(UsageError)?,
                None => crate::classify::Classifier::embedded(),
            };
            let raw = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let mail =
                crate::parse::parse(&raw, &cfg.limits).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let text = crate::text::new_text_with(mail.reply_body(), mail.forwarded);
            let c = classifier.classify(&mail.subject, &text);
            if json {
                println!(
                    "{}",
                    json_line(
                        &json!({"category": c.category.as_str(), "confidence": c.confidence, "reasons": c.reasons, "low_confidence": c.low_confidence,
                            "security_flag": c.security_flag, "security_reasons": c.security_reasons})
                    )
                );
            } else {
                println!(
                    "{} (confidence {:.2}{})",
                    c.category,
                    c.confidence,
                    if c.low_confidence { ", low" } else { "" }
                );
                if c.security_flag {
                    println!("  SECURITY FLAG: {}", shown(&c.security_reasons.join("; ")));
                }
                for r in &c.reasons {
                    println!("  - {}", shown(r));
                }
            }
            Ok(())
        }
        Command::Ingest { paths, dry_run: true, .. } => {
            let cfg = load_config(&path)?;
            // The existing store as it is (rolled back afterwards), else an empty one in memory.
            let mut store = if cfg.store_path.is_file() {
                Store::open_existing_writable(&cfg.store_path)?
            } else {
                Store::open_in_memory()?
            };
            let all = source::collect_paths(&paths).map_err(|e| UsageError(format!("{e:#}")))?;
            let mails = all.iter().map(|(p, maildir)| source::read_item(&p, maildir).map(|i| (i.source, i.raw)));
            pipeline::dry_run::dry_run(cfg, &mut store, mails, Utc::now(), |plan| {
                println!("{}", json_line(&plan));
                Ok(())
            })
        }
        Command::Ingest { paths, no_send, batch, json, dry_run: false } => {
            let cfg = load_config(&path)?;
            pipeline::build_classifier_ahead(&cfg);
            let (mut store, pipeline) = open(cfg)?;
            crate::inflight::guard(&mut store, &pipeline.cfg.store_path)?;
            store.checkpoint_in_background(&pipeline.cfg.store_path)?;
            ingest_with(store, &pipeline, &paths, batch.max(1), !no_send, json)
        }
        Command::Report { customer, period, format, send } => {
            let cfg = load_config(&path)?;
            let period = crate::reports::Period::parse(&period).map_err(|e| UsageError(format!("--period {e}")))?;
            let c = cfg
                .customer_by_name(&customer)
                .or_else(|| cfg.customers.iter().find(|c| c.domains.iter().any(|d| d.eq_ignore_ascii_case(&customer))))
                .cloned()
                .ok_or_else(|| {
                    UsageError(format!(
                        "--customer {customer:?}: no such customer in {} (known: {})",
                        path.display(),
                        cfg.customers.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                    ))
                })?;
            if send && c.report_to.is_empty() {
                return Err(UsageError(format!(
                    "--send: customer {:?} has no report_to in {}",
                    c.name,
                    path.display()
                ))
                .into());
            }
            let (mut store, pipeline) = if send {
                open(cfg)?
            } else {
                let store = open_existing(&cfg)?;
                let pipeline = Pipeline::new(cfg, store.conn())?;
                (store, pipeline)
            };
            let now = Utc::now();
            if send {
                let tx = store.conn_mut().transaction()?;
                let id = crate::reports::queue_report(&pipeline, &tx, &c, &period, "manual", now)?;
                tx.commit()?;
                let id = id.ok_or_else(|| anyhow::anyhow!("no deliverable address in report_to of {}", c.name))?;
                println!(
                    "queued report {} of {} as outbox #{id} to {}",
                    period.label(),
                    c.name,
                    c.report_to.join(", ")
                );
                let store = Arc::new(Mutex::new(store));
                let transport = crate::transport::Transport::from_config(&pipeline.cfg)?;
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                let pass = rt.block_on(crate::outbox::deliver_due(
                    &store,
                    &transport,
                    &pipeline.cfg.support_address,
                    Utc::now,
                ))?;
                eprintln!("outbox: {} sent, {} to retry, {} failed", pass.sent, pass.retry, pass.failed);
                return Ok(());
            }
            // The text and the HTML list at most reports::LISTED_MAX tickets; the CSV every one.
            let r = if format == "csv" {
                crate::reports::compute(&pipeline, store.conn(), &c, &period, now)?
            } else {
                crate::reports::compute_summary(&pipeline, store.conn(), &c, &period, now)?
            };
            match format.as_str() {
                "csv" => print!("{}", crate::reports::to_csv(&r)),
                "html" => print!("{}", crate::reports::render_html(&pipeline, &r)?),
                _ => {
                    let (subject, body) = crate::reports::render_text(&pipeline, &r)?;
                    println!("Subject: {}\n\n{}", shown(&subject), shown_lines(body.trim_end()));
                }
            }
            Ok(())
        }
        Command::Run { once } => {
            let cfg = load_config(&path)?;
            crate::daemon::run(cfg, path, once)
        }
        Command::Tickets { cmd } => {
            let cfg = load_config(&path)?;
            let store = open_existing(&cfg)?;
            match cmd {
                TicketsCmd::List { json, status, customer, since, limit, after } => {
                    if let Some(s) = &status
                        && crate::domain::Status::parse(s).is_none()
                    {
                        return Err(UsageError(format!(
                            "--status {s:?}: must be one of {}",
                            crate::domain::Status::valid_ids()
                        ))
                        .into());
                    }
                    let filter = store::listing::Filter {
                        status,
                        customer,
                        since: since_arg(since)?,
                        after: row_arg(&cfg, "--after", after)?,
                        limit,
                        ..Default::default()
                    };
                    let tickets = store::listing::tickets(store.conn(), &filter)?;
                    for t in tickets {
                        if json {
                            println!("{}", json_line(&ticket_json(&cfg, store.conn(), &t)?));
                        } else {
                            println!(
                                "{}  {:<11} L{}  {:<8} {:<16} {:<24} {}",
                                tag(&cfg, t.id),
                                t.status,
                                t.level,
                                t.priority,
                                t.category,
                                shown(t.customer.as_deref().unwrap_or(&t.requester)),
                                shown(&t.subject)
                            );
                        }
                    }
                    Ok(())
                }
                TicketsCmd::Show { tag: tag_arg, json } => {
                    let bare = tag_arg.trim().trim_start_matches('[').trim_end_matches(']');
                    let parsed = TicketTag::parse(&cfg.tag_prefix, bare).ok_or_else(|| {
                        UsageError(format!("{tag_arg:?} is not a ticket tag like {}-000123", cfg.tag_prefix))
                    })?;
                    let t = store::get_ticket(store.conn(), parsed.number)?
                        .ok_or_else(|| anyhow::anyhow!("no ticket {parsed} in {}", cfg.store_path.display()))?;
                    let mut v = ticket_json(&cfg, store.conn(), &t)?;
                    let events = store::events(store.conn(), t.id)?;
                    let outbox = store::list_outbox(store.conn(), Some(t.id))?;
                    let changes = store::changes(store.conn(), t.id)?;
                    if json {
                        if let Some(o) = v.as_object_mut() {
                            o.insert("events".into(), serde_json::to_value(&events)?);
                            o.insert("changes".into(), serde_json::to_value(&changes)?);
                            o.insert(
                                "outbox".into(),
                                outbox.iter().map(|e| outbox_json(&cfg, e)).collect::<Vec<_>>().into(),
                            );
                        }
                        println!("{}", json_line(&v));
                    } else {
                        println!("{}  {}", tag(&cfg, t.id), shown(&t.subject));
                        for (k, val) in [
                            ("status", t.status.clone()),
                            ("category", t.category.clone()),
                            ("security flag", if t.security_flag { "yes" } else { "no" }.into()),
                            ("level", t.level.to_string()),
                            ("priority", t.priority.clone()),
                            (
                                "billable",
                                if t.billable { "yes (change request)".into() } else { "no (maintenance)".into() },
                            ),
                            ("customer", t.customer.clone().unwrap_or_else(|| "-".into())),
                            ("requester", t.requester.clone()),
                            ("created", t.created_at.clone()),
                            ("first response due", t.first_response_due.clone().unwrap_or_default()),
                            ("first response", t.first_response_at.clone().unwrap_or_else(|| "-".into())),
                            ("resolution due", t.resolution_due.clone().unwrap_or_default()),
                        ] {
                            println!("  {k:<19} {}", shown(&val));
                        }
                        println!("  events:");
                        for e in events {
                            println!("    {} {:<12} {:<28} {}", e.at, e.kind, shown(&e.actor), shown(&e.detail));
                        }
                        if !changes.is_empty() {
                            println!("  changes:");
                            for c in &changes {
                                println!(
                                    "    {} - {}  {:<9} {}",
                                    c.starts_at,
                                    c.ends_at,
                                    c.state,
                                    shown(&c.description)
                                );
                            }
                        }
                        println!("  outbox:");
                        for o in outbox {
                            println!("    #{} {:<18} {:<7} {}", o.id, o.kind, o.state, shown(&o.recipients.join(", ")));
                        }
                    }
                    Ok(())
                }
            }
        }
        Command::Messages { cmd: MessagesCmd::Show { id, json } } => {
            let cfg = load_config(&path)?;
            let store = open_existing(&cfg)?;
            let m = store::get_message(store.conn(), id)?
                .ok_or_else(|| anyhow::anyhow!("no message #{id} in {}", cfg.store_path.display()))?;
            let ticket = m.entry.ticket_id.map(|t| tag(&cfg, t));
            if json {
                println!(
                    "{}",
                    json_line(
                        &json!({"id": m.entry.id, "message_id": m.entry.message_id, "from": m.entry.from_addr, "subject": m.entry.subject,
                           "disposition": m.entry.disposition, "ticket": ticket, "received_at": m.entry.received_at, "arrived_at": m.entry.arrived_at.as_deref().unwrap_or(&m.entry.received_at),
                           "reason": m.entry.reason, "source": m.entry.source, "trail": m.trail, "new_text": m.new_text,
                           "size": m.size, "raw_removed_at": m.raw_removed_at, "raw_size": m.raw_size})
                    )
                );
            } else {
                println!("message #{}  {}", m.entry.id, m.entry.disposition.as_deref().unwrap_or("-"));
                println!("  Message-ID  {}", shown(m.entry.message_id.as_deref().unwrap_or("-")));
                println!("  from        {}", shown(m.entry.from_addr.as_deref().unwrap_or("-")));
                println!("  subject     {}", shown(m.entry.subject.as_deref().unwrap_or("")));
                println!("  ticket      {}", ticket.as_deref().unwrap_or("-"));
                println!("  received    {} via {}", m.entry.received_at, shown(&m.entry.source));
                match &m.raw_removed_at {
                    Some(at) => println!(
                        "  size        {} bytes when it came; its raw bytes were removed at {at} (retention or erasure)",
                        m.raw_size.unwrap_or(0)
                    ),
                    None => println!("  size        {} bytes", m.size),
                }
                if let Some(r) = &m.entry.reason {
                    println!("  reason      {}", shown(r));
                }
                println!("  trail:");
                for t in &m.trail {
                    println!("    - {}", shown(t));
                }
            }
            Ok(())
        }
        Command::Quarantine { cmd } => {
            let cfg = load_config(&path)?;
            match cmd {
                QuarantineCmd::List { json } => {
                    let store = open_existing(&cfg)?;
                    for m in store::list_messages(store.conn(), None, Some("quarantined"))? {
                        if json {
                            println!(
                                "{}",
                                json_line(
                                    &json!({"id": m.id, "message_id": m.message_id, "from": m.from_addr, "subject": m.subject,
                                       "reason": m.reason, "received_at": m.received_at, "arrived_at": m.arrived_at.as_deref().unwrap_or(&m.received_at), "source": m.source})
                                )
                            );
                        } else {
                            println!(
                                "#{:<6} {}  {:<30} {}",
                                m.id,
                                m.received_at,
                                shown(m.from_addr.as_deref().unwrap_or("-")),
                                shown(m.reason.as_deref().unwrap_or(""))
                            );
                        }
                    }
                    Ok(())
                }
                QuarantineCmd::Show { id } => {
                    let store = open_existing(&cfg)?;
                    let m = store::get_message(store.conn(), id)?
                        .filter(|m| m.entry.disposition.as_deref() == Some("quarantined"))
                        .ok_or_else(|| anyhow::anyhow!("no quarantined message #{id}"))?;
                    println!("# message #{id}: {}", shown(m.entry.reason.as_deref().unwrap_or("")));
                    use std::io::{IsTerminal, Write};
                    // The bytes as they came when redirected (to keep or
                    // feed back); escaped on a terminal.
                    let mut out = std::io::stdout();
                    if out.is_terminal() {
                        out.write_all(shown_lines(&String::from_utf8_lossy(&m.raw)).as_bytes())?;
                    } else {
                        out.write_all(&m.raw)?;
                    }
                    Ok(())
                }
                QuarantineCmd::Reprocess { id } => {
                    let mut store = Store::open_existing_writable(&cfg.store_path)?;
                    let pipeline = Pipeline::new(cfg, store.conn())?;
                    let o = reprocess(&mut store, &pipeline, id)?;
                    println!(
                        "message #{id} -> #{}: {}{}",
                        o.row,
                        o.disposition,
                        o.ticket.map(|t| format!(" {}", pipeline.tag(t))).unwrap_or_default()
                    );
                    Ok(())
                }
            }
        }
        Command::Outbox { cmd: OutboxCmd::Retry { ids, all_failed } } => {
            let cfg = load_config(&path)?;
            let store = Store::open_existing_writable(&cfg.store_path)?;
            let now = Utc::now();
            if all_failed {
                let done = store::outbox_retry_failed(store.conn(), now)?;
                println!("{} failed outgoing mails queued for sending now", done.len());
                return Ok(());
            }
            let mut missed = Vec::new();
            for id in &ids {
                if store::outbox_retry(store.conn(), *id, now)? {
                    println!("outgoing mail #{id} queued for sending now");
                } else {
                    missed.push(format!("#{id}"));
                }
            }
            if !missed.is_empty() {
                return Err(anyhow::anyhow!(
                    "no outgoing mail {} that is queued or failed with its bytes kept (a held one: supportd outbox release ID)",
                    missed.join(", ")
                ));
            }
            Ok(())
        }
        Command::Outbox {
            cmd: cmd @ (OutboxCmd::Hold { .. } | OutboxCmd::Release { .. } | OutboxCmd::Delete { .. }),
        } => {
            let cfg = load_config(&path)?;
            let store = Store::open_existing_writable(&cfg.store_path)?;
            let now = Utc::now();
            let (ids, all, verb, what) = match &cmd {
                OutboxCmd::Hold { ids, all } => (ids, *all, "held", "queued"),
                OutboxCmd::Release { ids, all } => (ids, *all, "released", "held"),
                OutboxCmd::Delete { ids, all } => {
                    (ids, *all, "deleted (never sent)", if *all { "held" } else { "unsent" })
                }
                _ => unreachable!("matched above"),
            };
            let rows = if all { store::Rows::All } else { store::Rows::Ids(ids) };
            let done = match &cmd {
                OutboxCmd::Hold { .. } => store::outbox_hold(store.conn(), rows, now)?,
                OutboxCmd::Release { .. } => store::outbox_release(store.conn(), rows, now)?,
                _ => store::outbox_delete(store.conn(), rows, now)?,
            };
            println!("{} outgoing mails {verb}", done.len());
            let missed: Vec<String> = ids.iter().filter(|i| !done.contains(i)).map(|i| format!("#{i}")).collect();
            if !missed.is_empty() {
                return Err(anyhow::anyhow!("no {what} outgoing mail {}", missed.join(", ")));
            }
            Ok(())
        }
        Command::Outbox { cmd: OutboxCmd::Flush } => {
            let cfg = load_config(&path)?;
            let store = Store::open_existing_writable(&cfg.store_path)?;
            let n = store::outbox_flush(store.conn(), Utc::now())?;
            println!("{n} queued outgoing mails due now (the daemon sends them at its next outbox pass)");
            Ok(())
        }
        Command::Status { json } => {
            let cfg = load_config(&path)?;
            let store = open_existing(&cfg)?;
            let r = crate::status::report(store.conn(), &cfg.store_path, Utc::now())?;
            if json {
                println!("{}", json_line(&serde_json::to_value(&r)?));
            } else {
                print!("{}", shown_lines(&crate::status::report_text(&r)));
            }
            if r.healthy {
                Ok(())
            } else {
                // the verdict is on stdout; the exit status says it to scripts
                Err(crate::status::Exit { code: crate::status::EXIT_DEGRADED, message: String::new() }.into())
            }
        }
        Command::Purge { older_than, dry_run, json } => {
            let days: u32 =
                older_than.trim().trim_end_matches('d').parse().ok().filter(|d| *d > 0).ok_or_else(|| {
                    UsageError(format!("--older-than {older_than:?}: must be a number of days like 365 or 365d"))
                })?;
            let cfg = load_config(&path)?;
            let mut store =
                if dry_run { open_existing(&cfg)? } else { Store::open_existing_writable(&cfg.store_path)? };
            let before = crate::status::store_bytes(&cfg.store_path);
            let policy = store::retention::Policy::all(days);
            let f = store::retention::purge(store.conn_mut(), &policy, Utc::now(), dry_run)?;
            let after = crate::status::store_bytes(&cfg.store_path);
            if json {
                let mut v = serde_json::to_value(&f)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("dry_run".into(), dry_run.into());
                    o.insert("older_than_days".into(), days.into());
                    o.insert("store_bytes_before".into(), before.into());
                    o.insert("store_bytes_after".into(), after.into());
                }
                println!("{}", json_line(&v));
            } else {
                println!(
                    "{}{} raw mails, {} attachments ({} bodies), {} outgoing mails older than {days} days of closed tickets: {} stored bytes; store {} -> {} bytes",
                    if dry_run { "would remove " } else { "removed " },
                    f.raw_mails,
                    f.attachments,
                    f.blobs,
                    f.outgoing,
                    f.bytes,
                    before,
                    after
                );
            }
            Ok(())
        }
        Command::Forget { who, dry_run, by, receipts, json } => {
            let cfg = load_config(&path)?;
            if receipts {
                let store = open_existing(&cfg)?;
                for r in store::erasure::receipts(store.conn())? {
                    if json {
                        println!("{}", json_line(&serde_json::to_value(&r)?));
                    } else {
                        println!(
                            "#{:<4} {}  {:<7} sha256:{}  by {}  {}",
                            r.id,
                            r.at,
                            r.kind,
                            r.subject_sha256,
                            shown(&r.requested_by),
                            r.summary
                        );
                    }
                }
                return Ok(());
            }
            let raw = who.unwrap_or_default();
            let subject = store::erasure::Subject::parse(&raw).ok_or_else(|| {
                UsageError(format!("{raw:?}: not an address (name@domain.de) or a domain (domain.de)"))
            })?;
            let by = by
                .or_else(|| std::env::var("SUDO_USER").ok())
                .or_else(|| std::env::var("USER").ok())
                .filter(|b| !b.trim().is_empty())
                .ok_or_else(|| UsageError("--by NAME: who asks for the erasure (no $SUDO_USER or $USER)".into()))?;
            let mut store = Store::open_existing_writable(&cfg.store_path)?;
            let s = store::erasure::forget(store.conn_mut(), &subject, &by, Utc::now(), dry_run)?;
            if json {
                let mut v = serde_json::to_value(&s)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("dry_run".into(), dry_run.into());
                    o.insert("requested_by".into(), by.into());
                }
                println!("{}", json_line(&v));
            } else {
                println!(
                    "{}{} tickets anonymised, {} mails and {} outgoing mails erased, {} participants, {} attachments ({} bodies), {} mentions, {} other mails naming them{}",
                    if dry_run { "would erase: " } else { "erased: " },
                    s.tickets,
                    s.messages,
                    s.outgoing,
                    s.participants,
                    s.attachments,
                    s.blobs,
                    s.mentions,
                    s.other_mails,
                    if dry_run {
                        String::new()
                    } else {
                        format!("; receipt written (by {by}; supportd forget --receipts)")
                    }
                );
            }
            Ok(())
        }
        Command::Backup { path: dest } => {
            let cfg = load_config(&path)?;
            let store = open_existing(&cfg)?;
            store::backup(store.conn(), &dest, Utc::now())?;
            println!("{} -> {} (mode 0600)", cfg.store_path.display(), dest.display());
            Ok(())
        }
        Command::Messages { cmd: MessagesCmd::List { json, status, ticket, customer, from, since, limit, after } } => {
            let cfg = load_config(&path)?;
            let store = open_existing(&cfg)?;
            let filter = store::listing::Filter {
                status,
                ticket: row_arg(&cfg, "--ticket", ticket)?,
                customer,
                recipient: from,
                since: since_arg(since)?,
                after: row_arg(&cfg, "--after", after)?,
                limit,
            };
            for m in store::listing::messages(store.conn(), &filter)? {
                let ticket = m.ticket_id.map(|t| tag(&cfg, t));
                if json {
                    println!(
                        "{}",
                        json_line(
                            &json!({"id": m.id, "message_id": m.message_id, "from": m.from_addr, "subject": m.subject,
                               "disposition": m.disposition, "ticket": ticket, "received_at": m.received_at, "arrived_at": m.arrived_at.as_deref().unwrap_or(&m.received_at),
                               "reason": m.reason, "source": m.source})
                        )
                    );
                } else {
                    println!(
                        "#{:<5} {:<16} {:<10} {:<32} {}{}",
                        m.id,
                        m.disposition.as_deref().unwrap_or("-"),
                        ticket.as_deref().unwrap_or("-"),
                        shown(m.from_addr.as_deref().unwrap_or("-")),
                        shown(m.subject.as_deref().unwrap_or("")),
                        m.reason.map(|r| format!("  ({})", shown(&r))).unwrap_or_default()
                    );
                }
            }
            Ok(())
        }
        Command::Outbox { cmd: OutboxCmd::List { json, state, ticket, customer, recipient, since, limit, after } } => {
            let cfg = load_config(&path)?;
            let store = open_existing(&cfg)?;
            let filter = store::listing::Filter {
                status: state,
                ticket: row_arg(&cfg, "--ticket", ticket)?,
                customer,
                recipient,
                since: since_arg(since)?,
                after: row_arg(&cfg, "--after", after)?,
                limit,
            };
            let rows = store::listing::outbox(store.conn(), &filter)?;
            for o in rows {
                if json {
                    println!("{}", json_line(&outbox_json(&cfg, &o)));
                } else {
                    println!(
                        "#{:<5} {:<18} {:<7} {:<10} {:<40} {}",
                        o.id,
                        o.kind,
                        o.shown_state(),
                        o.ticket_id.map(|t| tag(&cfg, t)).unwrap_or_else(|| "-".into()),
                        shown(&o.recipients.join(",")),
                        shown(&o.subject)
                    );
                }
            }
            Ok(())
        }
    }
}

/// `check-config`: the config with every secret, the templates (each
/// rendered strictly with a sample context), the classifier data; every
/// problem at once, one per line (or one JSON object per line), exit 2 on any.
/// `supportd customer welcome NAME [--dry-run]`: a manual handover mail
/// (always sent; never counts as the scheduled one).
fn customer_welcome(path: &Path, cfg: Config, name: &str, dry_run: bool) -> Result<()> {
    let c = cfg
        .customer_by_name(name)
        .or_else(|| cfg.customers.iter().find(|c| c.domains.iter().any(|d| d.eq_ignore_ascii_case(name))))
        .cloned()
        .ok_or_else(|| {
            UsageError(format!(
                "customer {name:?}: no such customer in {} (known: {})",
                path.display(),
                cfg.customers.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
            ))
        })?;
    let now = Utc::now();
    if dry_run {
        let store = Store::open_in_memory()?;
        let pipeline = Pipeline::new(cfg, store.conn())?;
        let (subject, body) = crate::welcome::render(&pipeline, &c, now)?;
        let to = if c.contacts.is_empty() { "(no contacts configured)".to_string() } else { c.contacts.join(", ") };
        println!("To: {to}\nSubject: {}\n\n{}", shown(&subject), shown_lines(body.trim_end()));
        return Ok(());
    }
    if c.contacts.is_empty() {
        return Err(UsageError(format!("customer {:?} has no contacts in {}", c.name, path.display())).into());
    }
    let (mut store, pipeline) = open(cfg)?;
    let tx = store.conn_mut().transaction()?;
    let id = crate::welcome::queue_welcome(&pipeline, &tx, &c, "manual", now)?;
    tx.commit()?;
    let id = id.ok_or_else(|| anyhow::anyhow!("no deliverable address in contacts of {}", c.name))?;
    println!("queued the handover mail of {} as outbox #{id} to {}", c.name, c.contacts.join(", "));
    let store = Arc::new(Mutex::new(store));
    let transport = crate::transport::Transport::from_config(&pipeline.cfg)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let pass = rt.block_on(crate::outbox::deliver_due(&store, &transport, &pipeline.cfg.support_address, Utc::now))?;
    eprintln!("outbox: {} sent, {} to retry, {} failed", pass.sent, pass.retry, pass.failed);
    Ok(())
}

fn check_config(path: &Path, json: bool) -> Result<()> {
    let file = path.display().to_string();
    let mut problems: Vec<crate::config::Problem> = Vec::new();
    let problem = |key: &str, rule: String| crate::config::Problem {
        file: file.clone(),
        key: key.to_string(),
        rule,
        value: String::new(),
    };
    match Config::load(path) {
        Err(e) => problems.extend(e.0),
        Ok(cfg) => {
            // A real report's context (on an empty in-memory store) for the report templates.
            let report_ctx = Store::open_in_memory()
                .and_then(|mem| {
                    // The knowledge base is checked on its own below.
                    let p = Pipeline::new(crate::config::Config { kb_path: None, ..cfg.clone() }, mem.conn())?;
                    let c = cfg.customers.first().cloned().unwrap_or_else(|| crate::config::Customer {
                        name: "Sample".into(),
                        domains: vec!["example.org".into()],
                        language: cfg.language.clone(),
                        consultant: None,
                        contact_person: None,
                        project_team: vec![],
                        report_cycle: crate::config::ReportCycle::Monthly,
                        report_to: vec![],
                        contacts: vec![],
                        specifics: vec![],
                    });
                    let period = crate::reports::Period::parse("2026-11").map_err(|e| anyhow::anyhow!("{e}"))?;
                    let r = crate::reports::compute(&p, mem.conn(), &c, &period, Utc::now())?;
                    Ok(crate::reports::context(&p, &r))
                })
                .unwrap_or_else(|e| {
                    problems.push(problem("templates.path", format!("{e:#}")));
                    json!({})
                });
            for t in crate::templates::Templates::check_strict(&cfg.templates_path, &report_ctx) {
                problems.push(problem("templates.path", t));
            }
            if let Some(p) = &cfg.classifier_path
                && let Err(e) = crate::classify::Classifier::load(p)
            {
                problems.push(problem("classifier.path", e));
            }
            if let Err(e) = crate::kb::Kb::load(cfg.kb_path.as_deref(), cfg.kb_min_score) {
                problems.push(problem("kb.path", format!("{e:#}")));
            }
        }
    }
    if json {
        if problems.is_empty() {
            println!("{}", json_line(&json!({"file": file, "ok": true})));
        }
        for p in &problems {
            println!("{}", json_line(&json!({"file": p.file, "key": p.key, "rule": p.rule, "value": p.value})));
        }
    } else if problems.is_empty() {
        println!("{file}: ok");
    }
    if problems.is_empty() {
        return Ok(());
    }
    if json {
        return Err(UsageError(format!("{file}: {} problems", problems.len())).into());
    }
    Err(UsageError(ConfigErrors(problems).to_string()).into())
}

/// Mail-derived text for one line of text output: every control character
/// (C0 including tab and line feed, DEL, C1) and every bidi or invisible
/// character ([`crate::parse::is_bidi_or_invisible`]) shown as a visible
/// escape (`\x1b`, `\n`, `\u{202e}`; a backslash itself stays as it is),
/// so a mail cannot move the cursor, clear the screen, set the window
/// title, reorder what follows or add a line of its own to the listing.
/// Borrowed when nothing needs escaping.
pub fn shown(s: &str) -> Cow<'_, str> {
    escaped(s, false)
}

/// [`shown`] for text printed over several lines (a report body, a raw
/// mail): line feeds, tabs and the CR of a CRLF stay.
pub fn shown_lines(s: &str) -> Cow<'_, str> {
    escaped(s, true)
}

fn escaped(s: &str, lines: bool) -> Cow<'_, str> {
    let bad = |c: char, next: Option<char>| {
        let kept = lines && (matches!(c, '\n' | '\t') || (c == '\r' && next == Some('\n')));
        (c.is_control() && !kept) || crate::parse::is_bidi_or_invisible(c)
    };
    let mut it = s.chars().peekable();
    let mut first_bad = None;
    let mut at = 0;
    while let Some(c) = it.next() {
        if bad(c, it.peek().copied()) {
            first_bad = Some(at);
            break;
        }
        at += c.len_utf8();
    }
    let Some(at) = first_bad else { return Cow::Borrowed(s) };
    let mut out = String::with_capacity(s.len() + 16);
    out.push_str(&s[..at]);
    let mut it = s[at..].chars().peekable();
    while let Some(c) = it.next() {
        if bad(c, it.peek().copied()) {
            use std::fmt::Write;
            let _ = match c {
                '\n' => write!(out, "\\n"),
                '\r' => write!(out, "\\r"),
                '\t' => write!(out, "\\t"),
                c if (c as u32) < 0x100 => write!(out, "\\x{:02x}", c as u32),
                c => write!(out, "\\u{{{:x}}}", c as u32),
            };
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One JSON line for `--json` output: valid JSON with the stored values
/// unchanged, but DEL, C1 and bidi/invisible characters written as `\uXXXX`
/// escapes (serde_json writes them raw; it escapes only C0), so no such
/// character reaches the terminal either.
pub fn json_line(v: &serde_json::Value) -> String {
    let text = v.to_string();
    if !text.chars().any(|c| c.is_control() || crate::parse::is_bidi_or_invisible(c)) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        // Outside strings JSON has no such characters: each one is inside a
        // string, where its \u escape means the same character.
        if c.is_control() || crate::parse::is_bidi_or_invisible(c) {
            use std::fmt::Write;
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// `--since`: a date or an RFC 3339 time.
fn since_arg(s: Option<String>) -> Result<Option<String>> {
    s.map(|s| {
        store::listing::parse_since(&s)
            .ok_or_else(|| UsageError(format!("--since {s:?}: not a date (YYYY-MM-DD) or RFC 3339 time")).into())
    })
    .transpose()
}

/// `--ticket` / `--after`: a row number, or a ticket tag (`MT-000123`, `[MT-000123]`).
fn row_arg(cfg: &Config, flag: &str, s: Option<String>) -> Result<Option<i64>> {
    let Some(s) = s else { return Ok(None) };
    let bare = s.trim().trim_start_matches('[').trim_end_matches(']').trim_start_matches('#');
    if let Ok(n) = bare.parse::<i64>() {
        return Ok(Some(n));
    }
    TicketTag::parse(&cfg.tag_prefix, bare).map(|t| Some(t.number)).ok_or_else(|| {
        UsageError(format!("{flag} {s:?}: not a number or a ticket tag like {}-000123", cfg.tag_prefix)).into()
    })
}

fn tag(cfg: &Config, n: i64) -> String {
    TicketTag::new(&cfg.tag_prefix, n).to_string()
}

fn ticket_json(cfg: &Config, conn: &rusqlite::Connection, t: &store::Ticket) -> Result<serde_json::Value> {
    Ok(json!({
        "tag": tag(cfg, t.id),
        "subject": t.subject,
        "category": t.category,
        "level": t.level,
        "priority": t.priority,
        "status": t.status,
        "customer": t.customer,
        "requester": t.requester,
        "billable": t.billable,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
        "message_ids": store::ticket_message_ids(conn, t.id)?,
        "confidence": t.confidence,
        "low_confidence": t.low_confidence,
        "security_flag": t.security_flag,
        "language": t.language,
        "assignee": t.assignee,
        "first_response_due": t.first_response_due,
        "first_response_at": t.first_response_at,
        "resolution_due": t.resolution_due,
        "closed_at": t.closed_at,
        "linked_to": t.linked_to.map(|n| tag(cfg, n)),
        "merged_into": t.merged_into.map(|n| tag(cfg, n)),
    }))
}

fn outbox_json(cfg: &Config, o: &store::OutboxEntry) -> serde_json::Value {
    json!({
        "id": o.id,
        "kind": o.kind,
        "ticket": o.ticket_id.map(|t| tag(cfg, t)),
        "to": o.recipients,
        "subject": o.subject,
        "state": o.shown_state(),
        "held": o.held,
        "attempts": o.attempts,
        "in_reply_to": o.in_reply_to,
        "message_id": o.message_id,
        "next_attempt_at": o.next_attempt_at,
        "last_error": o.last_error,
    })
}

/// Mail bytes per `ingest` transaction at most (besides `--batch` mails):
/// all of them are in memory until the commit. 1 MiB held 0.5 MB more peak
/// RSS.
pub const INGEST_BATCH_BYTES: usize = 1 << 19;

/// `ingest`: every path through the pipeline in batches, Maildir files
/// acknowledged after their batch committed, then the outbox sent once.
pub fn ingest(store: Store, pipeline: &Pipeline, paths: &[PathBuf], batch: usize, send: bool) -> Result<()> {
    ingest_with(store, pipeline, paths, batch, send, false)
}

/// [`ingest`]; `json`: one JSON object per mail on stdout instead of a tab-separated line.
pub fn ingest_with(
    mut store: Store,
    pipeline: &Pipeline,
    paths: &[PathBuf],
    batch: usize,
    send: bool,
    json: bool,
) -> Result<()> {
    let started = std::time::Instant::now();
    let all = source::collect_paths(paths).map_err(|e| UsageError(format!("{e:#}")))?;
    let mut counts: std::collections::BTreeMap<&'static str, usize> = Default::default();
    let mut total = 0usize;
    let mut next = 0usize;
    while next < all.len() {
        // A batch ends at `batch` mails or INGEST_BATCH_BYTES of them:
        // memory stays flat when the mails are large.
        let mut items = Vec::with_capacity(batch.min(all.len() - next));
        let mut bytes = 0usize;
        while let Some((p, maildir)) = all.get(next) {
            if items.len() >= batch || (bytes >= INGEST_BATCH_BYTES && !items.is_empty()) {
                break;
            }
            let item = source::read_item(&p, maildir)?;
            bytes += item.raw.len();
            items.push(item);
            next += 1;
        }
        // The raw bytes move into the batch (only the source and the Maildir
        // file of an item are needed after it).
        let mails: Vec<(String, Vec<u8>)> =
            items.iter_mut().map(|i| (i.source.clone(), std::mem::take(&mut i.raw))).collect();
        let outcomes = pipeline::process_batch(pipeline, &mut store, &mails, Utc::now())?;
        for (item, o) in items.iter().zip(&outcomes) {
            if let Some(f) = &item.maildir_file {
                source::maildir_ack(f)?;
            }
            *counts.entry(o.disposition.as_str()).or_default() += 1;
            total += 1;
            if json {
                println!(
                    "{}",
                    json_line(&json!({
                        "source": item.source,
                        "id": o.row,
                        "disposition": o.disposition.as_str(),
                        "ticket": o.ticket.map(|t| pipeline.tag(t)),
                        "reason": o.reason,
                    }))
                );
                continue;
            }
            println!(
                "{}\t{}\t{}{}",
                shown(&item.source),
                o.disposition,
                o.ticket.map(|t| pipeline.tag(t)).unwrap_or_else(|| "-".into()),
                o.reason
                    .as_ref()
                    .filter(|_| o.disposition == Disposition::Quarantined)
                    .map(|r| format!("\t{}", shown(r)))
                    .unwrap_or_default()
            );
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    eprintln!(
        "ingested {total} mails in {secs:.2} s ({:.0} mails/s): {}",
        total as f64 / secs.max(1e-9),
        if summary.is_empty() { "nothing".into() } else { summary.join(", ") }
    );
    if send {
        let store = Arc::new(Mutex::new(store));
        let transport = crate::transport::Transport::from_config(&pipeline.cfg)?;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let pass =
            rt.block_on(crate::outbox::deliver_due(&store, &transport, &pipeline.cfg.support_address, Utc::now))?;
        eprintln!("outbox: {} sent, {} to retry, {} failed", pass.sent, pass.retry, pass.failed);
    }
    Ok(())
}

/// Run a quarantined mail through the pipeline again; the old row is
/// replaced by the new one (same raw bytes, its trail names the old row).
pub fn reprocess(store: &mut Store, pipeline: &Pipeline, id: i64) -> Result<pipeline::Outcome> {
    let m = store::get_message(store.conn(), id)?
        .filter(|m| m.entry.disposition.as_deref() == Some("quarantined"))
        .ok_or_else(|| anyhow::anyhow!("no quarantined message #{id}"))?;
    let tx = store.conn_mut().transaction()?;
    let o = pipeline.process(&tx, &m.raw, &format!("reprocess:#{id}:{}", m.entry.source), Utc::now())?;
    // The old row's history (its quarantine event, earlier reprocess events) moves to the new row.
    tx.execute("UPDATE events SET message_row = ?1 WHERE message_row = ?2", [o.row, id])?;
    tx.execute("DELETE FROM message_refs WHERE message_row = ?1", [id])?;
    tx.execute("DELETE FROM message_trails WHERE message_row = ?1", [id])?;
    tx.execute("DELETE FROM messages WHERE id = ?1", [id])?;
    store::insert_event(
        &tx,
        o.ticket,
        Some(o.row),
        Utc::now(),
        "ops",
        "reprocess",
        &format!("was quarantined message #{id}: {}", m.entry.reason.as_deref().unwrap_or("")),
    )?;
    tx.commit()?;
    Ok(o)
}

/// `supportd kb search "TEXT"` and `supportd kb drafts`.
pub fn kb_command(path: &Path, cfg: Config, cmd: KbCmd) -> Result<()> {
    match cmd {
        KbCmd::Search { text, lang, category, json } => {
            let kb = crate::kb::Kb::load(cfg.kb_path.as_deref(), cfg.kb_min_score)
                .map_err(|e| UsageError(format!("{}: kb: {e:#}", path.display())))?;
            let lang = lang.unwrap_or_else(|| cfg.language.clone());
            let cat = category.as_deref().and_then(crate::domain::Category::parse);
            let hits = kb.search_as(&lang, &text, cat);
            if json {
                for h in &hits {
                    println!("{}", serde_json::to_string(h)?);
                }
                return Ok(());
            }
            match &cfg.kb_path {
                Some(p) => println!(
                    "knowledge base {} ({} articles in {lang}, min_score {}, bar {:.1})",
                    p.display(),
                    kb.len(&lang),
                    kb.min_score,
                    kb.bar(cat)
                ),
                None => println!("no knowledge base (kb.path not set and no kb/ beside {})", path.display()),
            }
            if !hits.iter().any(|h| h.offered) {
                println!("nothing offered");
            }
            for h in &hits {
                println!(
                    "{} {:>6.2}  {}  {}  [{}]{}{}",
                    if h.offered { "offered" } else { "       " },
                    h.score,
                    h.id,
                    shown(&h.title),
                    h.matched.join(" "),
                    h.action.as_ref().map(|a| format!("  action {a}")).unwrap_or_default(),
                    h.held_back.as_ref().map(|a| format!("  held back: {a}")).unwrap_or_default()
                );
            }
            Ok(())
        }
        KbCmd::Drafts { json } => {
            let store = open_existing(&cfg)?;
            for d in crate::kb::drafts(store.conn())? {
                if json {
                    let mut v = serde_json::to_value(&d)?;
                    v["ticket"] = json!(d.ticket.map(|t| TicketTag::new(&cfg.tag_prefix, t).to_string()));
                    v["file"] = json!(format!("{}/{}.md", d.language, crate::kb::slug(&d.title)));
                    println!("{}", serde_json::to_string(&v)?);
                } else {
                    let tag = d.ticket.map(|t| TicketTag::new(&cfg.tag_prefix, t).to_string());
                    println!(
                        "# draft {} from {} by {}, {} -> kb/{}/{}.md",
                        d.id,
                        tag.as_deref().unwrap_or("-"),
                        d.author,
                        d.created_at,
                        d.language,
                        crate::kb::slug(&d.title)
                    );
                    println!("{}", shown_lines(&crate::kb::draft_file(&d)));
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_escapes_terminal_controls_and_bidi_visibly() {
        assert!(matches!(shown("Grüße – Rechnung"), Cow::Borrowed(_)));
        assert_eq!(shown("a\u{1b}]0;x\u{7}b"), r"a\x1b]0;x\x07b");
        assert_eq!(shown("\u{7f}\u{9b}31m\u{85}"), r"\x7f\x9b31m\x85");
        assert_eq!(shown("rechnung\u{202E}fdp.exe"), r"rechnung\u{202e}fdp.exe");
        assert_eq!(shown("a\tb\r\nc\u{2066}\u{FEFF}"), r"a\tb\r\nc\u{2066}\u{feff}");
        assert_eq!(shown_lines("a\tb\r\nc\rd\n\u{1b}[2J"), "a\tb\r\nc\\rd\n\\x1b[2J");
    }

    #[test]
    fn json_lines_stay_valid_json_with_the_same_values() {
        let s = "x\u{1b}[2J\u{7f}\u{9b}\u{202E}gepj.exe\u{200B}\n\"";
        let line = json_line(&json!({"subject": s}));
        assert!(!line.chars().any(|c| c.is_control() || crate::parse::is_bidi_or_invisible(c)), "{line}");
        assert!(line.contains(r"\u202e") && line.contains(r"\u009b"), "{line}");
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["subject"], s);
    }
}
