//! The fulfillment engine against the fake Twitch: the clean drain's request count, grant
//! outcomes, duplicates, quarantine, positional cursors, pacing, pushed entitlements, and
//! recovery after a crash at every point of a batch.

mod common;

use common::fake_config;

use std::collections::HashMap;
use std::sync::Arc;

use fake_twitch::{FakeConfig, FakeTwitch, Faults, Seed, CLAIMED, FULFILLED};
use twitch_drops::fulfill::{
    EngineInput, EngineStep, JournalError, JournalRecord, Recovery, StudioStep, TwitchStep,
};
use twitch_drops::{
    Client, Config, Credentials, Engine, Entitlement, FileJournal, FulfillOptions,
    FulfillmentStatus, GrantOutcome, GrantRequest, Journal, ManualClock, MemoryJournal,
    SettledState, SystemClock, UreqTransport,
};

const GAME: &str = "509658";

fn fake_with(entitlements: usize, users: usize) -> FakeTwitch {
    let mut config = FakeConfig::new();
    config.seed = Seed {
        entitlements,
        games: vec![GAME.into()],
        foreign_games: vec!["999999".into()],
        users,
        fulfilled_fraction: 0.1,
        rng_seed: 5,
    };
    FakeTwitch::start(config).expect("fake starts")
}

type TestClient = Client<UreqTransport, Arc<ManualClock>>;

fn client(fake: &FakeTwitch) -> TestClient {
    Client::with_transport(
        fake_config(fake),
        UreqTransport::new(),
        Arc::new(ManualClock::new(1_700_000_000_000)),
    )
    .expect("client")
}

fn claimed(fake: &FakeTwitch) -> Vec<fake_twitch::Entitlement> {
    fake.entitlements()
        .into_iter()
        .filter(|e| e.game_id == GAME && e.fulfillment_status == CLAIMED)
        .collect()
}

/// A grant that counts how often each entitlement was granted.
#[derive(Default)]
struct Ledger {
    grants: HashMap<String, u32>,
    resumed: Vec<String>,
}

impl Ledger {
    fn grant(&mut self, request: &GrantRequest) -> GrantOutcome {
        *self
            .grants
            .entry(request.entitlement.id.to_string())
            .or_default() += 1;
        if request.resumed {
            self.resumed.push(request.entitlement.id.to_string());
        }
        GrantOutcome::Granted
    }

    fn twice(&self) -> usize {
        self.grants.values().filter(|n| **n > 1).count()
    }
}

#[test]
fn clean_drain_grants_each_once_with_the_minimum_requests() {
    let fake = fake_with(5000, 100);
    let before = claimed(&fake).len();
    let client = client(&fake);
    let mut ledger = Ledger::default();
    let mut journal = MemoryJournal::new();
    let report = client
        .fulfill(
            FulfillOptions::game(GAME),
            &mut journal,
            &mut |r: &GrantRequest| ledger.grant(r),
        )
        .expect("valid options");
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.listed as usize, before);
    assert_eq!(report.fulfilled as usize, before);
    assert_eq!(ledger.grants.len(), before);
    assert_eq!(ledger.twice(), 0);
    assert!(claimed(&fake).is_empty());
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
    let minimum = before.div_ceil(1000) + before.div_ceil(100);
    assert_eq!(
        client.requests_sent() as usize,
        minimum + 2,
        "pages + updates + the final pass's page + the token"
    );
    assert!(
        journal.load().expect("memory").is_empty(),
        "everything settled"
    );
}

