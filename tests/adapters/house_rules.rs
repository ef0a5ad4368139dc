//! House rules that hold by test, not by review: where in Pulse's production code certain
//! calls may appear at all. Each rule names the one place a thing is allowed, and the test
//! lists every other place it is found.
//!
//! Production code is every `src/` of `services/` and `shared/`, without what only tests
//! compile: `#[cfg(test)]` modules (from the attribute to the end of the file, the house
//! layout), and `tests.rs` and `*_tests.rs` files. The fakes and test kits are crates of their
//! own under `shared/fakes/`, outside what is scanned (`boundaries.rs` keeps them out of the
//! services).

use std::path::{Path, PathBuf};

/// The repository root (this crate is `tests/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// Every production source file, as (path relative to the root, text up to its tests).
pub fn production_sources() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for group in ["services", "shared"] {
        let Ok(crates) = std::fs::read_dir(root().join(group)) else { continue };
        for krate in crates.flatten() {
            collect(&krate.path().join("src"), &mut out);
        }
    }
    out.sort();
    out
}

fn collect(dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "tests" {
                collect(&path, out);
            }
            continue;
        }
        if !name.ends_with(".rs") || name == "tests.rs" || name.ends_with("_tests.rs") {
            continue;
        }
        let relative = path.strip_prefix(root()).unwrap_or(&path).to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let production = match text.find("#[cfg(test)]") {
            Some(at) => text[..at].to_owned(),
            None => text,
        };
        out.push((relative, production));
    }
}

/// Each line of production code containing `needle`, outside the files `allowed` (relative
/// paths, or folder prefixes ending in `/`), as `path:line: text`.
pub fn offenders(needle: &str, allowed: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (path, text) in production_sources() {
        if allowed.iter().any(|a| if a.ends_with('/') { path.starts_with(a) } else { path == *a }) {
            continue;
        }
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if code.contains(needle) {
                found.push(format!("{path}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn the_scanner_reads_production_code_and_skips_tests_and_fakes() {
    let sources = production_sources();
    assert!(sources.len() > 100, "only {} production files found", sources.len());
    let paths: Vec<&str> = sources.iter().map(|(p, _)| p.as_str()).collect();
    assert!(paths.contains(&"shared/core/src/clock.rs"));
    assert!(!paths.iter().any(|p| p.starts_with("shared/fakes/") || p.ends_with("tests.rs")));
    // The clock's own test module is cut off; its production code is kept.
    let clock = &sources.iter().find(|(p, _)| p == "shared/core/src/clock.rs").unwrap().1;
    assert!(clock.contains("Arc::new(Utc::now)") && !clock.contains("mod tests"));
    assert_eq!(offenders("Arc::new(Utc::now)", &[]), ["shared/core/src/clock.rs:20: Self(Arc::new(Utc::now))"]);
}

/// Time and fresh ids are handed in (`pulse_core::Clock`, `pulse_core::Ids`), never read where
/// they are used: tests fix them, and pure decisions take them as values.
#[test]
fn only_the_clock_reads_the_time_and_only_the_id_source_draws_ids() {
    assert_eq!(offenders("Utc::now", &["shared/core/src/clock.rs"]), Vec::<String>::new());
    assert_eq!(offenders("Uuid::new_v4", &["shared/core/src/ids.rs"]), Vec::<String>::new());
}

/// Every retried call waits by the one backoff schedule (`pulse_core::retry`), so jitter is drawn
/// in one place.
#[test]
fn only_the_retry_module_draws_jitter() {
    assert_eq!(offenders("fastrand::", &["shared/core/src/retry.rs"]), Vec::<String>::new());
}

/// The `type`s of Block Kit objects (blocks, elements, text objects, views) Pulse sends.
const BLOCK_KIT_TYPES: [&str; 11] =
    ["section", "header", "actions", "context", "divider", "button", "mrkdwn", "plain_text", "modal", "home", "input"];

/// The bracketed argument `text` starts with (after blanks), up to its matching bracket; string
/// literals are skipped, so a bracket inside one does not count.
fn macro_argument(text: &str) -> &str {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in text.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth <= 1 => return &text[..=i],
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
    }
    text
}

/// Each `json!` in `text` (outside `//` comments) whose argument, over however many lines,
/// has a `"type"` of Block Kit: as (line number, first line).
fn block_kit_json(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("json!") {
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        if text[line_start..at].contains("//") {
            continue;
        }
        let squeezed: String = macro_argument(&text[at + "json!".len()..]).split_whitespace().collect();
        if BLOCK_KIT_TYPES.iter().any(|t| squeezed.contains(&format!(r#""type":"{t}""#))) {
            let line = text[line_start..].lines().next().unwrap_or_default().trim().to_owned();
            found.push((text[..at].matches('\n').count() + 1, line));
        }
    }
    found
}

#[test]
fn the_block_kit_detector_sees_json_over_several_lines_and_nothing_else() {
    let source = r#"
        let a = json!({"type": "section", "text": {"type": "mrkdwn", "text": t}});
        let b = json!({
            "blocks": [{
                "type":
                    "divider" }],
        });
        let c = json!({"error": "a \"type\": \"section\" inside a string is text", "x": [1, {"y": "}"}]});
        // json!({"type": "button"}) in a comment
        let d = json!({"type": "app_home_opened"});
    "#;
    assert_eq!(block_kit_json(source).iter().map(|(n, _)| *n).collect::<Vec<_>>(), [2, 3]);
}

/// Block Kit is built with `pulse_slack::blocks`, whose constructors fit Slack's limits
/// (issue #12); a hand-written `json!` would bypass them.
#[test]
fn block_kit_is_built_only_by_the_typed_module() {
    let allowed = "shared/slack/src/blocks/";
    let found: Vec<String> = production_sources()
        .into_iter()
        .filter(|(path, _)| !path.starts_with(allowed))
        .flat_map(|(path, text)| block_kit_json(&text).into_iter().map(move |(n, line)| format!("{path}:{n}: {line}")))
        .collect();
    assert!(found.is_empty(), "Block Kit built with json! outside {allowed}:\n{}", found.join("\n"));
}

/// Every environment variable is declared in a `settings.rs` and read through
/// `pulse_core::settings::Settings`, the one module that touches the process environment; clap
/// reads variables only by their declaration (`env = PULSE_BUS.name`). So the README's table
/// (`settings_table.rs`) is every variable there is. (The fakes' binaries, test tools under
/// `shared/fakes/`, read their own.)
#[test]
fn only_the_settings_reader_touches_the_environment() {
    let allowed = ["shared/core/src/settings.rs"];
    for needle in ["env::var(", "env::var_os", "env::vars", "from_default_env", "env = \""] {
        assert_eq!(offenders(needle, &allowed), Vec::<String>::new(), "{needle}");
    }
}
