//! Control of the fake: the operations behind [`FakeTwitch`](crate::FakeTwitch)'s methods,
//! and the same operations as unauthenticated HTTP routes under `/_fake/` for the binary's
//! users (the table is in the crate docs). Admin routes are not counted, journaled, rate
//! limited or faulted.

use std::io::ErrorKind;
use std::sync::Arc;

use hyper::Method;
use serde::Deserialize;
use serde_json::json;

use crate::claim_stream::ClaimStream;
use crate::entitlement::Entitlement;
use crate::eventsub::{self, Delivery, DeliveryOutcome, EventSubSubscription};
use crate::faults::Faults;
use crate::http::{param, Reply, Request};
use crate::journal::JournalEntry;
use crate::seed::Seed;
use crate::state::State;
use crate::stats::Stats;
use crate::tokens::UserTokens;

impl State {
    pub(crate) fn info(&self) -> serde_json::Value {
        let seed = self.lock().seed.clone();
        json!({
            "games": seed.our_games(),
            "foreign_games": seed.foreign_games,
            "base_url": self.base_url,
            "helix_url": format!("{}/helix", self.base_url),
            "auth_url": format!("{}/oauth2", self.base_url),
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "organization_id": eventsub::ORGANIZATION_ID,
        })
    }

    pub(crate) fn stats(&self) -> Stats {
        self.lock().stats()
    }

    pub(crate) fn journal(&self) -> Vec<JournalEntry> {
        self.lock().journal.clone()
    }

    pub(crate) fn entitlements(&self) -> Vec<Entitlement> {
        self.lock().store.all()
    }

    pub(crate) fn insert_entitlement(&self, e: Entitlement) {
        self.lock().store.insert(e);
    }

    pub(crate) fn faults(&self) -> Faults {
        self.lock().faults.faults.clone()
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        let mut inner = self.lock();
        inner.faults.set(faults);
        inner.tokens.reset_uses();
    }

    pub(crate) fn set_rate_limit(&self, per_minute: u32, burst: u32) {
        self.lock().limiter.configure(per_minute, burst);
    }

    pub(crate) fn reset(&self, seed: Seed) {
        self.lock().reset(seed);
    }

    pub(crate) fn startup_seed(&self) -> Seed {
        self.lock().startup_seed.clone()
    }

    pub(crate) fn user_token(&self, user_id: &str, scopes: &[String]) -> UserTokens {
        let grant = self
            .lock()
            .tokens
            .issue_user(&self.client_id, user_id, scopes);
        UserTokens {
            access_token: grant.access_token,
            refresh_token: grant.refresh_token,
        }
    }

    pub(crate) fn app_token(&self) -> String {
        self.lock().tokens.issue_app(&self.client_id).0
    }

    pub(crate) fn approve_device(&self, user_code: &str, user_id: &str) -> bool {
        self.lock().tokens.approve_device(user_code, user_id)
    }

    pub(crate) fn eventsub_subscriptions(&self) -> Vec<EventSubSubscription> {
        self.lock().eventsub.subscriptions()
    }

    pub(crate) async fn deliver(&self, delivery: &Delivery) -> std::io::Result<DeliveryOutcome> {
        eventsub::deliver(self, delivery).await
    }
}

#[derive(Deserialize)]
struct RateLimitBody {
    per_minute: u32,
    #[serde(default)]
    burst: u32,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(Box<Entitlement>),
    Many(Vec<Entitlement>),
}

fn parse<T: for<'de> Deserialize<'de>>(req: &Request) -> Result<T, Reply> {
    serde_json::from_slice(&req.body)
        .map_err(|e| Reply::helix_error(400, &format!("invalid JSON body: {e}")))
}

fn done<T>(result: Result<T, Reply>) -> Reply {
    match result {
        Ok(_) => Reply::empty(204),
        Err(reply) => reply,
    }
}

