//! Drain benchmark: `drops fulfill`'s engine against the in-process fake Twitch.
//!
//! For N = 1 000, 20 000 and 200 000 CLAIMED entitlements it prints the requests used
//! (and the minimum, ⌈N/1000⌉ + ⌈N/100⌉), the wall time, the fake's own busy time (the
//! floor), and the client's peak heap (allocations made on the client's thread only, so
//! the fake's store does not count). Then drains under a bucket against the bucket's bound
//! (Twitch's own 800/minute with 100 000 entitlements; a small burst with the client's clock
//! 90 s ahead of and behind the server's), and
//! the two ways to drain a positional cursor safely compared by requests: passes over the
//! CLAIMED list until one finds nothing new (the engine), or reading it all before updating.
//!
//! `cargo bench -p twitch-drops --bench drain` (add `-- 1000 20000` to pick sizes).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fake_twitch::{FakeConfig, FakeTwitch, Seed};
use twitch_drops::fulfill::DEFAULT_REQUESTS_IN_FLIGHT;
use twitch_drops::{
    Client, Clock, Config, Credentials, FulfillOptions, GrantOutcome, GrantRequest, MemoryJournal,
    SystemClock, UreqTransport,
};

/// The system clock moved by a fixed offset: a client whose clock is off the server's.
struct SkewedClock(i64);

impl Clock for SkewedClock {
    fn now_ms(&self) -> u64 {
        SystemClock.now_ms().saturating_add_signed(self.0)
    }

    fn sleep(&self, duration: Duration) {
        SystemClock.sleep(duration)
    }
}

/// Counts live heap bytes allocated by threads that opted in, and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static MEASURED: Cell<bool> = const { Cell::new(false) };
}

