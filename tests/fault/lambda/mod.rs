//! # Every binary, as Lambda runs it (issue #16)
//!
//! No other test runs a Pulse binary the way Lambda does. Here each real binary is started as a
//! process with `AWS_LAMBDA_RUNTIME_API` pointing at its own `pulse-fake-lambda-runtime` (the
//! Runtime API: `/invocation/next`, `/response`, `/error`, `/init/error`) and the rest of
//! Lambda's environment, against the test's moto with Pulse's stack deployed. Tests feed it the
//! event shapes AWS sends and assert the effects in storage, on the bus (the stack's tap queue)
//! and at the fake Slack, not only the response.
//!
//! | test | fed | proven |
//! |---|---|---|
//! | `init_errors::*` | a missing or invalid setting (every binary; `PULSE_STACK` has a default, so each loses one it cannot start without), SSM unreachable (ingress's signing secret, the notifier's bot token), an SSM parameter that does not exist | the reason reaches `/init/error` (`Runtime.InitError`) naming the setting, secret and parameter, never a secret's value; the process exits non-zero without asking for an invocation |
//! | `init_calls::*` | every binary started with its secrets in its environment and AWS at an endpoint that counts connections and never answers | none calls AWS before its first `/next`: nothing a rare path needs (the notifier's GitHub credentials) is looked up at start |
//! | `consumers::a_notifier_batch_*` | one SQS batch (received from the real queue, so receipt handles work) of a good record, a poisoned one (not an envelope), a retryable one (Slack answering 500) and a panicking one (`PULSE_FAULT`) | `batchItemFailures` lists exactly the retryable and panicking ids; the good one is projected in DynamoDB, the poisoned one is in the DLQ, the function survives the panic |
//! | `consumers::a_rate_limit_longer_than_*` | an alert whose every post Slack answers 429 `Retry-After: 8`, in an invocation of 10 s | no retry sleeps past the deadline: the record is reported failed within seconds, nothing posted |
//! | `consumers::the_feed_projector_*` | a `ci.workflow` batch to the feed-projector; then the daily `Schedule` of `infra/pulse-stack.json` fired as EventBridge does (its input transformer applied) into the notifier's queue | the feed in S3 and `feed.updated` on the bus; the digest posted to its channel |
//! | `consumers::the_home_renderer_*`, `the_infra_reconciler_*` | one good record each | the reply on `response_url` and `subscription.changed` on the bus; `deploy.status` started and completed |
//! | `ingress::with_aws_silent_*` | a signed command while AWS accepts connections and never answers | 503 within Slack's 3 s (the request path's operation timeouts) |
//! | `ingress::*` | API Gateway REST v1 and HTTP API v2 requests, base64 bodies, on the Slack route (a signed slash command) and the GitHub route (a signed `workflow_run` webhook); the same with forged signatures | 200 and the event on the bus once; forged: 401 and nothing published |
//! | `package::*` | ingress's real zip (cargo-lambda and zig, profile `lambda-ci`, built by `./tests/run`): `pulse infra package` twice, `pulse infra deploy --packages` twice; then the zip's own `bootstrap` fed a signed HTTP API v2 slash command | the first package uploads it and records it in the manifest, the second uploads nothing; the function is created from the S3 key with the zip's `CodeSha256`, the second deploy writes nothing; the bootstrap answers 200 and the command is on the bus once |
//! | `praktika::*` | praktika's raw JSON invocation (`subscribe`), then one missing `user_id` | `slack.command` on the bus and in the home-renderer's queue; the bad one fails the invocation (`/error`, naming the field), nothing published |
//!
//! Run: `./tests/run -p pulse-tests -E 'binary(fault) and test(/^lambda::/)'`.

mod consumers;
mod events;
mod function;
mod ingress;
mod init_calls;
mod init_errors;
mod package;
mod praktika;