/// The seed `POST /_fake/reset` asks for: the start-up seed with the body's fields (a JSON
/// object, possibly empty or absent) in place of its own. An unknown field is a 400.
fn reset_seed(state: &State, req: &Request) -> Result<Seed, Reply> {
    let mut seed = serde_json::to_value(state.startup_seed())
        .map_err(|e| Reply::helix_error(500, &format!("cannot encode the seed: {e}")))?;
    if !req.body.iter().all(u8::is_ascii_whitespace) {
        let serde_json::Value::Object(fields) = parse::<serde_json::Value>(req)? else {
            return Err(Reply::helix_error(
                400,
                "the reset body is a JSON object of Seed fields (entitlements, games, \
                 foreign_games, users, fulfilled_fraction, rng_seed)",
            ));
        };
        if let serde_json::Value::Object(base) = &mut seed {
            base.extend(fields);
        }
    }
    serde_json::from_value(seed).map_err(|e| Reply::helix_error(400, &format!("invalid seed: {e}")))
}

/// The answer to `POST /_fake/eventsub/deliver`: the outcome, 400 for a bad request or
/// a replay with nothing to replay, 502 when the callback could not be reached.
async fn deliver(state: &State, req: &Request) -> Reply {
    let delivery = match parse::<Delivery>(req) {
        Ok(delivery) => delivery,
        Err(reply) => return reply,
    };
    match state.deliver(&delivery).await {
        Ok(outcome) => Reply::json(200, &outcome),
        Err(e) if matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::NotFound) => {
            Reply::helix_error(400, &e.to_string())
        }
        Err(e) => Reply::helix_error(502, &format!("could not deliver to the callback: {e}")),
    }
}

/// One admin request.
pub(crate) async fn handle(state: &Arc<State>, req: &Request) -> Reply {
    let segments: Vec<&str> = req.path.trim_end_matches('/').split('/').skip(2).collect();
    let get = req.method == Method::GET;
    let post = req.method == Method::POST;
    match segments.as_slice() {
        ["info"] if get => Reply::json(200, &state.info()),
        ["stats"] if get => Reply::json(200, &state.stats()),
        ["journal"] if get => Reply::json(200, &state.journal()),
        ["entitlements"] if get => Reply::json(200, &state.entitlements()),
        ["entitlements"] if post => done(parse::<OneOrMany>(req).map(|body| match body {
            OneOrMany::One(e) => state.insert_entitlement(*e),
            OneOrMany::Many(list) => list.into_iter().for_each(|e| state.insert_entitlement(e)),
        })),
        ["faults"] if get => Reply::json(200, &state.faults()),
        ["faults"] if post => done(parse::<Faults>(req).map(|f| state.set_faults(f))),
        ["rate_limit"] if post => {
            done(parse::<RateLimitBody>(req).map(|b| state.set_rate_limit(b.per_minute, b.burst)))
        }
        ["reset"] if post => done(reset_seed(state, req).map(|s| state.reset(s))),
        ["users", user_id, "token"] if post => {
            let q = req.query_pairs();
            let scopes: Vec<String> = param(&q, "scopes")
                .unwrap_or("")
                .split_whitespace()
                .map(str::to_string)
                .collect();
            Reply::json(200, &state.user_token(user_id, &scopes))
        }
        ["device", user_code, "approve"] if post => {
            let q = req.query_pairs();
            let Some(user_id) = param(&q, "user_id") else {
                return Reply::helix_error(400, "missing user_id");
            };
            if state.approve_device(user_code, user_id) {
                Reply::empty(204)
            } else {
                Reply::helix_error(404, "no pending device login with that user code")
            }
        }
        ["eventsub", "subscriptions"] if get => Reply::json(200, &state.eventsub_subscriptions()),
        ["eventsub", "deliver"] if post => deliver(state, req).await,
        ["eventsub", "stream"] if get => Reply::json(200, &state.claim_stream_stats()),
        ["eventsub", "stream"] if post => match parse::<ClaimStream>(req) {
            Ok(stream) => match state.stream_claims(stream) {
                Ok(()) => Reply::empty(204),
                Err(e) => Reply::helix_error(400, &e.to_string()),
            },
            Err(reply) => reply,
        },
        _ => Reply::helix_error(404, "unknown admin route"),
    }
}
