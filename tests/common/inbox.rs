//! What a person's mailbox holds, read from the Maildir files on disk with
//! mail-parser (nothing is moved or flagged): sender, subject, ids, thread
//! headers, decoded body, attachments with their SHA-256.
#![allow(dead_code)]

use mail_parser::{MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

use super::mailservers::MailServers;

#[derive(Clone, Debug)]
pub struct Mail {
    /// `new/…` or `cur/…` in the user's folder.
    pub file: String,
    /// The From address, lower case.
    pub from: String,
    /// The From header as written.
    pub from_header: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub message_id: String,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// The decoded first text part (HTML as text if there is none).
    pub body: String,
    /// (file name, SHA-256 hex of the decoded content)
    pub attachments: Vec<(String, String)>,
    /// The header block as received (unfolded lines not needed: `header`).
    pub head: String,
}

impl Mail {
    /// One header (first occurrence, unfolded, trimmed), case-insensitive.
    pub fn header(&self, name: &str) -> Option<String> {
        super::daemon::header_of(&self.head, name)
    }

    /// A one-line description for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "[{} | From: {} | Subject: {} | Message-ID: {}]",
            self.file, self.from_header, self.subject, self.message_id
        )
    }

    pub fn has_attachment(&self, sha: &str) -> bool {
        self.attachments.iter().any(|(_, h)| h == sha)
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// `<a> <b>` -> [a, b].
pub fn ids(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find('<') {
        let Some(len) = rest[start..].find('>') else { break };
        out.push(rest[start + 1..start + len].trim().to_string());
        rest = &rest[start + len + 1..];
    }
    out
}

fn addresses(a: Option<&mail_parser::Address>) -> Vec<String> {
    a.map(|a| a.iter().filter_map(|x| x.address()).map(|s| s.to_lowercase()).collect()).unwrap_or_default()
}

/// Arrival order of a Maildir file name `<secs>.M<usecs>P<pid>...`.
fn arrival(file: &str) -> (u64, u64, String) {
    let name = file.rsplit('/').next().unwrap_or(file);
    let mut parts = name.split('.');
    let secs = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let usecs = parts
        .next()
        .and_then(|s| s.strip_prefix('M'))
        .and_then(|s| s.split('P').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (secs, usecs, name.to_string())
}

/// Every mail of `user`'s folder ("" = INBOX), in arrival order.
pub fn read(ms: &MailServers, user: &str, folder: &str) -> Vec<Mail> {
    let base = if folder.is_empty() { ms.maildir(user) } else { ms.maildir(user).join(format!(".{folder}")) };
    let mut files = ms.maildir_files(user, folder);
    files.sort_by_key(|f| arrival(f));
    files
        .into_iter()
        .filter_map(|f| {
            let raw = std::fs::read(base.join(&f)).ok()?;
            Some(parse(&f, &raw))
        })
        .collect()
}

pub fn parse(file: &str, raw: &[u8]) -> Mail {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let head = text.split("\n\n").next().unwrap_or("").to_string();
    let m = MessageParser::default().parse(raw).unwrap_or_else(|| panic!("{file}: does not parse"));
    let from = addresses(m.from()).into_iter().next().unwrap_or_default();
    let attachments =
        m.attachments().map(|a| (a.attachment_name().unwrap_or("").to_string(), sha256_hex(a.contents()))).collect();
    let h = |name: &str| super::daemon::header_of(&head, name).unwrap_or_default();
    Mail {
        file: file.to_string(),
        from,
        from_header: h("From"),
        to: addresses(m.to()),
        cc: addresses(m.cc()),
        subject: m.subject().unwrap_or_default().to_string(),
        message_id: m.message_id().unwrap_or_default().to_string(),
        in_reply_to: ids(&h("In-Reply-To")),
        references: ids(&h("References")),
        body: m.body_text(0).unwrap_or_default().replace("\r\n", "\n"),
        attachments,
        head,
    }
}
