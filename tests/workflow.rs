//! The support workflow by mail (the [workflow] issue): a whole
//! conversation, every command and alias, authorisation, change requests,
//! security errors, project teams, change announcements.

mod common;

use common::{Env, mail};

const KUNDE: &str = "Max Keller <m.keller@stadtwerke-musterstadt.de>";
const ANNA: &str = "Anna Berg <anna@roewaplan.de>";

fn reply_to(id: &str) -> String {
    format!("In-Reply-To: <{id}>\nReferences: <{id}>")
}

fn kinds_for(env: &Env, row: i64) -> Vec<String> {
    env.outbox_for_row(row).into_iter().map(|(k, _)| k).collect()
}

fn to_of(env: &Env, row: i64, kind: &str) -> Vec<String> {
    env.outbox_for_row(row).into_iter().filter(|(k, _)| k == kind).flat_map(|(_, to)| to).collect()
}

#[test]
fn a_whole_conversation_by_mail() {
    let mut env = Env::new();
    // 1. The customer writes: ack to them, notification to the 1st level.
    let o = env.ingest(&mail(
        KUNDE,
        "Dienstplan lässt sich nicht speichern",
        "c1@sw",
        "",
        "Beim Speichern kommt Fehler 500.",
    ));
    assert_eq!(o.disposition.as_str(), "new_ticket");
    assert_eq!(kinds_for(&env, o.row), vec!["ack", "notify_agents"]);
    assert_eq!(to_of(&env, o.row, "notify_agents"), vec!["support-1st@roewaplan.de"]);
    let notify = env.last_id("notify_agents");

    // 2. An agent answers with #status waiting: ONE mail to the customer, the
    //    relayed answer, whose footer carries the new status (no second status mail).
    let o = env.ingest(&mail(
        ANNA,
        "Re: [MT-000001] Neues Ticket",
        "a1@rp",
        &reply_to(&notify),
        "#status waiting\n\nWelchen Browser nutzen Sie?\n\nAm 24.11.2026 schrieb MEIN TEAM Support:\n> alt",
    ));
    assert_eq!(o.disposition.as_str(), "agent_reply");
    assert_eq!(kinds_for(&env, o.row), vec!["agent_reply"]);
    assert_eq!(env.ticket(1).status, "waiting");
    assert!(env.ticket(1).first_response_at.is_none(), "not yet: the answer has not reached the customer");
    env.deliver_at(common::tuesday_morning());
    assert!(env.ticket(1).first_response_at.is_some(), "the relayed answer, once sent, is the first response");
    let relay = env.sent("agent_reply").pop().unwrap();
    assert_eq!(relay.recipients, vec!["m.keller@stadtwerke-musterstadt.de"]);
    assert_eq!(relay.in_reply_to.as_deref(), Some("c1@sw"), "threaded to the customer's mail");
    let body = env.outbox_raw(relay.id);
    assert!(body.contains("Welchen Browser"), "{body}");
    assert!(!body.contains("#status"), "command lines are not relayed: {body}");
    assert!(!body.contains("> alt"), "quoted history is not relayed");
    assert!(body.contains("\n-- \n"), "the footer is a signature ('-- '): {body}");
    assert!(
        body.contains("Wir benötigen Ihre Rückmeldung.") && body.contains("Status: wartet auf Ihre Rückmeldung"),
        "{body}"
    );
    assert!(body.contains("From: \"MEIN TEAM Support\" <mein-team-support@roewaplan.de>"));

    // 3. The customer answers: the ticket is open again and the team hears of it.
    let o =
        env.ingest(&mail(KUNDE, "AW: [MT-000001] Dienstplan", "c2@sw", &reply_to(&relay.message_id), "Firefox 132."));
    assert_eq!((o.disposition.as_str(), o.ticket), ("follow_up", Some(1)));
    assert_eq!(env.ticket(1).status, "open");
    assert_eq!(kinds_for(&env, o.row), vec!["notify_agents"]);

    // 4. #level 2: the 2nd level team and the customer's project team get the
    //    handover (the current problem first), the customer gets a status mail.
    let o = env.ingest(&mail(ANNA, "Re: [MT-000001]", "a2@rp", &reply_to(&env.last_id("notify_agents")), "#stufe 2"));
    assert_eq!(o.disposition.as_str(), "agent_command");
    assert_eq!(env.ticket(1).level, 2);
    let handover = env.outbox_raw(env.sent("handover").pop().unwrap().id);
    let (current, first) = (handover.find("Firefox 132.").unwrap(), handover.find("Fehler 500.").unwrap());
    assert!(current < first, "the current problem comes before the first request: {handover}");
    let mut team = to_of(&env, o.row, "handover");
    team.sort();
    assert_eq!(team, vec!["p.schmidt@roewaplan.de", "support-2nd@roewaplan.de"]);
    let status = env.sent("status").pop().unwrap();
    assert!(env.outbox_raw(status.id).contains("2nd Level Support"));

    // 5. #internal: a note for the team, nothing to the customer.
    let before = env.outbox().iter().filter(|o| o.recipients.iter().any(|r| r.contains("stadtwerke"))).count();
    let o =
        env.ingest(&mail(ANNA, "Re: [MT-000001]", "a3@rp", "", "#intern\nLog zeigt NullPointer in DienstplanService."));
    assert_eq!(o.disposition.as_str(), "agent_command");
    assert_eq!(kinds_for(&env, o.row), vec!["note"]);
    let after = env.outbox().iter().filter(|o| o.recipients.iter().any(|r| r.contains("stadtwerke"))).count();
    assert_eq!(before, after, "an internal note never reaches the customer");

    // 6. #close: the customer gets the closed mail.
    let o = env.ingest(&mail(ANNA, "Re: [MT-000001]", "a4@rp", "", "#close"));
    assert_eq!(kinds_for(&env, o.row), vec!["status"]);
    assert_eq!(env.ticket(1).status, "closed");
    let closed = env.sent("status").pop().unwrap();
    assert!(env.outbox_raw(closed.id).contains("geschlossen"));
    // Every executed command is an event.
    for kind in ["status", "level", "note"] {
        assert!(
            env.count(&format!("SELECT count(*) FROM events WHERE ticket_id = 1 AND kind = '{kind}'")) >= 1,
            "{kind}"
        );
    }
}

