//! Channel announcements as pure functions: new users (seed 002) and deploy progress.

use pulse_contracts::{ChangeKind, DeployPhase, DeployStatus, UserRegistered};
use pulse_slack::blocks::{Block, Message};

/// The ledger key of a registration: one message per product user.
pub fn user_key(user: &UserRegistered) -> String {
    format!("user:{}", user.user_id)
}

/// Seed 002's registration notice: email, display name, user id, total users, environment.
pub fn render_user(user: &UserRegistered) -> Message {
    let name = if user.display_name.is_empty() { "(no name)" } else { user.display_name.as_str() };
    let text = format!(":tada: New user: {name} ({})", user.email.as_str());
    let mut fields = vec![format!("*Email:* {}", user.email.as_str()), format!("*Name:* {name}"), format!("*User id:* {}", user.user_id)];
    if let Some(total) = user.total_users {
        fields.push(format!("*Total users:* {total}"));
    }
    if let Some(env) = &user.environment {
        fields.push(format!("*Environment:* {env}"));
    }
    let blocks = [Block::section(text.as_str()), Block::fields(fields)];
    Message::new(text, blocks)
}

/// Ledger keys of a deploy's messages: the thread root, and one reply per later phase. For a
/// deploy asked for by an alert's Approve / Rollback button, the root is that alert's message.
pub fn deploy_root_key(status: &DeployStatus) -> String {
    deploy_root_key_of(status.deploy_id)
}

/// The thread root's key of deploy `deploy_id`.
pub fn deploy_root_key_of(deploy_id: uuid::Uuid) -> String {
    format!("deploy:{deploy_id}:root")
}

pub fn deploy_phase_key(status: &DeployStatus) -> String {
    let phase = match status.phase {
        DeployPhase::Started => "started",
        DeployPhase::Completed => "completed",
        DeployPhase::Failed => "failed",
    };
    format!("deploy:{}:{phase}", status.deploy_id)
}

/// The thread root: which deploy, of what, asked by whom. Rendered from whichever status of the
/// deploy arrives first, so a late `started` cannot leave the others without a thread.
pub fn render_deploy_root(status: &DeployStatus) -> Message {
    let versions = match (&status.from_version, &status.to_version) {
        (Some(from), Some(to)) => format!(" {from} → {to}"),
        (None, Some(to)) => format!(" → {to}"),
        _ => String::new(),
    };
    let text = format!(
        ":rocket: {} of *{}*{versions} requested by <@{}>",
        capitalise(status.action.as_str()),
        status.service,
        status.requested_by.user_id
    );
    let blocks = [Block::section(text.as_str()), Block::context_text(format!("deploy {}", status.deploy_id))];
    Message::new(text, blocks)
}

/// A phase reply: started, completed with what changed, failed with why.
pub fn render_deploy_phase(status: &DeployStatus) -> Message {
    let (emoji, word) = match status.phase {
        DeployPhase::Started => (":hourglass_flowing_sand:", "started"),
        DeployPhase::Completed => (":white_check_mark:", "completed"),
        DeployPhase::Failed => (":x:", "failed"),
    };
    let text = format!("{emoji} {} of {} {word}", capitalise(status.action.as_str()), status.service);
    let mut body = String::new();
    let changed: Vec<String> = status
        .changes
        .iter()
        .filter(|c| c.change != ChangeKind::NoChange)
        .map(|c| {
            let fields = if c.fields.is_empty() { String::new() } else { format!(" ({})", c.fields.join(", ")) };
            let change = match c.change {
                ChangeKind::Create => "create",
                ChangeKind::Update => "update",
                ChangeKind::Delete => "delete",
                ChangeKind::NoChange => "no change",
            };
            format!("• {change} {} {}{fields}", c.kind, c.name)
        })
        .collect();
    if !changed.is_empty() {
        body.push_str("*Changes:*\n");
        body.push_str(&changed.join("\n"));
    }
    if let Some(error) = &status.error {
        if !body.is_empty() {
            body.push('\n');
        }
        body.push_str(&format!("*Error:* {error}"));
    }
    let mut blocks = vec![Block::section(text.as_str())];
    if !body.is_empty() {
        blocks.push(Block::section(body));
    }
    Message::new(text, blocks)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulse_contracts::{Event, parse_str};

    fn example(path: &str) -> Event {
        let text = std::fs::read_to_string(format!("{}/../../contracts/examples/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        parse_str(&text).unwrap().detail
    }

    #[test]
    fn registration_shows_what_seed_002_lists() {
        let Event::UserRegisteredV1(user) = example("user.registered.v1/new-user.json") else { unreachable!() };
        let (text, blocks) = render_user(&user).into_parts();
        assert!(text.contains("Carol Nguyen"));
        let all = blocks.to_string();
        for needle in ["carol.nguyen@example.org", "*User id:* 8d0f6c1e", "*Total users:* 1284", "*Environment:* production"] {
            assert!(all.contains(needle), "{needle} in {all}");
        }
        assert_eq!(user_key(&user), "user:8d0f6c1e-55b2-4c8e-9d63-0f1c2b3a4d5e");
    }

    #[test]
    fn deploy_phases_show_changes_and_errors() {
        let Event::DeployStatusV1(done) = example("deploy.status.v1/completed.json") else { unreachable!() };
        let (root, _) = render_deploy_root(&done).into_parts();
        assert!(root.contains("Deploy of *notifier* a41c9e0 → b77d2f3") && root.contains("<@U0DANAOPS1>"), "{root}");
        let (text, blocks) = render_deploy_phase(&done).into_parts();
        assert!(text.contains("completed"));
        let all = blocks.to_string();
        assert!(
            all.contains("update Lambda pulse-notifier (code, environment.SLACK_DEPLOY_CHANNEL)") && !all.contains("pulse-home-renderer"),
            "{all}"
        );
        assert_ne!(deploy_root_key(&done), deploy_phase_key(&done));
        let Event::DeployStatusV1(failed) = example("deploy.status.v1/failed.json") else { unreachable!() };
        assert!(render_deploy_phase(&failed).blocks_json().to_string().contains("*Error:*"));
    }
}
