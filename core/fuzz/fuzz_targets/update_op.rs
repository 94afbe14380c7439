//! `update::update_entitlements` driven with fuzzed answers (PATCH answers, re-reads, 5xx,
//! 429, 401, lost connections). Never panics or hangs. Every PATCH holds at most 100 of
//! the ids asked for; an id whose PATCH may have been applied (a 5xx or a lost answer) is
//! re-read before it is sent again; the report gives each id one outcome or calls it
//! unconfirmed, never both, and accounts for every id (a stopped one too).
#![no_main]

use std::collections::HashSet;

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use twitch_drops::update::update_entitlements;
use twitch_drops::{
    Config, Credentials, Error, FulfillmentStatus, Input, Method, Operation, RetryPolicy, Step,
    TransportErrorKind,
};
use twitch_drops_fuzz::{
    answer, authorization, helix_answer, patch_ids, pick, query_ids, rare, show, slept, MAX_STEPS,
    NOW_MS, TOKEN,
};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let u = &mut u;
    let count = *pick(u, &[&5usize, &0, &1, &100, &101, &250]);
    let mut ids: Vec<String> = (0..count)
        .map(|i| {
            if rare(u, 20) {
                format!("e{}", i / 2) // a repeat
            } else {
                format!("e{i}")
            }
        })
        .collect();
    if rare(u, 30) {
        ids.push(" ".into()); // refused before anything is sent
    }
    let status = *pick(
        u,
        &[&FulfillmentStatus::Fulfilled, &FulfillmentStatus::Claimed],
    );
    let retry = RetryPolicy {
        update_failed_retries: *pick(u, &[&3u32, &0, &1]),
        ..RetryPolicy::default()
    };
    let config =
        Config::new("cid", Credentials::AccessToken(TOKEN.into())).with_retry_policy(retry);
    let mut op = match update_entitlements(&config, &ids, status) {
        Ok(op) => op,
        Err(e) => {
            assert!(ids.iter().any(|id| id.trim().is_empty()), "{e:?}");
            return show(&e);
        }
    };
    let asked: HashSet<&str> = ids.iter().map(String::as_str).collect();

    let mut in_doubt: HashSet<String> = HashSet::new();
    let mut input = Input::Start;
    let mut now_ms = NOW_MS;
    let mut shaped = |r: &twitch_drops::HttpRequest, u: &mut Unstructured| helix_answer(r, u);
    for _ in 0..MAX_STEPS {
        input = match op.resume(input, now_ms) {
            Step::Send(request) => {
                let answer = answer(u, &request, &mut shaped);
                match request.method {
                    Method::Patch => {
                        let sent = patch_ids(&request);
                        assert!(!sent.is_empty() && sent.len() <= 100, "{} ids", sent.len());
                        for id in &sent {
                            assert!(asked.contains(id.as_str()), "`{id}` was not asked for");
                            assert!(!in_doubt.contains(id), "`{id}` resent without a re-read");
                        }
                        let maybe_applied = match &answer {
                            Input::Response(r) => r.status >= 500,
                            Input::TransportFailed(e) => e.kind == TransportErrorKind::Interrupted,
                            _ => false,
                        };
                        if maybe_applied {
                            in_doubt.extend(sent);
                        }
                    }
                    _ => {
                        if matches!(answer, Input::Response(ref r) if r.is_success()) {
                            for id in query_ids(&request) {
                                in_doubt.remove(&id);
                            }
                        }
                    }
                }
                answer
            }
            Step::Sleep(duration) => {
                now_ms = slept(now_ms, duration);
                Input::Slept
            }
            Step::Authorize { .. } => Input::Token(authorization(u)),
            Step::Done(result) => {
                let report = match result {
                    Ok(report) => report,
                    Err(Error::PartialUpdate { report, cause }) => {
                        show(&cause);
                        *report
                    }
                    Err(e) => return show(&e),
                };
                let mut seen = HashSet::new();
                for outcome in &report.outcomes {
                    assert!(asked.contains(outcome.id.as_str()));
                    assert!(seen.insert(outcome.id.as_str()), "`{}` twice", outcome.id);
                }
                for id in &report.unconfirmed {
                    assert!(asked.contains(id.as_str()));
                    assert!(
                        seen.insert(id.as_str()),
                        "`{id}` has an outcome and is unconfirmed"
                    );
                }
                assert_eq!(seen, asked, "the report accounts for every id");
                let _ = (report.all_succeeded(), format!("{report:?}"));
                return;
            }
        };
    }
    panic!("the update did not end within {MAX_STEPS} steps");
});
