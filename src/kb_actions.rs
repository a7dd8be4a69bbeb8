//! The action a mail asks for, read sentence by sentence, so that the
//! knowledge base offers an article only for the task it explains
//! (issue #19: "rename the account" must not get "Creating a new user",
//! "lock the leaver's account" not "Password reset", "what may role X do?"
//! not "Assigning roles").
//!
//! An article may name the actions it explains (front matter `action:`,
//! e.g. `action: create`); the mail's requested actions are the
//! [`PATTERNS`] found in its subject and sentences: a verb or noun of the
//! action in German or English, sometimes with the object it needs in the
//! same sentence ("Passwort" with "vergessen"), or the state it mends ("my
//! account is locked" asks to unlock it). A pattern preceded (at most
//! [`NEGATION_REACH`] words before one of its words) by a negation or by
//! "already" ("bitte nicht neu anlegen", "do NOT change any rights", "IT has
//! already created my account") is not asked for. Some actions have no
//! article (`rename`, `reactivate`): a mail that asks only for them asks for
//! none of the articles' tasks.
//!
//! Pure and linear: each sentence's words are matched against a fixed table
//! of patterns, each word compared once per pattern word.

/// The actions the reader recognises (an article's `action:` must name
/// one of them).
pub const ACTIONS: &[&str] =
    &["create", "deactivate", "reactivate", "rename", "reset-password", "unlock", "assign-role", "describe-roles"];

/// A negation this many words before a pattern's word takes it back.
pub const NEGATION_REACH: usize = 3;

/// Words that take back the action after them (folded: umlauts to their
/// vowel): negations and "already" (what is done is not asked for).
const NEGATIONS: &[&str] =
    &["nicht", "kein", "keine", "keinen", "nie", "not", "never", "dont", "don", "no", "bereits", "already", "schon"];

/// `action`, then the words that must all be in one sentence: a word
/// ending in `*` is a prefix, one starting with `~` is found inside a word,
/// any other must be the whole word (folded: lowercase, ä -> a, ß -> ss).
/// `a|b` is either; a pattern word starting with `>` must follow the one
/// before it directly ("neuen Benutzer", not "neuer Name ... Benutzerkonto"). A pattern that names a negation itself (a state: "sieht
/// ... nicht") is not taken back by it.
pub const PATTERNS: &[(&str, &str)] = &[
    // create: a new user or account
    ("create", "anlegen|anzulegen|neuanlage*|neuanleg*"),
    (
        "create",
        "neu|neue|neuen|neuer|neues >benutzer*|benutzerin*|mitarbeiter*|kolleg*|zugang*|konto|account*|anwarter*|auszubildend*",
    ),
    ("create", "benutzer*|konto|konten|zugang*|zugange|account* einricht*|erstell*|anleg*"),
    ("create", "neueinstell*|neuzugang*|neuzugange"),
    ("create", "lege|legen|legt benutzer*|konto|konten|zugang*|zugange|account* an"),
    ("create", "creat*|onboard*"),
    ("create", "new user*|employee*|colleague*|joiner*|account*|starter*|hire*"),
    ("create", "set|setup|add user*|account*|login*|access"),
    // deactivate: someone leaves, the account is closed
    ("deactivate", "deaktivier*|sperren|stilleg*|stillzuleg*|austritt*|ausgeschieden|ausscheid*|verlasst|verlassen"),
    ("deactivate", "losch*|entfern* benutzer*|konto|konten|zugang*|account*"),
    ("deactivate", "deactivat*|disable*|offboard*|leaver*|leaving"),
    ("deactivate", "lock|block|blocks|sperrt account*|access|user*|login*|konto|zugang*"),
    ("deactivate", "delete*|remove* account*|user*|login*"),
    ("deactivate", "left company|us|organisation|organization"),
    // reactivate: no article explains it
    ("reactivate", "reaktivier*|wiederaktivier*|reactivat*"),
    ("reactivate", "wieder aktivier*|freischalt*|entsperr*"),
    ("reactivate", "kehrt|zuruckkehr*|ruckkehr* konto|benutzerkonto|zugang*|account*"),
    // rename: no article explains it
    ("rename", "umbenenn*|namensander*|nachnam*|familiennam*|rename*|eheschliess*|geheiratet|heirat*|married|marriage"),
    ("rename", "name surname|change|changed|update|updated"),
    ("rename", "neu|neuer|neuen name*|anmeldenam*"),
    // reset-password
    (
        "reset-password",
        "passwort*|kennwort*|password* vergess*|zurucksetz*|zuruckgesetzt|reset*|ander*|neues|neu|forgot*|forgotten|change|changing|new",
    ),
    ("reset-password", "~passwortvergess|~kennwortvergess|~passwortzuruck|~passwortander"),
    // unlock: the account is locked or the login fails
    ("unlock", "entsperr*|gesperrt|fehlversuch*|unlock*|locked"),
    ("unlock", "anmeld*|einlogg*|login|anmeldung nicht|fehlgeschlagen|geht"),
    ("unlock", "cannot|cant|unable log|login|sign"),
    ("unlock", "login|logon fail*|failed|error"),
    // assign-role: roles, rights, access
    (
        "assign-role",
        "rolle*|~recht|berechtig*|zugriff*|freigab* zuweis*|zugewies*|vergeb*|geben|gebt|gib|erteil*|erweiter*|entzieh*|ander*|hinzufug*|zuordn*|zugeordnet|brauch*|benotig*|bekomm*|erhalt*|umstell*|einstell*|freischalt*|einraum*",
    ),
    ("assign-role", "sieht|sehen|seh kein*|nicht"),
    (
        "assign-role",
        "role*|permission*|rights|privilege* assign*|give|giving|grant*|add|adding|remove|change*|extend*|need*|revok*|upgrad*|get",
    ),
    ("assign-role", "cannot|cant|not see|access"),
    ("assign-role", "no|not permission*|authori*|authoriz*|access"),
    // describe-roles: what a role may do, which rights there are; no article explains it
    ("describe-roles", "welche|which ~recht|rights|berechtigungen|permissions"),
    ("describe-roles", "unterschied*|difference*|vs rolle*|role*|~recht|rights|permission*"),
    ("describe-roles", "ubersicht|overview rolle*|role*|~recht|rights|berechtig*|permission*"),
];