#[test]
fn grant_outcomes_leave_retry_later_and_failed_claimed() {
    let fake = fake_with(300, 30);
    let client = client(&fake);
    let mut journal = MemoryJournal::new();
    let mut n = 0;
    let mut settlements = Vec::new();
    let mut grant = |_: &GrantRequest| {
        n += 1;
        match n % 3 {
            0 => GrantOutcome::RetryLater,
            1 => GrantOutcome::Failed("account not linked".into()),
            _ => GrantOutcome::Granted,
        }
    };
    let engine = Engine::new(client.config(), FulfillOptions::game(GAME)).expect("engine");
    let report = client.drive_engine(engine, &mut journal, &mut grant, &mut |s| {
        settlements.push(s.clone())
    });
    assert_eq!(
        report.listed,
        settlements.len() as u64,
        "one settlement per entitlement"
    );
    assert_eq!(report.fulfilled, report.granted);
    assert!(report.retry_later > 0 && report.grant_failed > 0);
    assert_eq!(
        report.left(),
        report.retry_later + report.grant_failed,
        "{report:?}"
    );
    let left: std::collections::HashSet<String> =
        claimed(&fake).into_iter().map(|e| e.id).collect();
    for s in &settlements {
        let still_claimed = left.contains(s.id.as_str());
        match &s.state {
            SettledState::Fulfilled => assert!(!still_claimed),
            SettledState::RetryLater => assert!(still_claimed),
            SettledState::GrantFailed(reason) => {
                assert!(still_claimed);
                assert_eq!(reason, "account not linked");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn positional_cursors_skip_nothing() {
    let fake = fake_with(4000, 100);
    fake.set_faults(Faults {
        positional_cursors: true,
        ..Faults::default()
    });
    let before = claimed(&fake).len();
    let client = client(&fake);
    let mut ledger = Ledger::default();
    let report = client
        .fulfill(
            FulfillOptions::game(GAME),
            &mut MemoryJournal::new(),
            &mut |r: &GrantRequest| ledger.grant(r),
        )
        .expect("options");
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.fulfilled as usize, before);
    assert!(claimed(&fake).is_empty());
    // Marking moves a positional list under the cursor: later passes pick up what the
    // first skipped. Updates stay at the minimum; pages cost a few more.
    let updates = fake.stats().requests_by_route["PATCH /helix/entitlements/drops"];
    assert_eq!(updates, before.div_ceil(100));
    let pages = fake.stats().requests_by_route["GET /helix/entitlements/drops"];
    assert!(pages <= 2 * before.div_ceil(1000) + 4, "{pages} pages");
}

#[test]
fn a_viewer_whose_calls_always_fail_is_quarantined() {
    let fake = fake_with(2000, 20);
    let mut per_user: HashMap<String, usize> = HashMap::new();
    for e in claimed(&fake) {
        *per_user.entry(e.user_id).or_default() += 1;
    }
    let (bad, count) = per_user.into_iter().max_by_key(|(_, n)| *n).expect("users");
    assert!(count > 3, "the viewer has several entitlements");
    fake.set_faults(Faults {
        failing_users: vec![bad.clone()],
        ..Faults::default()
    });
    let before = claimed(&fake).len();
    let client = client(&fake);
    let mut ledger = Ledger::default();
    let mut journal = MemoryJournal::new();
    let report = client
        .fulfill(
            FulfillOptions::game(GAME),
            &mut journal,
            &mut |r: &GrantRequest| ledger.grant(r),
        )
        .expect("options");
    assert_eq!(
        report.quarantined_users,
        vec![bad.clone()],
        "{report:?} {:?}",
        fake.stats()
    );
    assert_eq!(
        report.fulfilled as usize,
        before - count,
        "everyone else is done"
    );
    // Those in the batch that revealed the fault were granted before it showed; the rest
    // of the viewer's entitlements are not granted at all.
    assert!(report.unmarked >= 1, "{report:?}");
    assert!(report.quarantined >= 1, "{report:?}");
    assert_eq!((report.unmarked + report.quarantined) as usize, count);
    let left = claimed(&fake);
    assert_eq!(left.len(), count);
    assert!(left.iter().all(|e| e.user_id == bad));
    let mut granted_bad: Vec<String> = left
        .iter()
        .filter(|e| ledger.grants.contains_key(&e.id))
        .map(|e| e.id.clone())
        .collect();
    assert_eq!(granted_bad.len() as u64, report.unmarked);
    // The granted but unmarked ones are kept by the journal for the next run.
    let open = Recovery::from_records(&journal.load().expect("memory"));
    let mut pending: Vec<String> = open.granted.into_iter().map(|e| e.id.into()).collect();
    granted_bad.sort();
    pending.sort();
    assert_eq!(pending, granted_bad);
    assert_eq!(ledger.twice(), 0);
}

#[test]
fn pushed_entitlements_are_fulfilled_without_listing() {
    let fake = fake_with(250, 10);
    let client = client(&fake);
    let pushed: Vec<Entitlement> = claimed(&fake)
        .into_iter()
        .take(120)
        .map(|e| Entitlement {
            id: e.id.into(),
            benefit_id: e.benefit_id.into(),
            timestamp: e.timestamp.into(),
            user_id: e.user_id.into(),
            game_id: e.game_id.into(),
            fulfillment_status: FulfillmentStatus::Claimed,
            last_updated: e.last_updated.into(),
        })
        .collect();
    assert_eq!(pushed.len(), 120, "the seed has enough");
    let mut twice = pushed.clone();
    twice.extend(pushed.iter().take(10).cloned());
    let engine = Engine::for_entitlements(client.config(), twice, 1);
    let mut ledger = Ledger::default();
    let report = client.drive_engine(
        engine,
        &mut MemoryJournal::new(),
        &mut |r: &GrantRequest| ledger.grant(r),
        &mut |_| {},
    );
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.fulfilled, 120, "{report:?}");
    assert_eq!(ledger.grants.len(), 120);
    assert_eq!(ledger.twice(), 0, "a pushed duplicate is granted once");
    let routes = fake.stats().requests_by_route;
    assert_eq!(
        routes.get("GET /helix/entitlements/drops"),
        None,
        "no listing"
    );
    assert_eq!(routes.get("PATCH /helix/entitlements/drops"), Some(&2));
}

#[test]
fn a_stop_signal_ends_the_run_gracefully_and_the_next_run_finishes() {
    let fake = fake_with(3000, 100);
    let before = claimed(&fake).len();
    let client = client(&fake);
    let mut ledger = Ledger::default();
    let mut journal = MemoryJournal::new();
    let stop = twitch_drops::StopSignal::new();
    let options = FulfillOptions {
        stop_signal: Some(stop.clone()),
        ..FulfillOptions::game(GAME)
    };
    // The grant raises it (as a Ctrl-C handler would, from anywhere) after 250 grants.
    let report = client
        .fulfill(options, &mut journal, &mut |r: &GrantRequest| {
            if ledger.grants.len() == 250 {
                stop.raise();
            }
            ledger.grant(r)
        })
        .expect("options");
    assert!(report.interrupted && !report.is_complete(), "{report:?}");
    assert!(report.error.is_none(), "{report:?}");
    // The grant running when it was raised finished; nothing started after it. Everything
    // granted was recorded and marked FULFILLED.
    assert_eq!(report.granted, 251, "{report:?}");
    assert_eq!(report.fulfilled, 251, "{report:?}");
    assert_eq!(claimed(&fake).len(), before - 251);
    assert_eq!(report.settled(), report.listed, "{report:?}");
    let again = client
        .fulfill(
            FulfillOptions::game(GAME),
            &mut journal,
            &mut |r: &GrantRequest| ledger.grant(r),
        )
        .expect("options");
    assert!(again.is_complete(), "{again:?}");
    assert_eq!(again.resumed, 0, "nothing was left in doubt");
    assert!(claimed(&fake).is_empty());
    assert_eq!(ledger.grants.len(), before);
    assert_eq!(ledger.twice(), 0);
}

#[test]
fn pacing_keeps_a_small_bucket_from_answering_429() {
    let fake = fake_with(3000, 50);
    // 600 points a minute, but only 8 at once: the drain must wait for refills.
    fake.set_rate_limit(600, 8);
    let before = claimed(&fake).len();
    let client = Client::with_transport(fake_config(&fake), UreqTransport::new(), SystemClock)
        .expect("client");
    let mut ledger = Ledger::default();
    let report = client
        .fulfill(
            FulfillOptions::game(GAME),
            &mut MemoryJournal::new(),
            &mut |r: &GrantRequest| ledger.grant(r),
        )
        .expect("options");
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.fulfilled as usize, before);
    assert_eq!(fake.stats().rate_limited, 0, "no 429 in steady state");
}

/// Drives an engine by hand until `crash_at` says to stop, as a killed process would.
fn run_until_crash(
    client: &TestClient,
    journal: &mut dyn Journal,
    ledger: &mut Ledger,
    crash_at: &dyn Fn(&EngineStep, usize) -> bool,
) -> bool {
    let mut engine = Engine::new(client.config(), FulfillOptions::game(GAME)).expect("engine");
    let mut input = EngineInput::Start;
    let mut grants_done = 0;
    loop {
        let step = engine.resume(input, 1_700_000_000_000);
        if crash_at(&step, grants_done) {
            return true;
        }
        input = match step {
            EngineStep::Twitch(TwitchStep::Send(request)) => {
                use twitch_drops::Transport;
                match UreqTransport::new().send(request) {
                    Ok(r) => EngineInput::Response(r),
                    Err(e) => EngineInput::TransportFailed(e),
                }
            }
            EngineStep::Twitch(TwitchStep::Sleep(_)) => EngineInput::Slept,
            EngineStep::Studio(StudioStep::LoadJournal) => {
                EngineInput::JournalLoaded(journal.load())
            }
            EngineStep::Studio(StudioStep::Claim { append, claim }) => {
                EngineInput::Claimed(journal.append_and_claim(&append, &claim))
            }
            EngineStep::Studio(StudioStep::AppendJournal(records)) => {
                EngineInput::Appended(journal.append(&records))
            }
            EngineStep::Studio(StudioStep::Grant(requests)) => {
                grants_done += 1;
                EngineInput::Granted(requests.iter().map(|r| ledger.grant(r)).collect())
            }
            EngineStep::Done(report) => {
                assert!(report.error.is_none(), "{report:?}");
                return false;
            }
        };
    }
}

fn is_patch(step: &EngineStep) -> bool {
    matches!(step, EngineStep::Twitch(TwitchStep::Send(r)) if r.method == twitch_drops::Method::Patch)
}

/// A journal write that records an entitlement `Settled`.
fn writes_settled(step: &EngineStep) -> bool {
    let records = match step {
        EngineStep::Studio(StudioStep::AppendJournal(records)) => records,
        EngineStep::Studio(StudioStep::Claim { append, .. }) => append,
        _ => return false,
    };
    records
        .iter()
        .any(|r| matches!(r, JournalRecord::Settled { .. }))
}

#[test]
fn crashes_at_every_point_of_a_batch_lose_nothing_and_grant_nothing_twice() {
    // Crash points, counted in grants (one at a time, the default): around the second batch
    // of 100 marked.
    type CrashAt = Box<dyn Fn(&EngineStep, usize) -> bool>;
    let points: Vec<(&str, CrashAt)> = vec![
        (
            "after the grant, before its answer is journaled",
            Box::new(|s, g| {
                g == 2
                    && matches!(
                        s,
                        EngineStep::Studio(StudioStep::AppendJournal(_) | StudioStep::Claim { .. })
                    )
            }),
        ),
        (
            "after the answers are journaled, before the PATCH",
            // One grant at a time: the second PATCH comes after some 200 grants.
            Box::new(|s, g| g > 150 && is_patch(s)),
        ),
        (
            "after the PATCH, before Settled is journaled",
            Box::new({
                let patched = std::cell::Cell::new(false);
                move |s, g| {
                    if g > 150 && is_patch(s) {
                        patched.set(true);
                        return false;
                    }
                    patched.get() && writes_settled(s)
                }
            }),
        ),
    ];
    for (name, crash_at) in points {
        let fake = fake_with(450, 40);
        let before = claimed(&fake).len();
        let client = client(&fake);
        let dir = std::env::temp_dir().join(format!("drops-crash-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join(format!("{}.journal", name.len()));
        let _ = std::fs::remove_file(&path);
        let mut ledger = Ledger::default();
        let crashed = run_until_crash(
            &client,
            &mut FileJournal::new(&path),
            &mut ledger,
            &*crash_at,
        );
        assert!(crashed, "{name}: the crash point was reached");
        let finished = run_until_crash(
            &client,
            &mut FileJournal::new(&path),
            &mut ledger,
            &|_, _| false,
        );
        assert!(!finished);
        assert!(claimed(&fake).is_empty(), "{name}: everything FULFILLED");
        assert_eq!(
            ledger.grants.len(),
            before,
            "{name}: every entitlement granted"
        );
        let twice: Vec<_> = ledger
            .grants
            .iter()
            .filter(|(id, n)| **n > 1 && !ledger.resumed.contains(id))
            .collect();
        assert!(
            twice.is_empty(),
            "{name}: granted twice without being in doubt: {twice:?}"
        );
        assert_eq!(
            fake.stats().duplicate_fulfill_attempts,
            0,
            "{name}: duplicate PATCH"
        );
        let statuses: Vec<_> = fake
            .entitlements()
            .into_iter()
            .filter(|e| ledger.grants.contains_key(&e.id))
            .map(|e| e.fulfillment_status)
            .collect();
        assert!(statuses.iter().all(|s| s == FULFILLED));
        if name.starts_with("after the grant") {
            // One grant at a time (the default): only the one whose answer was not yet
            // written is in doubt.
            assert_eq!(
                ledger.resumed.len(),
                1,
                "{name}: the grant in doubt is resumed, and only it"
            );
        } else {
            assert!(ledger.resumed.is_empty(), "{name}: nothing was in doubt");
            assert_eq!(ledger.twice(), 0, "{name}");
        }
        std::fs::remove_file(&path).ok();
    }
}

#[test]
fn a_torn_last_journal_line_is_ignored_and_a_bad_middle_line_is_an_error() {
    let dir = std::env::temp_dir().join(format!("drops-journal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("torn");
    std::fs::write(
        &path,
        concat!(
            r#"{"op":"granting","id":"a","user_id":"u","benefit_id":"b","game_id":"g"}"#,
            "\n",
            r#"{"op":"granted","id":"a"}"#,
            "\n",
            r#"{"op":"granting","id":"b","user_id":"u","benefit_id":"b","game_id":"g"}"#,
            "\n",
            r#"{"op":"gran"#
        ),
    )
    .expect("write");
    let records = FileJournal::new(&path).load().expect("torn tail tolerated");
    let open = Recovery::from_records(&records);
    assert_eq!(open.granted.len(), 1);
    assert_eq!(open.granted[0].id, "a");
    assert_eq!(open.in_doubt.len(), 1);
    assert_eq!(open.in_doubt[0].id, "b");
    // Loading compacted the file: the torn line is gone, appends are whole lines again.
    let mut journal = FileJournal::new(&path);
    journal
        .append(&[twitch_drops::fulfill::JournalRecord::Settled { id: "a".into() }])
        .expect("append");
    let again = Recovery::from_records(&FileJournal::new(&path).load().expect("load"));
    assert!(again.granted.is_empty());
    assert_eq!(again.in_doubt.len(), 1);

    std::fs::write(
        &path,
        "{\"op\":\"granted\",\"id\":\"a\"}\nnot json\n{\"op\":\"settled\",\"id\":\"a\"}\n",
    )
    .expect("write");
    let error = FileJournal::new(&path)
        .load()
        .expect_err("corruption mid-file");
    assert!(error.to_string().contains("line 2"), "{error}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_driver_feeding_the_wrong_input_gets_an_error_not_a_panic() {
    let fake = fake_with(10, 2);
    let mut engine = Engine::new(&fake_config(&fake), FulfillOptions::game(GAME)).expect("engine");
    assert!(matches!(
        engine.resume(EngineInput::Start, 0),
        EngineStep::Studio(StudioStep::LoadJournal)
    ));
    match engine.resume(EngineInput::Granted(vec![]), 0) {
        EngineStep::Done(report) => {
            let error = report.error.expect("an error");
            assert!(error.to_string().contains("JournalLoaded"), "{error}");
        }
        other => panic!("expected Done, got {other:?}"),
    }
}

#[test]
fn invalid_options_are_refused_before_any_request() {
    let fake = fake_with(10, 2);
    let options = FulfillOptions::new(twitch_drops::EntitlementsQuery::new().game(" "));
    let error = Engine::new(&fake_config(&fake), options).expect_err("empty game id");
    assert!(matches!(
        error,
        twitch_drops::Error::InvalidInput {
            field: "game_id",
            ..
        }
    ));
}

/// A journal whose appends start failing after `ok` calls.
struct FailingJournal {
    inner: MemoryJournal,
    ok: usize,
}

impl Journal for FailingJournal {
    fn load(
        &mut self,
    ) -> Result<Vec<twitch_drops::fulfill::JournalRecord>, twitch_drops::fulfill::JournalError>
    {
        self.inner.load()
    }

    fn append(
        &mut self,
        records: &[twitch_drops::fulfill::JournalRecord],
    ) -> Result<(), twitch_drops::fulfill::JournalError> {
        if self.ok == 0 {
            return Err(twitch_drops::fulfill::JournalError("disk full".into()));
        }
        self.ok -= 1;
        self.inner.append(records)
    }
}

#[test]
fn a_failing_journal_stops_the_run_with_every_entitlement_accounted_for() {
    // Fail at each append in turn: intent, answers, settled, the next batch's intent…
    for ok in 0..6 {
        let fake = fake_with(800, 40);
        let client = client(&fake);
        let mut journal = FailingJournal {
            inner: MemoryJournal::new(),
            ok,
        };
        let mut ledger = Ledger::default();
        let mut settled = 0u64;
        let engine = Engine::new(client.config(), FulfillOptions::game(GAME)).expect("engine");
        let report = client.drive_engine(
            engine,
            &mut journal,
            &mut |r: &GrantRequest| ledger.grant(r),
            &mut |_| settled += 1,
        );
        assert!(
            matches!(report.error, Some(twitch_drops::Error::Journal { .. })),
            "{report:?}"
        );
        let counted = report.settled();
        assert_eq!(counted, report.listed, "after {ok} appends: {report:?}");
        assert_eq!(settled, report.listed);
    }
}

#[test]
fn a_pushed_entitlement_the_journal_holds_granted_is_marked_not_granted_again() {
    let fake = fake_with(50, 5);
    let client = client(&fake);
    let claimed: Vec<Entitlement> = claimed(&fake)
        .into_iter()
        .take(2)
        .map(|e| Entitlement {
            id: e.id.into(),
            benefit_id: e.benefit_id.into(),
            timestamp: e.timestamp.into(),
            user_id: e.user_id.into(),
            game_id: e.game_id.into(),
            fulfillment_status: FulfillmentStatus::Claimed,
            last_updated: e.last_updated.into(),
        })
        .collect();
    // An earlier run granted the first, then crashed before marking it.
    let mut journal = MemoryJournal::new();
    let first = &claimed[0];
    journal
        .append(&[
            twitch_drops::fulfill::JournalRecord::Granting {
                id: first.id.clone(),
                user_id: first.user_id.clone(),
                benefit_id: first.benefit_id.clone(),
                game_id: first.game_id.clone(),
            },
            twitch_drops::fulfill::JournalRecord::Granted {
                id: first.id.clone(),
            },
        ])
        .expect("memory");
    // EventSub pushes both again.
    let engine = Engine::for_entitlements(client.config(), claimed.clone(), 1);
    let mut ledger = Ledger::default();
    let report = client.drive_engine(
        engine,
        &mut journal,
        &mut |r: &GrantRequest| ledger.grant(r),
        &mut |_| {},
    );
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.fulfilled, 2);
    assert!(
        !ledger.grants.contains_key(first.id.as_str()),
        "granted again"
    );
    assert_eq!(ledger.grants.get(claimed[1].id.as_str()), Some(&1));
    assert!(claimed_of(&fake, &claimed).iter().all(|s| s == FULFILLED));
}

fn claimed_of(fake: &FakeTwitch, entitlements: &[Entitlement]) -> Vec<String> {
    fake.entitlements()
        .into_iter()
        .filter(|e| entitlements.iter().any(|x| x.id == e.id))
        .map(|e| e.fulfillment_status)
        .collect()
}

/// Pipelined (several steps out), the pooled `UPDATE_FAILED` ids wait out their pause: no
/// PATCH goes out between the pause's `Sleep` and its answer, however long it is held.
#[test]
fn pipelined_retries_of_update_failed_wait_out_their_pause() {
    use twitch_drops::fulfill::Ticket;
    use twitch_drops::HttpResponse;

    let config = Config::new("cid", Credentials::AccessToken("token-1".into()));
    let entitlement = Entitlement {
        id: "e1".into(),
        benefit_id: "b1".into(),
        timestamp: "2023-11-14T22:00:00Z".into(),
        user_id: "u1".into(),
        game_id: GAME.into(),
        fulfillment_status: FulfillmentStatus::Claimed,
        last_updated: "2023-11-14T22:00:00Z".into(),
    };
    let mut engine = Engine::for_entitlements(&config, vec![entitlement], 1)
        .with_requests_in_flight(4)
        .expect("4 in flight");
    let mut out: Vec<(Ticket, EngineStep)> = engine.advance(None, 0);
    // No rate-limit headers and no retries inside the PATCH: every Sleep is the pause.
    let mut pause: Option<Ticket> = None;
    let (mut patches, mut pauses) = (0, 0);
    for _ in 0..100 {
        let next = out
            .iter()
            .position(|(ticket, _)| Some(*ticket) != pause)
            .unwrap_or(0);
        let (ticket, step) = out.remove(next);
        let input = match step {
            EngineStep::Studio(StudioStep::LoadJournal) => EngineInput::JournalLoaded(Ok(vec![])),
            EngineStep::Studio(StudioStep::Claim { .. }) => EngineInput::Claimed(Ok(vec![])),
            EngineStep::Studio(StudioStep::Grant(requests)) => {
                EngineInput::Granted(requests.iter().map(|_| GrantOutcome::Granted).collect())
            }
            EngineStep::Studio(StudioStep::AppendJournal(_)) => EngineInput::Appended(Ok(())),
            EngineStep::Twitch(TwitchStep::Sleep(_)) => {
                assert_eq!(pause.take(), Some(ticket), "only the pause sleeps here");
                EngineInput::Slept
            }
            EngineStep::Twitch(TwitchStep::Send(request)) => {
                assert!(
                    pause.is_none(),
                    "a PATCH went out during the pause: {request:?}"
                );
                patches += 1;
                let status = if patches <= 2 {
                    "UPDATE_FAILED"
                } else {
                    "SUCCESS"
                };
                let body = format!(r#"{{"data":[{{"status":"{status}","ids":["e1"]}}]}}"#);
                EngineInput::Response(HttpResponse::new(200, body))
            }
            EngineStep::Done(_) => unreachable!("Done is handled below"),
        };
        for (ticket, step) in engine.advance(Some((ticket, input)), 0) {
            match step {
                EngineStep::Done(report) => {
                    assert!(out.is_empty(), "Done with steps out: {out:?}");
                    assert_eq!(report.fulfilled, 1, "{report:?}");
                    assert_eq!((patches, pauses), (3, 2));
                    return;
                }
                EngineStep::Twitch(TwitchStep::Sleep(_)) => {
                    assert!(pause.is_none());
                    pause = Some(ticket);
                    pauses += 1;
                    out.push((ticket, step));
                }
                step => out.push((ticket, step)),
            }
        }
    }
    panic!("the run did not end");
}

/// The seed `fake_with(500, 20)` starts from, to bring its entitlements back CLAIMED.
fn stale_seed() -> Seed {
    Seed {
        entitlements: 500,
        games: vec![GAME.into()],
        foreign_games: vec!["999999".into()],
        users: 20,
        fulfilled_fraction: 0.1,
        rng_seed: 5,
    }
}

/// Drains, lets the fake list every entitlement it fulfilled as CLAIMED again (a stale
/// listing: the same ids, back as they were), reruns, and returns the rerun's ledger.
fn rerun_after_a_stale_listing(journal: &mut dyn FnMut() -> Box<dyn Journal>) -> Ledger {
    let fake = fake_with(500, 20);
    let before = claimed(&fake).len();
    let mut ledger = Ledger::default();
    let report = client(&fake)
        .fulfill(
            FulfillOptions::game(GAME),
            &mut *journal(),
            &mut |r: &GrantRequest| ledger.grant(r),
        )
        .expect("valid options");
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(ledger.grants.len(), before);
    fake.reset(stale_seed());
    assert_eq!(claimed(&fake).len(), before, "the stale listing is back");
    let mut again = Ledger::default();
    let rerun = client(&fake)
        .fulfill(
            FulfillOptions::game(GAME),
            &mut *journal(),
            &mut |r: &GrantRequest| again.grant(r),
        )
        .expect("valid options");
    assert_eq!(rerun.held_elsewhere as usize, before, "refused: {rerun:?}");
    again
}

#[test]
fn a_stale_listing_grants_nothing_again_with_the_file_journal() {
    let dir = std::env::temp_dir().join(format!("drops-stale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("journal");
    let again = rerun_after_a_stale_listing(&mut || Box::new(FileJournal::new(&path)));
    assert!(
        again.grants.is_empty(),
        "granted again: {:?}",
        again.grants.len()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_stale_listing_grants_nothing_again_with_the_memory_journal() {
    let shared = Arc::new(std::sync::Mutex::new(MemoryJournal::new()));
    let again = rerun_after_a_stale_listing(&mut || Box::new(Shared(shared.clone())));
    assert!(
        again.grants.is_empty(),
        "granted again: {:?}",
        again.grants.len()
    );
}

/// One memory journal for both runs.
struct Shared(Arc<std::sync::Mutex<MemoryJournal>>);

impl Journal for Shared {
    fn load(&mut self) -> Result<Vec<JournalRecord>, JournalError> {
        self.0.lock().unwrap().load()
    }
    fn claim(&mut self, records: &[JournalRecord]) -> Result<Vec<String>, JournalError> {
        self.0.lock().unwrap().claim(records)
    }
    fn append(&mut self, records: &[JournalRecord]) -> Result<(), JournalError> {
        self.0.lock().unwrap().append(records)
    }
}
