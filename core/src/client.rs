//! The blocking client: a thin loop that drives the sans-IO operations with a [`Transport`]
//! and a [`Clock`]. What its operations share (tokens, request count, the rate-limit bucket
//! that paces them) is its [`Session`], which other drivers may share too.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::analytics::{self, AnalyticsPage, AnalyticsQuery, AnalyticsReport};
use crate::device::{self, DeviceCode};
use crate::entitlements::{
    self, Entitlement, EntitlementPages, EntitlementsPage, EntitlementsQuery, FulfillmentStatus,
};
use crate::eventsub;
use crate::token::{self, AccessToken, OAuthToken, TokenInfo};
use crate::update::{self, UpdateReport};
use crate::{Clock, Config, Error, Input, Operation, RateLimit, Session, Step, Transport};

/// A Drops client. Share it between threads by reference (`&Client` is `Sync` when the
/// transport is): calls run concurrently and a token is fetched once for all of them.
/// Most pages of EventSub subscriptions read looking for one (Twitch allows an app 10 000
/// subscriptions, 100 to a page).
pub const MAX_SUBSCRIPTION_PAGES: usize = 100;

pub struct Client<T, C> {
    config: Config,
    transport: T,
    clock: C,
    session: Arc<Session>,
}

impl<T, C> std::fmt::Debug for Client<T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .field("requests", &self.session.requests_sent())
            .finish_non_exhaustive()
    }
}

#[cfg(all(feature = "ureq", not(target_arch = "wasm32")))]
impl Client<crate::UreqTransport, crate::SystemClock> {
    /// A client over the default transport and the system clock.
    pub fn new(config: Config) -> Result<Self, Error> {
        Self::with_transport(config, crate::UreqTransport::new(), crate::SystemClock)
    }
}

impl<T: Transport, C: Clock> Client<T, C> {
    /// A client over any transport and clock (tests, engines' own HTTP stacks).
    pub fn with_transport(config: Config, transport: T, clock: C) -> Result<Self, Error> {
        config.validate()?;
        Ok(Client {
            session: Arc::new(Session::new(&config)),
            config,
            transport,
            clock,
        })
    }

    /// The settings this client was made with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// What this client's operations share; drive operations of your own with
    /// [`Session::authorized`] to share its token.
    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// Runs any operation to completion, its token requests answered from the session: the
    /// loop every method below uses.
    pub fn run<O: Operation>(&self, operation: O) -> Result<O::Output, Error> {
        let mut operation = self.session.authorized(operation);
        let mut input = Input::Start;
        loop {
            input = match operation.resume(input, self.clock.now_ms()) {
                Step::Send(request) => self.perform(request),
                Step::Sleep(duration) if operation.waiting_for_token() => {
                    // Another thread is fetching the token: wake as soon as it is done.
                    self.session.wait_for_token(duration);
                    Input::Slept
                }
                Step::Sleep(duration) => {
                    self.clock.sleep(duration);
                    Input::Slept
                }
                Step::Authorize { rejected } => Input::Token(self.authorize(rejected)),
                Step::Done(result) => return result,
            };
        }
    }

    /// Sends one request (the session has counted it and paced it).
    pub(crate) fn perform(&self, request: crate::HttpRequest) -> Input {
        self.transport.send(request).into()
    }

    pub(crate) fn transport(&self) -> &T {
        &self.transport
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    pub(crate) fn sleep(&self, duration: std::time::Duration) {
        self.clock.sleep(duration)
    }

    /// Answers a [`Step::Authorize`] from the session (fetching a token if needed, through
    /// this client's transport), for a state machine of the caller's that the session does
    /// not wrap.
    pub fn authorize(&self, rejected: Option<u64>) -> Result<AccessToken, Error> {
        self.run(self.session.authorize(rejected))
    }

    /// One page of entitlements.
    pub fn entitlements_page(&self, query: &EntitlementsQuery) -> Result<EntitlementsPage, Error> {
        self.run(entitlements::get_entitlements(&self.config, query)?)
    }

    /// Every page of entitlements matching `query`, one request per page.
    pub fn entitlement_pages(&self, query: EntitlementsQuery) -> Pages<'_, T, C> {
        match EntitlementPages::new(query) {
            Ok(pages) => Pages {
                client: self,
                pages: Some(pages),
                error: None,
            },
            Err(e) => Pages {
                client: self,
                pages: None,
                error: Some(e),
            },
        }
    }

