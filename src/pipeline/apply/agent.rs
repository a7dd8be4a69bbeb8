//! An agent's mail on a ticket, applied: the effects of its commands, the
//! mails decided for it (its text relayed or kept as a note, status and
//! change mails, the handover to a new level's team, the notice to the
//! agent), a merge.

use anyhow::{Context, Result};
use serde_json::json;

use std::collections::HashSet;

use super::{Apply, Decided};
use crate::commands;
use crate::domain::{Disposition, Status};
use crate::pipeline::decide::{AgentMails, AgentPlan, ChangeRef, Effect};
use crate::pipeline::{decide, snapshot};
use crate::store::{self, Ticket};

impl<'a> Apply<'a> {
    /// An agent's mail on a ticket: what the store knows is read
    /// ([`snapshot::read_agent`]), the commands are checked, decided
    /// ([`decide::agent_commands`]) and their effects applied, then the
    /// mails decided by [`decide::agent_mails`] (relay or status mail,
    /// change mails, note, handover, notice) are queued. A malformed command
    /// executes nothing.
    pub(super) fn agent_mail(&mut self, ticket: Ticket, parsed: commands::Parsed) -> Result<Decided> {
        let p = self.p;
        let from = self.mail.from_addr().to_string();
        let id = ticket.id;
        let mut parsed = parsed;
        let snap = snapshot::read_agent(self.conn, &ticket, &parsed.commands)?;
        let side: HashSet<String> = {
            let (to, left_out) = decide::customer_recipients(&p.cfg, &ticket.requester, &snap.participants);
            to.iter().chain(left_out.iter()).map(|a| a.to_ascii_lowercase()).collect()
        };
        let problems = decide::check_commands(&p.cfg, &p.calendar, &ticket, &side, &parsed.commands, &snap.survivors);
        parsed.errors.extend(problems);
        if !parsed.errors.is_empty() {
            let mail = decide::command_error_mail(&p.cfg, &from, &parsed.errors);
            let detail =
                parsed.errors.iter().map(|e| format!("{:?}: {}", e.line, e.message)).collect::<Vec<_>>().join("; ");
            store::insert_event(self.conn, Some(id), Some(self.row), self.now, &from, "command_error", &detail)?;
            self.queue_planned(mail, &ticket, None, &[], &[])?;
            return Ok((Disposition::AgentCommand, Some(id), Some(format!("commands not executed: {detail}"))));
        }
        // What the commands do and what is sent to whom is decided first
        // (pure), then applied.
        let plan = decide::agent_commands(&p.cfg, &p.calendar, &ticket, &parsed.commands, &side, &snap.announced);
        let AgentMails { steps, notice } = decide::agent_mails(
            &p.cfg,
            &p.calendar,
            self.mail,
            self.row,
            &ticket,
            &plan,
            &parsed.text,
            &snap,
            self.now,
        );
        let AgentPlan { effects, internal, merge_into, .. } = plan;
        let mut change_mails: Vec<(store::Change, &'static str)> = Vec::new();
        let mut announced_now: Vec<i64> = Vec::new();
        for effect in effects {
            let event = |kind: &str, detail: &str| {
                store::insert_event(self.conn, Some(id), Some(self.row), self.now, &from, kind, detail)
            };
            match effect {
                Effect::Status(st) => {
                    store::set_status(self.conn, id, st, self.now, &from, Some(self.row))?;
                }
                Effect::Level { from: old, to } => {
                    store::set_ticket_field(self.conn, id, "level", &(to.get() as i64), self.now)?;
                    event("level", &format!("{old} -> {to}"))?;
                }
                Effect::Category { from: old, to: cat, consultant } => {
                    store::set_ticket_field(self.conn, id, "category", &cat.as_str(), self.now)?;
                    store::set_ticket_field(
                        self.conn,
                        id,
                        "billable",
                        &(!cat.covered_by_maintenance() as i64),
                        self.now,
                    )?;
                    store::set_ticket_field(self.conn, id, "low_confidence", &0i64, self.now)?;
                    self.refresh_due_times(id)?;
                    event("category", &format!("{old} -> {cat}"))?;
                    if let Some(consultant) = consultant {
                        let t = store::get_ticket(self.conn, id)?.context("ticket")?;
                        let ctx = self.context(&t, None, &p.cfg.language, json!({}));
                        self.queue_internal("forward_consultant", &t, vec![consultant], &ctx)?;
                    }
                }
                Effect::SecurityFlag { on, detail } => {
                    store::set_ticket_field(self.conn, id, "security_flag", &(on as i64), self.now)?;
                    event("security_flag", detail)?;
                }
                Effect::Priority(pr) => {
                    store::set_ticket_field(self.conn, id, "priority", &pr.as_str(), self.now)?;
                    event("priority", pr.as_str())?;
                    self.refresh_due_times(id)?;
                }
                Effect::Assign(a) => {
                    store::set_ticket_field(self.conn, id, "assignee", &a, self.now)?;
                    event("assign", &a)?;
                }
                Effect::Participant(a) => {
                    store::add_participant(self.conn, id, &a, "cc")?;
                    event("participant", &a)?;
                }
                Effect::AnnounceChange { starts, ends, description, line } => {
                    let cid = store::insert_change(self.conn, id, starts, ends, &description, &from, self.now)?;
                    event("change", &line)?;
                    let ch = store::changes(self.conn, id)?.into_iter().find(|c| c.id == cid).context("change")?;
                    change_mails.push((ch, "announced"));
                    announced_now.push(cid);
                }
                Effect::FinishChange { change, state } => {
                    let cid = match change {
                        ChangeRef::Stored(a) => a.id,
                        ChangeRef::ThisMail(n) => *announced_now.get(n).context("a change of this mail")?,
                    };
                    let ch = store::changes(self.conn, id)?.into_iter().find(|c| c.id == cid).context("change")?;
                    store::set_change_state(self.conn, ch.id, state, self.now)?;
                    event("change", &format!("{state}: {}", ch.description))?;
                    change_mails.push((ch, state));
                }
                Effect::NoChangeToFinish => event("change", "no announced change to finish")?,
                Effect::KbDraft(title) => {
                    crate::kb::save_draft(self.conn, &ticket, &title, &parsed.text, &from, self.row, self.now)?;
                }
            }
        }
        // The mails are rendered with the ticket as the commands left it.
        let ticket = store::get_ticket(self.conn, id)?.context("ticket")?;
        let customer = ticket.customer.as_deref().and_then(|n| p.cfg.customer_by_name(n));
        let stored = snap.handover.as_ref().map(|h| h.files.as_slice()).unwrap_or_default();
        self.apply_steps(steps, &ticket, customer, stored, &change_mails)?;
        if let Some(target) = merge_into {
            self.merge(id, target, &from)?;
        }
        if let Some(m) = notice {
            let ticket = store::get_ticket(self.conn, id)?.context("ticket")?;
            self.queue_planned(m, &ticket, None, &[], &[])?;
        }
        let relayed = !internal && !parsed.text.trim().is_empty();
        let disposition = if relayed { Disposition::AgentReply } else { Disposition::AgentCommand };
        // After a merge the mail belongs with the others on the target.
        let ticket = match merge_into {
            Some(_) => store::get_ticket(self.conn, id)?.and_then(|x| x.merged_into).unwrap_or(id),
            _ => id,
        };
        Ok((disposition, Some(ticket), None))
    }

    /// Move a ticket's mails into `target` (or the ticket that survives it)
    /// and close it with a pointer. [`Apply::check_commands`] made sure
    /// the target exists, is not this ticket and is the same customer's.
    fn merge(&mut self, source: i64, target: i64, by: &str) -> Result<()> {
        let Some(target_ticket) = snapshot::surviving(self.conn, target)?.filter(|t| t.id != source) else {
            return Ok(());
        };
        let target = target_ticket.id;
        self.conn
            .execute("UPDATE messages SET ticket_id = ?1 WHERE ticket_id = ?2", rusqlite::params![target, source])?;
        // The source's customer side joins the target, by the same rule and cap as CCs.
        let source_ticket = store::get_ticket(self.conn, source)?.context("ticket")?;
        let mut people = vec![source_ticket.requester.clone()];
        people.extend(store::participants(self.conn, source)?.into_iter().filter(|(_, r)| r == "cc").map(|(a, _)| a));
        self.add_cc_participants(target, target_ticket.customer.as_deref(), &target_ticket.requester, &people)?;
        store::set_ticket_field(self.conn, source, "merged_into", &target, self.now)?;
        store::set_status(self.conn, source, Status::Closed, self.now, by, Some(self.row))?;
        store::insert_event(
            self.conn,
            Some(source),
            Some(self.row),
            self.now,
            by,
            "merge",
            &format!("merged into {}", self.p.tag(target)),
        )?;
        store::insert_event(
            self.conn,
            Some(target),
            Some(self.row),
            self.now,
            by,
            "merge",
            &format!("{} merged into this ticket", self.p.tag(source)),
        )?;
        Ok(())
    }
}
