//! The fulfillment `Engine` driven with fuzzed answers to every step (the `engine` and
//! `engine_pipelined` targets): HTTP (pages, PATCH answers, re-reads, errors, lost
//! connections, rate limits), journal loads (records of an interrupted run) and appends
//! (which may fail), and grants (which may fail or answer the wrong count); now and then the
//! wrong input altogether. Sequential, it goes through `Engine::resume`; pipelined, through
//! `Engine::advance` with several steps out, answered in a fuzzed order. It never panics or
//! hangs, and it keeps the exactly-once rules whatever it is fed:
//! - an entitlement is granted only after its `Granting` record was appended, and at most
//!   once a run; never one the journal says was granted; `resumed` exactly for the ones
//!   the journal left in doubt;
//! - an entitlement is marked FULFILLED only once its `Granted` record is appended (in this
//!   run or an earlier one);
//! - each entitlement settles once; a run that ends, or stops on its journal, counts each
//!   entitlement it took up in exactly one state;
//! - pipelined: at most one studio step (journal, grant) and at most `requests_in_flight`
//!   HTTP steps are out at once, and `Done` comes only when nothing else is out.

use std::collections::HashSet;

use arbitrary::Unstructured;
use twitch_drops::fulfill::{
    EngineInput, EngineStep, JournalError, JournalRecord, Recovery, StudioStep, Ticket, TwitchStep,
};
use twitch_drops::{
    Config, Credentials, Engine, Entitlement, EntitlementsQuery, Error, FulfillOptions,
    GrantOutcome, Input, Method, RetryPolicy, SharedStr,
};

use crate::{
    answer, entitlement, helix_answer, patch_ids, pick, rare, show, slept, MAX_STEPS, NOW_MS, TOKEN,
};

fn journal_records(u: &mut Unstructured) -> Vec<JournalRecord> {
    let n = u.int_in_range(0..=12usize).unwrap_or(0);
    (0..n)
        .map(|_| {
            let id: SharedStr = format!("e{}", u.int_in_range(0..=15u8).unwrap_or(0)).into();
            match u.int_in_range(0..=3u8).unwrap_or(0) {
                0 => JournalRecord::Granting {
                    id,
                    user_id: format!("u{}", u.int_in_range(0..=3u8).unwrap_or(0)).into(),
                    benefit_id: "b1".into(),
                    game_id: "509658".into(),
                },
                1 => JournalRecord::Granted { id },
                2 => JournalRecord::NotGranted { id },
                _ => JournalRecord::Settled { id },
            }
        })
        .collect()
}

fn outcome(u: &mut Unstructured) -> GrantOutcome {
    match u.int_in_range(0..=11u8).unwrap_or(0) {
        10 => GrantOutcome::RetryLater,
        11 => GrantOutcome::Failed("no linked account".into()),
        _ => GrantOutcome::Granted,
    }
}

