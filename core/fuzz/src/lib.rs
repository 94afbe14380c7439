//! Helpers the fuzz targets share: fuzzed HTTP answers (statuses, headers, bodies shaped
//! like Twitch's or not at all) and a driver loop for any sans-IO [`Operation`].
//!
//! Every choice reads the fuzzer's bytes through [`Unstructured`]; when they run out each
//! choice falls back to its first, "clean" option (a 200 with a well-formed body), so a
//! driven operation always has a way to finish. A driver that does not finish within
//! [`MAX_STEPS`] is a hang, and the targets treat it as a crash.

pub mod engine;
pub mod hosted;

use std::time::Duration;

use arbitrary::Unstructured;
use serde_json::{json, Value};
use twitch_drops::{
    AccessToken, Authorization, Config, Credentials, Error, HttpRequest, HttpResponse, Input,
    Operation, Step, TokenStore, TransportError, TransportErrorKind,
};

/// The clock every target starts at (2023-11-14T22:13:20Z).
pub const NOW_MS: u64 = 1_700_000_000_000;
/// Steps after which a driven operation counts as hung.
pub const MAX_STEPS: usize = 100_000;
/// The token every `Authorize` step is answered with.
pub const TOKEN: &str = "fuzz-token-7Hq2";

/// True with probability 1/`one_in`; false once the fuzzer's bytes run out.
pub fn rare(u: &mut Unstructured, one_in: u32) -> bool {
    let last = one_in.max(1) - 1;
    last > 0 && u.int_in_range(0..=last).unwrap_or(0) == last
}

/// One of `options`; the first once the bytes run out.
pub fn pick<'a, T: ?Sized>(u: &mut Unstructured, options: &[&'a T]) -> &'a T {
    options[u.choose_index(options.len()).unwrap_or(0)]
}

/// A short string: one of `usual` (first when out of bytes), or now and then anything.
pub fn text(u: &mut Unstructured, usual: &[&str]) -> String {
    if rare(u, 6) {
        u.arbitrary::<String>().unwrap_or_default()
    } else {
        pick(u, usual).to_string()
    }
}

/// A number that is usually small, sometimes at the edges of `u64`.
pub fn number(u: &mut Unstructured) -> u64 {
    match u.int_in_range(0..=7u8).unwrap_or(0) {
        0..=4 => u.int_in_range(0..=4000u64).unwrap_or(3600),
        5 => u64::MAX - u.int_in_range(0..=2u64).unwrap_or(0),
        6 => (i64::MAX as u64) + u.int_in_range(0..=2u64).unwrap_or(0),
        _ => u.arbitrary().unwrap_or(0),
    }
}

/// A JSON value of any shape, at most `depth` deep.
pub fn any_json(u: &mut Unstructured, depth: u32) -> Value {
    match u.int_in_range(0..=7u8).unwrap_or(0) {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary().unwrap_or(false)),
        2 => json!(number(u)),
        3 => json!(u.arbitrary::<i64>().unwrap_or(-1)),
        4 => json!(u.arbitrary::<f64>().unwrap_or(0.5)),
        5 if depth > 0 => {
            let n = u.int_in_range(0..=3usize).unwrap_or(0);
            Value::Array((0..n).map(|_| any_json(u, depth - 1)).collect())
        }
        6 if depth > 0 => {
            let n = u.int_in_range(0..=3usize).unwrap_or(0);
            let mut map = serde_json::Map::new();
            for _ in 0..n {
                let key = text(u, &["data", "pagination", "cursor", "id", "status", "ids"]);
                map.insert(key, any_json(u, depth - 1));
            }
            Value::Object(map)
        }
        _ => Value::String(text(u, &["", "x", "CLAIMED", "FULFILLED", "SUCCESS"])),
    }
}

