//! Threading helpers: our own signed Message-IDs and ticket tags in
//! subjects. Pure; the lookups against stored Message-IDs live in the
//! pipeline.
//!
//! Our Message-IDs look like `mt.MT-000123.ack.5f1c0a9e3b2d.8c1e44a0b7f2@roewaplan.de`:
//! the ticket tag, the mail kind, a unique part and a keyed hash (HMAC-SHA256,
//! truncated) over the rest. A reply that references one is recognised
//! without a lookup, and a forged one (wrong hash) is not.

use hmac::{Hmac, Mac};
use regex::Regex;
use sha2::Sha256;

use crate::domain::TicketTag;

type HmacSha256 = Hmac<Sha256>;

/// Makes and checks our Message-IDs.
#[derive(Clone)]
pub struct IdSigner {
    secret: Vec<u8>,
    domain: String,
    prefix: String,
    tag_re: Regex,
}

/// What a Message-ID tells about its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnId {
    /// Ours, for this ticket number (or `None` for mails without a ticket).
    Ours(Option<i64>),
    /// Shaped like ours, but the hash does not match: ignore it, log it.
    Forged,
    /// Someone else's id.
    Foreign,
}

impl IdSigner {
    pub fn new(secret: &[u8], domain: &str, prefix: &str) -> IdSigner {
        let tag_re =
            Regex::new(&format!(r"(?i)(?:^|[^A-Za-z0-9]){}[-_ ]?(\d{{6}})(?:[^0-9]|$)", regex::escape(prefix)))
                .expect("escaped prefix");
        IdSigner { secret: secret.to_vec(), domain: domain.to_ascii_lowercase(), prefix: prefix.to_string(), tag_re }
    }

    fn mac(&self, body: &str) -> String {
        let mut m = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key length");
        m.update(body.as_bytes());
        let out = m.finalize().into_bytes();
        out[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A new Message-ID (without `<>`) for a mail of `kind` on `ticket`;
    /// `unique` must differ between mails (the caller derives it from the cause).
    pub fn make(&self, ticket: Option<i64>, kind: &str, unique: &str) -> String {
        let t = match ticket {
            Some(n) => TicketTag::new(&self.prefix, n).to_string(),
            None => "none".to_string(),
        };
        let kind: String = kind.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        let body = format!("mt.{t}.{kind}.{unique}");
        format!("{body}.{}@{}", self.mac(&body), self.domain)
    }

    /// Classify a Message-ID (without `<>`).
    pub fn check(&self, id: &str) -> OwnId {
        let Some((local, domain)) = id.rsplit_once('@') else { return OwnId::Foreign };
        if !local.starts_with("mt.") {
            return OwnId::Foreign;
        }
        if !domain.eq_ignore_ascii_case(&self.domain) {
            return OwnId::Foreign;
        }
        let Some((body, mac)) = local.rsplit_once('.') else { return OwnId::Forged };
        // Constant-time comparison through the HMAC crate.
        let mut m = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key length");
        m.update(body.as_bytes());
        let Some(mac_bytes) = hex8(mac) else { return OwnId::Forged };
        if m.verify_truncated_left(&mac_bytes).is_err() {
            return OwnId::Forged;
        }
        let tag = body.split('.').nth(1).unwrap_or("");
        OwnId::Ours(TicketTag::parse(&self.prefix, tag).map(|t| t.number))
    }

    /// The ticket number of a tag in a subject (`[MT-000123]`, `MT-000123`,
    /// behind any `Re:`/`AW:`/`WG:` chain), if any. The first tag wins.
    pub fn subject_tag(&self, subject: &str) -> Option<i64> {
        self.tag_re.captures(subject).and_then(|c| c[1].parse().ok())
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

fn hex8(s: &str) -> Option<Vec<u8>> {
    if s.len() != 16 {
        return None;
    }
    (0..8).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s() -> IdSigner {
        IdSigner::new(b"test-secret", "roewaplan.de", "MT")
    }

    #[test]
    fn own_ids_verify_and_carry_the_ticket() {
        let id = s().make(Some(123), "ack", "abc");
        assert!(id.starts_with("mt.MT-000123.ack.abc."), "{id}");
        assert_eq!(s().check(&id), OwnId::Ours(Some(123)));
    }

    #[test]
    fn a_forged_id_with_a_wrong_hash_is_not_ours() {
        let id = s().make(Some(123), "ack", "abc");
        let forged = id.replace("MT-000123", "MT-000124");
        assert_eq!(s().check(&forged), OwnId::Forged);
        assert_eq!(s().check("mt.MT-000001.ack.x.0000000000000000@roewaplan.de"), OwnId::Forged);
        let other = IdSigner::new(b"other-secret", "roewaplan.de", "MT").make(Some(1), "ack", "x");
        assert_eq!(s().check(&other), OwnId::Forged);
        assert_eq!(s().check("CAF=xyz@mail.gmail.com"), OwnId::Foreign);
    }

    #[test]
    fn subject_tags_behind_reply_prefixes() {
        let cases = [
            ("[MT-000123] Login", Some(123)),
            ("AW: [MT-000123] Login", Some(123)),
            ("RE[2]: WG: Antw: [MT-000007] x", Some(7)),
            ("Re: MT-000042 Frage", Some(42)),
            ("VS: SV: Fwd: FW: Aw: (mt-000042)", Some(42)),
            ("Rechnung MT-0001234567", None),
            ("XMT-000123", None),
            ("Keine Nummer", None),
        ];
        for (subj, want) in cases {
            assert_eq!(s().subject_tag(subj), want, "{subj}");
        }
    }
}
