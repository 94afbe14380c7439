//! Viewers claiming drops on their own: a stream of new CLAIMED entitlements at a steady
//! rate, each batch pushed to every enabled `drop.entitlement.grant` subscription the way
//! Twitch pushes them — batched, retried while the callback fails, and with the faults
//! Twitch's own issue tracker reports: messages never delivered, delivered twice, delivered
//! late. Started by `POST /_fake/eventsub/stream` or [`FakeTwitch::stream_claims`]; a new
//! stream replaces the one running, and a reset stops it.
//!
//! [`FakeTwitch::stream_claims`]: crate::FakeTwitch::stream_claims

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::eventsub::{message_headers, sign, timestamp};
use crate::rng::Rng;
use crate::state::State;
use crate::webhook;

/// Most claims one stream makes.
const MAX_CLAIMS: usize = 10_000_000;
/// Fewest milliseconds between two batches.
const MIN_BATCH_MS: u64 = 1;
/// The waits before each redelivery of a message the callback did not take (2xx), as
/// Twitch retries with backoff; after the last, the message is counted `failed`.
const RETRY_MS: [u64; 6] = [250, 500, 1000, 2000, 4000, 8000];

/// A stream to start: the body of `POST /_fake/eventsub/stream`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClaimStream {
    /// How many claims in all (1..=10 000 000).
    pub claims: usize,
    /// Claims per second (above 0, at most 100 000).
    pub per_second: f64,
    /// The claims made within this many milliseconds go out in one message (Twitch
    /// batches `drop.entitlement.grant`); 0: every claim in a message of its own.
    pub batch_ms: u64,
    /// The fraction of messages never delivered (a push Twitch lost).
    pub lost_rate: f64,
    /// The fraction delivered twice, with the same message id, `duplicate_after_ms` apart.
    pub duplicate_rate: f64,
    /// How long after the first delivery a duplicate follows.
    pub duplicate_after_ms: u64,
    /// The fraction delivered `late_ms` late.
    pub late_rate: f64,
    /// How late a late message is.
    pub late_ms: u64,
    /// Draws which messages are lost, doubled or late.
    pub rng_seed: u64,
}

impl Default for ClaimStream {
    fn default() -> Self {
        ClaimStream {
            claims: 100,
            per_second: 10.0,
            batch_ms: 100,
            lost_rate: 0.0,
            duplicate_rate: 0.0,
            duplicate_after_ms: 500,
            late_rate: 0.0,
            late_ms: 5000,
            rng_seed: 7,
        }
    }
}

impl ClaimStream {
    fn check(&self) -> Result<(), String> {
        let rate = |name: &str, value: f64| {
            if (0.0..=1.0).contains(&value) {
                Ok(())
            } else {
                Err(format!("`{name}` must be in 0..=1, not {value}"))
            }
        };
        if !(1..=MAX_CLAIMS).contains(&self.claims) {
            return Err(format!(
                "`claims` must be 1..={MAX_CLAIMS}, not {}",
                self.claims
            ));
        }
        if !(self.per_second > 0.0 && self.per_second <= 100_000.0) {
            return Err(format!(
                "`per_second` must be above 0 and at most 100000, not {}",
                self.per_second
            ));
        }
        rate("lost_rate", self.lost_rate)?;
        rate("duplicate_rate", self.duplicate_rate)?;
        rate("late_rate", self.late_rate)?;
        for (name, ms) in [
            ("batch_ms", self.batch_ms),
            ("duplicate_after_ms", self.duplicate_after_ms),
            ("late_ms", self.late_ms),
        ] {
            if ms > 600_000 {
                return Err(format!("`{name}` must be at most 600000, not {ms}"));
            }
        }
        Ok(())
    }
}