/// Runs one fuzzed engine: one step at a time, or (`pipelined`) several out at once.
pub fn run(data: &[u8], pipelined: bool) {
    let mut u = Unstructured::new(data);
    let u = &mut u;
    let retry = RetryPolicy {
        max_retries: *pick(u, &[&4u32, &0, &1]),
        update_failed_retries: *pick(u, &[&3u32, &0, &1]),
        ..RetryPolicy::default()
    };
    let config =
        Config::new("cid", Credentials::AccessToken(TOKEN.into())).with_retry_policy(retry);
    let quarantine_after = *pick(u, &[&1u32, &2, &0]);
    let mut engine = if rare(u, 4) {
        let n = u.int_in_range(0..=30usize).unwrap_or(0);
        let pushed: Vec<Entitlement> = (0..n)
            .filter_map(|_| serde_json::from_value(entitlement(u)).ok())
            .collect();
        Engine::for_entitlements(&config, pushed, quarantine_after)
    } else {
        let options = FulfillOptions {
            quarantine_after,
            ..FulfillOptions::new(EntitlementsQuery::new().game("509658"))
        };
        Engine::new(&config, options).expect("valid options")
    };

    let in_flight = if pipelined {
        *pick(u, &[&4usize, &2, &1, &16])
    } else {
        1
    };
    let grants_in_flight = *pick(u, &[&1usize, &4, &100, &7]);
    engine = engine
        .with_requests_in_flight(in_flight)
        .expect("1..=16 in flight")
        .with_grants_in_flight(grants_in_flight)
        .expect("1..=100 grants");

    let mut intended: HashSet<SharedStr> = HashSet::new(); // `Granting` claimed
    let mut held: HashSet<SharedStr> = HashSet::new(); // claimed by "another instance"
    let mut journaled_granted: HashSet<SharedStr> = HashSet::new(); // `Granted` appended or loaded
    let mut recovered_granted: HashSet<SharedStr> = HashSet::new();
    let mut recovered_in_doubt: HashSet<SharedStr> = HashSet::new();
    let mut grants: HashSet<SharedStr> = HashSet::new();
    let mut settled: HashSet<SharedStr> = HashSet::new();
    let mut shaped = |r: &twitch_drops::HttpRequest, u: &mut Unstructured| helix_answer(r, u);

    let mut out: Vec<(Option<Ticket>, EngineStep)> = Vec::new();
    let mut answered: Option<(Option<Ticket>, EngineInput)> = None;
    let mut last_answered: Option<Ticket> = None;
    let mut misfed = false;
    let mut now_ms = NOW_MS;
    for _ in 0..MAX_STEPS {
        let steps: Vec<(Option<Ticket>, EngineStep)> = if pipelined {
            let answer = answered
                .take()
                .map(|(ticket, input)| (ticket.expect("pipelined steps have tickets"), input));
            engine
                .advance(answer, now_ms)
                .into_iter()
                .map(|(ticket, step)| (Some(ticket), step))
                .collect()
        } else {
            let input = answered
                .take()
                .map_or(EngineInput::Start, |(_, input)| input);
            vec![(None, engine.resume(input, now_ms))]
        };
        for settlement in engine.take_settlements() {
            assert!(
                settled.insert(settlement.id.clone()),
                "`{}` settled twice",
                settlement.id
            );
        }
        for (ticket, step) in steps {
            let EngineStep::Done(report) = step else {
                out.push((ticket, step));
                continue;
            };
            // Done comes alone, once nothing is out (unless the driver misfed: then what
            // was out is abandoned).
            assert!(
                misfed || out.is_empty(),
                "Done with {} steps out",
                out.len()
            );
            let counted = report.settled();
            assert_eq!(counted, settled.len() as u64);
            assert!(counted <= report.listed, "{report:?}");
            let _ = (report.left(), report.is_complete());
            // A run that ends, or stops on its journal, settles everything it took up.
            // (A driver that answers a grant batch with the wrong count, or feeds the
            // wrong input, may leave that batch uncounted: it stays in the journal.)
            if let Some(e) = &report.error {
                show(e);
            }
            if matches!(report.error, None | Some(Error::Journal { .. })) {
                assert_eq!(counted, report.listed, "unsettled entitlements: {report:?}");
            }
            return;
        }
        let studio = out.iter().filter(|(_, step)| is_studio(step)).count();
        assert!(studio <= 1, "{studio} studio steps out at once");
        assert!(
            out.len() - studio <= in_flight,
            "{} HTTP steps out, {in_flight} allowed",
            out.len() - studio
        );
        assert!(
            !out.is_empty(),
            "nothing out and no Done: a driver would wait for ever"
        );
        let (ticket, step) = out.swap_remove(u.choose_index(out.len()).unwrap_or(0));
        if let (Some(stale), true) = (last_answered, pipelined && rare(u, 300)) {
            // An answer to a step already answered: the engine must stop cleanly.
            misfed = true;
            out.push((ticket, step));
            answered = Some((Some(stale), EngineInput::Slept));
            continue;
        }
        if rare(u, 200) {
            // The wrong answer: the engine must stop cleanly, not panic.
            misfed = true;
            let input = match step {
                // A journal error where the grant's answer was due is a misfeed too, not a
                // journal failure that would leave the batch uncounted.
                EngineStep::Studio(StudioStep::Grant(_)) if rare(u, 2) => {
                    EngineInput::Appended(Err(JournalError("wrong answer".into())))
                }
                EngineStep::Studio(StudioStep::Grant(_)) => EngineInput::Appended(Ok(())),
                _ => EngineInput::Granted(Vec::new()),
            };
            answered = Some((ticket, input));
            continue;
        }
        last_answered = ticket;
        let input = match step {
            EngineStep::Twitch(TwitchStep::Send(request)) => {
                if request.method == Method::Patch {
                    for id in patch_ids(&request) {
                        assert!(
                            journaled_granted.contains(id.as_str()),
                            "`{id}` marked before its grant was journaled"
                        );
                    }
                }
                match answer(u, &request, &mut shaped) {
                    Input::Response(r) => EngineInput::Response(r),
                    Input::TransportFailed(e) => EngineInput::TransportFailed(e),
                    other => unreachable!("answer gives responses or failures: {other:?}"),
                }
            }
            EngineStep::Twitch(TwitchStep::Sleep(duration)) => {
                now_ms = slept(now_ms, duration);
                EngineInput::Slept
            }
            EngineStep::Studio(StudioStep::LoadJournal) => {
                if rare(u, 30) {
                    EngineInput::JournalLoaded(Err(JournalError("disk on fire".into())))
                } else {
                    let records = journal_records(u);
                    let recovery = Recovery::from_records(&records);
                    recovered_granted = recovery.granted.iter().map(|e| e.id.clone()).collect();
                    recovered_in_doubt = recovery.in_doubt.iter().map(|e| e.id.clone()).collect();
                    journaled_granted.extend(recovered_granted.iter().cloned());
                    EngineInput::JournalLoaded(Ok(records))
                }
            }
            EngineStep::Studio(StudioStep::Claim { append, claim }) => {
                if rare(u, 40) {
                    EngineInput::Claimed(Err(JournalError("disk full".into())))
                } else {
                    // The answers of the batch before, written with the claim.
                    for record in append {
                        match record {
                            JournalRecord::Granting { id, .. } => {
                                panic!("`{id}`: `Granting` appended, not claimed")
                            }
                            JournalRecord::Granted { id } => {
                                journaled_granted.insert(id);
                            }
                            _ => {}
                        }
                    }
                    // Another instance sharing the journal may hold some of them.
                    let mut held_here = Vec::new();
                    for record in claim {
                        let JournalRecord::Granting { id, .. } = record else {
                            panic!("a claim of a record that is not `Granting`: {record:?}");
                        };
                        if rare(u, 8) && !recovered_in_doubt.contains(&id) {
                            held_here.push(id.to_string());
                            held.insert(id);
                        } else {
                            intended.insert(id);
                        }
                    }
                    EngineInput::Claimed(Ok(held_here))
                }
            }
            EngineStep::Studio(StudioStep::AppendJournal(records)) => {
                if rare(u, 40) {
                    EngineInput::Appended(Err(JournalError("disk full".into())))
                } else {
                    for record in records {
                        match record {
                            JournalRecord::Granting { id, .. } => {
                                panic!("`{id}`: `Granting` appended, not claimed")
                            }
                            JournalRecord::Granted { id } => {
                                journaled_granted.insert(id);
                            }
                            _ => {}
                        }
                    }
                    EngineInput::Appended(Ok(()))
                }
            }
            EngineStep::Studio(StudioStep::Grant(requests)) => {
                assert!(!requests.is_empty() && requests.len() <= grants_in_flight);
                for request in &requests {
                    let id = &request.entitlement.id;
                    assert!(
                        intended.contains(id),
                        "`{id}` granted before `Granting` was journaled"
                    );
                    assert!(grants.insert(id.clone()), "`{id}` granted twice");
                    assert!(
                        !held.contains(id),
                        "`{id}` granted while another instance held it"
                    );
                    assert!(
                        !recovered_granted.contains(id),
                        "`{id}` was granted by an earlier run"
                    );
                    assert_eq!(
                        request.resumed,
                        recovered_in_doubt.contains(id),
                        "`{id}`: resumed must be true exactly for grants left in doubt"
                    );
                }
                let mut outcomes: Vec<GrantOutcome> = requests.iter().map(|_| outcome(u)).collect();
                if rare(u, 50) {
                    outcomes.pop();
                }
                EngineInput::Granted(outcomes)
            }
            EngineStep::Done(_) => unreachable!("handled above"),
        };
        answered = Some((ticket, input));
    }
    panic!("the engine did not end within {MAX_STEPS} steps");
}

/// A journal or grant step (one at a time), as opposed to an HTTP one.
fn is_studio(step: &EngineStep) -> bool {
    matches!(
        step,
        EngineStep::Studio(StudioStep::LoadJournal)
            | EngineStep::Studio(StudioStep::Claim { .. })
            | EngineStep::Studio(StudioStep::AppendJournal(_))
            | EngineStep::Studio(StudioStep::Grant(_))
    )
}
