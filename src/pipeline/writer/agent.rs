//! An agent's mail on a ticket: its commands checked and executed, its
//! text relayed (or kept as a note), the handover to a new level's team,
//! a merge.

use anyhow::{Context, Result};
use serde_json::json;

use std::collections::{HashMap, HashSet};

use super::{Decided, FileInfo, Writer, pass_on};
use crate::commands::{self, Command};
use crate::config::Customer;
use crate::domain::{Disposition, Level, Status};
use crate::engine::change_context;
use crate::pipeline::decide::{AgentPlan, ChangeRef, Effect};
use crate::pipeline::{decide, snapshot};
use crate::store::{self, Ticket};
use crate::words::{cut_chars, human_size, some_of, status_headline, status_title};

impl<'a> Writer<'a> {
    /// An agent's mail on a ticket: commands executed (each an event), the
    /// text relayed to the customer unless `#internal`, status mails for what
    /// the customer should know. A malformed command executes nothing.
    pub(super) fn agent_mail(&mut self, ticket: Ticket, parsed: commands::Parsed) -> Result<Decided> {
        let p = self.p;
        let from = self.mail.from_addr().to_string();
        let id = ticket.id;
        let mut parsed = parsed;
        let problems = self.check_commands(&ticket, &parsed.commands)?;
        parsed.errors.extend(problems);
        if !parsed.errors.is_empty() {
            let ctx = self.context(
                &ticket,
                None,
                &p.cfg.language,
                json!({"errors": parsed.errors.iter().map(|e| json!({"line": e.line, "message": e.message_in(&p.cfg.language)})).collect::<Vec<_>>(),
                       "usage": commands::USAGE}),
            );
            let detail =
                parsed.errors.iter().map(|e| format!("{:?}: {}", e.line, e.message)).collect::<Vec<_>>().join("; ");
            store::insert_event(self.conn, Some(id), Some(self.row), self.now, &from, "command_error", &detail)?;
            self.queue_internal("command_error", &ticket, vec![from.clone()], &ctx)?;
            return Ok((Disposition::AgentCommand, Some(id), Some(format!("commands not executed: {detail}"))));
        }
        let lang = ticket.language.clone();
        let en = lang == "en";
        // What the commands do is decided first (decide::agent_commands, pure)
        // from the customer side and the announced changes, then applied.
        let side: HashSet<String> = {
            let (to, left_out) = self.customer_recipients(&ticket)?;
            to.iter().chain(left_out.iter()).map(|a| a.to_ascii_lowercase()).collect()
        };
        let announced: Vec<decide::Announced> = store::changes(self.conn, id)?
            .into_iter()
            .filter(|c| c.state == "announced")
            .map(|c| decide::Announced { id: c.id, description: c.description })
            .collect();
        let AgentPlan { effects, news: customer_news, executed, internal, level_raised_to, merge_into } =
            decide::agent_commands(&p.cfg, &p.calendar, &ticket, &parsed.commands, &side, &announced);
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
        let ticket = store::get_ticket(self.conn, id)?.context("ticket")?;
        let customer = ticket.customer.as_deref().and_then(|n| p.cfg.customer_by_name(n));
        let text = parsed.text.clone();
        let relayed = !internal && !text.trim().is_empty();
        if internal {
            let agent = self.mail.from.as_ref().and_then(|m| m.name.clone()).filter(|n| !n.trim().is_empty());
            let agent = agent.unwrap_or_else(|| from.clone());
            let mut ctx =
                self.context(&ticket, customer, &p.cfg.language, json!({"agent": agent, "changes": executed}));
            ctx["text"] = json!(text);
            store::insert_event(self.conn, Some(id), Some(self.row), self.now, &from, "note", &text)?;
            let team: Vec<String> =
                self.team_of(&ticket).into_iter().filter(|a| !a.eq_ignore_ascii_case(&from)).collect();
            let (files, listed, _) = self.pass_on()?;
            ctx["attachments"] = json!(listed);
            self.queue_internal_with("note", &ticket, team, &ctx, files)?;
        } else {
            let (to, left_out) = self.customer_recipients(&ticket)?;
            if !left_out.is_empty() {
                let max = p.cfg.limits.max_recipients;
                let detail = format!(
                    "{} participants not mailed (at most {max} recipients per mail): {}",
                    left_out.len(),
                    some_of(&left_out, false)
                );
                store::insert_event(
                    self.conn,
                    Some(id),
                    Some(self.row),
                    self.now,
                    "supportd",
                    "recipients_capped",
                    &detail,
                )?;
                self.notices.push(self.team_words(
                    &format!(
                        "Ihre Antwort ging an höchstens {max} Empfänger; {} Beteiligte haben sie NICHT erhalten: {}",
                        left_out.len(),
                        some_of(&left_out, true)
                    ),
                    &detail,
                ));
            }
            let in_reply_to = store::last_message_from(self.conn, id, &ticket.requester)?;
            // One mail per agent action: a relayed answer carries the status
            // change in its footer; a status mail goes out only without text.
            if relayed {
                let mut ctx = self.context(&ticket, customer, &lang, json!({"changes": customer_news}));
                ctx["text"] = json!(text);
                let (subject, body) =
                    p.templates.render("agent_reply", &lang, &ctx).map_err(|e| anyhow::anyhow!("{e:#}"))?;
                // The agent's files go along; what is too large stays in the
                // store and the agent is told.
                let (files, _, kept) = self.pass_on()?;
                if !kept.is_empty() {
                    let max = human_size(p.cfg.limits.max_forward_bytes);
                    self.notices.push(self.team_words(
                        &format!(
                            "Diese Anhänge gingen NICHT an den Kunden (zusammen über {max}): {}. Bitte auf anderem Weg bereitstellen.",
                            kept.join(", ")
                        ),
                        &format!(
                            "These attachments did NOT reach the customer (over {max} together): {}. Please provide them another way.",
                            kept.join(", ")
                        ),
                    ));
                    store::insert_event(
                        self.conn,
                        Some(id),
                        Some(self.row),
                        self.now,
                        "supportd",
                        "attachments_kept",
                        &format!("not passed on to the customer (over {max}): {}", kept.join(", ")),
                    )?;
                }
                // A person's answer: no RFC 3834 auto-submitted or bulk marks.
                let seed_ticket = Some(ticket.id);
                self.queue_plain(
                    "agent_reply",
                    seed_ticket,
                    to.clone(),
                    subject,
                    body,
                    "no",
                    in_reply_to.clone(),
                    files,
                )?;
                store::insert_event(
                    self.conn,
                    Some(id),
                    Some(self.row),
                    self.now,
                    &from,
                    "agent_reply",
                    "relayed to the customer",
                )?;
            }
            if !relayed && !customer_news.is_empty() {
                let ctx = self.context(
                    &ticket,
                    customer,
                    &lang,
                    json!({
                        "changes": customer_news,
                        "status_headline": status_headline(&ticket.status, level_raised_to, en),
                        "status_title": status_title(&ticket.status, en),
                    }),
                );
                let (subject, body) =
                    p.templates.render("status", &lang, &ctx).map_err(|e| anyhow::anyhow!("{e:#}"))?;
                self.queue_raw("status", &ticket, to.clone(), subject, body, "auto-generated", in_reply_to.clone())?;
            }
            for (ch, state) in change_mails {
                let ctx = self.change_context(&ticket, customer, &lang, &ch, state);
                let (subject, body) =
                    p.templates.render("change", &lang, &ctx).map_err(|e| anyhow::anyhow!("{e:#}"))?;
                self.queue_raw("change", &ticket, to.clone(), subject, body, "auto-generated", in_reply_to.clone())?;
            }
        }
        if let Some(l) = level_raised_to {
            self.handover(&ticket, customer, l)?;
        }
        if let Some(target) = merge_into {
            self.merge(id, target, &from)?;
        }
        if !self.notices.is_empty() {
            let ticket = store::get_ticket(self.conn, id)?.context("ticket")?;
            let mut ctx = self.context(&ticket, None, &p.cfg.language, json!({}));
            ctx["notices"] = json!(self.notices);
            self.queue_internal("agent_notice", &ticket, vec![from.clone()], &ctx)?;
        }
        let disposition = if relayed { Disposition::AgentReply } else { Disposition::AgentCommand };
        // After a merge the mail belongs with the others on the target.
        let ticket = match merge_into {
            Some(_) => store::get_ticket(self.conn, id)?.and_then(|x| x.merged_into).unwrap_or(id),
            _ => id,
        };
        Ok((disposition, Some(ticket), None))
    }