#[test]
fn every_command_works_on_a_ticket() {
    let mut env = Env::new();
    env.ingest(&mail(KUNDE, "Frage zum Export", "c1@sw", "", "Wie exportiere ich?"));
    env.ingest(&mail(KUNDE, "Zweite Frage", "c2@sw", "", "Wie drucke ich?"));
    let cmds = [
        ("#priority high #assign anna@roewaplan.de", "priority", "high"),
        ("#kategorie change_request", "category", "change_request"),
        ("#status in_progress", "status", "in_progress"),
        ("#status resolved", "status", "resolved"),
        ("#reopen", "status", "open"),
        ("#schließen", "status", "closed"),
        ("#wiedereroeffnen", "status", "open"),
    ];
    for (i, (line, field, want)) in cmds.iter().enumerate() {
        let o = env.ingest(&mail(ANNA, "Re: [MT-000001]", &format!("x{i}@rp"), "", line));
        assert!(matches!(o.disposition.as_str(), "agent_command" | "agent_reply"), "{line}: {:?}", o.reason);
        let t = env.ticket(1);
        let got = match *field {
            "priority" => t.priority,
            "category" => t.category,
            _ => t.status,
        };
        assert_eq!(&got, want, "{line}");
    }
    let t = env.ticket(1);
    assert_eq!(t.assignee.as_deref(), Some("anna@roewaplan.de"));
    assert!(t.billable, "a change request is billable");
    assert!(env.sent("forward_consultant").iter().any(|o| o.recipients == vec!["berater@roewaplan.de"]));
    // #merge moves the mails and closes the source with a pointer.
    env.ingest(&mail(ANNA, "Re: [MT-000002]", "m1@rp", "", "#merge MT-000001"));
    let src = env.ticket(2);
    assert_eq!((src.status.as_str(), src.merged_into), ("closed", Some(1)));
    assert_eq!(env.count("SELECT count(*) FROM messages WHERE ticket_id = 2"), 0);
    // A customer reply on the merged ticket lands on the target.
    let o = env.ingest(&mail(KUNDE, "AW: [MT-000002] Zweite Frage", "c3@sw", "", "Noch offen?"));
    assert_eq!(o.ticket, Some(1));
}

