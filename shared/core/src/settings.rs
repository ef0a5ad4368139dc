//! Configuration from the environment, declared once and read typed at start-up.
//!
//! Every environment variable a Pulse program reads is a [`Var`] constant in a `settings.rs`
//! module: its name, the form its value takes, its default and what it means. Programs read
//! them only through [`Settings`], which
//! - treats an empty value as unset (a deployment file's `""` means "the default");
//! - parses into the type asked for, and on failure names the variable, the form expected and
//!   what it found (for a secret, only its length);
//! - is built from the process environment at the edge, or from pairs in a test.
//!
//! This module is the only place that touches the process environment (a house rule checks it),
//! and [`table`] renders the declarations as the README's configuration table, which a test
//! keeps equal to the code: the table cannot drift from what the programs read.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use crate::secret::Secret;

/// One environment variable: its name, the form of its value, its default and its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var {
    pub name: &'static str,
    /// What a value looks like, in words ("a whole number of days", "`json` or `text`").
    pub form: &'static str,
    /// The value used when the variable is unset or empty, as it would be written.
    pub default: Option<&'static str>,
    /// What the variable means, one sentence.
    pub doc: &'static str,
    /// Whether the value is a secret: never printed, in errors only its length.
    pub secret: bool,
}

impl Var {
    /// A variable with no default.
    pub const fn new(name: &'static str, form: &'static str, doc: &'static str) -> Self {
        Self { name, form, default: None, doc, secret: false }
    }

    /// The value used when unset.
    pub const fn default(self, default: &'static str) -> Self {
        Self { default: Some(default), ..self }
    }

    /// Marks the value secret.
    pub const fn secret(self) -> Self {
        Self { secret: true, ..self }
    }

    /// The error for a value that parsed but is not in this variable's form (`0` where at
    /// least 1 is needed).
    pub fn refuse(&self, found: &str) -> SettingError {
        let found = if self.secret { Found::Secret { len: found.len() } } else { Found::Text(found.to_owned()) };
        SettingError { name: self.name.to_owned(), form: self.form, found }
    }
}

/// A setting that is missing or not in the form its variable declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    pub name: String,
    pub form: &'static str,
    pub found: Found,
}

/// What was found in a variable that did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Unset,
    Text(String),
    /// A secret's value is never shown; its length helps tell "empty" from "wrong".
    Secret {
        len: usize,
    },
    NotUnicode,
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} must be {}", self.name, self.form)?;
        match &self.found {
            Found::Unset => f.write_str(", and it is not set"),
            Found::Text(text) => write!(f, "; found {text:?}"),
            Found::Secret { len } => write!(f, "; found a value of {len} characters (not shown: it is a secret)"),
            Found::NotUnicode => f.write_str("; found a value that is not valid UTF-8"),
        }
    }
}

impl std::error::Error for SettingError {}

/// The environment a program reads its configuration from.
#[derive(Debug, Clone)]
pub struct Settings {
    source: Source,
}

#[derive(Debug, Clone)]
enum Source {
    Process,
    Pairs(HashMap<String, String>),
}

impl Settings {
    /// The process environment: the edge, in a `main`.
    pub fn from_env() -> Self {
        Self { source: Source::Process }
    }

