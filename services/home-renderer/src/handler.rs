//! The home-renderer's I/O shell: subscription store, `subscription.changed`, Slack
//! (`users.info`, `views.publish`, `response_url`).
//!
//! [`crate::commands::classify`] decides what an event is to this service; the runtime claims the
//! envelope's `dedup_key` before [`HomeRenderer::run`] does the work (a redelivered command does
//! not toggle twice; a duplicate is acknowledged without doing anything).
//!
//! A subscription change is stored first (conditional transaction), then announced, then the
//! view is published, then the user is told. Each step is safe to redo: a retry after a failure
//! further down finds the change already stored, announces it if the announcement was lost (the
//! item's `published_revision` lags its `revision`), and republishes the view.

use futures::StreamExt;
use pulse_aws::eventbridge::EventPublisher;
use pulse_contracts::{Email, Event, FeedUpdated, SubscriptionImported};
use pulse_core::{Clock, Ids};
use pulse_runtime::{Accept, Attempt, HandlerError, MessageHandler};
use pulse_slack::blocks::{Message, ResponseMessage};
use tracing::{error, info, warn};

use crate::commands::{self, Classified, EmailChoice, Reply, Work};
use crate::import::Kept;
use crate::store::{Store, Stored};
use crate::subscriptions::{Change, NoChange, Op, Outcome};
use crate::views::{FeedRef, Mode, Published, ViewError, ViewPublisher};

/// Views published in parallel for one `feed.updated`.
pub const FANOUT_CONCURRENCY: usize = 8;

pub struct HomeRenderer {
    pub(crate) store: Store,
    pub(crate) views: ViewPublisher,
    pub(crate) publisher: EventPublisher,
    /// When and under which id `subscription.changed` is announced.
    pub(crate) clock: Clock,
    pub(crate) ids: Ids,
}

impl HomeRenderer {
    pub fn new(store: Store, views: ViewPublisher, publisher: EventPublisher, clock: Clock, ids: Ids) -> Self {
        Self { store, views, publisher, clock, ids }
    }

