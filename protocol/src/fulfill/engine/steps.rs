//! The engine's vocabulary: the steps it hands its driver, the answers it takes, and the
//! options of a run.

use std::time::Duration;

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
    /// Record these `Granting` records durably, taking each entitlement for this run (see
    /// [`crate::Journal::claim`]); answer [`EngineInput::Claimed`].
    Claim(Vec<JournalRecord>),
    /// Append these records durably; answer [`EngineInput::Appended`].
    AppendJournal(Vec<JournalRecord>),
    /// Grant these (up to 100); answer [`EngineInput::Granted`] with one outcome each, in order.
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
        }
    }
}

pub(super) fn check_requests_in_flight(requests: usize) -> Result<usize, Error> {
    if (1..=MAX_REQUESTS_IN_FLIGHT).contains(&requests) {
        return Ok(requests);
    }
    Err(Error::invalid(
        "requests_in_flight",
        format!("{requests} is not within 1..={MAX_REQUESTS_IN_FLIGHT}"),
    ))
}
