//! Threading scenarios (fixtures/threading/NN-name/): each folder is a short
//! mail exchange ingested in order into its own fresh store with a known
//! Message-ID secret, so fixtures can carry valid (and forged) references to
//! our acks. For every mail: disposition, ticket, link, status, answered.

mod common;

use chrono::{DateTime, Utc};
use common::Env;
use serde::Deserialize;

const SECRET_FROM: &str = "reopen_days = 14";
const SECRET_TO: &str = "reopen_days = 14\nsecret = \"fixture-secret\"";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    description: String,
    mail: Vec<MailCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MailCase {
    file: String,
    at: String,
    disposition: String,
    /// The ticket the mail ends on; omitted: none.
    ticket: Option<String>,
    /// For a new ticket: the ticket it must be linked to; omitted: no link.
    linked_to: Option<String>,
    status_after: Option<String>,
    /// Whether any mail to the sender was queued because of this mail.
    answered: Option<bool>,
}

/// The sender address of a raw mail, as supportd's parser sees it.
fn sender(raw: &[u8]) -> String {
    let msg = mail_parser::MessageParser::default().parse(raw).expect("fixture parses");
    msg.from().and_then(|f| f.first()).and_then(|a| a.address()).map(|a| a.to_ascii_lowercase()).unwrap_or_default()
}

fn tag(n: Option<i64>) -> String {
    n.map(|n| format!("MT-{n:06}")).unwrap_or_else(|| "none".into())
}

#[test]
fn threading_scenarios_end_on_the_expected_tickets() {
    let root = common::repo().join("fixtures/threading");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("scenario.toml").is_file())
        .collect();
    dirs.sort();

    let mut failures = Vec::new();
    let mut mails = 0;
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(dir.join("scenario.toml")).unwrap();
        let sc: Scenario = toml::from_str(&text).unwrap_or_else(|e| panic!("{name}/scenario.toml: {e}"));
        assert!(!sc.mail.is_empty() && !sc.description.is_empty(), "{name}: empty scenario");
        let mut env = Env::with_replaced(SECRET_FROM, SECRET_TO);
        for m in &sc.mail {
            mails += 1;
            let raw = std::fs::read(dir.join(&m.file)).unwrap_or_else(|e| panic!("{name}/{}: {e}", m.file));
            let now: DateTime<Utc> = DateTime::parse_from_rfc3339(&m.at)
                .unwrap_or_else(|e| panic!("{name}/{}: at {:?}: {e}", m.file, m.at))
                .with_timezone(&Utc);
            let o = env.ingest_at(&raw, now);
            let mut bad = Vec::new();
            if o.disposition.as_str() != m.disposition {
                bad.push(format!("disposition {} ({:?}), want {}", o.disposition.as_str(), o.reason, m.disposition));
            }
            let want_ticket = m.ticket.clone().unwrap_or_else(|| "none".into());
            if tag(o.ticket) != want_ticket {
                bad.push(format!("ticket {}, want {want_ticket}", tag(o.ticket)));
            }
            if let Some(t) = o.ticket.filter(|_| o.disposition.as_str() == "new_ticket") {
                let got = tag(env.ticket(t).linked_to);
                let want = m.linked_to.clone().unwrap_or_else(|| "none".into());
                if got != want {
                    bad.push(format!("linked_to {got}, want {want}"));
                }
            } else if let Some(want) = &m.linked_to {
                bad.push(format!("linked_to {want} expected, but no new ticket was created"));
            }
            if let Some(want) = &m.status_after {
                match o.ticket {
                    Some(t) => {
                        let got = env.ticket(t).status;
                        if &got != want {
                            bad.push(format!("status after {got}, want {want}"));
                        }
                    }
                    None => bad.push(format!("status_after {want} expected, but the mail is on no ticket")),
                }
            }
            if let Some(want) = m.answered {
                let from = sender(&raw);
                let out = env.outbox_for_row(o.row);
                let got = out.iter().any(|(_, rcpt)| rcpt.iter().any(|r| r.eq_ignore_ascii_case(&from)));
                if got != want {
                    let kinds: Vec<String> = out.iter().map(|(k, r)| format!("{k}->{}", r.join(","))).collect();
                    bad.push(format!("answered {got}, want {want} (queued: {kinds:?})"));
                }
            }
            if !bad.is_empty() {
                failures.push(format!("{name}/{}: {}", m.file, bad.join("; ")));
            }
        }
    }
    assert!(dirs.len() >= 16, "only {} scenarios in {}", dirs.len(), root.display());
    assert!(mails >= 60, "only {mails} mails checked");
    assert!(
        failures.is_empty(),
        "{} mismatches in {} scenarios / {mails} mails:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}