/// What the stream has done so far (`GET /_fake/eventsub/stream`). Zeroed by a new stream
/// and by a reset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClaimStreamStats {
    /// True while claims are still being made or messages are still to be delivered.
    pub running: bool,
    /// Claims made (CLAIMED entitlements put in the store; Helix lists them).
    pub claims: usize,
    /// Messages made (one per batch and enabled subscription).
    pub messages: usize,
    /// Claims made while no subscription was enabled: nothing pushed them.
    pub unpushed_claims: usize,
    /// Messages never sent on purpose (`lost_rate`), and the claims they held.
    pub lost: usize,
    /// Claims in the lost messages.
    pub lost_claims: usize,
    /// Messages sent a second time on purpose (`duplicate_rate`).
    pub duplicated: usize,
    /// Messages held back `late_ms` on purpose (`late_rate`).
    pub late: usize,
    /// Deliveries the callback answered 2xx (a duplicate counts again).
    pub delivered: usize,
    /// Deliveries sent again because the callback failed or answered otherwise.
    pub retries: usize,
    /// Messages given up on after every retry, and the claims they held.
    pub failed: usize,
    /// Claims in the failed messages.
    pub failed_claims: usize,
}

/// The running stream, inside [`State`]'s lock.
#[derive(Debug, Default)]
pub(crate) struct Running {
    pub(crate) stats: ClaimStreamStats,
    task: Option<AbortHandle>,
    /// Messages sent or waiting to be (the stream is running while any are).
    pending: usize,
    /// Which stream this is: deliveries of a replaced one are no longer counted.
    generation: u64,
}

impl Running {
    /// Stops making claims and sending messages; the counts stay.
    pub(crate) fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.generation += 1;
        self.pending = 0;
        self.stats.running = false;
    }
}

impl State {
    /// Starts `stream`, replacing the one running. Errors: `InvalidInput`.
    pub(crate) fn stream_claims(self: &Arc<Self>, stream: ClaimStream) -> io::Result<()> {
        stream
            .check()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut inner = self.lock();
        inner.claim_stream.stop();
        inner.claim_stream.stats = ClaimStreamStats {
            running: true,
            ..ClaimStreamStats::default()
        };
        let generation = inner.claim_stream.generation;
        let task = tokio::spawn(run(Arc::clone(self), stream, generation));
        inner.claim_stream.task = Some(task.abort_handle());
        Ok(())
    }

    pub(crate) fn claim_stream_stats(&self) -> ClaimStreamStats {
        self.lock().claim_stream.stats.clone()
    }
}

/// One message to send: where, signed with what, and what it holds.
struct Message {
    generation: u64,
    callback: String,
    secret: String,
    message_id: String,
    timestamp: String,
    body: Bytes,
    claims: usize,
}

/// Makes the claims, batch by batch, on schedule (claim `k` is due at `k / per_second`),
/// and spawns each batch's messages.
async fn run(state: Arc<State>, stream: ClaimStream, generation: u64) {
    let mut rng = Rng::new(stream.rng_seed);
    let started = Instant::now();
    let started_wall = OffsetDateTime::now_utc();
    // Claim `k` is made at `k / per_second`: its timestamp, though it waits for its batch.
    let claimed_at =
        |k: usize| started_wall + Duration::from_secs_f64(k as f64 / stream.per_second);
    let batch = Duration::from_millis(stream.batch_ms.max(MIN_BATCH_MS));
    let mut made = 0usize;
    while made < stream.claims {
        let due = ((started.elapsed().as_secs_f64() * stream.per_second).floor() as usize + 1)
            .min(stream.claims);
        if due > made {
            let times: Vec<OffsetDateTime> = (made..due).map(claimed_at).collect();
            made = due;
            for message in make_batch(&state, &times, generation) {
                send(&state, &stream, &mut rng, message);
            }
        }
        if made >= stream.claims {
            break;
        }
        // The next claim's due time, or the batch window, whichever is later.
        let next = started + Duration::from_secs_f64(made as f64 / stream.per_second);
        let wait = if stream.batch_ms == 0 {
            next.saturating_duration_since(Instant::now())
        } else {
            batch.max(next.saturating_duration_since(Instant::now()))
        };
        tokio::time::sleep(wait).await;
    }
    let mut inner = state.lock();
    inner.claim_stream.task = None;
    inner.claim_stream.stats.running = inner.claim_stream.pending > 0;
}