    pub fn views(&self) -> &ViewPublisher {
        &self.views
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Does one unit of work (the runtime's claim is around it; tests and tools call it bare).
    pub async fn run(&self, work: Work) -> Result<(), HandlerError> {
        match work {
            Work::Subscribe { team_id, user_id, email, reply } => self.subscribe(&team_id, &user_id, email, &reply).await,
            Work::Unsubscribe { user_id, reply, .. } => self.unsubscribe(&user_id, &reply).await,
            Work::Toggle { user_id, toggle, on, .. } => {
                let applied = self.apply(&user_id, &Op::Set { toggle, on }).await?;
                match &applied.0 {
                    Outcome::Changed { change, .. } => info!(user = %user_id, ?change, "preference changed"),
                    Outcome::Unchanged(why) => info!(user = %user_id, ?why, "preference unchanged"),
                }
                self.announce(&user_id, applied.1.as_ref()).await?;
                self.publish_view(&user_id, Mode::IfChanged, None, None).await
            }
            Work::Refresh { user_id, .. } => self.publish_view(&user_id, Mode::Always, None, None).await,
            Work::FeedUpdated(update) => self.feed_updated(&update).await,
            Work::Import(import) => self.import(import).await,
            Work::Forget(request) => self.forget(&request).await,
            Work::Github { user_id, op, response_url } => self.github(&user_id, &op, &response_url).await,
        }
    }

    /// `/praktika github add|remove`: stored, announced, the view republished (it lists the
    /// accounts and shows their feeds), and the user told.
    async fn github(&self, user: &str, op: &Op, response_url: &str) -> Result<(), HandlerError> {
        let (outcome, current) = self.apply(user, op).await?;
        info!(user, outcome = ?outcome_name(&outcome), "github account");
        self.announce(user, current.as_ref()).await?;
        self.publish_view(user, Mode::Always, None, None).await?;
        let linked = current.as_ref().map(|c| crate::render::github_accounts_text(&c.sub.github)).unwrap_or_default();
        let text = match &outcome {
            Outcome::Changed { change: Change::GithubLinked { account, replaced: None }, .. } => format!(
                ":white_check_mark: Your Home tab and DMs now also follow the GitHub account *{}*: the commits it authored with its noreply address and the runs it triggered.{linked}",
                account.login
            ),
            Outcome::Changed { change: Change::GithubLinked { account, replaced: Some(old) }, .. } => {
                format!(":white_check_mark: The GitHub account *{old}* is now called *{}* here too.{linked}", account.login)
            }
            Outcome::Changed { change: Change::GithubUnlinked { account }, .. } => {
                format!("You no longer follow the GitHub account *{}*.{linked}", account.login)
            }
            Outcome::Unchanged(NoChange::AlreadyLinked(account)) => {
                format!("You already follow the GitHub account *{}*.{linked}", account.login)
            }
            Outcome::Unchanged(NoChange::NotLinked(login)) => {
                format!("No GitHub account `{login}` is linked to your subscription.{linked}")
            }
            Outcome::Unchanged(NoChange::TooManyAccounts) => format!(
                "You follow {} GitHub accounts already, the most one subscription takes: `/praktika github remove LOGIN` one first.",
                crate::subscriptions::MAX_GITHUB_ACCOUNTS
            ),
            _ => "You are not subscribed to a CI feed: `/praktika subscribe [email]` first, then add GitHub accounts to it.".to_owned(),
        };
        self.tell(user, &Reply::ResponseUrl(response_url.to_owned()), &text).await
    }

    /// A subscription imported from praktika: stored unless the user has Pulse state of their
    /// own ([`crate::import`]), announced, and with `publish_home` the Home view published.
    async fn import(&self, import: Box<SubscriptionImported>) -> Result<(), HandlerError> {
        let user = import.slack_user_id.clone();
        let publish_home = import.publish_home;
        let (email, key, etag) = (import.email.to_string(), import.source.key.clone(), import.source.etag.clone());
        let (outcome, current) = self.apply(&user, &Op::Import(import)).await?;
        match &outcome {
            Outcome::Changed { next, change } => {
                info!(user, email, source_key = %key, source_etag = %etag, revision = next.revision, ?change, "subscription import: stored praktika's subscription")
            }
            Outcome::Unchanged(NoChange::ImportKept(Kept::AlreadyImported)) => {
                info!(user, email, source_key = %key, "subscription import: already imported, nothing to change")
            }
            Outcome::Unchanged(why) => {
                let pulse = current.as_ref().map(|c| (c.sub.email.to_string(), c.sub.state, c.sub.revision));
                info!(user, praktika_email = email, source_key = %key, ?why, ?pulse, "subscription import: kept the user's Pulse state")
            }
        }
        self.announce(&user, current.as_ref()).await?;
        if publish_home {
            self.publish_view(&user, Mode::Always, None, None).await?;
        }
        Ok(())
    }

    async fn apply(&self, user: &str, op: &Op) -> Result<(Outcome, Option<Stored>), HandlerError> {
        let applied = self.store.apply(user, op).await.map_err(HandlerError::retryable)?;
        Ok((applied.outcome, applied.current))
    }

    async fn subscribe(&self, team_id: &str, user: &str, choice: EmailChoice, reply: &Reply) -> Result<(), HandlerError> {
        let email = match self.resolve_email(user, choice).await {
            Ok(email) => email,
            Err(why) => {
                info!(user, reason = %why, "subscribe refused");
                return self.tell(user, reply, &why).await;
            }
        };
        let (outcome, current) = self.apply(user, &Op::Subscribe { team_id: team_id.to_owned(), email: email.clone() }).await?;
        let text = match &outcome {
            Outcome::Changed { change: Change::Switched { from }, .. } => format!(
                ":white_check_mark: You now follow the CI feed of *{email}* instead of *{from}*. Your Home tab shows it; your toggles are kept."
            ),
            Outcome::Changed { change: Change::Resubscribed, .. } => format!(
                ":white_check_mark: You're subscribed to the CI feed of *{email}* again, with your previous toggles. Open the app's *Home* tab to see it."
            ),
            _ => format!(
                ":white_check_mark: You're subscribed to the CI feed of *{email}*. Open the app's *Home* tab to see your PRs and how CI is doing on each; its toggles choose what shows and when you get DMs."
            ),
        };
        info!(user, email = %email, outcome = ?outcome_name(&outcome), "subscribe");
        self.announce(user, current.as_ref()).await?;
        self.publish_view(user, Mode::Always, None, None).await?;
        match reply {
            Reply::ResponseUrl(_) => self.tell(user, reply, &text).await,
            Reply::HomeTab => Ok(()),
        }
    }

    async fn unsubscribe(&self, user: &str, reply: &Reply) -> Result<(), HandlerError> {
        let (outcome, current) = self.apply(user, &Op::Unsubscribe).await?;
        info!(user, outcome = ?outcome_name(&outcome), "unsubscribe");
        self.announce(user, current.as_ref()).await?;
        self.publish_view(user, Mode::Always, None, None).await?;
        let text = match current.filter(|c| !c.sub.is_active()) {
            Some(gone) => format!(
                "You unsubscribed from the CI feed of *{}*. `/praktika subscribe` brings it back, with your toggles, within 30 days.",
                gone.sub.email
            ),
            None => "You are not subscribed to any CI feed. `/praktika subscribe [email]` starts one.".to_owned(),
        };
        match reply {
            Reply::ResponseUrl(_) => self.tell(user, reply, &text).await,
            Reply::HomeTab => Ok(()),
        }
    }

    /// The email to follow, or the sentence telling the user why there is none.
    async fn resolve_email(&self, user: &str, choice: EmailChoice) -> Result<Email, String> {
        match choice {
            EmailChoice::Given(email) => Ok(email),
            EmailChoice::Invalid { given, reason } => Err(format!(
                "`{given}` is not an email address ({reason}). Try `/praktika subscribe you@example.com`, or `/praktika subscribe` to use the email on your Slack profile."
            )),
            EmailChoice::Profile => match self.views.slack().users_info(user).await {
                Ok(profile) => match profile.email {
                    None => Err(
                        "Your Slack profile has no email I can read, so I don't know which feed to follow. Use `/praktika subscribe you@example.com` with your Git commit email."
                            .to_owned(),
                    ),
                    Some(raw) => Email::parse(raw).map_err(|e| {
                        format!("The email on your Slack profile cannot be used ({}). Use `/praktika subscribe you@example.com` instead.", e.reason)
                    }),
                },
                Err(err) => {
                    warn!(user, error = %err, "users.info failed while subscribing");
                    let why = err.api_error().map_or_else(|| "Slack did not answer".to_owned(), |code| format!("Slack said `{code}`"));
                    Err(format!(
                        "I could not read your Slack profile to find your email ({why}). Try again in a minute, or use `/praktika subscribe you@example.com`."
                    ))
                }
            },
        }
    }

    /// Tells the user `text`: an ephemeral message on the command's `response_url`, or, for a
    /// Home-tab button, the not-subscribed view with the text as its notice. A failed
    /// `response_url` post is logged and not retried: the work is done, and Slack allows only 5
    /// posts per URL.
    async fn tell(&self, user: &str, reply: &Reply, text: &str) -> Result<(), HandlerError> {
        match reply {
            Reply::ResponseUrl(url) => {
                let body = ResponseMessage::ephemeral(Message::new(text, [])).replace_original(false).to_json();
                if let Err(err) = self.views.slack().post_response_url(url, &body).await {
                    warn!(user, error = %err, "could not post the outcome to the command's response_url");
                }
                Ok(())
            }
            Reply::HomeTab => self.publish_view(user, Mode::Always, None, Some(text)).await,
        }
    }

    /// Publishes `subscription.changed` for the stored state if it was not yet, then records it.
    async fn announce(&self, user: &str, current: Option<&Stored>) -> Result<(), HandlerError> {
        let Some(stored) = current.filter(|c| c.needs_announcing()) else {
            return Ok(());
        };
        let envelope = stored.sub.changed_envelope(&self.ids, self.clock.now()).to_raw();
        self.publisher
            .publish(std::slice::from_ref(&envelope))
            .await
            .map_err(|e| HandlerError::retryable(format!("publishing subscription.changed: {e}")))?;
        info!(user, revision = stored.sub.revision, state = ?stored.sub.state, "subscription.changed published");
        self.store.mark_published(user, stored.sub.revision).await.map_err(HandlerError::retryable)
    }

    pub(crate) async fn publish_view(
        &self,
        user: &str,
        mode: Mode,
        feed: Option<&FeedRef>,
        notice: Option<&str>,
    ) -> Result<(), HandlerError> {
        match self.views.publish(user, mode, feed, notice).await {
            Ok(Published::Published { seq }) => {
                info!(user, seq, "home view published");
                Ok(())
            }
            Ok(Published::Unchanged) => {
                info!(user, "home view already up to date");
                Ok(())
            }
            Err(err) if err.is_transient() => Err(HandlerError::retryable(format!("home view of {user}: {err}"))),
            Err(err) => {
                // Retrying cannot help (the user left the workspace, the token lacks a scope...).
                error!(user, error = %err, "home view not published");
                Ok(())
            }
        }
    }

    async fn feed_updated(&self, update: &FeedUpdated) -> Result<(), HandlerError> {
        let users = self.store.subscribers(update.email.as_str()).await.map_err(HandlerError::retryable)?;
        if users.is_empty() {
            info!(email = %update.email, "nobody follows this feed");
            return Ok(());
        }
        let feed = FeedRef { email: update.email.to_string(), bucket: update.bucket.clone(), key: update.key.clone() };
        let results: Vec<(String, Result<Published, ViewError>)> = futures::stream::iter(users)
            .map(|user| {
                let feed = &feed;
                async move {
                    let result = self.views.publish(&user, Mode::IfChanged, Some(feed), None).await;
                    (user, result)
                }
            })
            .buffer_unordered(FANOUT_CONCURRENCY)
            .collect()
            .await;
        let total = results.len();
        let mut transient = Vec::new();
        for (user, result) in results {
            match result {
                Ok(Published::Published { seq }) => info!(user = %user, seq, email = %update.email, "home view published"),
                Ok(Published::Unchanged) => info!(user = %user, email = %update.email, "home view already shows this feed"),
                Err(err) if err.is_transient() => {
                    warn!(user = %user, error = %err, "home view not published; will retry");
                    transient.push(format!("{user}: {err}"));
                }
                Err(err) => error!(user = %user, error = %err, "home view not published"),
            }
        }
        if transient.is_empty() {
            Ok(())
        } else {
            // Redelivery republishes only the views that are behind (Mode::IfChanged).
            Err(HandlerError::retryable(format!("{} of {total} home views failed: {}", transient.len(), transient[0])))
        }
    }
}

fn outcome_name(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Changed { change: Change::Subscribed, .. } => "subscribed",
        Outcome::Changed { change: Change::Resubscribed, .. } => "resubscribed",
        Outcome::Changed { change: Change::Switched { .. }, .. } => "switched",
        Outcome::Changed { change: Change::Unsubscribed, .. } => "unsubscribed",
        Outcome::Changed { change: Change::Toggled { .. }, .. } => "toggled",
        Outcome::Changed { change: Change::Imported { .. }, .. } => "imported",
        Outcome::Changed { change: Change::GithubLinked { .. }, .. } => "github account linked",
        Outcome::Changed { change: Change::GithubUnlinked { .. }, .. } => "github account unlinked",
        Outcome::Unchanged(NoChange::AlreadyLinked(_)) => "github account already linked",
        Outcome::Unchanged(NoChange::NotLinked(_)) => "github account not linked",
        Outcome::Unchanged(NoChange::TooManyAccounts) => "too many github accounts",
        Outcome::Unchanged(NoChange::AlreadySubscribed) => "already subscribed",
        Outcome::Unchanged(NoChange::NotSubscribed) => "not subscribed",
        Outcome::Unchanged(NoChange::AlreadySet { .. }) => "already set",
        Outcome::Unchanged(NoChange::ImportKept(_)) => "import kept the Pulse state",
    }
}

impl MessageHandler for HomeRenderer {
    type Input = Work;

    fn service(&self) -> &'static str {
        "home-renderer"
    }

    fn accept(&self, event: Event) -> Accept<Work> {
        match commands::classify(event) {
            Classified::Work(work) => Accept::Consume(work),
            Classified::Ignore(reason) => Accept::Ignore(reason),
            Classified::Reject(reason) => Accept::Reject(reason),
        }
    }

    async fn handle(&self, _attempt: &Attempt, work: Work) -> Result<(), HandlerError> {
        self.run(work).await
    }
}
