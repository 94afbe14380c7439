//! What `drops serve` exposes on `GET /metrics`: its own counters, the claim-to-grant
//! latency histogram, and the client's metrics, as Prometheus text.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use twitch_drops::{Grant, GrantOutcome, GrantRequest};

use crate::settings::DropsClient;

/// Counters of the service itself (the client's metrics hold the rest).
#[derive(Default)]
pub struct Counters {
    pub messages: AtomicU64,
    pub duplicates: AtomicU64,
    pub refused: AtomicU64,
    pub pushed: AtomicU64,
    pub reconciled: AtomicU64,
    pub runs: AtomicU64,
    /// From a claim to its grant answered.
    pub claim_to_grant: Histogram,
}

/// The upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 86400.0,
];

/// A Prometheus histogram of seconds, lock-free.
#[derive(Default)]
pub struct Histogram {
    /// Observations at or below each bound (not cumulative; summed when written).
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, seconds: f64) {
        let seconds = seconds.max(0.0);
        if let Some(i) = BUCKETS.iter().position(|&bound| seconds <= bound) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} histogram\n"));
        let mut cumulative = 0;
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            out.push_str(&format!("{name}_bucket{{le=\"{bound}\"}} {cumulative}\n"));
        }
        let count = self.count.load(Ordering::Relaxed);
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        out.push_str(&format!(
            "{name}_bucket{{le=\"+Inf\"}} {count}\n{name}_sum {sum}\n{name}_count {count}\n"
        ));
    }
}

/// The studio's grant, timed: each first grant that answers granted is observed from the
/// entitlement's timestamp (when the viewer claimed, on Twitch's clock: an offset between
/// the two clocks shifts the figure by as much) to the answer. Resumed grants are not
/// observed: their time includes a crash.
pub struct TimedGrant {
    pub grant: Box<dyn Grant + Send>,
    pub counters: Arc<Counters>,
}

impl TimedGrant {
    fn observe(&self, request: &GrantRequest, outcome: &GrantOutcome) {
        if request.resumed || *outcome != GrantOutcome::Granted {
            return;
        }
        let Ok(claimed) = OffsetDateTime::parse(&request.entitlement.timestamp, &Rfc3339) else {
            return;
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let claimed = claimed.unix_timestamp_nanos() as f64 / 1e9;
        self.counters.claim_to_grant.observe(now - claimed);
    }
}

impl Grant for TimedGrant {
    fn grant(&mut self, request: &GrantRequest) -> GrantOutcome {
        let outcome = self.grant.grant(request);
        self.observe(request, &outcome);
        outcome
    }

    fn grant_batch(&mut self, requests: &[GrantRequest]) -> Vec<GrantOutcome> {
        let outcomes = self.grant.grant_batch(requests);
        for (request, outcome) in requests.iter().zip(&outcomes) {
            self.observe(request, outcome);
        }
        outcomes
    }
}

/// The counters as Prometheus text.
pub fn prometheus(client: &DropsClient, counters: &Counters) -> String {
    let mut out = String::new();
    let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let metrics = client.metrics();
    let totals: [(&str, &str, u64); 10] = [
        (
            "drops_eventsub_messages_total",
            "EventSub notifications received (verified).",
            n(&counters.messages),
        ),
        (
            "drops_eventsub_duplicates_total",
            "Notifications delivered again, answered and dropped.",
            n(&counters.duplicates),
        ),
        (
            "drops_eventsub_refused_total",
            "Webhook requests refused (bad signature, stale, malformed).",
            n(&counters.refused),
        ),
        (
            "drops_pushed_entitlements_total",
            "Entitlements pushed by EventSub.",
            n(&counters.pushed),
        ),
        (
            "drops_reconciled_fulfilled_total",
            "Entitlements fulfilled by the reconciliation drains.",
            n(&counters.reconciled),
        ),
        (
            "drops_runs_total",
            "Engine runs (pushes and drains).",
            n(&counters.runs),
        ),
        (
            "drops_granted_total",
            "Grants that answered granted.",
            metrics.granted,
        ),
        (
            "drops_resumed_grants_total",
            "Grants called again after a crash.",
            metrics.resumed_grants,
        ),
        (
            "drops_rate_limited_total",
            "Answers 429.",
            metrics.rate_limited,
        ),
        (
            "drops_rate_limit_waits_total",
            "Waits for the rate limit.",
            metrics.rate_limit_waits,
        ),
    ];
    for (name, help, value) in totals {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
        ));
    }
    out.push_str("# HELP drops_requests_total Requests to Twitch by route and status.\n# TYPE drops_requests_total counter\n");
    for (route, by_status) in &metrics.requests {
        for (status, count) in by_status {
            out.push_str(&format!(
                "drops_requests_total{{route=\"{}\",status=\"{status}\"}} {count}\n",
                route.replace(['\\', '"', '\n'], "_")
            ));
        }
    }
    counters.claim_to_grant.write(
        &mut out,
        "drops_claim_to_grant_seconds",
        "From a viewer's claim (the entitlement's timestamp, Twitch's clock) to its grant answered.",
    );
    out.push_str(
        "# HELP drops_retries_total Retries by reason.\n# TYPE drops_retries_total counter\n",
    );
    for (reason, count) in &metrics.retries {
        out.push_str(&format!(
            "drops_retries_total{{reason=\"{reason}\"}} {count}\n"
        ));
    }
    out
}
