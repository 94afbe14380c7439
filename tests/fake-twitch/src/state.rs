//! Everything the running server knows, behind one lock.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use crate::claim_stream::Running;
use crate::config::FakeConfig;
use crate::eventsub::EventSub;
use crate::faults::FaultState;
use crate::journal::JournalEntry;
use crate::rate_limit::RateLimiter;
use crate::reports::Reports;
use crate::seed::Seed;
use crate::stats::Stats;
use crate::store::Store;
use crate::tokens::Tokens;

/// Shared by the server's tasks and the [`FakeTwitch`](crate::FakeTwitch) handle.
#[derive(Debug)]
pub(crate) struct State {
    inner: Mutex<Inner>,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base_url: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
}

/// The mutable part.
#[derive(Debug)]
pub(crate) struct Inner {
    /// What the store was last filled from.
    pub(crate) seed: Seed,
    /// What the server started with: `POST /_fake/reset` returns to it, field by field.
    pub(crate) startup_seed: Seed,
    pub(crate) store: Store,
    pub(crate) tokens: Tokens,
    pub(crate) limiter: RateLimiter,
    pub(crate) faults: FaultState,
    pub(crate) reports: Reports,
    pub(crate) eventsub: EventSub,
    pub(crate) claim_stream: Running,
    pub(crate) journal: Vec<JournalEntry>,
    /// `at_ms` is measured from here.
    pub(crate) epoch: Instant,
    pub(crate) requests: usize,
    pub(crate) requests_by_route: BTreeMap<String, usize>,
    pub(crate) rate_limited: usize,
    pub(crate) faults_injected: BTreeMap<String, usize>,
    pub(crate) busy_micros: u64,
}

impl State {
    pub(crate) fn new(config: &FakeConfig, base_url: String) -> State {
        State {
            inner: Mutex::new(Inner {
                seed: config.seed.clone(),
                startup_seed: config.seed.clone(),
                store: Store::new(&config.seed),
                tokens: Tokens::new(config.token_ttl_secs),
                limiter: RateLimiter::new(config.rate_limit_per_minute, config.rate_limit_burst),
                faults: FaultState::new(config.faults.clone()),
                reports: Reports::new(config.report_ttl_secs),
                eventsub: EventSub::new(&config.seed),
                claim_stream: Running::default(),
                journal: Vec::new(),
                epoch: Instant::now(),
                requests: 0,
                requests_by_route: BTreeMap::new(),
                rate_limited: 0,
                faults_injected: BTreeMap::new(),
                busy_micros: 0,
            }),
            base_url,
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
        }
    }

    /// The lock; a panic in another holder does not make the fake unusable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    pub(crate) fn stats(&self) -> Stats {
        let (claimed, fulfilled) = self.store.counts();
        Stats {
            claimed,
            fulfilled,
            games: self.store.counts_by_game(),
            duplicate_fulfill_attempts: self.store.duplicate_fulfill_attempts,
            requests: self.requests,
            requests_by_route: self.requests_by_route.clone(),
            rate_limited: self.rate_limited,
            faults_injected: self.faults_injected.clone(),
            tokens_issued: self.tokens.issued,
            busy_micros: self.busy_micros,
        }
    }

    /// Wipe and reseed; zero counters and the journal. Tokens, faults, the rate-limit
    /// shape and EventSub subscriptions stay; buckets are refilled, report links and the
    /// last EventSub message forgotten, a claim stream stopped.
    pub(crate) fn reset(&mut self, seed: Seed) {
        self.store = Store::new(&seed);
        self.eventsub.reseed(&seed);
        self.claim_stream.stop();
        self.claim_stream.stats = Default::default();
        self.seed = seed;
        self.tokens.issued = 0;
        self.limiter.refill_all();
        let faults = self.faults.faults.clone();
        self.faults.set(faults);
        self.reports.clear();
        self.journal.clear();
        self.epoch = Instant::now();
        self.requests = 0;
        self.requests_by_route.clear();
        self.rate_limited = 0;
        self.faults_injected.clear();
        self.busy_micros = 0;
    }

    /// Counts a fault the fake injected (`"500"`, `"503"`, `"429"`, `"drop"`, `"truncate"`).
    pub(crate) fn injected(&mut self, fault: &str) {
        *self.faults_injected.entry(fault.to_owned()).or_default() += 1;
    }
}