    /// Fixed pairs, for tests and for programs configured another way.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self { source: Source::Pairs(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect()) }
    }

    /// The raw value of `name`; unset and empty are both `Ok(None)`.
    fn raw(&self, name: &str) -> Result<Option<String>, Found> {
        let value = match &self.source {
            Source::Process => match std::env::var(name) {
                Ok(v) => Some(v),
                Err(std::env::VarError::NotPresent) => None,
                Err(std::env::VarError::NotUnicode(_)) => return Err(Found::NotUnicode),
            },
            Source::Pairs(pairs) => pairs.get(name).cloned(),
        };
        Ok(value.filter(|v| !v.trim().is_empty()))
    }

    fn error(var: &Var, found: Found) -> SettingError {
        SettingError { name: var.name.to_owned(), form: var.form, found }
    }

    /// The variable's text, or its default; `None` when neither is there.
    pub fn text(&self, var: &Var) -> Result<Option<String>, SettingError> {
        match self.raw(var.name) {
            Ok(Some(v)) => Ok(Some(v)),
            Ok(None) => Ok(var.default.map(str::to_owned)),
            Err(found) => Err(Self::error(var, found)),
        }
    }

    /// The variable's text or its default, an error naming it when neither is there.
    pub fn required(&self, var: &Var) -> Result<String, SettingError> {
        self.text(var)?.ok_or_else(|| Self::error(var, Found::Unset))
    }

    /// Whether the variable has a value of its own (not its default).
    pub fn is_set(&self, var: &Var) -> bool {
        !matches!(self.raw(var.name), Ok(None))
    }

    /// The variable parsed as `T` (its default when unset), `None` when neither is there.
    pub fn parse<T: FromStr>(&self, var: &Var) -> Result<Option<T>, SettingError> {
        let Some(text) = self.text(var)? else { return Ok(None) };
        text.trim().parse().map(Some).map_err(|_| var.refuse(&text))
    }

    /// The variable parsed as `T`, an error naming it when it is unset and has no default.
    pub fn parse_required<T: FromStr>(&self, var: &Var) -> Result<T, SettingError> {
        self.parse(var)?.ok_or_else(|| Self::error(var, Found::Unset))
    }

    /// The variable as a secret, `None` when unset.
    pub fn secret(&self, var: &Var) -> Result<Option<Secret>, SettingError> {
        Ok(self.text(var)?.map(Secret::new))
    }

    /// A secret in a variable whose name a configuration file gives (a webhook URL's), so it
    /// cannot be declared here; the table documents the rule instead.
    pub fn named_secret(&self, name: &str) -> Option<Secret> {
        self.raw(name).ok().flatten().map(Secret::new)
    }
}

/// The configuration table: one row per variable, naming every program that reads it, in the
/// order of `programs`. Markdown, for the README.
pub fn table(programs: &[(&str, Vec<Var>)]) -> String {
    let mut rows: BTreeMap<&str, (Var, Vec<&str>)> = BTreeMap::new();
    for (program, vars) in programs {
        for var in vars {
            let entry = rows.entry(var.name).or_insert_with(|| (*var, Vec::new()));
            assert_eq!(entry.0, *var, "{} is declared twice, differently", var.name);
            if !entry.1.contains(program) {
                entry.1.push(program);
            }
        }
    }
    let mut out = String::from("| Variable | Read by | Value | Default | Meaning |\n|---|---|---|---|---|\n");
    for (name, (var, readers)) in rows {
        let default = match var.default {
            Some("") => "(empty)".to_owned(),
            Some(d) => format!("`{d}`"),
            None => String::new(),
        };
        let secret = if var.secret { " Secret: never logged." } else { "" };
        out.push_str(&format!("| `{name}` | {} | {} | {default} | {}{secret} |\n", readers.join(", "), cell(var.form), cell(var.doc)));
    }
    out
}

/// Markdown table cells cannot hold a bare `|`.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAYS: Var = Var::new("T_DAYS", "a whole number of days", "how long").default("30");
    const TOKEN: Var = Var::new("T_TOKEN", "a bot token (`xoxb-…`)", "the token").secret();
    const NAME: Var = Var::new("T_NAME", "text", "a name");

    #[test]
    fn empty_is_unset_and_defaults_apply() {
        let settings = Settings::from_pairs([("T_DAYS", " "), ("T_NAME", "")]);
        assert_eq!(settings.parse::<u64>(&DAYS), Ok(Some(30)));
        assert_eq!(settings.text(&NAME), Ok(None));
        assert!(!settings.is_set(&NAME));
    }

    #[test]
    fn errors_name_the_variable_the_form_and_what_was_found() {
        let settings = Settings::from_pairs([("T_DAYS", "-3"), ("T_TOKEN", "xoxb-secret")]);
        let err = settings.parse::<u64>(&DAYS).unwrap_err().to_string();
        assert_eq!(err, "T_DAYS must be a whole number of days; found \"-3\"");
        let err = settings.parse::<u32>(&TOKEN).unwrap_err().to_string();
        assert!(err.contains("T_TOKEN") && err.contains("11 characters") && !err.contains("xoxb-secret"), "{err}");
        let err = settings.required(&NAME).unwrap_err().to_string();
        assert_eq!(err, "T_NAME must be text, and it is not set");
    }

    #[test]
    fn the_table_names_every_reader_once() {
        let table = table(&[("a", vec![DAYS, NAME]), ("b", vec![DAYS, TOKEN])]);
        assert!(table.contains("| `T_DAYS` | a, b | a whole number of days | `30` | how long |"), "{table}");
        assert!(table.contains("| `T_TOKEN` | b |"), "{table}");
        assert!(table.contains("Secret: never logged."), "{table}");
        assert_eq!(table.lines().count(), 5);
    }
}