/// Replaces a field of a well-formed object now and then with a value of any shape, or
/// drops it, so decoders see every kind of wrong type.
pub fn perturb(u: &mut Unstructured, mut value: Value) -> Value {
    if let Value::Object(map) = &mut value {
        let keys: Vec<String> = map.keys().cloned().collect();
        for key in keys {
            if rare(u, 12) {
                map.remove(&key);
            } else if rare(u, 12) {
                map.insert(key, any_json(u, 2));
            }
        }
    }
    value
}

/// A body: usually `shaped` (a well-formed answer), sometimes raw bytes, truncated JSON or
/// a JSON value of any shape.
pub fn body(u: &mut Unstructured, shaped: impl FnOnce(&mut Unstructured) -> Value) -> Vec<u8> {
    match u.int_in_range(0..=9u8).unwrap_or(0) {
        0..=6 => {
            let value = shaped(u);
            perturb(u, value).to_string().into_bytes()
        }
        7 => {
            let mut bytes = shaped(u).to_string().into_bytes();
            let keep = u.int_in_range(0..=bytes.len()).unwrap_or(bytes.len());
            bytes.truncate(keep);
            bytes
        }
        8 => any_json(u, 3).to_string().into_bytes(),
        _ => {
            let len = u.int_in_range(0..=256usize).unwrap_or(0);
            u.bytes(len).map(<[u8]>::to_vec).unwrap_or_default()
        }
    }
}

/// Statuses, the clean one first; the rest are the ones the core treats specially.
const STATUSES: &[u16] = &[
    200, 200, 200, 200, 201, 202, 204, 301, 302, 303, 307, 308, 400, 401, 403, 404, 409, 410, 418,
    429, 500, 502, 503, 504,
];

/// Headers a response may carry: rate limits (any numbers), `Retry-After`, `Location`.
pub fn headers(u: &mut Unstructured) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    let count = u.int_in_range(0..=3u8).unwrap_or(0);
    for _ in 0..count {
        match u.int_in_range(0..=4u8).unwrap_or(0) {
            0 => {
                let remaining = pick(u, &["799", "2", "1", "0", "-1", "", "99999999999"]);
                let reset = match u.int_in_range(0..=3u8).unwrap_or(0) {
                    0 => (NOW_MS / 1000 + 1).to_string(),
                    1 => (NOW_MS / 1000 + 60).to_string(),
                    2 => number(u).to_string(),
                    _ => text(u, &["soon"]),
                };
                headers.push(("Ratelimit-Limit".into(), "800".into()));
                headers.push(("Ratelimit-Remaining".into(), remaining.into()));
                headers.push(("Ratelimit-Reset".into(), reset));
            }
            1 => headers.push((
                "Retry-After".into(),
                text(u, &["1", "0", "120", "18446744073709551615", "soon"]),
            )),
            2 => headers.push((
                "Location".into(),
                text(
                    u,
                    &[
                        "https://reports.example.com/r.csv?sig=1",
                        "/storage/r.csv",
                        "http://evil.example.com/r.csv",
                        "http://127.0.0.1:1/r.csv",
                        "//evil.example.com/r.csv",
                        "relative.csv",
                        "ftp://x/y",
                        "https://",
                        "",
                    ],
                ),
            )),
            3 => headers.push(("Content-Type".into(), "application/json".into())),
            _ => headers.push((
                text(u, &["X-Other", "ratelimit-remaining"]),
                text(u, &["1", ""]),
            )),
        }
    }
    headers
}

