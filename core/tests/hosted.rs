//! The fulfillment engine driven by a non-blocking host ([`HostedRun`]) against the fake
//! Twitch: the host takes every step it is given until the run says `Idle`, then answers them
//! in the reverse order (requests, waits and single grants side by side), as an engine's
//! asynchronous HTTP and its game loop would. Each entitlement is granted once, the requests
//! stay at the minimum, faults and crashes lose nothing, and misfed answers are refused.

mod common;

use common::fake_config;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use fake_twitch::{FakeConfig, FakeTwitch, Faults, Seed, CLAIMED};
use twitch_drops::{
    Client, Engine, FileJournal, FulfillOptions, FulfillReport, GrantOutcome, HostAnswer, HostStep,
    HostedRun, Journal, ManualClock, MemoryJournal, Transport, UreqTransport,
};

const GAME: &str = "509658";

type TestClient = Client<UreqTransport, Arc<ManualClock>>;

fn fake_with(entitlements: usize, faults: Faults) -> FakeTwitch {
    let mut config = FakeConfig::new();
    config.seed = Seed {
        entitlements,
        games: vec![GAME.into()],
        foreign_games: vec!["999999".into()],
        users: 50,
        fulfilled_fraction: 0.1,
        rng_seed: 11,
    };
    config.faults = faults;
    FakeTwitch::start(config).expect("fake starts")
}

fn client(fake: &FakeTwitch) -> TestClient {
    let config = fake_config(fake);
    Client::with_transport(
        config,
        UreqTransport::new(),
        Arc::new(ManualClock::new(1_700_000_000_000)),
    )
    .expect("client")
}

/// The host's wall clock (rate-limit resets are Unix times).
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn claimed(fake: &FakeTwitch) -> usize {
    fake.entitlements()
        .iter()
        .filter(|e| e.game_id == GAME && e.fulfillment_status == CLAIMED)
        .count()
}

fn begin(client: &TestClient, in_flight: usize) -> HostedRun {
    let options = FulfillOptions {
        requests_in_flight: in_flight,
        ..FulfillOptions::game(GAME)
    };
    let engine = Engine::new(client.config(), options).expect("valid options");
    HostedRun::new(engine, Arc::clone(client.session()))
}

/// What the host saw.
#[derive(Default)]
struct Host {
    grants: HashMap<String, u32>,
    resumed: HashSet<String>,
    /// Most steps out at once.
    most_out: usize,
    sleeps: usize,
}

impl Host {
    fn twice(&self) -> usize {
        self.grants.values().filter(|n| **n > 1).count()
    }

    fn answer(&mut self, step: HostStep, transport: &UreqTransport) -> (u64, HostAnswer) {
        match step {
            HostStep::Send(ticket, request) => match transport.send(request) {
                Ok(response) => (ticket, HostAnswer::Response(response)),
                Err(failure) => (ticket, HostAnswer::TransportFailed(failure)),
            },
            HostStep::Sleep(ticket, _) => {
                // Time is the host's: a game counts frames. The engine is told it passed.
                self.sleeps += 1;
                (ticket, HostAnswer::Slept)
            }
            HostStep::Grant(ticket, request) => {
                *self
                    .grants
                    .entry(request.entitlement.id.to_string())
                    .or_default() += 1;
                if request.resumed {
                    self.resumed.insert(request.entitlement.id.to_string());
                }
                (ticket, HostAnswer::Granted(GrantOutcome::Granted))
            }
            other => panic!("not a step to answer: {other:?}"),
        }
    }

    /// Polls until `Idle` or `Done`, then answers what was taken in reverse order; until
    /// `Done`, or until `stop_after_grants` grants have been answered (a crash: the rest is
    /// dropped unanswered).
    fn drive(
        &mut self,
        run: &mut HostedRun,
        journal: &mut dyn Journal,
        stop_after_grants: Option<usize>,
    ) -> Option<FulfillReport> {
        let transport = UreqTransport::new();
        let mut granted = 0;
        loop {
            let mut taken = Vec::new();
            loop {
                match run.poll(journal, now_ms()) {
                    HostStep::Idle => break,
                    HostStep::Done => {
                        assert!(taken.is_empty(), "done with steps out");
                        assert_eq!(run.steps_out(), 0);
                        return run.take_report();
                    }
                    step => taken.push(step),
                }
            }
            assert!(!taken.is_empty(), "idle with nothing out: a stall");
            self.most_out = self.most_out.max(run.steps_out());
            for step in taken.into_iter().rev() {
                let is_grant = matches!(step, HostStep::Grant(..));
                let (ticket, answer) = self.answer(step, &transport);
                run.answer(ticket, answer).expect("a fitting answer");
                granted += usize::from(is_grant);
                if stop_after_grants.is_some_and(|n| granted >= n) {
                    return None;
                }
            }
        }
    }
}

#[test]
fn a_host_answering_out_of_order_drains_with_the_minimum_requests() {
    let fake = fake_with(2500, Faults::default());
    let before = claimed(&fake);
    let client = client(&fake);
    let mut run = begin(&client, 4);
    let mut host = Host::default();
    let mut journal = MemoryJournal::new();
    let report = host.drive(&mut run, &mut journal, None).expect("a report");
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.fulfilled as usize, before);
    assert_eq!(host.grants.len(), before);
    assert_eq!(host.twice(), 0);
    assert_eq!(claimed(&fake), 0);
    let stats = fake.stats();
    assert_eq!(stats.duplicate_fulfill_attempts, 0);
    // ⌈N/1000⌉ pages + ⌈N/100⌉ updates + the final pass's page + the token.
    let minimum = before.div_ceil(1000) + before.div_ceil(100) + 2;
    assert_eq!(stats.requests, minimum);
    assert_eq!(client.requests_sent() as usize, minimum);
    assert!(host.most_out > 1, "steps were out side by side");
    assert!(journal.load().expect("memory").is_empty(), "all settled");
}

