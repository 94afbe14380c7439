//! The engine's vocabulary: the steps it hands its driver, the answers it takes, and the
//! options of a run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[cfg(doc)]
use super::Engine;
use crate::entitlements::EntitlementsQuery;
use crate::error::Error;
use crate::fulfill::grant::{GrantOutcome, GrantRequest};
use crate::fulfill::journal::{JournalError, JournalRecord};
use crate::fulfill::report::FulfillReport;
use crate::http::{HttpRequest, HttpResponse};
use crate::step::Input;
use crate::transport::TransportError;

/// Passes over the list a run makes at most: a pass repeats only when the one before found
/// something new, which a list that settles stops doing within a few passes.
pub(super) const MAX_PASSES: u32 = 64;
/// Requests out at once, by default, for drivers that run steps side by side.
pub const DEFAULT_REQUESTS_IN_FLIGHT: usize = 4;
/// The most requests [`FulfillOptions::requests_in_flight`] allows out at once.
pub const MAX_REQUESTS_IN_FLIGHT: usize = 16;
/// Grants handed out at once, by default: one, so a crash leaves at most the one grant
/// that was running in doubt.
pub const DEFAULT_GRANTS_IN_FLIGHT: usize = 1;
/// The most grants [`FulfillOptions::grants_in_flight`] hands out at once (one PATCH's worth).
pub const MAX_GRANTS_IN_FLIGHT: usize = 100;

/// Names a step that is out; its answer is fed back with it ([`Engine::advance`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ticket(pub(super) u64);

/// What the engine needs next: Twitch's side (several may be out at once), the studio's
/// side (one at a time), or the end. Typed, so a driver hands each kind to what can do it
/// and has no step it cannot answer.
#[derive(Debug)]
pub enum EngineStep {
    /// A request or a wait.
    Twitch(TwitchStep),
    /// The journal or the grant function.
    Studio(StudioStep),
    /// The run is over.
    Done(FulfillReport),
}

/// A step on Twitch's side: the transport and the clock answer it.
#[derive(Debug)]
pub enum TwitchStep {
    /// Perform this request; answer [`EngineInput::Response`] or `TransportFailed`.
    Send(HttpRequest),
    /// Wait; answer [`EngineInput::Slept`].
    Sleep(Duration),
}

/// A step on the studio's side: the journal and the grant function answer it.
#[derive(Debug)]
pub enum StudioStep {
    /// Read the journal; answer [`EngineInput::JournalLoaded`].
    LoadJournal,
    /// Append `append` (the answers of the grants before), then record the `Granting`
    /// records of `claim` durably, taking each entitlement for this run, in one write where
    /// the journal can (see [`crate::Journal::append_and_claim`]); answer
    /// [`EngineInput::Claimed`].
    Claim {
        append: Vec<JournalRecord>,
        claim: Vec<JournalRecord>,
    },
    /// Append these records durably; answer [`EngineInput::Appended`].
    AppendJournal(Vec<JournalRecord>),
    /// Grant these (up to [`FulfillOptions::grants_in_flight`]); answer
    /// [`EngineInput::Granted`] with one outcome each, in order.
    Grant(Vec<GrantRequest>),
}

/// What the driver feeds the engine.
#[derive(Debug)]
pub enum EngineInput {
    Start,
    Response(HttpResponse),
    TransportFailed(TransportError),
    Slept,
    JournalLoaded(Result<Vec<JournalRecord>, JournalError>),
    Appended(Result<(), JournalError>),
    /// The ids of the claim another instance holds (not taken: not to be granted here).
    Claimed(Result<Vec<String>, JournalError>),
    Granted(Vec<GrantOutcome>),
}