/// One action a mail asks for, with the word that named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    /// One of [`ACTIONS`].
    pub action: &'static str,
    /// The mail's word that named it (for the team's notification).
    pub word: String,
}

/// One word of a pattern, parsed.
enum Tok {
    Whole(&'static str),
    Prefix(&'static str),
    Inside(&'static str),
}

/// A pattern of [`PATTERNS`], parsed once: its action, the alternatives of
/// each of its words, and whether it names a negation itself.
struct Parsed {
    action: &'static str,
    /// Each word's alternatives, and whether it follows the one before directly.
    words: Vec<(Vec<Tok>, bool)>,
    states: bool,
}

fn parsed() -> &'static [Parsed] {
    static P: std::sync::OnceLock<Vec<Parsed>> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        PATTERNS
            .iter()
            .map(|(action, pattern)| {
                let words: Vec<(Vec<Tok>, bool)> = pattern
                    .split(' ')
                    .map(|alt| {
                        let alts = alt
                            .trim_start_matches('>')
                            .split('|')
                            .map(|t| match (t.strip_suffix('*'), t.strip_prefix('~')) {
                                (Some(p), _) => Tok::Prefix(p),
                                (_, Some(p)) => Tok::Inside(p),
                                _ => Tok::Whole(t),
                            })
                            .collect();
                        (alts, alt.starts_with('>'))
                    })
                    .collect();
                let states = pattern.split([' ', '|']).any(|t| NEGATIONS.contains(&t));
                Parsed { action, words, states }
            })
            .collect()
    })
}

fn matches(alt: &[Tok], w: &str) -> bool {
    alt.iter().any(|t| match t {
        Tok::Whole(x) => w == *x,
        Tok::Prefix(p) => w.starts_with(p),
        Tok::Inside(p) => w.contains(p),
    })
}

/// Where pattern `p` is in the sentence: whether one of its words has a
/// negation before it, and the first of its words; None when not all are there.
fn find<'w>(p: &Parsed, words: &'w [String]) -> Option<(bool, &'w String)> {
    let mut first: Option<&String> = None;
    let mut negated = false;
    let mut prev: Option<&Vec<Tok>> = None;
    for (alt, next) in &p.words {
        let i = match (next, prev) {
            (true, Some(before)) => {
                (1..words.len()).find(|&i| matches(before, &words[i - 1]) && matches(alt, &words[i]))?
            }
            _ => words.iter().position(|w| matches(alt, w))?,
        };
        negated |=
            !p.states && words[i.saturating_sub(NEGATION_REACH)..i].iter().any(|w| NEGATIONS.contains(&w.as_str()));
        first.get_or_insert(&words[i]);
        prev = Some(alt);
    }
    first.map(|w| (negated, w))
}