    /// Commands that parse but cannot be executed on this ticket
    /// ([`decide::check_commands`]), with the customer side and the merge
    /// targets read from the store.
    fn check_commands(&self, ticket: &Ticket, commands: &[Command]) -> Result<Vec<commands::CommandError>> {
        let (to, left_out) = self.customer_recipients(ticket)?;
        let side: HashSet<String> = to.iter().chain(left_out.iter()).map(|a| a.to_ascii_lowercase()).collect();
        let mut survivors = HashMap::new();
        for c in commands {
            if let Command::Merge(target) = c {
                survivors.insert(*target, snapshot::surviving(self.conn, *target)?);
            }
        }
        Ok(decide::check_commands(&self.p.cfg, &self.p.calendar, ticket, &side, commands, &survivors))
    }

    /// The handover to a new level's team: the current problem (the customer
    /// side's latest text), the first request if it differs, the internal
    /// notes, the mails so far and the ticket's attachments (passed on
    /// within `limits.max_forward_bytes`, the rest listed).
    fn handover(&mut self, ticket: &Ticket, customer: Option<&Customer>, l: Level) -> Result<()> {
        let p = self.p;
        let id = ticket.id;
        let tz = p.calendar.timezone();
        let local = |s: &str| {
            store::parse_ts(s).map(|d| d.with_timezone(&tz).format("%d.%m.%Y %H:%M").to_string()).unwrap_or_default()
        };
        let history: Vec<serde_json::Value> = store::list_messages(self.conn, Some(id), None)?
            .iter()
            .rev()
            .take(50)
            .rev()
            .map(|m| {
                json!({
                    "at": local(m.arrived_at.as_deref().unwrap_or(&m.received_at)),
                    "from": m.from_addr.as_deref().unwrap_or("-"),
                    "subject": m.subject.as_deref().unwrap_or(""),
                    "disposition": m.disposition,
                })
            })
            .collect();
        let first_text: String = self
            .conn
            .query_row(
                "SELECT coalesce(new_text, '') FROM messages WHERE ticket_id = ?1 ORDER BY id LIMIT 1",
                [id],
                |r| r.get(0),
            )
            .unwrap_or_default();
        let current = store::latest_customer_text(self.conn, id)?.unwrap_or_else(|| first_text.clone());
        let notes: Vec<serde_json::Value> = store::ticket_notes(self.conn, id)?
            .into_iter()
            .map(|(at, who, text)| json!({"at": local(&at), "who": who, "text": cut_chars(&text, 4000)}))
            .collect();
        let stored = store::ticket_attachments(self.conn, id, 100)?;
        let infos: Vec<FileInfo> = stored
            .iter()
            .map(|a| FileInfo { name: &a.filename, content_type: &a.content_type, size: a.size, row: a.message_row })
            .collect();
        let conn = self.conn;
        let (files, listed, _) = pass_on(&p.cfg, &infos, |i| {
            store::blob(conn, &stored[i].sha256)?.context("an attachment's bytes are missing from the store")
        })?;
        let mut ctx = self.context(
            ticket,
            customer,
            &p.cfg.language,
            json!({
                "level_new": l.get(),
                "first_text": if first_text.trim() == current.trim() { String::new() } else { cut_chars(&first_text, 8000) },
                "notes": notes,
                "history": history,
                "attachments": listed,
            }),
        );
        ctx["text"] = json!(current);
        let mut team = p.cfg.level_team(l).to_vec();
        if l.get() == 2
            && let Some(c) = customer
        {
            team.extend(c.project_team.iter().cloned());
        }
        self.queue_internal_with("handover", ticket, team, &ctx, files)
    }

    /// Move a ticket's mails into `target` (or the ticket that survives it)
    /// and close it with a pointer. [`Writer::check_commands`] made sure
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

    fn change_context(
        &self,
        t: &Ticket,
        customer: Option<&Customer>,
        lang: &str,
        ch: &store::Change,
        state: &str,
    ) -> serde_json::Value {
        change_context(self.p, t, customer, lang, ch, state, self.context(t, customer, lang, json!({})))
    }
}