#[test]
fn a_misspelled_command_executes_nothing_and_the_agent_gets_an_error_mail() {
    let mut env = Env::new();
    env.ingest(&mail(KUNDE, "Frage", "c1@sw", "", "Wie exportiere ich?"));
    let before = env.outbox().len();
    let o = env.ingest(&mail(ANNA, "Re: [MT-000001]", "a1@rp", "", "#staus waiting #level 2\nBitte Browser nennen."));
    assert_eq!(o.disposition.as_str(), "agent_command");
    assert_eq!(kinds_for(&env, o.row), vec!["command_error"]);
    assert_eq!(to_of(&env, o.row, "command_error"), vec!["anna@roewaplan.de"]);
    let err = env.sent("command_error").pop().unwrap();
    let body = env.outbox_raw(err.id);
    assert!(body.contains("#staus waiting"), "names the line: {body}");
    assert!(body.contains("#status open|in_progress|waiting"), "names the valid forms");
    let t = env.ticket(1);
    assert_eq!((t.status.as_str(), t.level), ("new", 1), "nothing executed, not even the valid #level 2");
    assert_eq!(env.outbox().len(), before + 1, "nothing relayed");
}

#[test]
fn commands_in_an_html_only_mail() {
    let mut env = Env::new();
    env.ingest(&mail(KUNDE, "Frage", "c1@sw", "", "Wie exportiere ich?"));
    let raw = "From: anna@roewaplan.de\r\nTo: mein-team-support@roewaplan.de\r\nSubject: Re: [MT-000001] Frage\r\nMessage-ID: <h1@rp>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>#status waiting #priority high</p><p>K&ouml;nnen Sie einen Screenshot schicken?</p></body></html>\r\n";
    let o = env.ingest(raw.as_bytes());
    assert_eq!(o.disposition.as_str(), "agent_reply");
    let t = env.ticket(1);
    assert_eq!((t.status.as_str(), t.priority.as_str()), ("waiting", "high"));
    assert!(env.outbox_raw(env.sent("agent_reply")[0].id).contains("Screenshot"));
}

#[test]
fn commands_from_a_customer_are_rejected_and_the_mail_is_an_ordinary_message() {
    let mut env = Env::new();
    env.ingest(&mail(KUNDE, "Frage", "c1@sw", "", "Wie exportiere ich?"));
    let o = env.ingest(&mail(KUNDE, "AW: [MT-000001] Frage", "c2@sw", "", "#status closed #level 3\nBitte schnell!"));
    assert_eq!((o.disposition.as_str(), o.ticket), ("rejected_command", Some(1)));
    let t = env.ticket(1);
    assert_eq!((t.status.as_str(), t.level), ("new", 1));
    assert_eq!(kinds_for(&env, o.row), vec!["notify_agents"], "handled like a follow-up, nothing relayed");
    assert_eq!(env.count("SELECT count(*) FROM events WHERE kind = 'security'"), 1);
}

#[test]
fn with_require_authentication_an_agent_needs_a_trusted_pass() {
    let mut env = Env::with_replaced("require_authentication = false", "require_authentication = true");
    env.ingest(&mail(KUNDE, "Frage", "c1@sw", "", "Wie exportiere ich?"));
    // Spoofed: no Authentication-Results, or one from an untrusted server.
    for (i, ar) in ["", "Authentication-Results: evil.example; dkim=pass header.d=roewaplan.de"].iter().enumerate() {
        let o = env.ingest(&mail(ANNA, "Re: [MT-000001]", &format!("s{i}@rp"), ar, "#status closed\nErledigt."));
        assert_eq!(o.disposition.as_str(), "rejected_command", "{ar:?}");
        assert_eq!(env.ticket(1).status, "new");
        assert!(env.sent("agent_reply").is_empty(), "never relayed as if from support");
    }
    let o = env.ingest(&mail(
        ANNA,
        "Re: [MT-000001]",
        "ok@rp",
        "Authentication-Results: mx.roewaplan.de; dkim=pass header.d=roewaplan.de header.s=k1",
        "#status closed\nErledigt.",
    ));
    assert_eq!(o.disposition.as_str(), "agent_reply");
    assert_eq!(env.ticket(1).status, "closed");
}

