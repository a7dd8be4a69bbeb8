//! Placeholder keyword classifier; replaced by the data-driven engine of the
//! classifier branch.

use std::path::Path;

use crate::domain::Category;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Classification {
    pub category: Category,
    pub confidence: f64,
    pub reasons: Vec<String>,
    pub low_confidence: bool,
}

#[derive(Debug, Clone)]
pub struct Classifier;

impl Classifier {
    pub fn from_toml_str(_text: &str, _source: &str) -> Result<Classifier, String> {
        Ok(Classifier)
    }
    pub fn load(_path: &Path) -> Result<Classifier, String> {
        Ok(Classifier)
    }
    pub fn embedded() -> Classifier {
        Classifier
    }
    pub fn classify(&self, subject: &str, text: &str) -> Classification {
        let t = format!("{subject} {text}").to_lowercase();
        let rules: &[(Category, &[&str])] = &[
            (
                Category::SecurityError,
                &["sicherheit", "security", "xss", "injection", "passwort", "password", "phishing"],
            ),
            (Category::ChangeRequest, &["änderung", "erweiterung", "wunsch", "feature", "change request", "anpassung"]),
            (Category::UserManagement, &["benutzer", "berechtigung", "rolle", "user", "permission", "zugang"]),
            (Category::FunctionalError, &["fehler", "error", "funktioniert nicht", "geht nicht", "absturz", "bug"]),
        ];
        for (cat, words) in rules {
            if let Some(w) = words.iter().find(|w| t.contains(*w)) {
                return Classification {
                    category: *cat,
                    confidence: 0.6,
                    reasons: vec![format!("keyword {w:?}")],
                    low_confidence: false,
                };
            }
        }
        Classification {
            category: Category::UsageQuestion,
            confidence: 0.3,
            reasons: vec!["no keyword".into()],
            low_confidence: true,
        }
    }
}
