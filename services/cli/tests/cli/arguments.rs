//! No argument panics `pulse`: every subcommand, every option that takes a value, each given
//! values a person or a script could type by mistake (empty, zero, negative, out of range, huge,
//! paths, odd Unicode). The command tree is read from `pulse … --help` itself, so a new command
//! or option is covered the day it is added.
//!
//! Each run gets a dead AWS endpoint (connection refused, one attempt) and no terminal, so a
//! command gets past its arguments and fails fast at its first call. What counts is that it
//! ends with an error it chose (exit 1, or 64 for usage) and a message: never a panic (exit
//! 101), never killed by a signal (an abort from a runaway allocation), never silent.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a careless hand or a broken script passes.
const HOSTILE: [&str; 13] = [
    "",
    "0",
    "-1",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999d",
    "1e309",
    "NaN",
    "../../../../etc/passwd",
    "2026-13-45T99:99:99Z",
    "ünï\u{202e}cødé 😀",
    "%s%n{}",
];

/// One `pulse` run, with the dead endpoint and no terminal; killed after `limit`. Its output
/// is read while it runs (a completion script is larger than a pipe's buffer).
fn run(args: &[String], limit: Duration) -> (Output, bool) {
    let mut child = crate::offline_pulse()
        .args(args)
        .env("PULSE_STACK", "pulse-args")
        .env_remove("RUST_BACKTRACE")
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pulse starts");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let started = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            timed_out = true;
            break child.wait().expect("wait after kill");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let output = Output { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() };
    (output, timed_out)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The parts of one `--help` page that matter here.
#[derive(Debug, Default)]
struct Help {
    subcommands: Vec<String>,
    /// Long options that take a value, e.g. `--since`.
    valued: Vec<String>,
    /// Positional arguments, e.g. `<FILE>`.
    positionals: usize,
}

/// Reads clap's help layout: `Commands:`, `Arguments:` and `Options:` sections whose items start
/// two spaces in (descriptions that wrap are indented further).
fn parse_help(page: &str) -> Help {
    let mut help = Help::default();
    let mut section = "";
    for line in page.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            section = line.trim_end_matches(':');
            continue;
        }
        // Items start two spaces in (options without a short flag six); wrapped descriptions
        // are indented further and start with neither a name, `-`, `<` nor `[`.
        let Some(rest) = line.strip_prefix("  ") else { continue };
        let item = rest.trim_start();
        match section {
            "Commands" if !rest.starts_with(' ') => {
                let name = item.split_whitespace().next().unwrap_or_default();
                if !name.is_empty() && name != "help" {
                    help.subcommands.push(name.to_owned());
                }
            }
            "Arguments" if !rest.starts_with(' ') && (item.starts_with('<') || item.starts_with('[')) => help.positionals += 1,
            "Options" if item.starts_with('-') => {
                let words: Vec<&str> = item.split_whitespace().collect();
                if let Some(at) = words.iter().position(|w| w.starts_with("--")) {
                    let takes_value = words.get(at + 1).is_some_and(|w| w.starts_with('<') || w.starts_with("[<"));
                    let name = words[at].trim_end_matches(',').split('=').next().unwrap_or_default();
                    if takes_value && name != "--help" {
                        help.valued.push(name.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    help
}

/// Every leaf command (`["infra", "plan"]`, ...) with its help page.
fn leaves() -> BTreeMap<Vec<String>, Help> {
    let mut leaves = BTreeMap::new();
    let mut queue = vec![Vec::<String>::new()];
    while let Some(path) = queue.pop() {
        let mut args = path.clone();
        args.push("--help".into());
        let (output, _) = run(&args, Duration::from_secs(20));
        assert!(output.status.success(), "pulse {} failed:\n{}", args.join(" "), text(&output.stderr));
        let help = parse_help(&text(&output.stdout));
        if help.subcommands.is_empty() {
            leaves.insert(path, help);
        } else {
            for sub in &help.subcommands {
                let mut longer = path.clone();
                longer.push(sub.clone());
                queue.push(longer);
            }
        }
    }
    leaves
}

/// A value each kind of argument accepts, by its name, to get past "required" errors.
fn benign(name: &str) -> &'static str {
    let name = name.to_ascii_lowercase();
    if name.contains("email") || name.contains("by") {
        "ann@example.com"
    } else if name.contains("user") {
        "U0PULSE1"
    } else if ["max", "count", "events", "limit", "seconds", "rate", "number", "concurrency", "size"].iter().any(|n| name.contains(n)) {
        "1"
    } else {
        "x"
    }
}

/// The arguments still missing for `path` to get past clap, found by asking it: clap names the
/// required arguments that were not provided, one per line (`--by <BY>`, `<FILE>`, or a group
/// `<--email <EMAIL>|--slack-user <SLACK_USER>>`, of which the first is taken).
fn required(path: &[String]) -> Vec<String> {
    let mut extra: Vec<String> = Vec::new();
    for _ in 0..6 {
        let args: Vec<String> = path.iter().cloned().chain(extra.iter().cloned()).collect();
        let (output, _) = run(&args, Duration::from_secs(20));
        let stderr = text(&output.stderr);
        let Some(at) = stderr.find("the following required arguments were not provided:") else { return extra };
        let missing: Vec<&str> =
            stderr[at..].lines().skip(1).take_while(|l| l.starts_with("  ")).map(str::trim).filter(|l| !l.is_empty()).collect();
        if missing.is_empty() {
            return extra;
        }
        for item in missing {
            let first = item.strip_prefix('<').and_then(|i| i.strip_suffix('>')).filter(|i| i.contains('|')).unwrap_or(item);
            let first = first.split('|').next().unwrap_or(first).trim();
            let words: Vec<&str> = first.split_whitespace().collect();
            match words.as_slice() {
                [flag, value, ..] if flag.starts_with('-') => extra.extend([flag.to_string(), benign(value).to_owned()]),
                [flag] if flag.starts_with('-') => extra.push(flag.to_string()),
                [value, ..] => extra.push(benign(value).to_owned()),
                [] => {}
            }
        }
    }
    extra
}

/// What went wrong with one run, if anything.
fn verdict(output: &Output, timed_out: bool) -> Option<String> {
    let stderr = text(&output.stderr);
    if stderr.contains("panicked") || output.status.code() == Some(101) {
        return Some(format!("panicked: {}", stderr.lines().find(|l| l.contains("panicked")).unwrap_or(&stderr)));
    }
    if timed_out {
        return None;
    }
    match output.status.code() {
        None => Some(format!("killed by a signal ({:?}): {}", output.status, stderr.trim())),
        Some(0) => None,
        Some(_) if stderr.trim().is_empty() => Some("failed without saying why".into()),
        Some(_) => None,
    }
}

#[test]
fn the_help_parser_reads_clap_layout() {
    let page = "Usage: pulse feed list [OPTIONS] <EMAIL>\n\nArguments:\n  <EMAIL>  Whose feed\n\nOptions:\n      --max <MAX>  At most\n          this many (wrapped)\n  -j, --json       As JSON\n  -h, --help       Print help\n";
    let help = parse_help(page);
    assert_eq!(help.valued, ["--max"]);
    assert_eq!(help.positionals, 1);
    assert!(help.subcommands.is_empty());
    let page = "Commands:\n  plan    Plan\n  deploy  Deploy\n  help    Print this message\n";
    assert_eq!(parse_help(page).subcommands, ["plan", "deploy"]);
}

#[test]
fn a_panic_an_abort_or_a_silent_failure_is_caught() {
    use std::os::unix::process::ExitStatusExt;
    let output = |code: i32, stderr: &str| Output { status: ExitStatusExt::from_raw(code), stdout: Vec::new(), stderr: stderr.into() };
    let panicked = output(101 << 8, "thread 'main' panicked at services/cli/src/x.rs:1:1:\noverflow");
    assert!(verdict(&panicked, false).is_some_and(|v| v.contains("panicked at services/cli")));
    assert!(verdict(&output(6, ""), false).is_some_and(|v| v.contains("signal")), "SIGABRT");
    assert!(verdict(&output(1 << 8, " "), false).is_some_and(|v| v.contains("without saying why")));
    assert_eq!(verdict(&output(1 << 8, "error: no such file"), false), None);
    assert_eq!(verdict(&output(64 << 8, "error: invalid value"), false), None);
    assert_eq!(verdict(&output(9, ""), true), None, "killed by our own time limit");
}

#[test]
fn completions_are_printed_for_each_shell_and_name_every_command() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (output, timed_out) = run(&["completions".into(), shell.into()], Duration::from_secs(20));
        assert!(!timed_out && output.status.success(), "{shell}: {}", text(&output.stderr));
        let script = text(&output.stdout);
        for command in ["publish", "infra", "dlq", "feed", "forget", "audit", "completions"] {
            assert!(script.contains(command), "the {shell} script does not complete `{command}`");
        }
    }
    let (output, _) = run(&["completions".into(), "tcsh".into()], Duration::from_secs(20));
    assert_eq!(output.status.code(), Some(64), "an unknown shell is a usage error");
    assert!(text(&output.stderr).contains("possible values"), "{}", text(&output.stderr));
}

#[test]
fn no_argument_panics_any_command() {
    let leaves = leaves();
    assert!(leaves.len() >= 20, "only {} commands found: {:?}", leaves.len(), leaves.keys().collect::<Vec<_>>());
    assert!(leaves.contains_key(&vec!["infra".to_owned(), "plan".to_owned()]));
    // (command line) for every hostile value in every valued option and positional.
    let mut cases: Vec<Vec<String>> = Vec::new();
    for (path, help) in &leaves {
        // `pulse run` starts the wrapped command; `tap` and `slack load` wait on purpose.
        if path.first().is_some_and(|c| c == "run") {
            continue;
        }
        let base = required(path);
        for option in &help.valued {
            for value in HOSTILE {
                let mut args: Vec<String> = path.clone();
                args.extend(strip_option(&base, option));
                args.extend([option.clone(), value.to_owned()]);
                cases.push(args);
            }
        }
        let positionals: Vec<usize> =
            base.iter().enumerate().filter(|(i, a)| !a.starts_with('-') && !is_value(&base, *i)).map(|(i, _)| i).collect();
        for at in positionals {
            for value in HOSTILE {
                let mut with = base.clone();
                with[at] = value.to_owned();
                cases.push(path.iter().cloned().chain(with).collect());
            }
        }
    }
    assert!(cases.len() > 200, "only {} cases", cases.len());
    let cases = Mutex::new(cases.into_iter().enumerate().collect::<Vec<_>>());
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                loop {
                    let Some((_, args)) = cases.lock().unwrap().pop() else { break };
                    let (output, timed_out) = run(&args, Duration::from_secs(10));
                    if let Some(problem) = verdict(&output, timed_out) {
                        failures.lock().unwrap().push(format!("pulse {:?}: {problem}", args));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} runs went wrong:\n{}", failures.len(), failures.join("\n"));
}

/// `base` without `option` and its value, so the hostile value is the only one given.
fn strip_option(base: &[String], option: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip = false;
    for (i, arg) in base.iter().enumerate() {
        if skip {
            skip = false;
            continue;
        }
        if arg == option {
            skip = base.get(i + 1).is_some_and(|_| is_value(base, i + 1));
            continue;
        }
        out.push(arg.clone());
    }
    out
}

/// Whether `base[i]` is the value of the option before it.
fn is_value(base: &[String], i: usize) -> bool {
    i > 0 && base[i - 1].starts_with("--") && !base[i].starts_with('-')
}
