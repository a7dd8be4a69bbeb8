//! Ticket overview on request and periodic ticket reports (DESIGN §8).
//! Which tickets a sender may see, and the words that ask for an overview,
//! are pure functions here.

use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate, Weekday};
use regex::Regex;

use crate::commands::{Command, Parsed};

static OVERVIEW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(ticket[- ]?(ü|ue)bersicht|(ü|ue)bersicht (meiner|unserer|aller|der|über alle|ueber alle) (tickets|anfragen|supportanfragen)|status (aller|unserer|meiner) (anfragen|tickets)|ticket[- ]overview|overview of (my|our|all) tickets|list of (my|our) tickets|all (my|our) (open )?tickets)",
    )
    .expect("static regex")
});

/// Whether a customer's mail asks for the ticket overview (`#overview`, or the words in subject or text).
pub fn asks_for_overview(subject: &str, text: &str, parsed: &Parsed) -> bool {
    if parsed.commands.contains(&Command::Overview) {
        return true;
    }
    let head: String = text.chars().take(500).collect();
    OVERVIEW.is_match(subject) || OVERVIEW.is_match(&head)
}

/// Whether a mail asks about exactly one ticket (names one tag in its text): then it stays a follow-up.
pub fn asks_about_one_ticket(text: &str, prefix: &str) -> bool {
    let re = Regex::new(&format!(r"(?i)\b{}-\d{{6}}\b", regex::escape(prefix))).expect("escaped prefix");
    let mut tags: Vec<String> = re.find_iter(text).map(|m| m.as_str().to_ascii_uppercase()).collect();
    tags.sort();
    tags.dedup();
    tags.len() == 1
}

/// The weekday's name in German or English.
pub fn weekday_name(d: NaiveDate, lang: &str) -> &'static str {
    let i = d.weekday().num_days_from_monday() as usize;
    const DE: [&str; 7] = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"];
    const EN: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    if lang == "en" { EN[i] } else { DE[i] }
}

/// Weekday from its index, for callers that need the enum.
pub fn weekday(i: u32) -> Weekday {
    Weekday::try_from(i as u8).unwrap_or(Weekday::Mon)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overview_words_in_german_and_english() {
        let none = Parsed::default();
        for s in [
            "Ticketübersicht",
            "Bitte um Ticketuebersicht",
            "Übersicht meiner Tickets",
            "Status aller Anfragen",
            "ticket overview please",
            "list of my tickets",
        ] {
            assert!(asks_for_overview(s, "", &none), "{s}");
        }
        assert!(!asks_for_overview("Login geht nicht", "Der Status der Anfrage?", &none));
        let cmd = Parsed { commands: vec![Command::Overview], ..Default::default() };
        assert!(asks_for_overview("x", "", &cmd));
    }

    #[test]
    fn one_tag_in_the_text_means_one_ticket() {
        assert!(asks_about_one_ticket("What is the status of MT-000123?", "MT"));
        assert!(!asks_about_one_ticket("Ticketübersicht bitte", "MT"));
        assert!(!asks_about_one_ticket("MT-000001 und MT-000002", "MT"));
    }
}