fn measured() -> bool {
    MEASURED.try_with(|m| m.get()).unwrap_or(false)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if measured() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if measured() {
            LIVE.fetch_sub(
                layout.size().min(LIVE.load(Ordering::Relaxed)),
                Ordering::Relaxed,
            );
        }
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const GAME: &str = "509658";

struct Run {
    listed: u64,
    requests: u64,
    seconds: f64,
    busy_seconds: f64,
    rate_limited: usize,
    peak_heap: usize,
}

fn fake(entitlements: usize, bucket: Option<(u32, u32)>, latency_ms: u64) -> FakeTwitch {
    let mut config = FakeConfig::new();
    config.faults.latency_ms = latency_ms;
    config.seed = Seed::claimed_of(GAME, entitlements, 1000, 1);
    config.rate_limit_per_minute = 0;
    if let Some((per_minute, burst)) = bucket {
        config.rate_limit_per_minute = per_minute;
        config.rate_limit_burst = burst;
    }
    FakeTwitch::start(config).expect("the fake starts")
}

fn client(fake: &FakeTwitch) -> Client<UreqTransport, SkewedClock> {
    skewed_client(fake, 0)
}

fn skewed_client(fake: &FakeTwitch, clock_offset_ms: i64) -> Client<UreqTransport, SkewedClock> {
    let sdk = Config::new(
        fake.client_id(),
        Credentials::ClientSecret(fake.client_secret().into()),
    )
    .with_helix_url(fake.helix_url())
    .with_auth_url(fake.auth_url());
    Client::with_transport(sdk, UreqTransport::new(), SkewedClock(clock_offset_ms))
        .expect("the client")
}

fn drain(
    entitlements: usize,
    bucket: Option<(u32, u32)>,
    latency_ms: u64,
    requests_in_flight: usize,
) -> Run {
    drain_skewed(entitlements, bucket, latency_ms, requests_in_flight, 0)
}

fn drain_skewed(
    entitlements: usize,
    bucket: Option<(u32, u32)>,
    latency_ms: u64,
    requests_in_flight: usize,
    clock_offset_ms: i64,
) -> Run {
    let fake = fake(entitlements, bucket, latency_ms);
    MEASURED.with(|m| m.set(true));
    LIVE.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    let client = skewed_client(&fake, clock_offset_ms);
    let started = Instant::now();
    let mut granted = 0u64;
    let options = FulfillOptions {
        requests_in_flight,
        ..FulfillOptions::game(GAME)
    };
    let report = client
        .fulfill(
            options,
            &mut MemoryJournal::new(),
            &mut |_: &GrantRequest| {
                granted += 1;
                GrantOutcome::Granted
            },
        )
        .expect("valid options");
    let seconds = started.elapsed().as_secs_f64();
    let peak_heap = PEAK.load(Ordering::Relaxed);
    MEASURED.with(|m| m.set(false));
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(granted, report.listed);
    let stats = fake.stats();
    Run {
        listed: report.listed,
        requests: client.requests_sent(),
        seconds,
        busy_seconds: stats.busy_micros as f64 / 1e6,
        rate_limited: stats.rate_limited,
        peak_heap,
    }
}

/// Requests to drain 20 000 when one grant in ten fails for good: the engine (passes until
/// one finds nothing new) against reading every page first, then updating.
fn strategies() -> (u64, u64, u64) {
    let fails = |id: &str| id.bytes().map(u64::from).sum::<u64>() % 10 == 0;
    let fake_a = fake(20_000, None, 0);
    let engine = client(&fake_a);
    let report = engine
        .fulfill(
            FulfillOptions::game(GAME),
            &mut MemoryJournal::new(),
            &mut |r: &GrantRequest| {
                if fails(&r.entitlement.id) {
                    GrantOutcome::Failed("no linked account".into())
                } else {
                    GrantOutcome::Granted
                }
            },
        )
        .expect("options");
    assert!(report.error.is_none());

    let fake_b = fake(20_000, None, 0);
    let reader = client(&fake_b);
    let query = twitch_drops::EntitlementsQuery::new()
        .game(GAME)
        .status(twitch_drops::FulfillmentStatus::Claimed)
        .first(1000);
    let granted: Vec<twitch_drops::SharedStr> = reader
        .entitlements(query)
        .map(|e| e.expect("page").id)
        .filter(|id| !fails(id))
        .collect();
    reader
        .update_entitlements(&granted, twitch_drops::FulfillmentStatus::Fulfilled)
        .expect("update");
    let minimum = 20_000u64.div_ceil(1000) + (granted.len() as u64).div_ceil(100);
    (
        engine.requests_sent() - 1,
        reader.requests_sent() - 1,
        minimum,
    )
}

/// `TD_BENCH_BUCKETS=5000` keeps only the bucket runs of that size (they take real time).
fn bucket_runs_wanted(n: usize) -> bool {
    match std::env::var("TD_BENCH_BUCKETS") {
        Ok(only) => only.split(',').any(|v| v.trim() == n.to_string()),
        Err(_) => true,
    }
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 20_000, 200_000]
    } else {
        sizes
    };
    println!(
        "| entitlements | requests (minimum + final page and token) | seconds | fake busy seconds \
         | client peak heap |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for n in sizes {
        let run = drain(n, None, 0, DEFAULT_REQUESTS_IN_FLIGHT);
        let minimum = run.listed.div_ceil(1000) + run.listed.div_ceil(100);
        println!(
            "| {} | {} ({minimum} + {}) | {:.2} | {:.2} | {:.1} MiB |",
            run.listed,
            run.requests,
            run.requests - minimum,
            run.seconds,
            run.busy_seconds,
            run.peak_heap as f64 / (1024.0 * 1024.0)
        );
    }
    println!();
    println!("| under a bucket | requests | seconds | the bucket's bound | ratio | 429s |");
    println!("|---|---:|---:|---:|---:|---:|");
    let buckets: [(usize, u32, u32, i64); 7] = [
        (20_000, 600, 600, 0),
        (20_000, 600, 60, 0),
        (100_000, 800, 800, 0),
        (5_000, 600, 20, 0),
        (5_000, 600, 20, 90_000),
        (5_000, 600, 20, -90_000),
        (100_000, 800, 800, -90_000),
    ];
    for (n, per_minute, burst, offset_ms) in buckets {
        if !bucket_runs_wanted(n) {
            continue;
        }
        let run = drain_skewed(
            n,
            Some((per_minute, burst)),
            0,
            DEFAULT_REQUESTS_IN_FLIGHT,
            offset_ms,
        );
        // Helix requests spend points; the token request does not. The bound: the burst at
        // once, the rest as points come back.
        let helix = run.requests - 1;
        let bound = (helix as f64 - burst as f64).max(0.0) * 60.0 / per_minute as f64;
        let clock = match offset_ms {
            0 => String::new(),
            ms => format!(", client clock {:+} s", ms / 1000),
        };
        // Within the burst there is no bound to compare with.
        let ratio = if bound > 0.0 {
            format!("{:.3}", run.seconds / bound)
        } else {
            "–".to_string()
        };
        println!(
            "| {n}, {per_minute}/min, burst {burst}{clock} | {} | {:.2} | {:.2} | {ratio} | {} |",
            run.requests, run.seconds, bound, run.rate_limited
        );
    }
    println!();
    println!(
        "| 20 000, the server taking 20 ms per request | requests | seconds | server's own time \
         | ratio | own time ÷ requests in flight |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for in_flight in [1, DEFAULT_REQUESTS_IN_FLIGHT, 8] {
        let run = drain(20_000, None, 20, in_flight);
        // The delay is added to Helix calls only (not the one token request).
        let server = (run.requests - 1) as f64 * 0.020 + run.busy_seconds;
        println!(
            "| {in_flight} in flight | {} | {:.2} | {:.2} | {:.3} | {:.2} |",
            run.requests,
            run.seconds,
            server,
            run.seconds / server,
            server / in_flight as f64
        );
    }
    println!();
    let (requery, read_first, minimum) = strategies();
    println!("| 20 000, one grant in ten fails for good | requests (without the token) |");
    println!("|---|---:|");
    println!("| engine: passes until one finds nothing new, flat memory | {requery} |");
    println!("| read every page first, then update (ids held in memory) | {read_first} |");
    println!("| minimum (pages + updates of the granted) | {minimum} |");
}
