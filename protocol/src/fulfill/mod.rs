//! Fulfillment: claim → grant → fulfill, so that no reward is lost or granted twice.
//!
//! A studio supplies a [`Grant`] function; the [`Engine`] (sans-IO) does the rest, and a
//! [`Journal`] makes it exactly-once across crashes. The `twitch-drops` crate's
//! `Client::fulfill` drives it with blocking I/O; a [`HostedRun`] lets a host that must never
//! block drive it.

mod engine;
mod grant;
mod hosted;
mod journal;
mod report;

pub use engine::{
    Engine, EngineInput, EngineStep, FulfillOptions, StopSignal, StudioStep, Ticket, TwitchStep,
    DEFAULT_GRANTS_IN_FLIGHT, DEFAULT_REQUESTS_IN_FLIGHT, MAX_GRANTS_IN_FLIGHT,
    MAX_REQUESTS_IN_FLIGHT,
};
pub use grant::{Grant, GrantOutcome, GrantRequest};
pub use hosted::{HostAnswer, HostStep, HostedRun};
pub use journal::{
    check_records, Journal, JournalError, JournalRecord, MemoryJournal, Recovery, SettledIds,
    SETTLED_RETENTION,
};
pub use report::{FulfillReport, SettledState, Settlement};
