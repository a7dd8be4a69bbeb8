use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

use super::raw;

/// The table without the bad keys, and (key, rule) per bad key.
pub fn check(mut table: toml::Table, text: &str) -> (toml::Table, Vec<(String, String)>) {
    let lines = key_lines(text);
    let mut out = Vec::new();
    let keys: Vec<String> = table.keys().cloned().collect();
    for k in keys {
        let Some(v) = table.get_mut(&k) else { continue };
        let ok = match k.as_str() {
            "support" => section::<raw::Support>(&k, v, &lines, &mut out),
            "mailbox" => section::<raw::Mailbox>(&k, v, &lines, &mut out),
            "transport" => section::<raw::Transport>(&k, v, &lines, &mut out),
            "store" => section::<raw::Store>(&k, v, &lines, &mut out),
            "hours" => section::<raw::Hours>(&k, v, &lines, &mut out),
            "agents" => section::<raw::Agents>(&k, v, &lines, &mut out),
            "limits" => section::<raw::Limits>(&k, v, &lines, &mut out),
            "classifier" => section::<raw::Classifier>(&k, v, &lines, &mut out),
            "templates" => section::<raw::Templates>(&k, v, &lines, &mut out),
            "metrics" => section::<raw::Metrics>(&k, v, &lines, &mut out),
            "reports" => section::<raw::Reports>(&k, v, &lines, &mut out),
            "retention" => section::<raw::Retention>(&k, v, &lines, &mut out),
            "spam" => section::<raw::Spam>(&k, v, &lines, &mut out),
            "levels" => map::<raw::LevelTable>(&k, v, &lines, &mut out),
            "categories" => map::<raw::CategoryTable>(&k, v, &lines, &mut out),
            "sla" => match v.as_table_mut() {
                Some(t) => {
                    if let Some(p) = t.get_mut("priorities")
                        && !map::<raw::SlaTarget>("sla.priorities", p, &lines, &mut out)
                    {
                        t.remove("priorities");
                    }
                    section::<raw::Sla>(&k, v, &lines, &mut out)
                }
                None => section::<raw::Sla>(&k, v, &lines, &mut out),
            },
            "customers" => match v.as_array_mut() {
                Some(list) => {
                    for (i, c) in list.iter_mut().enumerate() {
                        if !section::<raw::Customer>(&format!("customers[{i}]"), c, &lines, &mut out) {
                            *c = toml::Value::Table(toml::Table::new());
                        }
                    }
                    true
                }
                None => {
                    push(&mut out, &lines, &k, "must be a list of [[customers]] tables".into());
                    false
                }
            },
            _ => {
                push(&mut out, &lines, &k, "unknown section".into());
                false
            }
        };
        if !ok {
            table.remove(&k);
        }
    }
    (table, out)
}

/// A table of struct `T`: each key on its own; bad keys removed.
/// False: not a table at all (the caller drops it).
fn section<T: DeserializeOwned>(
    prefix: &str,
    v: &mut toml::Value,
    lines: &BTreeMap<String, usize>,
    out: &mut Vec<(String, String)>,
) -> bool {
    let Some(t) = v.as_table_mut() else {
        push(out, lines, prefix, format!("must be a table, not a {}", v.type_str()));
        return false;
    };
    let keys: Vec<String> = t.keys().cloned().collect();
    for k in keys {
        let mut one = toml::Table::new();
        one.insert(k.clone(), t[&k].clone());
        if let Err(e) = toml::Value::Table(one).try_into::<T>() {
            push(out, lines, &format!("{prefix}.{k}"), e.message().replace('\n', " "));
            t.remove(&k);
        }
    }
    true
}

/// A table of tables of struct `T` (`[levels.1]`, `[categories.x]`).
fn map<T: DeserializeOwned>(
    prefix: &str,
    v: &mut toml::Value,
    lines: &BTreeMap<String, usize>,
    out: &mut Vec<(String, String)>,
) -> bool {
    let Some(t) = v.as_table_mut() else {
        push(out, lines, prefix, format!("must be a table, not a {}", v.type_str()));
        return false;
    };
    let keys: Vec<String> = t.keys().cloned().collect();
    for k in keys {
        if let Some(inner) = t.get_mut(&k)
            && !section::<T>(&format!("{prefix}.{k}"), inner, lines, out)
        {
            t.remove(&k);
        }
    }
    true
}

fn push(out: &mut Vec<(String, String)>, lines: &BTreeMap<String, usize>, key: &str, rule: String) {
    match lines.get(key) {
        Some(n) => out.push((key.to_string(), format!("{rule} (line {n})"))),
        None => out.push((key.to_string(), rule)),
    }
}

/// The line of each `key = ` and `[table]` of the text, by key path
/// (`support.reopen_days`, `customers[1].name`): best effort, for the
/// messages only.
fn key_lines(text: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let mut path = String::new();
    let mut arrays: BTreeMap<String, usize> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if let Some(name) = l.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let name = name.trim().to_string();
            let n = arrays.entry(name.clone()).and_modify(|n| *n += 1).or_insert(0);
            path = format!("{name}[{n}]");
            out.entry(path.clone()).or_insert(i + 1);
        } else if let Some(name) = l.strip_prefix('[').and_then(|r| r.split(']').next()) {
            path = name.trim().to_string();
            out.entry(path.clone()).or_insert(i + 1);
        } else if let Some((k, _)) = l.split_once('=') {
            let k = k.trim().trim_matches('"');
            if !k.is_empty() && !k.starts_with('#') {
                let full = if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
                out.entry(full).or_insert(i + 1);
            }
        }
    }
    out
}