#[test]
fn a_change_request_goes_to_the_consultant_and_is_billable() {
    let mut env = Env::new();
    let o = env.ingest(&mail(
        KUNDE,
        "Änderungswunsch: neues Feld im Antragsformular",
        "cr@sw",
        "",
        "Wir möchten bitte eine Erweiterung: ein zusätzliches Feld Aktenzeichen im Formular. Bitte um ein Angebot.",
    ));
    let t = env.ticket(o.ticket.unwrap());
    assert_eq!(t.category, "change_request");
    assert!(t.billable);
    assert_eq!(t.status, "forwarded");
    assert_eq!(to_of(&env, o.row, "forward_consultant"), vec!["berater@roewaplan.de"]);
    let ack = env.sent("ack").pop().unwrap();
    assert!(
        env.outbox_raw(ack.id).contains("nicht enthalten"),
        "the ack says it is not covered by the maintenance fee"
    );
}

#[test]
fn a_security_error_is_level_2_critical_and_its_notify_list_is_told() {
    let mut env = Env::new();
    let o = env.ingest(&mail(
        KUNDE,
        "Sicherheitslücke: fremde Daten sichtbar",
        "sec@sw",
        "",
        "Nach dem Login sehe ich die Dienstpläne eines anderen Mandanten. Das ist ein Datenschutzvorfall.",
    ));
    let t = env.ticket(o.ticket.unwrap());
    assert_eq!((t.category.as_str(), t.level, t.priority.as_str()), ("security_error", 2, "critical"));
    let mut team = to_of(&env, o.row, "notify_agents");
    team.sort();
    assert_eq!(
        team,
        vec!["p.schmidt@roewaplan.de", "security@roewaplan.de", "support-2nd@roewaplan.de"],
        "level 2 + project team + notify list"
    );
}

#[test]
fn a_change_announcement_reminder_and_confirmation() {
    let mut env = Env::new();
    env.ingest(&mail(KUNDE, "Update-Termin", "c1@sw", "", "Wann kommt Version 4.2?"));
    let o = env.ingest(&mail(
        ANNA,
        "Re: [MT-000001]",
        "ch1@rp",
        "",
        "#change 2026-12-03 18:00-20:00 Update auf Version 4.2, Neustart der Anwendung",
    ));
    assert_eq!(kinds_for(&env, o.row), vec!["change"]);
    let ann = env.sent("change").pop().unwrap();
    let body = env.outbox_raw(ann.id);
    assert!(body.contains("03.12.2026") && body.contains("18:00") && body.contains("Version 4.2"), "{body}");
    assert_eq!(ann.recipients, vec!["m.keller@stadtwerke-musterstadt.de"]);
    let changes = supportd::store::changes(env.store.conn(), 1).unwrap();
    assert_eq!((changes.len(), changes[0].state.as_str()), (1, "announced"));

    // The reminder: on the working day before (Wed 02.12.2026) from opening time, exactly once.
    use chrono::TimeZone;
    let berlin = |d: u32, h: u32, m: u32| chrono::Utc.with_ymd_and_hms(2026, 12, d, h - 1, m, 0).unwrap();
    let tick = |env: &mut Env, at| supportd::schedule::tick_store(&env.p, &mut env.store, at).unwrap();
    assert!(tick(&mut env, berlin(1, 16, 0)).reminded.is_empty(), "not two working days before");
    assert!(tick(&mut env, berlin(2, 7, 59)).reminded.is_empty(), "not before opening time");
    assert_eq!(tick(&mut env, berlin(2, 8, 0)).reminded, vec![changes[0].id]);
    assert!(tick(&mut env, berlin(2, 9, 0)).reminded.is_empty(), "a second tick sends no second reminder");
    let reminders = env.sent("change");
    assert_eq!(reminders.len(), 2, "announcement + one reminder");
    let rem = env.outbox_raw(reminders[1].id);
    assert!(rem.contains("03.12.2026") && rem.contains("18:00") && rem.contains("erinnern"), "{rem}");
    assert_eq!(reminders[1].recipients, vec!["m.keller@stadtwerke-musterstadt.de"]);

    let o = env.ingest(&mail(ANNA, "Re: [MT-000001]", "ch2@rp", "", "#change done\nDas Update ist eingespielt."));
    assert_eq!(kinds_for(&env, o.row), vec!["agent_reply", "change"]);
    assert_eq!(supportd::store::changes(env.store.conn(), 1).unwrap()[0].state, "done");
    let done = env.sent("change").pop().unwrap();
    assert!(env.outbox_raw(done.id).contains("abgeschlossen"));
}