/// The answer to `request`: usually a response whose body `shaped` makes, sometimes a
/// transport failure of any kind.
pub fn answer(
    u: &mut Unstructured,
    request: &HttpRequest,
    shaped: &mut dyn FnMut(&HttpRequest, &mut Unstructured) -> Value,
) -> Input {
    if rare(u, 10) {
        let kind = *pick(
            u,
            &[
                &TransportErrorKind::Connect,
                &TransportErrorKind::Interrupted,
                &TransportErrorKind::Refused,
                &TransportErrorKind::TooLarge,
            ],
        );
        return Input::TransportFailed(TransportError::new(kind, "fuzzed transport failure"));
    }
    let status = if rare(u, 4) {
        if rare(u, 8) {
            u.arbitrary().unwrap_or(200)
        } else {
            *pick(u, &STATUSES.iter().collect::<Vec<_>>())
        }
    } else {
        200
    };
    let body = if (200..300).contains(&status) {
        body(u, |u| shaped(request, u))
    } else {
        body(u, |u| {
            json!({
                "error": text(u, &["Bad Request", "Unauthorized", ""]),
                "status": status,
                "message": text(u, &["authorization_pending", "slow_down", "invalid", ""]),
            })
        })
    };
    Input::Response(HttpResponse {
        status,
        headers: headers(u),
        body,
    })
}

/// The access token `Authorize` steps are answered with.
pub fn token() -> AccessToken {
    let config = Config::new("cid", Credentials::AccessToken(TOKEN.into()));
    match TokenStore::new(&config).authorize(None, NOW_MS) {
        Authorization::Ready(token) => token,
        other => panic!("a static token is ready, got {other:?}"),
    }
}

/// The answer to an `Authorize` step: the token, or now and then a refusal.
pub fn authorization(u: &mut Unstructured) -> Result<AccessToken, Error> {
    if rare(u, 16) {
        // Any error will do; an invalid config gives one through the public API.
        Err(Config::new("", Credentials::None)
            .validate()
            .expect_err("an empty client id is invalid"))
    } else {
        Ok(token())
    }
}

/// Advances a clock by a sleep, as a driver would (capped: a fuzzed `Retry-After` may ask
/// for centuries).
pub fn slept(now_ms: u64, duration: Duration) -> u64 {
    let ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    now_ms.saturating_add(ms.min(3_600_000))
}

/// Drives `op` to its end with fuzzed answers; `None` if it had not ended after
/// [`MAX_STEPS`]. `check` sees every request before it is answered.
pub fn drive<O: Operation>(
    op: &mut O,
    u: &mut Unstructured,
    shaped: &mut dyn FnMut(&HttpRequest, &mut Unstructured) -> Value,
    check: &mut dyn FnMut(&HttpRequest),
) -> Option<Result<O::Output, Error>> {
    let mut input = Input::Start;
    let mut now_ms = NOW_MS;
    for _ in 0..MAX_STEPS {
        input = match op.resume(input, now_ms) {
            Step::Send(request) => {
                check(&request);
                answer(u, &request, shaped)
            }
            Step::Sleep(duration) => {
                now_ms = slept(now_ms, duration);
                Input::Slept
            }
            Step::Authorize { .. } => Input::Token(authorization(u)),
            Step::Done(result) => return Some(result),
        };
    }
    None
}

/// Formats an error every way a caller might (formatting must not panic either).
pub fn show(error: &Error) {
    let _ = format!("{error} {error:?} {error:#?} {:?}", error.kind());
    let _ = (error.status(), error.twitch_message());
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let _ = cause.to_string();
        source = cause.source();
    }
}

/// An entitlement as Helix lists it, from a small space of ids and users so that duplicates
/// and repeat viewers happen.
pub fn entitlement(u: &mut Unstructured) -> Value {
    let id = format!("e{}", u.int_in_range(0..=15u8).unwrap_or(0));
    let user = format!("u{}", u.int_in_range(0..=3u8).unwrap_or(0));
    let status = if rare(u, 4) { "FULFILLED" } else { "CLAIMED" };
    json!({
        "id": id,
        "benefit_id": "b1",
        "timestamp": "2023-11-01T10:00:00Z",
        "user_id": user,
        "game_id": "509658",
        "fulfillment_status": status,
        "last_updated": "2023-11-02T10:00:00Z",
    })
}

