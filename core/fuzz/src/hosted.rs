//! The fulfillment engine driven through [`HostedRun`] (the `hosted_run` target), as a
//! non-blocking host would: it takes steps until `Idle`, answers a fuzzed few of those out in
//! a fuzzed order (responses shaped like Twitch's or not, transport failures, grant outcomes),
//! fails the journal now and then, and tries wrong answers (unknown tickets, the wrong kind,
//! a second answer). It never panics or hangs, and:
//! - a wrong answer is refused and changes nothing: the step stays out;
//! - `Idle` only with steps out (else the host would wait for ever); `Done` only with none;
//! - each request handed out is counted once by the session;
//! - an entitlement is handed out to grant at most once a run (a fresh journal: none is in
//!   doubt), and marked FULFILLED only after the host answered its grant `Granted`.

use std::collections::{HashMap, HashSet};

use arbitrary::Unstructured;
use serde_json::json;
use twitch_drops::fulfill::{JournalError, JournalRecord};
use twitch_drops::{
    Config, Credentials, Engine, EntitlementsQuery, FulfillOptions, GrantOutcome, HostAnswer,
    HostStep, HostedRun, Input, Journal, MemoryJournal, Method, Session,
};

use crate::{answer, helix_answer, patch_ids, pick, rare, slept, MAX_STEPS, NOW_MS};

/// A memory journal that fails while `failing` is set.
struct FlakyJournal {
    inner: MemoryJournal,
    failing: bool,
}

impl FlakyJournal {
    fn check(&self) -> Result<(), JournalError> {
        if self.failing {
            Err(JournalError("disk full".into()))
        } else {
            Ok(())
        }
    }
}

impl Journal for FlakyJournal {
    fn load(&mut self) -> Result<Vec<JournalRecord>, JournalError> {
        self.check()?;
        self.inner.load()
    }

    fn claim(&mut self, records: &[JournalRecord]) -> Result<Vec<String>, JournalError> {
        self.check()?;
        self.inner.claim(records)
    }

    fn append(&mut self, records: &[JournalRecord]) -> Result<(), JournalError> {
        self.check()?;
        self.inner.append(records)
    }
}

/// What a step out awaits, to fuzz wrong answers against it.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Send,
    Sleep,
    Grant,
}

pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let u = &mut u;
    let credentials = if rare(u, 2) {
        Credentials::ClientSecret("fuzz-secret".into())
    } else {
        Credentials::AccessToken(crate::TOKEN.into())
    };
    let config = Config::new("cid", credentials);
    let session = std::sync::Arc::new(Session::new(&config));
    let options = FulfillOptions {
        requests_in_flight: *pick(u, &[&4usize, &1, &2, &16]),
        ..FulfillOptions::new(EntitlementsQuery::new().game("509658"))
    };
    let engine = Engine::new(&config, options).expect("valid options");
    let mut run = HostedRun::new(engine, std::sync::Arc::clone(&session));
    let mut journal = FlakyJournal {
        inner: MemoryJournal::new(),
        failing: false,
    };

    let mut out: Vec<(u64, Kind, HostStep)> = Vec::new();
    let mut answered: Vec<u64> = Vec::new();
    let mut handed: HashSet<String> = HashSet::new();
    let mut granted: HashSet<String> = HashSet::new();
    let mut grant_of: HashMap<u64, String> = HashMap::new();
    let mut sends = 0u64;
    let mut now_ms = NOW_MS;
    let mut shaped = |r: &twitch_drops::HttpRequest, u: &mut Unstructured| {
        if r.url.contains("/oauth2/token") {
            json!({ "access_token": "fuzz-app-token", "expires_in": 3600, "token_type": "bearer" })
        } else {
            helix_answer(r, u)
        }
    };
    for _ in 0..MAX_STEPS {
        journal.failing = rare(u, 60);
        // Take every step until Idle or Done.
        loop {
            match run.poll(&mut journal, now_ms) {
                HostStep::Done => {
                    assert!(out.is_empty(), "Done with {} steps out", out.len());
                    assert_eq!(run.steps_out(), 0);
                    assert_eq!(session.requests_sent(), sends, "requests counted once");
                    let report = run.take_report().expect("a report once Done");
                    assert!(run.take_report().is_none(), "taken once");
                    let _ = (report.settled(), report.is_complete());
                    return;
                }
                HostStep::Idle => {
                    assert!(!out.is_empty(), "Idle with nothing out: a stall");
                    break;
                }
                HostStep::Send(ticket, request) => {
                    sends += 1;
                    if request.method == Method::Patch {
                        for id in patch_ids(&request) {
                            assert!(granted.contains(&id), "`{id}` marked before it was granted");
                        }
                    }
                    out.push((ticket, Kind::Send, HostStep::Send(ticket, request)));
                }
                HostStep::Sleep(ticket, d) => {
                    out.push((ticket, Kind::Sleep, HostStep::Sleep(ticket, d)))
                }
                HostStep::Grant(ticket, request) => {
                    let id = request.entitlement.id.to_string();
                    assert!(!request.resumed, "`{id}` resumed from a fresh journal");
                    assert!(
                        handed.insert(id.clone()),
                        "`{id}` handed out to grant twice"
                    );
                    grant_of.insert(ticket, id);
                    out.push((ticket, Kind::Grant, HostStep::Grant(ticket, request)));
                }
            }
        }
        assert_eq!(run.steps_out(), out.len());
        // Wrong answers: refused, and nothing changes.
        if rare(u, 20) {
            let (ticket, kind, _) = &out[u.choose_index(out.len()).unwrap_or(0)];
            let wrong = match kind {
                Kind::Grant => HostAnswer::Slept,
                _ => HostAnswer::Granted(GrantOutcome::Granted),
            };
            assert!(run.answer(*ticket, wrong).is_err(), "a wrong kind taken");
            if let Some(stale) = answered.last() {
                assert!(
                    run.answer(*stale, HostAnswer::Slept).is_err(),
                    "a second answer taken"
                );
            }
            assert!(
                run.answer(u64::MAX, HostAnswer::Slept).is_err(),
                "an unknown ticket taken"
            );
            assert_eq!(
                run.steps_out(),
                out.len(),
                "a refused answer changed what is out"
            );
        }
        // Answer some of what is out (at least one), in a fuzzed order.
        let count = u.int_in_range(1..=out.len()).unwrap_or(out.len());
        for _ in 0..count {
            let (ticket, _, step) = out.swap_remove(u.choose_index(out.len()).unwrap_or(0));
            let reply = match step {
                HostStep::Send(_, request) => match answer(u, &request, &mut shaped) {
                    Input::Response(r) => HostAnswer::Response(r),
                    Input::TransportFailed(e) => HostAnswer::TransportFailed(e),
                    other => unreachable!("answer gives responses or failures: {other:?}"),
                },
                HostStep::Sleep(_, duration) => {
                    now_ms = slept(now_ms, duration);
                    HostAnswer::Slept
                }
                HostStep::Grant(..) => {
                    let outcome = match u.int_in_range(0..=11u8).unwrap_or(0) {
                        10 => GrantOutcome::RetryLater,
                        11 => GrantOutcome::Failed("no linked account".into()),
                        _ => GrantOutcome::Granted,
                    };
                    if outcome == GrantOutcome::Granted {
                        granted.insert(grant_of[&ticket].clone());
                    }
                    HostAnswer::Granted(outcome)
                }
                other => unreachable!("only steps to answer are out: {other:?}"),
            };
            run.answer(ticket, reply)
                .expect("the right kind of answer is taken");
            answered.push(ticket);
        }
    }
    panic!("the run did not end within {MAX_STEPS} rounds");
}
