use super::*;

#[test]
fn embedded_default_is_valid_and_uses_maildir_and_file() {
    let c = Config::from_str(EMBEDDED_DEFAULT, "supportd.toml", Path::new("/etc/x")).unwrap();
    assert!(matches!(c.mailbox, MailboxConfig::Maildir { .. }));
    assert!(matches!(c.transport, TransportConfig::File { .. }));
    assert_eq!(c.store_path, Path::new("/etc/x/../var/supportd.sqlite3"));
    assert_eq!(c.category(Category::SecurityError).priority, Priority::Critical);
    assert_eq!(c.customer_for("kunde@Stadtwerke-Musterstadt.de").unwrap().name, "Stadtwerke Musterstadt");
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = r#"
[support]
address = "not-an-address"
tag_prefix = "mt"
[mailbox]
kind = "pop3"
[transport]
kind = "file"
path = "out"
[store]
path = "db"
[hours]
open = "18:00"
weekdays = ["mon", "funday"]
[categories.security_error]
priority = "low"
[categories.bogus]
level = 1
"#;
    let e = Config::from_str(text, "bad.toml", Path::new(".")).unwrap_err();
    let lines: Vec<String> = e.0.iter().map(|p| p.to_string()).collect();
    let joined = lines.join("\n");
    for needle in [
        "bad.toml: support.address: must be a mail address",
        "support.tag_prefix",
        "mailbox.kind: must be one of maildir, imap (got \"pop3\")",
        "hours.weekdays[1]",
        "hours.close: must be later",
        "categories.security_error.priority: security errors must be at least high",
        "categories.bogus",
        "agents.trusted_authserv_ids",
        "levels.1.team: must name at least one address",
        "levels.2.team",
        "levels.3.team",
    ] {
        assert!(joined.contains(needle), "missing {needle:?} in:\n{joined}");
    }
    assert_eq!(lines.len(), 11, "{joined}");
}

/// Proves: `limits.max_processing_secs` defaults to 60 s, takes an
/// integer or a fraction of a second, and refuses zero, negative, NaN
/// and over-a-day values with the key named.
#[test]
fn max_processing_secs_defaults_to_a_minute_takes_fractions_and_is_validated() {
    let with = |v: &str| {
        Config::from_str(
            &format!("{EMBEDDED_DEFAULT}\n[limits]\nmax_processing_secs = {v}\n"),
            "x.toml",
            Path::new("."),
        )
    };
    let c = Config::from_str(EMBEDDED_DEFAULT, "x.toml", Path::new(".")).unwrap();
    assert_eq!(c.limits.max_processing, std::time::Duration::from_secs(60));
    assert_eq!(with("5").unwrap().limits.max_processing, std::time::Duration::from_secs(5));
    assert_eq!(with("0.25").unwrap().limits.max_processing, std::time::Duration::from_millis(250));
    for bad in ["0", "-1", "0.001", "nan", "inf", "86401"] {
        let e = with(bad).unwrap_err().to_string();
        assert!(e.contains("limits.max_processing_secs"), "{bad}: {e}");
    }
}

#[test]
fn reports_send_at_defaults_to_eight_and_is_validated() {
    let c = Config::from_str(EMBEDDED_DEFAULT, "x.toml", Path::new(".")).unwrap();
    assert_eq!(c.report_send_at, NaiveTime::from_hms_opt(8, 0, 0).unwrap());
    let c =
        Config::from_str(&format!("{EMBEDDED_DEFAULT}\n[reports]\nsend_at = \"07:30\"\n"), "x.toml", Path::new("."))
            .unwrap();
    assert_eq!(c.report_send_at, NaiveTime::from_hms_opt(7, 30, 0).unwrap());
    let e =
        Config::from_str(&format!("{EMBEDDED_DEFAULT}\n[reports]\nsend_at = \"8 Uhr\"\n"), "x.toml", Path::new("."))
            .unwrap_err();
    assert_eq!(e.to_string(), "x.toml: reports.send_at: must be a time HH:MM (got \"8 Uhr\")");
    let e =
        Config::from_str(&format!("{EMBEDDED_DEFAULT}\n[reports]\nsend_time = \"08:00\"\n"), "x.toml", Path::new("."))
            .unwrap_err();
    assert!(e.to_string().contains("send_time"), "{e}");
}

/// The embedded default with `[mailbox]`/`[transport]` replaced.
fn with_endpoints(mailbox: &str, transport: &str) -> String {
    let mut out = String::new();
    let mut skip = false;
    for line in EMBEDDED_DEFAULT.lines() {
        if line.starts_with('[') {
            skip = line == "[mailbox]" || line == "[transport]";
        }
        if !skip {
            out.push_str(line);
            out.push('\n');
        }
    }
    format!("{out}\n[mailbox]\n{mailbox}\n[transport]\n{transport}\n")
}