/// The actions one sentence asks for (its folded words, in order), added
/// to `out` once each. An action negated anywhere in the sentence is not
/// asked by it ("ein neues Benutzerkonto bitte nicht anlegen": the verb at
/// the end takes back the noun before it). Linear in the sentence: every
/// pattern word is looked for once among its words.
pub fn read_sentence(words: &[String], out: &mut Vec<Asked>) {
    let found: Vec<(&'static str, bool, &String)> =
        parsed().iter().filter_map(|p| find(p, words).map(|(neg, w)| (p.action, neg, w))).collect();
    for &(action, negated, w) in &found {
        if !negated && !found.iter().any(|&(a, n, _)| a == action && n) && !out.iter().any(|a| a.action == action) {
            out.push(Asked { action, word: w.clone() });
        }
    }
}

/// The actions of the whole mail, once its sentences are read: a mail that
/// asks to reactivate an account names the deactivation it undoes ("wurde
/// für die Elternzeit deaktiviert"), which is its history, not its request.
pub fn settle(asked: &mut Vec<Asked>) {
    if asked.iter().any(|a| a.action == "reactivate") {
        asked.retain(|a| a.action != "deactivate");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(sentence: &str) -> Vec<&'static str> {
        // Folded as the knowledge base folds a mail's words (lowercase, umlauts to their vowel).
        let folded = sentence.to_lowercase().replace('ä', "a").replace('ö', "o").replace('ü', "u").replace('ß', "ss");
        let w: Vec<String> =
            folded.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_string).collect();
        let mut out = Vec::new();
        read_sentence(&w, &mut out);
        out.into_iter().map(|a| a.action).collect()
    }

    #[test]
    fn german_and_english_requests_name_their_action() {
        assert_eq!(asked("Bitte legen Sie für Frau Sommer einen neuen Benutzer an."), ["create"]);
        assert_eq!(asked("Could you please create an account for our new colleague?"), ["create"]);
        assert_eq!(asked("Bitte den Zugang von Herrn Kurz deaktivieren, er ist ausgeschieden."), ["deactivate"]);
        assert_eq!(asked("Please lock his account as soon as possible"), ["deactivate"]);
        assert_eq!(asked("Ich habe mein Passwort vergessen"), ["reset-password"]);
        assert_eq!(asked("My account is locked"), ["unlock"]);
        assert_eq!(asked("Können Sie Frau Maier die Rolle Planer zuweisen?"), ["assign-role"]);
        assert_eq!(asked("Please give her the same permissions as Tom"), ["assign-role"]);
        assert_eq!(asked("Frau Lang hat geheiratet, bitte den Namen im Benutzerkonto ändern."), ["rename"]);
        assert_eq!(asked("Bitte das Benutzerkonto nach der Elternzeit reaktivieren."), ["reactivate"]);
    }

    #[test]
    fn a_negation_or_already_takes_the_action_back() {
        assert_eq!(asked("Bitte das Konto nicht neu anlegen."), Vec::<&str>::new());
        assert_eq!(asked("Ein neues Benutzerkonto bitte nicht anlegen."), Vec::<&str>::new());
        assert_eq!(asked("Benutzerkonto Frau Roth - neuer Name"), ["rename"]);
        assert_eq!(asked("Please do NOT change any rights for Pedro"), Vec::<&str>::new());
        assert_eq!(asked("The IT department has already created my account"), Vec::<&str>::new());
        // A state that names the negation itself stays: she cannot see the plan.
        assert_eq!(asked("Sie sieht den Plan der ITS 2 nicht"), ["assign-role"]);
    }

    #[test]
    fn two_actions_in_one_sentence_are_both_read() {
        assert_eq!(
            asked("Bitte Frau Nowak als neue Benutzerin anlegen und ihr die Rolle Planer zuweisen."),
            ["create", "assign-role"]
        );
        assert_eq!(asked("Please deactivate the old account and reset the password"), ["deactivate", "reset-password"]);
    }

    #[test]
    fn what_a_role_may_do_is_no_request_to_assign_it() {
        assert_eq!(
            asked("Was ist der Unterschied zwischen der Rolle Teamleiter und Schichtplaner?"),
            ["describe-roles"]
        );
        assert_eq!(asked("Which rights does a planner have?"), ["describe-roles"]);
        assert_eq!(asked("Gibt es eine Übersicht der Rollen und Zugriffsrechte?"), ["describe-roles"]);
    }
}
