//! Fault hooks for the fault suite (`tests/fault`): a moment in the runtime where a test can make
//! the process die, panic or stall. Compiled only with the `fault-hooks` feature; without it every
//! point is a no-op and a `PULSE_FAULT` setting is refused at start-up, so a production binary can
//! never be told to hurt itself and a test can never silently run without its fault.
//!
//! `PULSE_FAULT` is a comma-separated list of `<point>=<action>[@<text>]`:
//! - points: `claimed` (the claim is written, the handler has not run), `handled` (the handler
//!   finished, its completion is not recorded yet);
//! - actions: `kill` (SIGKILL to itself), `panic` (inside the handler's attempt), `sleep:<secs>`;
//! - `@<text>`: only for messages whose dedup key contains `text`.

/// The environment variable read.
pub const ENV: &str = crate::settings::PULSE_FAULT.name;

/// The faults asked for, from the process environment (this module is reached from deep inside
/// the runtime, where no `Settings` is passed).
fn asked() -> String {
    pulse_core::Settings::from_env().text(&crate::settings::PULSE_FAULT).ok().flatten().unwrap_or_default()
}

/// Refuse to start when faults are asked of a binary that cannot inject them.
pub fn check_env() -> Result<(), String> {
    #[cfg(not(feature = "fault-hooks"))]
    if !asked().is_empty() {
        return Err(format!("{ENV} is set but this binary was built without the `fault-hooks` feature"));
    }
    #[cfg(feature = "fault-hooks")]
    imp::faults()?;
    Ok(())
}

/// Reach the point `name` while handling the message whose dedup key is `key`.
pub async fn point(name: &str, key: &str) {
    #[cfg(feature = "fault-hooks")]
    imp::reach(name, key).await;
    #[cfg(not(feature = "fault-hooks"))]
    let _ = (name, key);
}

#[cfg(feature = "fault-hooks")]
mod imp {
    use std::sync::OnceLock;
    use std::time::Duration;

    #[derive(Debug, Clone, PartialEq)]
    pub(super) enum Action {
        Kill,
        Panic,
        Sleep(Duration),
    }

    #[derive(Debug, Clone, PartialEq)]
    pub(super) struct Fault {
        point: String,
        action: Action,
        only: Option<String>,
    }

    fn parse(spec: &str) -> Result<Vec<Fault>, String> {
        spec.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|item| {
                let (point, rest) = item.split_once('=').ok_or_else(|| format!("{item:?}: expected <point>=<action>"))?;
                let (action, only) = match rest.split_once('@') {
                    Some((a, text)) => (a, Some(text.to_owned())),
                    None => (rest, None),
                };
                let action = match action {
                    "kill" => Action::Kill,
                    "panic" => Action::Panic,
                    a => match a.strip_prefix("sleep:").and_then(|s| s.parse::<f64>().ok()) {
                        Some(secs) if secs >= 0.0 => Action::Sleep(Duration::from_secs_f64(secs)),
                        _ => return Err(format!("{item:?}: the action is kill, panic or sleep:<secs>")),
                    },
                };
                match point {
                    "claimed" | "handled" => Ok(Fault { point: point.to_owned(), action, only }),
                    p => Err(format!("{item:?}: unknown point {p:?} (claimed, handled)")),
                }
            })
            .collect()
    }

    pub(super) fn faults() -> Result<&'static [Fault], String> {
        static FAULTS: OnceLock<Result<Vec<Fault>, String>> = OnceLock::new();
        FAULTS.get_or_init(|| parse(&super::asked()).map_err(|e| format!("{}: {e}", super::ENV))).as_deref().map_err(Clone::clone)
    }

    pub(super) async fn reach(name: &str, key: &str) {
        let Ok(faults) = faults() else { return };
        for fault in faults.iter().filter(|f| f.point == name && f.only.as_deref().is_none_or(|t| key.contains(t))) {
            tracing::warn!(point = name, key, action = ?fault.action, "fault injected");
            match &fault.action {
                Action::Kill => kill_self(),
                Action::Panic => panic!("fault injected at {name} for {key}"),
                Action::Sleep(d) => tokio::time::sleep(*d).await,
            }
        }
    }

    /// SIGKILL, as the OOM killer or a Lambda timeout would: no unwinding, no destructors.
    fn kill_self() -> ! {
        let pid = std::process::id().to_string();
        let _ = std::process::Command::new("kill").args(["-KILL", &pid]).status();
        std::process::abort()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn parses_points_actions_and_filters() {
            let faults = parse("claimed=kill, handled=sleep:1.5@evt-7,claimed=panic").unwrap();
            assert_eq!(faults.len(), 3);
            assert_eq!(
                faults[1],
                Fault { point: "handled".into(), action: Action::Sleep(Duration::from_millis(1500)), only: Some("evt-7".into()) }
            );
            assert!(parse("nowhere=kill").unwrap_err().contains("unknown point"));
            assert!(parse("claimed=explode").unwrap_err().contains("kill, panic or sleep"));
            assert!(parse("").unwrap().is_empty());
        }
    }
}
