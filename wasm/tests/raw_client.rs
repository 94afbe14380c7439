//! The wasm driver under `wasm-bindgen-test`, in Node and (with
//! `WASM_BINDGEN_USE_BROWSER=1`, as `wasm/test.sh` runs it too) in headless Chromium:
//! `RawClient` with a scripted `fetch`, checking what only the Rust side can show (the
//! driver loop, sleeping on `setTimeout`, the shared token fetch, the error payload, the
//! browser's refusal of a client secret). The package's behaviour against the fake Twitch
//! is tested from JavaScript (`tests/node/`).
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use serde_json::Value;
use twitch_drops_wasm::RawClient;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

/// One scripted answer: status, headers, body.
type Answer = (u16, Vec<(&'static str, String)>, String);

/// A `fetch` that records `METHOD path` of each request and answers with `script`, which
/// gets the method, the path, the `Authorization` header and the request's number.
fn scripted(
    script: impl Fn(&str, &str, &str, usize) -> Answer + 'static,
) -> (Function, Rc<RefCell<Vec<String>>>) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let log = Rc::clone(&seen);
    let fetch =
        Closure::<dyn FnMut(web_sys::Request) -> Promise>::new(move |request: web_sys::Request| {
            let url = request.url();
            let path = url
                .split("://")
                .nth(1)
                .and_then(|r| r.find('/').map(|i| &r[i..]))
                .unwrap_or("/");
            let path = path.split('?').next().unwrap_or("/").to_string();
            let method = request.method();
            log.borrow_mut().push(format!("{method} {path}"));
            let n = log.borrow().len();
            let auth = request
                .headers()
                .get("authorization")
                .unwrap()
                .unwrap_or_default();
            let (status, headers, body) = script(&method, &path, &auth, n);
            let init = web_sys::ResponseInit::new();
            init.set_status(status);
            let h = web_sys::Headers::new().unwrap();
            for (name, value) in headers {
                h.set(name, &value).unwrap();
            }
            init.set_headers(&h);
            let response =
                web_sys::Response::new_with_opt_str_and_init(Some(&body), &init).unwrap();
            Promise::resolve(&JsValue::from(response))
        });
    let function: Function = fetch.as_ref().unchecked_ref::<Function>().clone();
    fetch.forget();
    (function, seen)
}

fn refreshed() -> Answer {
    let body = r#"{"access_token":"new","refresh_token":"r2","expires_in":3600,"scope":[]}"#;
    (200, vec![], body.into())
}

fn unauthorized() -> Answer {
    let body = r#"{"error":"Unauthorized","status":401,"message":"Invalid OAuth token"}"#;
    (401, vec![], body.into())
}

fn page() -> Answer {
    let body = r#"{"data":[{"id":"e1","benefit_id":"b","timestamp":"2025-01-01T00:00:00Z","user_id":"u","game_id":"509658","fulfillment_status":"CLAIMED","last_updated":"2025-01-01T00:00:00Z"}],"pagination":{}}"#;
    (200, vec![], body.into())
}

/// A fixed token.
const TOKEN: &str = r#"{"clientId":"c","accessToken":"t","helixUrl":"https://helix.test/helix"}"#;
/// A user token `old` with a refresh token (no client secret: this also runs in a browser).
const USER: &str = r#"{"clientId":"c","accessToken":"old","refreshToken":"r1","helixUrl":"https://helix.test/helix","authUrl":"https://id.test/oauth2"}"#;

fn in_browser() -> bool {
    !Reflect::get(&js_sys::global(), &"document".into())
        .unwrap()
        .is_undefined()
}

async fn text(promise: Promise) -> Result<Value, JsValue> {
    let value = JsFuture::from(promise).await?;
    Ok(serde_json::from_str(&value.as_string().expect("JSON text")).expect("JSON"))
}

fn payload(error: &JsValue) -> Value {
    assert!(
        error.is_instance_of::<js_sys::Error>(),
        "an Error, not a string"
    );
    let text = Reflect::get(error, &"payload".into())
        .unwrap()
        .as_string()
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[wasm_bindgen_test]
async fn a_page_comes_back_in_camel_case() {
    let (fetch, seen) = scripted(|_, _, _, _| page());
    let client = RawClient::new(TOKEN, Some(fetch), None, 2).unwrap();
    let page = text(client.entitlements_page(r#"{"gameId":"509658"}"#.into()))
        .await
        .unwrap();
    assert_eq!(page["entitlements"][0]["benefitId"], "b");
    assert_eq!(page["entitlements"][0]["fulfillmentStatus"], "CLAIMED");
    assert_eq!(page["cursor"], Value::Null);
    assert_eq!(*seen.borrow(), ["GET /helix/entitlements/drops"]);
    assert_eq!(client.requests_sent(), 1.0);
}

#[wasm_bindgen_test]
async fn concurrent_401s_share_one_token_refresh() {
    let (fetch, seen) = scripted(|_, path, auth, _| match (path, auth) {
        ("/oauth2/token", _) => refreshed(),
        (_, "Bearer old") => unauthorized(),
        _ => page(),
    });
    let client = RawClient::new(USER, Some(fetch), None, 2).unwrap();
    let calls: Vec<Promise> = (0..4)
        .map(|_| client.entitlements_page("{}".into()))
        .collect();
    for call in calls {
        text(call).await.unwrap();
    }
    let refreshes = seen
        .borrow()
        .iter()
        .filter(|s| s.ends_with("/token"))
        .count();
    assert_eq!(refreshes, 1, "{:?}", seen.borrow());
    assert_eq!(client.requests_sent(), 9.0, "4 refused, 1 refresh, 4 again");
    let token: Value = serde_json::from_str(&client.user_token().unwrap()).unwrap();
    assert_eq!(
        (
            token["accessToken"].as_str(),
            token["refreshToken"].as_str()
        ),
        (Some("new"), Some("r2"))
    );
}

#[wasm_bindgen_test]
fn a_client_secret_is_refused_in_a_browser_only() {
    let options = r#"{"clientId":"c","clientSecret":"s"}"#;
    match RawClient::new(options, None, None, 2) {
        Ok(_) => assert!(!in_browser(), "a browser took a client secret"),
        Err(error) => {
            assert!(in_browser(), "refused outside a browser");
            let p = payload(&error);
            assert_eq!(p["field"], "clientSecret");
            assert!(p["message"]
                .as_str()
                .unwrap()
                .contains("never be used in a browser"));
        }
    }
}

#[wasm_bindgen_test]
async fn a_429_without_rate_limit_headers_is_waited_out_on_set_timeout() {
    let (fetch, seen) = scripted(|_, _, _, n| {
        if n == 1 {
            (
                429,
                vec![],
                r#"{"error":"Too Many Requests","status":429,"message":""}"#.into(),
            )
        } else {
            page()
        }
    });
    let client = RawClient::new(TOKEN, Some(fetch), None, 2).unwrap();
    let started = js_sys::Date::now();
    text(client.entitlements_page("{}".into())).await.unwrap();
    let waited = js_sys::Date::now() - started;
    assert!(waited >= 100.0, "backed off only {waited} ms");
    assert_eq!(seen.borrow().len(), 2);
    // Like a browser: no Ratelimit-* headers seen, no reading.
    assert_eq!(client.rate_limit(), None);
}

#[wasm_bindgen_test]
async fn rate_limit_headers_are_read_when_visible() {
    let (fetch, _) = scripted(|_, _, _, _| {
        let (status, _, body) = page();
        let headers = vec![
            ("Ratelimit-Limit", "800".to_string()),
            ("Ratelimit-Remaining", "799".to_string()),
            ("Ratelimit-Reset", "1700000000".to_string()),
        ];
        (status, headers, body)
    });
    let client = RawClient::new(TOKEN, Some(fetch), None, 2).unwrap();
    text(client.entitlements_page("{}".into())).await.unwrap();
    let limit: Value = serde_json::from_str(&client.rate_limit().unwrap()).unwrap();
    assert_eq!(limit["remaining"], 799);
    assert_eq!(limit["resetAtMs"], 1_700_000_000_000u64);
}

#[wasm_bindgen_test]
async fn failures_reject_with_an_error_carrying_the_payload() {
    let error = RawClient::new(r#"{"clientId":""}"#, None, None, 2)
        .err()
        .unwrap();
    let p = payload(&error);
    assert_eq!(p["kind"], "InvalidInput");
    assert_eq!(p["field"], "clientId");

    let (fetch, _) = scripted(|_, _, _, _| {
        (
            403,
            vec![],
            r#"{"error":"Forbidden","status":403,"message":"not your game"}"#.into(),
        )
    });
    let client = RawClient::new(TOKEN, Some(fetch), None, 2).unwrap();
    let error = text(client.entitlements_page("{}".into()))
        .await
        .unwrap_err();
    let p = payload(&error);
    assert_eq!(
        (p["kind"].as_str(), p["status"].as_u64()),
        (Some("Http"), Some(403))
    );
    assert_eq!(p["twitchMessage"], "not your game");
}

#[wasm_bindgen_test]
async fn pages_follow_the_cursor_and_end() {
    let (fetch, seen) = scripted(|_, _, _, n| {
        let cursor = if n == 1 { r#"{"cursor":"next"}"# } else { "{}" };
        (
            200,
            vec![],
            format!(r#"{{"data":[],"pagination":{cursor}}}"#),
        )
    });
    let client = RawClient::new(TOKEN, Some(fetch), None, 2).unwrap();
    let pages = client.entitlement_pages(r#"{"first":1000}"#.into());
    assert_eq!(text(pages.next()).await.unwrap()["cursor"], "next");
    assert_eq!(text(pages.next()).await.unwrap()["cursor"], Value::Null);
    assert!(JsFuture::from(pages.next()).await.unwrap().is_undefined());
    assert_eq!(seen.borrow().len(), 2);
}

/// A grant batch function (what `js/fulfill.ts` makes of a grant function): answers each
/// request with `answer` and records the batch sizes.
fn grants(answer: &'static str) -> (Function, Rc<RefCell<Vec<usize>>>) {
    let batches = Rc::new(RefCell::new(Vec::new()));
    let log = Rc::clone(&batches);
    let grant = Closure::<dyn FnMut(String) -> Promise>::new(move |batch: String| {
        let requests: Vec<Value> = serde_json::from_str(&batch).unwrap();
        assert!(requests
            .iter()
            .all(|r| r["entitlement"]["benefitId"] == "b" && r["resumed"] == false));
        log.borrow_mut().push(requests.len());
        let answers = vec![answer; requests.len()];
        Promise::resolve(&JsValue::from_str(
            &serde_json::to_string(&answers).unwrap(),
        ))
    });
    let function: Function = grant.as_ref().unchecked_ref::<Function>().clone();
    grant.forget();
    (function, batches)
}

#[wasm_bindgen_test]
async fn fulfill_drives_the_engine_with_a_js_grant_and_the_sessions_token() {
    let (fetch, seen) = scripted(|method, path, auth, _| match (method, path, auth) {
        ("POST", "/oauth2/token", _) => refreshed(),
        (_, _, "Bearer old") => unauthorized(),
        ("GET", _, _) => page(),
        _ => (
            200,
            vec![],
            r#"{"data":[{"status":"SUCCESS","ids":["e1"]}]}"#.into(),
        ),
    });
    // The token is refused: the engine's `Authorize` is answered by the session's
    // `authorize` operation, whose refresh the driver sends like any request.
    let client = RawClient::new(USER, Some(fetch), None, 2).unwrap();
    let (grant, batches) = grants("granted");
    let report = text(client.fulfill(r#"{"gameId":"509658"}"#.into(), grant, None, None, None))
        .await
        .unwrap();
    assert_eq!(report["listed"], 1);
    assert_eq!(report["fulfilled"], 1);
    assert_eq!(report["left"], 0);
    assert_eq!(*batches.borrow(), [1]);
    assert_eq!(
        *seen.borrow(),
        [
            "GET /helix/entitlements/drops",
            "POST /oauth2/token",
            "GET /helix/entitlements/drops",
            "PATCH /helix/entitlements/drops"
        ]
    );
    assert!(client
        .user_token()
        .unwrap()
        .contains(r#""refreshToken":"r2""#));

    // A journal whose `load` rejects stops the run: the rejection carries the totals.
    let (grant, _) = grants("granted");
    let load = Closure::<dyn FnMut() -> Promise>::new(|| {
        Promise::reject(&js_sys::Error::new("no such table").into())
    });
    let append = Closure::<dyn FnMut(String) -> Promise>::new(|_| Promise::resolve(&JsValue::NULL));
    let error = text(client.fulfill(
        r#"{"gameId":"509658"}"#.into(),
        grant,
        Some(journal_object(&[
            ("load", load.as_ref().unchecked_ref()),
            ("append", append.as_ref().unchecked_ref()),
        ])),
        None,
        None,
    ))
    .await
    .unwrap_err();
    let p = payload(&error);
    assert_eq!(p["kind"], "Journal");
    assert!(p["message"].as_str().unwrap().contains("no such table"));
    assert_eq!(p["fulfillReport"]["listed"], 0);
    assert_eq!(
        client.requests_sent(),
        4.0,
        "nothing sent after the journal failed"
    );
}

/// A journal object (what `js/fulfill.ts` passes): these functions by name.
fn journal_object(functions: &[(&str, &Function)]) -> js_sys::Object {
    let journal = js_sys::Object::new();
    for (name, function) in functions {
        Reflect::set(&journal, &(*name).into(), function).unwrap();
    }
    journal
}

/// A journal function answering `text` (what `js/fulfill.ts` makes of `journal.claim`), and
/// the batches of records it was given.
fn claim_answering(text: &'static str) -> (Function, Rc<RefCell<Vec<Value>>>) {
    let given = Rc::new(RefCell::new(Vec::new()));
    let log = Rc::clone(&given);
    let claim = Closure::<dyn FnMut(String) -> Promise>::new(move |records: String| {
        log.borrow_mut()
            .push(serde_json::from_str::<Value>(&records).unwrap());
        Promise::resolve(&JsValue::from_str(text))
    });
    let function: Function = claim.as_ref().unchecked_ref::<Function>().clone();
    claim.forget();
    (function, given)
}

#[wasm_bindgen_test]
async fn fulfill_leaves_what_the_journals_claim_says_another_instance_holds() {
    let (fetch, seen) = scripted(|method, _, _, _| match method {
        "GET" => page(),
        _ => (500, vec![], "{}".into()),
    });
    let client = RawClient::new(TOKEN, Some(fetch), None, 2).unwrap();
    let load =
        Closure::<dyn FnMut() -> Promise>::new(|| Promise::resolve(&JsValue::from_str("[]")));
    let append = Closure::<dyn FnMut(String) -> Promise>::new(|records: String| {
        assert!(
            !records.contains("granting"),
            "granting records go to claim"
        );
        Promise::resolve(&JsValue::UNDEFINED)
    });
    let journal = |claim: &Function| {
        Some(journal_object(&[
            ("load", load.as_ref().unchecked_ref()),
            ("append", append.as_ref().unchecked_ref()),
            ("claim", claim),
        ]))
    };
    let run = |grant: Function, claim: &Function| {
        text(client.fulfill(
            r#"{"gameId":"509658"}"#.into(),
            grant,
            journal(claim),
            None,
            None,
        ))
    };

    // Another instance holds e1: not granted, not marked, settled heldElsewhere.
    let (grant, batches) = grants("granted");
    let (claim, given) = claim_answering(r#"["e1"]"#);
    let report = run(grant, &claim).await.unwrap();
    assert_eq!(report["listed"], 1);
    assert_eq!(report["heldElsewhere"], 1);
    assert_eq!(report["granted"], 0);
    assert_eq!(report["left"], 0);
    assert!(batches.borrow().is_empty());
    assert_eq!(given.borrow()[0][0]["op"], "granting");
    assert_eq!(given.borrow()[0][0]["id"], "e1");
    assert!(seen.borrow().iter().all(|r| !r.starts_with("PATCH")));

    // An answer that is not an array of the batch's ids stops the run, nothing granted.
    let (grant, batches) = grants("granted");
    let (claim, _) = claim_answering(r#"{"held":[]}"#);
    let p = payload(&run(grant, &claim).await.unwrap_err());
    assert_eq!(p["kind"], "Journal");
    let message = p["message"].as_str().unwrap();
    assert!(
        message.contains("`claim()` must resolve to an array"),
        "{p}"
    );
    assert_eq!(p["fulfillReport"]["granted"], 0);
    assert!(batches.borrow().is_empty());

    // A journal whose claim is not a function is refused before anything is sent.
    let sent = client.requests_sent();
    let (grant, batches) = grants("granted");
    let odd = journal(&claim).unwrap();
    Reflect::set(&odd, &"claim".into(), &"yes".into()).unwrap();
    let error = text(client.fulfill(
        r#"{"gameId":"509658"}"#.into(),
        grant,
        Some(odd),
        None,
        None,
    ))
    .await
    .unwrap_err();
    let p = payload(&error);
    assert_eq!(p["kind"], "InvalidInput", "{p}");
    assert_eq!(p["field"], "journal.claim");
    let message = p["message"].as_str().unwrap();
    assert!(
        message.contains("`journal.claim`: must be a function"),
        "{p}"
    );
    assert!(batches.borrow().is_empty());
    assert_eq!(client.requests_sent(), sent);
}