impl EngineInput {
    pub(super) fn name(&self) -> &'static str {
        match self {
            EngineInput::Start => "Start",
            EngineInput::Response(_) => "Response",
            EngineInput::TransportFailed(_) => "TransportFailed",
            EngineInput::Slept => "Slept",
            EngineInput::JournalLoaded(_) => "JournalLoaded",
            EngineInput::Appended(_) => "Appended",
            EngineInput::Claimed(_) => "Claimed",
            EngineInput::Granted(_) => "Granted",
        }
    }

    /// The input as an operation's input, if it is an HTTP-level answer.
    pub(super) fn into_http(self) -> Result<Input, EngineInput> {
        match self {
            EngineInput::Start => Ok(Input::Start),
            EngineInput::Response(r) => Ok(Input::Response(r)),
            EngineInput::TransportFailed(e) => Ok(Input::TransportFailed(e)),
            EngineInput::Slept => Ok(Input::Slept),
            other => Err(other),
        }
    }
}

/// Which entitlements to fulfill, and how patient to be with failing viewers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FulfillOptions {
    /// Filters (game, user); the status is always CLAIMED, the page size 1000 unless set.
    pub query: EntitlementsQuery,
    /// Unconfirmed updates of one viewer after which their other entitlements are skipped
    /// for the rest of the run.
    pub quarantine_after: u32,
    /// Requests to Twitch out at once (1..=16, default 4) for drivers that pipeline (the
    /// blocking `twitch_drops::Client::fulfill`, [`Engine::advance`]); 1 takes one step at a time
    /// (no grant beside a request either), as [`Engine::resume`] does.
    pub requests_in_flight: usize,
    /// Grants handed to the grant function at once (1..=100, default 1): they are claimed in
    /// the journal together, run (one `grant_batch` call, or a host's grants side by side),
    /// and their answers recorded together with the next claim. After a crash only these
    /// can be in doubt (granted again as `resumed`); more at once means fewer journal
    /// writes (one per batch), and a grant function that runs them side by side goes faster.
    pub grants_in_flight: usize,
    /// Stops the run gracefully once raised, from any thread (see [`Engine::interrupt`]).
    pub stop_signal: Option<StopSignal>,
}

impl FulfillOptions {
    /// Every CLAIMED entitlement of `game_id`.
    pub fn game(game_id: impl Into<String>) -> Self {
        Self::new(EntitlementsQuery::new().game(game_id))
    }

    /// Every CLAIMED entitlement matching `query`.
    pub fn new(query: EntitlementsQuery) -> Self {
        FulfillOptions {
            query,
            quarantine_after: 1,
            requests_in_flight: DEFAULT_REQUESTS_IN_FLIGHT,
            grants_in_flight: DEFAULT_GRANTS_IN_FLIGHT,
            stop_signal: None,
        }
    }
}

/// A graceful stop asked from another thread (a Ctrl-C handler, a game's quit button): raise
/// it and the runs given it stop as [`Engine::interrupt`] says. Raising it only stores to an
/// atomic flag, so a signal handler may do it. Clones share the flag.
#[derive(Clone, Default)]
pub struct StopSignal(Arc<AtomicBool>);

impl StopSignal {
    /// A signal not raised yet.
    pub fn new() -> StopSignal {
        StopSignal::default()
    }

    /// Asks every run holding this signal to stop gracefully.
    pub fn raise(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// True once raised.
    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl std::fmt::Debug for StopSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("StopSignal")
            .field(&self.is_raised())
            .finish()
    }
}

/// Two signals are equal when they are the same flag.
impl PartialEq for StopSignal {
    fn eq(&self, other: &StopSignal) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for StopSignal {}

pub(super) fn check_requests_in_flight(requests: usize) -> Result<usize, Error> {
    if (1..=MAX_REQUESTS_IN_FLIGHT).contains(&requests) {
        return Ok(requests);
    }
    Err(Error::invalid(
        "requests_in_flight",
        format!("{requests} is not within 1..={MAX_REQUESTS_IN_FLIGHT}"),
    ))
}

pub(super) fn check_grants_in_flight(grants: usize) -> Result<usize, Error> {
    if (1..=MAX_GRANTS_IN_FLIGHT).contains(&grants) {
        return Ok(grants);
    }
    Err(Error::invalid(
        "grants_in_flight",
        format!("{grants} is not within 1..={MAX_GRANTS_IN_FLIGHT}"),
    ))
}
