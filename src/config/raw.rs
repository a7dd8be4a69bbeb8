use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub support: Option<Support>,
    pub mailbox: Option<Mailbox>,
    pub transport: Option<Transport>,
    pub store: Option<Store>,
    pub hours: Option<Hours>,
    pub agents: Option<Agents>,
    #[serde(default)]
    pub levels: BTreeMap<String, LevelTable>,
    #[serde(default)]
    pub categories: BTreeMap<String, CategoryTable>,
    #[serde(default)]
    pub customers: Vec<Customer>,
    pub limits: Option<Limits>,
    pub classifier: Option<Classifier>,
    pub templates: Option<Templates>,
    pub metrics: Option<Metrics>,
    pub sla: Option<Sla>,
    pub reports: Option<Reports>,
    pub retention: Option<Retention>,
    pub spam: Option<Spam>,
    pub kb: Option<Kb>,
    pub followup: Option<Followup>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    pub raw_after_days: Option<i64>,
    pub attachments_after_days: Option<i64>,
    pub outgoing_after_days: Option<i64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Kb {
    pub path: Option<String>,
    pub min_score: Option<f64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Followup {
    pub digest_at: Option<String>,
    pub reminder_after_days: Option<i64>,
    pub close_after_days: Option<i64>,
}

/// `[spam]`: when an upstream verdict counts as spam, and whether unknown
/// senders' marketing and phishing is kept out of tickets.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Spam {
    pub spamassassin_score: Option<f64>,
    pub rspamd_score: Option<f64>,
    pub rspamd_action: Option<String>,
    pub scl: Option<i64>,
    pub unsolicited: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Sla {
    pub warn_share: Option<f64>,
    pub max_escalation_level: Option<i64>,
    #[serde(default)]
    pub priorities: BTreeMap<String, SlaTarget>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SlaTarget {
    pub first_response_hours: Option<f64>,
    pub resolution_hours: Option<f64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Reports {
    pub send_at: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    pub listen: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Support {
    pub address: Option<String>,
    pub display_name: Option<String>,
    pub tag_prefix: Option<String>,
    pub language: Option<String>,
    pub reopen_days: Option<i64>,
    pub agent_name_in_from: Option<bool>,
    pub secret: Option<String>,
    pub secret_file: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Mailbox {
    pub kind: Option<String>,
    pub path: Option<String>,
    pub host: Option<String>,
    pub port: Option<i64>,
    pub security: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<String>,
    pub auth: Option<String>,
    pub token_file: Option<String>,
    pub token_command: Option<Vec<String>>,
    pub ca_file: Option<String>,
    pub folder: Option<String>,
    pub processed_folder: Option<String>,
    pub idle: Option<bool>,
    pub poll_interval_secs: Option<i64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Transport {
    pub kind: Option<String>,
    pub path: Option<String>,
    pub host: Option<String>,
    pub port: Option<i64>,
    pub security: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<String>,
    pub auth: Option<String>,
    pub token_file: Option<String>,
    pub token_command: Option<Vec<String>>,
    pub ca_file: Option<String>,
    pub max_per_minute: Option<i64>,
    pub max_concurrency: Option<i64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Store {
    pub path: Option<String>,
    pub dictionary_samples: Option<i64>,
    pub cache_mib: Option<i64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    pub timezone: Option<String>,
    pub weekdays: Option<Vec<String>>,
    pub open: Option<String>,
    pub close: Option<String>,
    pub holidays: Option<String>,
    pub extra_closed_days: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Agents {
    pub addresses: Option<Vec<String>>,
    pub domains: Option<Vec<String>>,
    pub require_authentication: Option<bool>,
    pub trusted_authserv_ids: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LevelTable {
    pub team: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CategoryTable {
    pub priority: Option<String>,
    pub level: Option<i64>,
    pub first_response_hours: Option<f64>,
    pub resolution_hours: Option<f64>,
    pub notify: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    pub name: Option<String>,
    pub domains: Option<Vec<String>>,
    pub language: Option<String>,
    pub consultant: Option<String>,
    pub contact_person: Option<String>,
    pub project_team: Option<Vec<String>>,
    pub report_cycle: Option<String>,
    pub report_to: Option<Vec<String>>,
    pub contacts: Option<Vec<String>>,
    pub specifics: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub max_mail_bytes: Option<i64>,
    pub max_mime_parts: Option<i64>,
    pub max_mime_depth: Option<i64>,
    pub auto_replies_per_hour: Option<i64>,
    pub auto_replies_per_day: Option<i64>,
    pub max_recipients: Option<i64>,
    pub max_forward_bytes: Option<i64>,
    /// Seconds; fractions allowed (an integer in TOML is taken too).
    pub max_processing_secs: Option<f64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Classifier {
    pub path: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    pub path: Option<String>,
}