#[test]
fn faults_and_revoked_tokens_lose_nothing_and_grant_nothing_twice() {
    let faults = Faults {
        error_5xx_rate: 0.1,
        html_503_rate: 0.05,
        drop_after_apply_rate: 0.05,
        truncate_after_apply_rate: 0.05,
        update_failed_rate: 0.02,
        revoke_token_after: 7,
        rng_seed: 3,
        ..Faults::default()
    };
    let fake = fake_with(1500, faults);
    let before = claimed(&fake);
    let client = client(&fake);
    let mut host = Host::default();
    let mut journal = MemoryJournal::new();
    // An id answered UPDATE_FAILED past every retry waits in the journal for the next run.
    for _ in 0..3 {
        let mut run = begin(&client, 4);
        let report = host.drive(&mut run, &mut journal, None).expect("a report");
        assert!(report.error.is_none(), "{report:?}");
        if claimed(&fake) == 0 {
            break;
        }
    }
    assert_eq!(claimed(&fake), 0);
    assert_eq!(host.grants.len(), before);
    assert_eq!(host.twice(), 0);
    assert!(fake.stats().tokens_issued > 1, "tokens were renewed");
    assert!(host.sleeps > 0, "retries waited");
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

#[test]
fn a_host_that_crashes_mid_batch_resumes_without_granting_twice() {
    let fake = fake_with(800, Faults::default());
    let before = claimed(&fake);
    let client = client(&fake);
    let path = std::env::temp_dir().join(format!("td-hosted-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut host = Host::default();
    {
        let mut journal = FileJournal::new(&path);
        let mut run = begin(&client, 4);
        // Dies in the middle of the third batch of grants, with requests and grants out.
        assert!(host.drive(&mut run, &mut journal, Some(250)).is_none());
    }
    assert!(claimed(&fake) > 0, "the crash left work");
    let mut journal = FileJournal::new(&path);
    let mut run = begin(&client, 4);
    let report = host.drive(&mut run, &mut journal, None).expect("a report");
    let _ = std::fs::remove_file(&path);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(claimed(&fake), 0);
    assert_eq!(host.grants.len(), before);
    // The batch in doubt at the crash (its grants journaled as begun, not as answered) comes
    // back resumed, for the host to check its own records; nothing else is asked again.
    assert!(
        !host.resumed.is_empty() && host.resumed.len() <= 100,
        "{}",
        host.resumed.len()
    );
    for (id, n) in &host.grants {
        assert!(
            *n == 1 || host.resumed.contains(id),
            "{id} asked {n} times, not resumed"
        );
    }
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
}

#[test]
fn misfed_answers_are_refused_and_the_step_stays_out() {
    let fake = fake_with(50, Faults::default());
    let client = client(&fake);
    let mut run = begin(&client, 1);
    let mut journal = MemoryJournal::new();
    let HostStep::Send(ticket, request) = run.poll(&mut journal, now_ms()) else {
        panic!("the first step is the token request");
    };
    assert!(matches!(run.poll(&mut journal, now_ms()), HostStep::Idle));
    let wrong = run
        .answer(ticket, HostAnswer::Granted(GrantOutcome::Granted))
        .unwrap_err();
    assert!(wrong.contains("awaits a response"), "{wrong}");
    let unknown = run.answer(ticket + 100, HostAnswer::Slept).unwrap_err();
    assert!(unknown.contains("no step with ticket"), "{unknown}");
    assert_eq!(run.steps_out(), 1);
    let response = UreqTransport::new()
        .send(request)
        .expect("the fake answers");
    run.answer(ticket, HostAnswer::Response(response))
        .expect("the right answer is taken");
    let again = run.answer(ticket, HostAnswer::Slept).unwrap_err();
    assert!(again.contains("already answered"), "{again}");
    // Until a grant is out, answer what the run asks.
    let transport = UreqTransport::new();
    let mut host = Host::default();
    let grant = loop {
        match run.poll(&mut journal, now_ms()) {
            HostStep::Grant(ticket, request) => break (ticket, request),
            HostStep::Idle | HostStep::Done => panic!("a grant comes before the run ends"),
            step => {
                let (ticket, answer) = host.answer(step, &transport);
                run.answer(ticket, answer).expect("a fitting answer");
            }
        }
    };
    // A response to a grant is refused, and not read either: the session's rate-limit
    // reading stays as it was.
    let before = client.rate_limit();
    assert!(before.is_some(), "responses so far were read");
    let stray = twitch_drops::HttpResponse::new(200, "{}")
        .with_header("Ratelimit-Limit", "800")
        .with_header("Ratelimit-Remaining", "1")
        .with_header("Ratelimit-Reset", "4000000000");
    let refused = run
        .answer(grant.0, HostAnswer::Response(stray))
        .unwrap_err();
    assert!(refused.contains("awaits a grant outcome"), "{refused}");
    assert_eq!(client.rate_limit(), before, "a refused response was read");
    let (ticket, answer) = host.answer(HostStep::Grant(grant.0, grant.1), &transport);
    run.answer(ticket, answer)
        .expect("the grant's outcome is taken");
    let report = host.drive(&mut run, &mut journal, None).expect("a report");
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(host.twice(), 0);
}
