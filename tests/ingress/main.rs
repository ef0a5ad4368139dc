//! ingress end to end on the emulator and the fake Slack: every Slack request verified, recorded
//! once in the envelope ledger, acknowledged, and published as one `slack.*` event; both API
//! Gateway payload formats through the Lambda handler and the local HTTP server; Socket Mode
//! payloads through the same ledger; GitHub webhook deliveries; and logs without secrets.

mod exactly_once;
mod github;
mod harness;
mod logs;
mod rotation;
mod transports;