/// A `GET /entitlements/drops` answer: up to `max` entitlements, and a cursor now and then.
pub fn entitlements_page(u: &mut Unstructured, max: usize) -> Value {
    let n = u.int_in_range(0..=max).unwrap_or(0);
    let data: Vec<Value> = (0..n).map(|_| entitlement(u)).collect();
    let pagination = if rare(u, 3) {
        json!({ "cursor": text(u, &["c1", "c2", "c3", ""]) })
    } else {
        json!({})
    };
    json!({ "data": data, "pagination": pagination })
}

/// The ids a PATCH body asks for (empty if it is not one).
pub fn patch_ids(request: &HttpRequest) -> Vec<String> {
    let body: Value = request
        .body
        .as_deref()
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or(Value::Null);
    body["entitlement_ids"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// A PATCH answer for `ids`: each in a status group (usually SUCCESS), some left out,
/// strangers and unknown statuses now and then.
pub fn update_answer(u: &mut Unstructured, ids: &[String]) -> Value {
    let statuses = [
        "SUCCESS",
        "UPDATE_FAILED",
        "INVALID_ID",
        "NOT_FOUND",
        "UNAUTHORIZED",
        "WHATEVER",
    ];
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for id in ids {
        if rare(u, 20) {
            continue; // Not answered: the core must re-read it.
        }
        let status: &str = if rare(u, 4) {
            pick(u, &statuses)
        } else {
            "SUCCESS"
        };
        match groups.iter_mut().find(|(s, _)| s == status) {
            Some((_, group)) => group.push(id.clone()),
            None => groups.push((status.to_string(), vec![id.clone()])),
        }
    }
    if rare(u, 20) {
        groups.push(("SUCCESS".into(), vec!["stranger".into()]));
    }
    let data: Vec<Value> = groups
        .into_iter()
        .map(|(status, ids)| json!({ "status": status, "ids": ids }))
        .collect();
    json!({ "data": data })
}

/// The ids a `GET /entitlements/drops?id=…` re-read asks for.
pub fn query_ids(request: &HttpRequest) -> Vec<String> {
    let query = request.url.split_once('?').map(|(_, q)| q).unwrap_or("");
    query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("id="))
        .map(String::from)
        .collect()
}

/// A Helix answer shaped for whatever `request` asked: a PATCH answer, a re-read of the ids
/// asked for, or a page.
pub fn helix_answer(request: &HttpRequest, u: &mut Unstructured) -> Value {
    if request.method == twitch_drops::Method::Patch {
        return update_answer(u, &patch_ids(request));
    }
    let ids = query_ids(request);
    if ids.is_empty() {
        return entitlements_page(u, 40);
    }
    // A re-read: each id asked for, in a status the fuzzer picks, or missing.
    let mut data = Vec::new();
    for id in &ids {
        if rare(u, 10) {
            continue; // Not listed: Twitch does not know it.
        }
        let status = if rare(u, 2) { "FULFILLED" } else { "CLAIMED" };
        data.push(json!({
            "id": id, "benefit_id": "b1", "timestamp": "", "user_id": "u0",
            "game_id": "509658", "fulfillment_status": status, "last_updated": "",
        }));
    }
    json!({ "data": data, "pagination": {} })
}

/// True when `url`, read by the URL parser the ureq transport uses (`http::Uri`), is https,
/// or plain http to a loopback host: the rule [`twitch_drops::check_secure_url`] enforces,
/// checked independently of it. URLs that parser refuses are never sent, so they pass.
pub fn loopback_or_https(url: &str) -> bool {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return true;
    };
    match uri.scheme_str() {
        Some(scheme) if scheme.eq_ignore_ascii_case("https") => true,
        Some(scheme) if scheme.eq_ignore_ascii_case("http") => {
            let host = uri.host().unwrap_or("");
            let host = host.trim_start_matches('[').trim_end_matches(']');
            host.eq_ignore_ascii_case("localhost")
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        _ => true,
    }
}