/// New claims made at `times`, and one message holding them for each enabled
/// subscription, sent now.
fn make_batch(state: &State, times: &[OffsetDateTime], generation: u64) -> Vec<Message> {
    let now = OffsetDateTime::now_utc();
    let count = times.len();
    let mut inner = state.lock();
    let (_, events) = inner.grant(times);
    inner.claim_stream.stats.claims += count;
    let targets = inner.eventsub.enabled();
    if targets.is_empty() {
        inner.claim_stream.stats.unpushed_claims += count;
    }
    let events = Value::Array(events);
    targets
        .into_iter()
        .map(|(callback, secret, subscription)| Message {
            generation,
            callback,
            secret,
            message_id: inner.eventsub.message_id(),
            timestamp: timestamp(now),
            body: Bytes::from(
                json!({ "subscription": subscription, "events": events }).to_string(),
            ),
            claims: count,
        })
        .collect()
}

/// Draws the message's faults and spawns its deliveries.
fn send(state: &Arc<State>, stream: &ClaimStream, rng: &mut Rng, message: Message) {
    let mut inner = state.lock();
    let stats = &mut inner.claim_stream.stats;
    stats.messages += 1;
    if rng.chance(stream.lost_rate) {
        stats.lost += 1;
        stats.lost_claims += message.claims;
        return;
    }
    let delay = if rng.chance(stream.late_rate) {
        stats.late += 1;
        Duration::from_millis(stream.late_ms)
    } else {
        Duration::ZERO
    };
    let twice = rng.chance(stream.duplicate_rate);
    let message = Arc::new(message);
    let mut sends = vec![delay];
    if twice {
        stats.duplicated += 1;
        sends.push(delay + Duration::from_millis(stream.duplicate_after_ms));
    }
    inner.claim_stream.pending += sends.len();
    inner.claim_stream.stats.running = true;
    for after in sends {
        let (state, message) = (Arc::clone(state), Arc::clone(&message));
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            deliver(&state, &message).await;
        });
    }
}

/// Sends `message` until the callback answers 2xx, retrying with backoff as Twitch does.
async fn deliver(state: &State, message: &Message) {
    let target = webhook::target(&message.callback);
    let mut delivered = false;
    for (attempt, wait) in std::iter::once(0).chain(RETRY_MS).enumerate() {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
        {
            // A reset or a new stream ended this one: nothing more of it is sent.
            let mut inner = state.lock();
            if inner.claim_stream.generation != message.generation {
                return;
            }
            if attempt > 0 {
                inner.claim_stream.stats.retries += 1;
            }
        }
        let Ok(target) = &target else { break };
        let signature = sign(
            &message.secret,
            &message.message_id,
            &message.timestamp,
            &message.body,
        );
        let mut headers = message_headers(
            &message.message_id,
            &message.timestamp,
            signature,
            "notification",
        );
        if let Some(retry) = headers
            .iter_mut()
            .find(|(name, _)| name == "Twitch-Eventsub-Message-Retry")
        {
            retry.1 = attempt.to_string();
        }
        if let Ok(answer) = webhook::post(target, &headers, message.body.clone()).await {
            if (200..300).contains(&answer.status) {
                delivered = true;
                break;
            }
        }
    }
    let mut inner = state.lock();
    let running = &mut inner.claim_stream;
    if running.generation != message.generation {
        return;
    }
    if delivered {
        running.stats.delivered += 1;
    } else {
        running.stats.failed += 1;
        running.stats.failed_claims += message.claims;
    }
    running.pending = running.pending.saturating_sub(1);
    running.stats.running = running.task.is_some() || running.pending > 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_streams_are_refused_with_the_field() {
        let ok = ClaimStream::default();
        assert_eq!(ok.check(), Ok(()));
        for (stream, field) in [
            (
                ClaimStream {
                    claims: 0,
                    ..ok.clone()
                },
                "claims",
            ),
            (
                ClaimStream {
                    per_second: 0.0,
                    ..ok.clone()
                },
                "per_second",
            ),
            (
                ClaimStream {
                    per_second: f64::NAN,
                    ..ok.clone()
                },
                "per_second",
            ),
            (
                ClaimStream {
                    lost_rate: 1.5,
                    ..ok.clone()
                },
                "lost_rate",
            ),
            (
                ClaimStream {
                    duplicate_rate: -0.1,
                    ..ok.clone()
                },
                "duplicate_rate",
            ),
            (
                ClaimStream {
                    late_ms: 700_000,
                    ..ok.clone()
                },
                "late_ms",
            ),
        ] {
            let error = stream.check().expect_err(field);
            assert!(error.contains(field), "{error}");
        }
    }
}
