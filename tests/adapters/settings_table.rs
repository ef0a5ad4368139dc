//! The README's configuration table is generated from the programs' declarations
//! (`pulse_core::settings`), and this test keeps the two equal: a variable added, removed or
//! re-documented in code fails here until the README says the same. To regenerate:
//! `PULSE_BLESS=1 ./tests/run -p pulse-tests -E 'binary(adapters) & test(settings_table)'`.

use pulse_core::settings::{Var, table};

use crate::house_rules::production_sources;

const BEGIN: &str = "<!-- settings table: generated from the code by tests/adapters/settings_table.rs -->\n";
const END: &str = "<!-- end of settings table -->";

fn programs() -> Vec<(&'static str, Vec<Var>)> {
    vec![
        ("ingress", pulse_ingress::settings::declared()),
        ("feed-projector", pulse_feed_projector::settings::declared()),
        ("home-renderer", pulse_home_renderer::settings::declared()),
        ("notifier", pulse_notifier::settings::declared()),
        ("infra-reconciler", pulse_infra_reconciler::settings::declared()),
        ("praktika-compat", pulse_praktika_compat::settings::declared()),
        ("pulse", pulse_cli::settings::declared()),
        ("pulse-publish", pulse_publisher::settings::declared()),
    ]
}

fn readme_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")
}

#[test]
fn the_readme_lists_every_variable_as_the_code_declares_it() {
    let generated = table(&programs());
    let readme = std::fs::read_to_string(readme_path()).expect("README.md");
    let start = readme.find(BEGIN).expect("the README has the settings table's opening marker") + BEGIN.len();
    let end = start + readme[start..].find(END).expect("the README has the settings table's closing marker");
    if readme[start..end] != generated {
        if std::env::var_os("PULSE_BLESS").is_some() {
            std::fs::write(readme_path(), format!("{}{generated}{}", &readme[..start], &readme[end..])).expect("write README.md");
            return;
        }
        panic!("README.md's settings table is out of date; rerun with PULSE_BLESS=1. Generated:\n{generated}");
    }
}

/// Every `Var::new("NAME", …)` in a `settings.rs` is in some program's `declared()`, so it is
/// in the table: a variable cannot be read without being documented.
#[test]
fn every_declared_variable_is_in_the_table() {
    let listed: Vec<&str> = programs().into_iter().flat_map(|(_, vars)| vars).map(|v| v.name).collect();
    let mut missing = Vec::new();
    for (path, text) in production_sources().into_iter().filter(|(p, _)| p.ends_with("settings.rs")) {
        for piece in text.split("Var::new(").skip(1) {
            let Some(name) = piece.split('"').nth(1) else { continue };
            if !listed.contains(&name) && !path.starts_with("shared/core/") {
                missing.push(format!("{path}: {name}"));
            }
        }
    }
    assert_eq!(missing, Vec::<String>::new(), "declared but in no program's `declared()`");
    assert!(listed.len() > 30, "only {} variables found", listed.len());
}

/// A secret's row says so, and a variable shared by several programs is one row naming them all.
#[test]
fn secrets_are_marked_and_shared_variables_are_one_row() {
    let generated = table(&programs());
    let row = |name: &str| {
        generated.lines().find(|l| l.starts_with(&format!("| `{name}` |"))).unwrap_or_else(|| panic!("no row for {name}")).to_owned()
    };
    for secret in ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"] {
        assert!(row(secret).contains("Secret: never logged."), "{}", row(secret));
    }
    assert!(!row("PULSE_STACK").contains("Secret"));
    let retention = row("PULSE_SUBSCRIPTION_RETENTION_DAYS");
    assert!(retention.contains("home-renderer, notifier"), "{retention}");
    assert_eq!(generated.matches("| `PULSE_STACK` |").count(), 1);
}