#[test]
fn xoauth2_keys_build_token_sources() {
    use crate::oauth::TokenKind;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("imap-token"), "t\n").unwrap();
    let text = with_endpoints(
        "kind = \"imap\"\nhost = \"outlook.office365.com\"\nusername = \"support@example.org\"\n\
         auth = \"xoauth2\"\ntoken_file = \"imap-token\"",
        "kind = \"smtp\"\nhost = \"smtp.office365.com\"\nsecurity = \"starttls\"\n\
         username = \"support@example.org\"\nauth = \"xoauth2\"\ntoken_command = [\"oauth2ms\", \"--encode-xoauth2=no\"]",
    );
    let c = Config::from_str(&text, "x.toml", dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let MailboxConfig::Imap { endpoint, .. } = &c.mailbox else { panic!() };
    let t = endpoint.token.as_ref().unwrap();
    assert_eq!(t.key, "mailbox.token_file");
    assert_eq!(t.kind, TokenKind::File(dir.path().join("imap-token")));
    assert_eq!((endpoint.port, endpoint.password.as_deref()), (993, None));
    let TransportConfig::Smtp { endpoint } = &c.transport else { panic!() };
    let t = endpoint.token.as_ref().unwrap();
    assert_eq!(t.key, "transport.token_command");
    assert_eq!(t.kind, TokenKind::Command(vec!["oauth2ms".into(), "--encode-xoauth2=no".into()]));
    assert_eq!(endpoint.port, 587);

    // password auth (the default) has no token
    let text = with_endpoints(
        "kind = \"imap\"\nhost = \"h\"\nusername = \"u\"\npassword = \"p\"\nauth = \"password\"",
        "kind = \"file\"\npath = \"out\"",
    );
    let c = Config::from_str(&text, "x.toml", dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let MailboxConfig::Imap { endpoint, .. } = &c.mailbox else { panic!() };
    assert!(endpoint.token.is_none());
}

#[test]
fn xoauth2_problems_are_all_reported() {
    let text = with_endpoints(
        "kind = \"imap\"\nhost = \"h\"\nusername = \"u\"\nauth = \"xoauth2\"\npassword = \"p\"\n\
         token_file = \"/nonexistent/token\"\ntoken_command = [\"x\"]",
        "kind = \"smtp\"\nhost = \"h\"\nauth = \"xoauth2\"",
    );
    let e = Config::from_str(&text, "x.toml", Path::new(".")).unwrap_err();
    let joined = e.to_string();
    for needle in [
        "x.toml: mailbox.password: does not apply to auth = \"xoauth2\"",
        "x.toml: mailbox.token_command: give either token_file or token_command, not both",
        "x.toml: transport.username: is required for auth = \"xoauth2\"",
        "x.toml: transport.token_file: auth = \"xoauth2\" needs token_file or token_command",
    ] {
        assert!(joined.contains(needle), "missing {needle:?} in:\n{joined}");
    }
    assert_eq!(e.0.len(), 4, "{joined}");

    let text = with_endpoints(
        "kind = \"imap\"\nhost = \"h\"\nusername = \"u\"\nauth = \"oauth\"",
        "kind = \"smtp\"\nhost = \"h\"\nusername = \"u\"\npassword = \"p\"\ntoken_file = \"t\"",
    );
    let e = Config::from_str(&text, "x.toml", Path::new(".")).unwrap_err();
    let joined = e.to_string();
    for needle in [
        "mailbox.auth: must be one of password, xoauth2 (got \"oauth\")",
        "transport.token_file: only applies to auth = \"xoauth2\"",
    ] {
        assert!(joined.contains(needle), "missing {needle:?} in:\n{joined}");
    }

    let text = with_endpoints(
        "kind = \"imap\"\nhost = \"h\"\nusername = \"u\"\nauth = \"xoauth2\"\ntoken_file = \"/nonexistent/token\"",
        "kind = \"smtp\"\nhost = \"h\"\nusername = \"u\"\nauth = \"xoauth2\"\ntoken_command = []",
    );
    let e = Config::from_str(&text, "x.toml", Path::new(".")).unwrap_err();
    let joined = e.to_string();
    assert!(joined.contains("mailbox.token_file: cannot be read"), "{joined}");
    assert!(joined.contains("transport.token_command: must name a program"), "{joined}");

    // token keys on a maildir mailbox
    let e = Config::from_str(
        &with_endpoints("kind = \"maildir\"\npath = \"m\"\nauth = \"xoauth2\"", "kind = \"file\"\npath = \"o\""),
        "x.toml",
        Path::new("."),
    )
    .unwrap_err();
    assert!(e.to_string().contains("mailbox.auth: only applies to kind = \"imap\""), "{e}");
}

/// Proves: an unknown key is named with its section and its line.
#[test]
fn unknown_keys_are_rejected_with_the_key_and_the_line() {
    let e = Config::from_str(
        &format!("{EMBEDDED_DEFAULT}\n[reports]\nsend_at = \"08:00\"\nadress = 1\n"),
        "x.toml",
        Path::new("."),
    )
    .unwrap_err();
    let s = e.to_string();
    let n = EMBEDDED_DEFAULT.lines().count() + 4;
    assert!(s.starts_with("x.toml: reports.adress: unknown field `adress`"), "{s}");
    assert!(s.contains(&format!("(line {n})")), "{s}");
    assert_eq!(e.0.len(), 1, "{s}");
}

/// Proves: structural problems (unknown keys and sections, values of the
/// wrong type in any table, a table that is a value) are all reported at
/// once, each naming its key, together with the semantic problems of
/// the keys that did parse; a file that is not TOML at all is one problem
/// with its line.
#[test]
fn structural_problems_are_all_reported_with_their_keys() {
    let text = EMBEDDED_DEFAULT
        .replace("reopen_days = 14", "reopen_days = \"vierzehn\"")
        .replace("first_response_hours = 4", "first_response_hours = \"vier\"")
        .replace("report_cycle = \"quarterly\"", "report_cycle = 4")
        .replace("open = \"08:00\"", "open = \"8 Uhr\"")
        .replace("timezone = \"Europe/Berlin\"", "timezone = \"Europe/Berlin\"\nzone = 1")
        + "\n[metrics]\nlisten = 9187\n[sla]\nwarn_share = \"viel\"\n[sla.priorities.high]\nfirst_response_hours = true\n[bogus]\nx = 1\n";
    let e = Config::from_str(&text, "x.toml", Path::new(".")).unwrap_err();
    let joined = e.to_string();
    for needle in [
        "x.toml: support.reopen_days: invalid type: string \"vierzehn\", expected i64 (line 13)",
        "x.toml: categories.functional_error.first_response_hours: invalid type",
        "x.toml: customers[1].report_cycle: invalid type",
        "x.toml: hours.zone: unknown field `zone`",
        "x.toml: metrics.listen: invalid type",
        "x.toml: sla.warn_share: invalid type",
        "x.toml: sla.priorities.high.first_response_hours: invalid type",
        "x.toml: bogus: unknown section",
        // the semantic check of the rest goes on
        "x.toml: hours.open: must be a time HH:MM (got \"8 Uhr\")",
    ] {
        assert!(joined.contains(needle), "missing {needle:?} in:\n{joined}");
    }
    assert_eq!(e.0.len(), 9, "{joined}");

    let e = Config::from_str("[support\naddress = 1\n", "x.toml", Path::new(".")).unwrap_err();
    assert_eq!(e.0.len(), 1, "{e}");
    assert!(e.to_string().starts_with("x.toml: line 1:"), "{e}");
}

#[test]
fn first_level_keys_have_defaults_and_bad_values_are_named() {
    let c = Config::from_str(EMBEDDED_DEFAULT, "x.toml", Path::new("/nonexistent")).unwrap();
    assert_eq!(c.followup.digest_at, NaiveTime::from_hms_opt(8, 0, 0).unwrap());
    assert_eq!((c.followup.reminder_after_days, c.followup.close_after_days), (5, 5));
    assert_eq!(c.kb_path, None, "no kb/ beside the config: no knowledge base");
    assert_eq!(c.kb_min_score, crate::config::KB_DEFAULT_MIN_SCORE);
    assert!(c.customers.iter().all(|cu| cu.contacts.is_empty() && cu.specifics.is_empty()));
    let text = format!(
        "{}\n[kb]\nmin_score = 0\npath = \"nowhere\"\n[followup]\ndigest_at = \"8 Uhr\"\nreminder_after_days = -1\nclose_after_days = 400\n",
        EMBEDDED_DEFAULT.replace(
            "report_to = [\"it@stadtwerke-musterstadt.de\"]",
            "report_to = [\"it@stadtwerke-musterstadt.de\"]\ncontacts = [\"kein-mail\"]\nspecifics = [\"\"]"
        )
    );
    let err = Config::from_str(&text, "x.toml", Path::new("/nonexistent")).unwrap_err().to_string();
    for key in [
        "kb.min_score",
        "kb.path",
        "followup.digest_at",
        "followup.reminder_after_days",
        "followup.close_after_days",
        "customers[0].contacts[0]",
        "customers[0].specifics[0]",
    ] {
        assert!(err.contains(key), "{key} not named in {err}");
    }
    let ok = format!(
        "{}\n[followup]\ndigest_at = \"07:30\"\nreminder_after_days = 0\n",
        EMBEDDED_DEFAULT.replace(
            "report_cycle = \"quarterly\"",
            "report_cycle = \"quarterly\"\ncontacts = [\"jane@harbour-analytics.co.uk\"]"
        )
    );
    let c = Config::from_str(&ok, "x.toml", Path::new("/nonexistent")).unwrap();
    assert_eq!(c.followup.reminder_after_days, 0);
    assert_eq!(c.customer_by_name("Harbour Analytics Ltd").unwrap().contacts, ["jane@harbour-analytics.co.uk"]);
}