#[test]
fn a_change_announced_with_the_german_alias_and_cancelled_gets_no_reminder() {
    let mut env = Env::new();
    env.ingest(&mail(KUNDE, "Wartungsfenster", "c1@sw", "", "Wann ist die Wartung?"));
    let o =
        env.ingest(&mail(ANNA, "Re: [MT-000001]", "ch1@rp", "", "#änderung 2026-12-03 18:00-20:00 Datenbankwartung"));
    assert_eq!(kinds_for(&env, o.row), vec!["change"]);
    let o = env.ingest(&mail(ANNA, "Re: [MT-000001]", "ch2@rp", "", "#änderung abgesagt\nDie Wartung entfällt."));
    assert!(kinds_for(&env, o.row).contains(&"change".to_string()), "{:?}", kinds_for(&env, o.row));
    let ch = supportd::store::changes(env.store.conn(), 1).unwrap();
    assert_eq!(ch[0].state, "cancelled");
    let cancelled = env.sent("change").pop().unwrap();
    assert!(env.outbox_raw(cancelled.id).contains("NICHT statt"), "{}", env.outbox_raw(cancelled.id));
    use chrono::TimeZone;
    let wed = chrono::Utc.with_ymd_and_hms(2026, 12, 2, 8, 0, 0).unwrap();
    assert!(supportd::schedule::tick_store(&env.p, &mut env.store, wed).unwrap().reminded.is_empty());
}

#[test]
fn zusammenfuehren_is_merge() {
    let mut env = Env::new();
    env.ingest(&mail(KUNDE, "Export bricht ab", "c1@sw", "", "Der Export bricht ab."));
    env.ingest(&mail(KUNDE, "Nochmal: Export", "c2@sw", "", "Der Export bricht immer noch ab."));
    env.ingest(&mail(ANNA, "Re: [MT-000002]", "m1@rp", "", "#zusammenführen MT-000001"));
    let src = env.ticket(2);
    assert_eq!((src.status.as_str(), src.merged_into), ("closed", Some(1)));
    assert_eq!(
        env.count("SELECT COUNT(*) FROM messages WHERE ticket_id = 1 AND disposition IN ('new_ticket', 'follow_up')"),
        2
    );
}

/// The team's notification is in the support's language (German) also for
/// an English-speaking customer: category and priority titles included.
#[test]
fn the_team_is_notified_in_german_for_an_english_customer() {
    let mut env = Env::new();
    let o = env.ingest(&mail(
        "Jane Doe <jane@harbour-analytics.co.uk>",
        "Security issue: session remains valid after logout",
        "en1@h",
        "",
        "After logging out, the old session cookie still gives access. This is a security problem.",
    ));
    let ack = env.sent("ack").pop().unwrap();
    assert!(env.outbox_raw(ack.id).contains("We have received"), "the customer gets English");
    let n = env.sent("notify_agents").pop().unwrap();
    let raw = env.outbox_raw(n.id);
    assert!(raw.contains("Sicherheitsrelevanter Fehler") && !raw.contains("Security-relevant error"), "{raw}");
    assert_eq!(o.disposition.as_str(), "new_ticket");
}

/// Proves: with `support.agent_name_in_from = true` a relayed answer shows
/// the agent's first name beside the support's name, from the support's
/// address; without it (the default) the support answers as one.
#[test]
fn the_agent_first_name_in_from_only_when_configured() {
    for (on, want) in [(false, "MEIN TEAM Support"), (true, "Anna (MEIN TEAM Support)")] {
        let mut env = Env::with_replaced("reopen_days = 14", &format!("reopen_days = 14\nagent_name_in_from = {on}"));
        env.ingest(&mail(KUNDE, "Frage", "n1@sw", "", "Wie exportiere ich?"));
        let ack = env.last_id("ack");
        env.ingest(&mail(ANNA, "Re: [MT-000001] Frage", "n2@rp", &reply_to(&ack), "Über Menü Export."));
        let id = env.sent("agent_reply").pop().unwrap().id;
        let raw: Vec<u8> = supportd::store::outbox_raw(env.store.conn(), id).unwrap().unwrap();
        let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let from = msg.from().and_then(|a| a.first()).unwrap();
        assert_eq!(from.name(), Some(want), "{on}");
        assert_eq!(from.address(), Some("mein-team-support@roewaplan.de"), "{on}");
    }
}
