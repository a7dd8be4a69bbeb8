//! # supportd
//!
//! The support-mailbox daemon of the MEIN TEAM platform: every mail to the
//! support address becomes a ticket or a follow-up in SQLite, classified into
//! one of the five request categories of the support concept, with a support
//! level, and is answered with templated status mails.
//!
//! # Layout
//!
//! The pure stages take `now` and do no IO; the store, the mailbox sources
//! and the transports are the edges.
//!
//! - [`config`]: the TOML file, raw serde layer -> validated [`config::Config`].
//! - [`domain`]: categories, levels, priorities, statuses, dispositions, tags.
//! - [`pipeline`]: `process(raw, now)`, the one path for `run`, `ingest` and tests.
//! - [`engine`]: the configured parts every stage shares ([`engine::Pipeline`]) and the queueing of a mail;
//!   [`words`]: pure words (what a mail asks for, what supportd writes back).
//! - [`parse`]: raw bytes -> owned [`parse::InboundMail`], bounded and panic-safe.
//! - [`hygiene`]: auto-replies, bounces, loops, spam: recorded, never answered.
//! - [`thread`]: our signed Message-IDs and subject tags.
//! - [`text`]: the new text of a mail (quotes, signatures, disclaimers removed).
//! - [`classify`]: category + confidence + reasons.
//! - [`calendar`]: support hours, Baden-Württemberg holidays, support-hour arithmetic.
//! - [`templates`]: outgoing mails with RFC 3834 and threading headers.
//! - [`store`]: SQLite, migrations, rows.
//! - [`outbox`] and [`transport`]: sending queued mail (file or SMTP) with retries.
//! - [`source`]: Maildir and file sources for `run` and `ingest`; [`imap`]: the IMAP mailbox;
//!   [`imap_source`]: the daemon's IMAP loop (UID/UIDVALIDITY state, ack after commit, backoff).
//! - [`smtp`]: the SMTP client under [`transport`].
//! - [`oauth`]: XOAUTH2 access tokens for IMAP and SMTP (file or command, fetched again after a rejection).
//! - [`schedule`]: the daemon's clock (SLA warnings, escalations, change reminders, periodic reports);
//!   [`reports`]: overview and ticket reports; [`welcome`]: the handover mail at support start;
//!   [`followup`]: the daily digest per level, reminders and the automatic close of waiting tickets.
//! - [`kb`]: the knowledge base offered in acks (the 1st level's first solution attempt), `#kb` drafts.
//! - [`kb_actions`]: the action a mail asks for (create, deactivate, …): an article is offered only for its own.
//! - [`daemon`]: `run`, its loops under one stop signal; [`watchdog`]: their heartbeats for systemd;
//!   [`journal`]: logs to journald or stderr; [`status`] and [`metrics`]: what ops can ask for.
//! - [`cli`]: the subcommands (`docs/contracts.md`, "Command line").
//!
//! Invariants: raw bytes are the first write for every mail; a ticket change
//! and the mails it causes commit in one transaction; a source is acknowledged
//! only after that commit; the same mail twice gives one ticket.

pub mod calendar;
pub mod classify;
pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod domain;
pub mod engine;
pub mod followup;
pub mod hygiene;
pub mod imap;
pub mod imap_source;
pub mod inflight;
pub mod journal;
pub mod kb;
pub mod kb_actions;
pub mod metrics;
pub mod oauth;
pub mod outbox;
pub mod parse;
pub mod pipeline;
pub mod reports;
pub mod schedule;
pub mod smtp;
pub mod source;
pub mod status;
pub mod store;
pub mod templates;
pub mod text;
pub mod thread;
pub mod transport;
pub mod watchdog;
pub mod welcome;
pub mod words;
pub mod zone;
