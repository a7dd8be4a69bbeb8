//! The shipped production example (config/production.example.toml) and the
//! systemd unit stay usable.

use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_supportd");

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/production.example.toml")
}

/// Proves: `check-config` accepts the production example (IMAP + SMTP, every
/// key of `docs/contracts.md`) when its password files exist in
/// `$CREDENTIALS_DIRECTORY` (what systemd's LoadCredential= provides), and
/// without them fails with exit status 2 naming both keys.
#[test]
fn production_example_passes_check_config_with_credentials() {
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(creds.path().join("imap-password"), "imap-secret\n").unwrap();
    std::fs::write(creds.path().join("smtp-password"), "smtp-secret\n").unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(example())
        .arg("check-config")
        .env("CREDENTIALS_DIRECTORY", creds.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).trim_end().ends_with(": ok"));

    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(example())
        .arg("check-config")
        .env("CREDENTIALS_DIRECTORY", empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("mailbox.password_file") && stderr.contains("transport.password_file"), "{stderr}");
}

/// Proves: the commented Microsoft 365 XOAUTH2 lines of the production
/// example work when uncommented (password_file dropped, the refresher's
/// directory moved to a temp dir): check-config accepts them with the token
/// files present, and without them names both `token_file` keys.
#[test]
fn production_example_xoauth2_variant_passes_check_config() {
    let text = std::fs::read_to_string(example()).unwrap();
    let mut out = String::new();
    let mut section = String::new();
    for line in text.lines() {
        if line.starts_with('[') {
            section = line.to_string();
        }
        let endpoint = section == "[mailbox]" || section == "[transport]";
        if endpoint && line.starts_with("password_file") {
            continue;
        }
        let line = match line.strip_prefix("# ") {
            Some(l) if endpoint && (l.starts_with("auth = ") || l.starts_with("token_file = ")) => l,
            _ => line,
        };
        out.push_str(line);
        out.push('\n');
    }
    assert_eq!(out.matches("\nauth = \"xoauth2\"").count(), 2, "{out}");
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("oauth");
    let out = out.replace("/var/lib/supportd-oauth", &tokens.display().to_string());
    let cfg = dir.path().join("supportd.toml");
    std::fs::write(&cfg, out).unwrap();
    let run = || Command::new(BIN).arg("--config").arg(&cfg).arg("check-config").output().unwrap();
    let o = run();
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("mailbox.token_file: cannot be read"), "{stderr}");
    assert!(stderr.contains("transport.token_file: cannot be read"), "{stderr}");
    std::fs::create_dir(&tokens).unwrap();
    std::fs::write(tokens.join("imap-token"), "token\n").unwrap();
    std::fs::write(tokens.join("smtp-token"), "token\n").unwrap();
    let ok = run();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
}

/// Proves: the unit file keeps the contract of docs/service.md (notify +
/// watchdog, check-config before start, credentials, sandbox).
#[test]
fn systemd_unit_has_the_promised_settings() {
    let unit =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("systemd/supportd.service")).unwrap();
    for line in [
        "Type=notify",
        "ExecStartPre=/usr/bin/supportd --config /etc/supportd/supportd.toml check-config",
        "ExecStart=/usr/bin/supportd --config /etc/supportd/supportd.toml run",
        "Restart=on-failure",
        "DynamicUser=yes",
        "StateDirectory=supportd",
        "WatchdogSec=60",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "SystemCallFilter=@system-service",
        "CapabilityBoundingSet=",
        "LoadCredential=imap-password:",
        "LoadCredential=smtp-password:",
    ] {
        assert!(unit.lines().any(|l| l.starts_with(line)), "missing {line:?}");
    }
    // the config's password files point where LoadCredential puts them
    let cfg = std::fs::read_to_string(example()).unwrap();
    assert!(cfg.contains("password_file = \"${CREDENTIALS_DIRECTORY}/imap-password\""));
    assert!(cfg.contains("password_file = \"${CREDENTIALS_DIRECTORY}/smtp-password\""));
}