    /// Every entitlement matching `query`, paging as needed (one page in memory at a time).
    pub fn entitlements(&self, query: EntitlementsQuery) -> Entitlements<'_, T, C> {
        Entitlements {
            pages: self.entitlement_pages(query),
            current: VecDeque::new(),
        }
    }

    /// Sets `ids` (any number) to `status`, in batches of 100, with a per-id outcome.
    pub fn update_entitlements<S: AsRef<str>>(
        &self,
        ids: &[S],
        status: FulfillmentStatus,
    ) -> Result<UpdateReport, Error> {
        self.run(update::update_entitlements(&self.config, ids, status)?)
    }

    /// A page of analytics reports (needs a user token with `analytics:read:games`).
    pub fn game_analytics(&self, query: &AnalyticsQuery) -> Result<AnalyticsPage, Error> {
        self.run(analytics::get_game_analytics(&self.config, query)?)
    }

    /// Downloads a report's CSV (no credentials are sent with it).
    pub fn download_report(&self, report: &AnalyticsReport) -> Result<Vec<u8>, Error> {
        self.run(analytics::download_report(&self.config, &report.url)?)
    }

    /// Asks Twitch about the current token (renewing it once if Twitch says 401).
    pub fn validate_token(&self) -> Result<TokenInfo, Error> {
        self.run(token::validate(&self.config))
    }

    /// Starts a device login: show the code's `user_code` and `verification_uri` to the
    /// user, then call [`Client::finish_device_flow`].
    pub fn start_device_flow(&self, scopes: &[&str]) -> Result<DeviceCode, Error> {
        self.run(device::start_device_flow(&self.config, scopes)?)
    }

    /// Polls until the user approves the login, then uses the new user token for every
    /// later call. Returns it so it can be stored.
    pub fn finish_device_flow(&self, code: &DeviceCode) -> Result<OAuthToken, Error> {
        let poll = device::poll_device_flow(&self.config, code);
        self.run(self.session.installing(poll))
    }

    /// The current user token and refresh token, to persist between runs.
    pub fn user_token(&self) -> Option<OAuthToken> {
        self.session.user_token()
    }

    /// The rate-limit bucket as the last response described it.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.session.rate_limit()
    }

    /// HTTP requests sent so far (every attempt counts).
    pub fn requests_sent(&self) -> u64 {
        self.session.requests_sent()
    }

    /// This client's counters so far: requests by route and status, retries by reason, 429s,
    /// time waited for the rate limit, tokens fetched, grants by outcome, resumed grants,
    /// journal recoveries (see [`MetricsSnapshot`](crate::MetricsSnapshot)).
    pub fn metrics(&self) -> crate::MetricsSnapshot {
        self.session.metrics()
    }

    /// The app's `drop.entitlement.grant` subscription of `condition` to `callback_url`, if
    /// Twitch has one: the one a 409 answer to `eventsub::subscription_request` says exists
    /// (a restart, another instance). Reads the app's subscriptions page by page, at most
    /// [`MAX_SUBSCRIPTION_PAGES`] and never a cursor twice.
    pub fn find_drop_grant_subscription(
        &self,
        condition: &eventsub::DropGrantCondition,
        callback_url: &str,
    ) -> Result<Option<eventsub::Subscription>, Error> {
        let mut cursor: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_SUBSCRIPTION_PAGES {
            let page = self.run(eventsub::subscriptions_request(
                &self.config,
                cursor.as_deref(),
            )?)?;
            if let Some(found) = page.find(condition, callback_url) {
                return Ok(Some(found.clone()));
            }
            match page.cursor {
                Some(next) if seen.insert(next.clone()) => cursor = Some(next),
                _ => return Ok(None),
            }
        }
        Ok(None)
    }
}

/// Pages of entitlements ([`Client::entitlement_pages`]). Ends after the last page or the
/// first error.
pub struct Pages<'c, T, C> {
    client: &'c Client<T, C>,
    pages: Option<EntitlementPages>,
    error: Option<Error>,
}

impl<T: Transport, C: Clock> Iterator for Pages<'_, T, C> {
    type Item = Result<EntitlementsPage, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.error.take() {
            self.pages = None;
            return Some(Err(e));
        }
        let pages = self.pages.as_mut()?;
        let result = pages
            .next_request(&self.client.config)
            .transpose()?
            .and_then(|op| self.client.run(op));
        match result {
            Ok(page) => {
                // A cursor that did not move ends paging with an error after this page.
                self.error = pages.advance(&page).err();
                Some(Ok(page))
            }
            Err(e) => {
                self.pages = None;
                Some(Err(e))
            }
        }
    }
}

/// Entitlements one at a time ([`Client::entitlements`]).
pub struct Entitlements<'c, T, C> {
    pages: Pages<'c, T, C>,
    current: VecDeque<Entitlement>,
}

impl<T: Transport, C: Clock> Iterator for Entitlements<'_, T, C> {
    type Item = Result<Entitlement, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(e) = self.current.pop_front() {
                return Some(Ok(e));
            }
            match self.pages.next()? {
                Ok(page) => self.current = page.entitlements.into(),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
