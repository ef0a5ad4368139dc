//! The catalogue as a Rust enum: one variant per event type and version.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};
use serde_json::Value;
use uuid::Uuid;

use crate::envelope::Envelope;
use crate::error::ContractError;
use crate::events::*;
use crate::praktika::FeedEvent;

/// An envelope whose detail has been parsed into its type.
///
/// Serializing it gives the wire envelope: `detail` is the typed detail itself, with no enum tag.
pub type TypedEnvelope = Envelope<Event>;

/// A detail type that belongs to exactly one catalogue entry.
pub trait EventDetail: Serialize + DeserializeOwned + Into<Event> {
    const EVENT_TYPE: &'static str;
    const VERSION: u32;

    /// Wrap into a new envelope (see [`Event::into_envelope`]).
    fn into_envelope(self, source: &str, dedup_key: impl Into<String>, id: Uuid, occurred_at: DateTime<Utc>) -> Envelope<Event> {
        self.into().into_envelope(source, dedup_key, id, occurred_at)
    }
}

/// Declares the catalogue once: the enum, [`CATALOGUE`], the type/version accessors, parsing
/// by type and version, serialization as the bare detail, and `From`/[`EventDetail`] impls.
macro_rules! catalogue {
    ($( $(#[$doc:meta])* $variant:ident($ty:ty) = ($name:literal, $version:literal), )*) => {
        /// Every event Pulse knows, by type and version.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Event {
            $( $(#[$doc])* $variant($ty), )*
        }

        /// Every `(type, version)` this crate parses, in catalogue order.
        pub const CATALOGUE: &[(&str, u32)] = &[ $( ($name, $version), )* ];

        impl Event {
            /// The envelope `type`, e.g. `ci.workflow`.
            pub fn event_type(&self) -> &'static str {
                match self { $( Event::$variant(_) => $name, )* }
            }

            /// The envelope `version`.
            pub fn version(&self) -> u32 {
                match self { $( Event::$variant(_) => $version, )* }
            }

            /// Parse a `detail` of the given type and version.
            pub fn from_detail(event_type: &str, version: u32, detail: Value) -> Result<Event, ContractError> {
                match (event_type, version) {
                    $( ($name, $version) => decode::<$ty>(event_type, version, detail).map(Event::$variant), )*
                    _ => Err(ContractError::unknown(event_type, version)),
                }
            }
        }

        impl Serialize for Event {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self { $( Event::$variant(detail) => detail.serialize(serializer), )* }
            }
        }

        $(
            impl From<$ty> for Event {
                fn from(detail: $ty) -> Event {
                    Event::$variant(detail)
                }
            }

            impl EventDetail for $ty {
                const EVENT_TYPE: &'static str = $name;
                const VERSION: u32 = $version;
            }
        )*
    };
}

catalogue! {
    /// A workflow result from CI, in praktika's Event shape.
    CiWorkflowV1(FeedEvent) = ("ci.workflow", 1),
    /// One job's lifecycle: started / completed.
    CiJobV1(CiJob) = ("ci.job", 1),
    /// v1 with `host` renamed `runner`.
    CiJobV2(CiJobV2) = ("ci.job", 2),
    /// A platform event for the ops channels.
    OpsAlertV1(OpsAlert) = ("ops.alert", 1),
    /// A product's new user signed up.
    UserRegisteredV1(UserRegistered) = ("user.registered", 1),
    /// A verified slash command.
    SlackCommandV1(SlackCommand) = ("slack.command", 1),
    /// v1 with a channel's GitHub repository subscriptions (`subscribe_repo`, ...).
    SlackCommandV2(SlackCommandV2) = ("slack.command", 2),
    /// v2 with a subscription's GitHub accounts (`github_link`, `github_unlink`).
    SlackCommandV3(SlackCommandV3) = ("slack.command", 3),
    /// A verified button click or modal submission.
    SlackInteractionV1(SlackInteraction) = ("slack.interaction", 1),
    /// A user opened the app's Home tab.
    SlackHomeOpenedV1(SlackHomeOpened) = ("slack.home_opened", 1),
    /// A commit author's feed changed.
    FeedUpdatedV1(FeedUpdated) = ("feed.updated", 1),
    /// A user's full new subscription state.
    SubscriptionChangedV1(SubscriptionChanged) = ("subscription.changed", 1),
    /// A deploy or rollback was asked for.
    DeployRequestedV1(DeployRequested) = ("deploy.requested", 1),
    /// Progress of a deploy.
    DeployStatusV1(DeployStatus) = ("deploy.status", 1),
    /// A digest schedule fired.
    DigestTickV1(DigestTick) = ("digest.tick", 1),
    /// A feed object may have been written by someone else (praktika's runner).
    FeedWrittenV1(FeedWritten) = ("feed.written", 1),
    /// A user's subscription imported from praktika (`pulse migrate praktika`).
    SubscriptionImportedV1(SubscriptionImported) = ("subscription.imported", 1),
    /// Remove a person from everywhere Pulse keeps them (`pulse forget`).
    PersonForgetV1(PersonForget) = ("person.forget", 1),
    /// One service's report of what it removed for a `person.forget`.
    PersonForgottenV1(PersonForgotten) = ("person.forgotten", 1),
    /// A GitHub Actions `workflow_run` webhook delivery, verified by ingress.
    GithubWorkflowRunV1(GithubWorkflowRun) = ("github.workflow_run", 1),
    /// A GitHub Actions `workflow_job` webhook delivery, verified by ingress.
    GithubWorkflowJobV1(GithubWorkflowJob) = ("github.workflow_job", 1),
}

/// The versions of `event_type` in the catalogue (empty when the type is unknown).
pub fn supported_versions(event_type: &str) -> Vec<u32> {
    CATALOGUE.iter().filter(|(t, _)| *t == event_type).map(|(_, v)| *v).collect()
}

impl Event {
    /// The detail as JSON, exactly as it goes on the wire.
    pub fn to_detail(&self) -> Value {
        serde_json::to_value(self).expect("a detail always serializes")
    }

    /// The EventBridge detail-type, `<type>.v<version>`.
    pub fn detail_type(&self) -> String {
        crate::envelope::detail_type(self.event_type(), self.version())
    }

    /// Wrap into a new envelope, `type` / `version` from the variant. `id` identifies the message
    /// (a fresh one from the producer's `pulse_core::Ids`) and `occurred_at` is the producer's
    /// now (its `pulse_core::Clock`): both are given, never read here, so producers stay pure
    /// and tests predict them. `dedup_key` should identify the fact, not the message (for
    /// example the Slack `event_id`), so a producer retrying the same fact produces the same key.
    pub fn into_envelope(self, source: &str, dedup_key: impl Into<String>, id: Uuid, occurred_at: DateTime<Utc>) -> Envelope<Event> {
        Envelope {
            id,
            event_type: self.event_type().to_owned(),
            version: self.version(),
            occurred_at,
            source: source.to_owned(),
            dedup_key: dedup_key.into(),
            detail: self,
        }
    }
}

impl Envelope<Event> {
    /// The same envelope with the detail as JSON (what goes on the wire).
    pub fn to_raw(&self) -> Envelope<Value> {
        Envelope {
            id: self.id,
            event_type: self.event_type.clone(),
            version: self.version,
            occurred_at: self.occurred_at,
            source: self.source.clone(),
            dedup_key: self.dedup_key.clone(),
            detail: self.detail.to_detail(),
        }
    }
}

/// Deserialize a detail, naming the offending field on failure.
fn decode<T: DeserializeOwned>(event_type: &str, version: u32, detail: Value) -> Result<T, ContractError> {
    serde_path_to_error::deserialize(detail).map_err(|err| {
        let message = err.inner().to_string();
        ContractError::InvalidDetail {
            event_type: event_type.to_owned(),
            version,
            path: field_path("detail", err.path(), &message),
            message,
        }
    })
}

/// `root` followed by the path in dotted form (`detail.result.results[2].status`). For a missing
/// field serde reports the enclosing object, so the field's own name is appended.
pub(crate) fn field_path(root: &str, path: &serde_path_to_error::Path, message: &str) -> String {
    use serde_path_to_error::Segment;
    use std::fmt::Write;

    let mut out = root.to_owned();
    for segment in path.iter() {
        // Writing to a String cannot fail.
        let _ = match segment {
            Segment::Seq { index } => write!(out, "[{index}]"),
            Segment::Map { key } => write!(out, ".{key}"),
            Segment::Enum { variant } => write!(out, ".{variant}"),
            Segment::Unknown => write!(out, ".?"),
        };
    }
    if let Some(field) = missing_field(message) {
        out.push('.');
        out.push_str(field);
    }
    out
}

/// The field named by serde's "missing field `x`" message.
fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split_once('`').map(|(field, _)| field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_no_duplicates_and_every_variant() {
        let mut seen = std::collections::HashSet::new();
        for entry in CATALOGUE {
            assert!(seen.insert(entry), "{entry:?} listed twice");
        }
        assert_eq!(CATALOGUE.len(), 21);
        assert_eq!(supported_versions("slack.command"), vec![1, 2, 3]);
        assert_eq!(supported_versions("ci.job"), vec![1, 2]);
        assert_eq!(supported_versions("ci.workflow"), vec![1]);
        assert!(supported_versions("ci.nope").is_empty());
    }

    #[test]
    fn missing_field_is_appended_to_the_path() {
        assert_eq!(missing_field("missing field `status` (required when ...)"), Some("status"));
        assert_eq!(missing_field("invalid type: null"), None);
    }

    #[test]
    fn typed_details_report_their_catalogue_entry() {
        let tick = DigestTick { period: DigestPeriod::Daily, scheduled_for: Utc::now() };
        assert_eq!((DigestTick::EVENT_TYPE, DigestTick::VERSION), ("digest.tick", 1));
        let event = Event::from(tick);
        assert_eq!((event.event_type(), event.version()), ("digest.tick", 1));
        assert_eq!(event.detail_type(), "digest.tick.v1");
        assert_eq!(event.to_detail()["period"], "daily");
    }
}
