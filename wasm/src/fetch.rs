//! The transport of the WASM package: performs the core's [`HttpRequest`]s with `fetch`
//! (gloo-net's global `fetch`, or the caller's own function) and reads whole responses.
//!
//! Like the native transport it refuses plain `http` except to loopback, reads every
//! status as a response (the core decides what a 4xx or 5xx means), caps bodies and times
//! out. Redirects are left to the core where the runtime allows it (Node: `manual`);
//! browsers cannot show a redirect to scripts, so there the browser follows it under its
//! own rules (an `Authorization` header is never sent to another origin). No request
//! carries the page's ambient credentials (`credentials: "omit"`: no cookies, no HTTP
//! authentication, whatever CORS would allow) or its address (`referrerPolicy:
//! "no-referrer"`: a page URL may hold a code or token).

use gloo_net::http::{RequestBuilder, Response};
use js_sys::{Function, Promise, Reflect, Uint8Array};
use twitch_drops_protocol::{
    check_secure_url, HttpRequest, HttpResponse, Method, TransportError, TransportErrorKind,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, ReferrerPolicy, RequestCredentials, RequestRedirect};

/// Waiting for a response, headers and body together.
const TIMEOUT_MS: u32 = 30_000;
/// Largest response body read (as the native transport).
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Performs requests with `fetch`.
pub(crate) struct FetchTransport {
    /// The caller's `fetch`, called with a `Request`; `None` uses the global `fetch`.
    custom: Option<Function>,
    /// True where scripts may see redirects (`redirect: "manual"` yields the 3xx itself).
    manual_redirects: bool,
}

impl FetchTransport {
    pub(crate) fn new(custom: Option<Function>, in_browser: bool) -> Self {
        FetchTransport {
            custom,
            manual_redirects: !in_browser,
        }
    }

    /// Sends `request` and reads the whole response.
    pub(crate) async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        check_secure_url(&request.url)
            .map_err(|p| failure(TransportErrorKind::Refused, p.describe(&request.url)))?;
        let signal = timeout_signal();
        let mut builder = RequestBuilder::new(&request.url)
            .method(method(request.method))
            .credentials(RequestCredentials::Omit)
            .referrer_policy(ReferrerPolicy::NoReferrer)
            .abort_signal(signal.as_ref());
        if self.manual_redirects {
            builder = builder.redirect(RequestRedirect::Manual);
        }
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let built = match &request.body {
            Some(body) => builder.body(Uint8Array::from(body.as_slice())),
            None => builder.build(),
        }
        .map_err(|e| failure(TransportErrorKind::Refused, e.to_string()))?;

        // The global `fetch` is called as a caller's would be, so that its error's cause
        // (Node: `ECONNREFUSED`, `ENOTFOUND`…) is read and a connection never made is told
        // from one cut short.
        let global = Reflect::get(&js_sys::global(), &"fetch".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        let response = match self.custom.as_ref().or(global.as_ref()) {
            Some(fetch) => call_custom(fetch, built.into()).await,
            None => built.send().await.map_err(|e| match e {
                gloo_net::Error::JsError(js) => failure(classify(&js.name), js.message),
                other => failure(TransportErrorKind::Interrupted, other.to_string()),
            }),
        };
        // Every failure names where it was going.
        let response = response.map_err(|e| {
            TransportError::new(
                e.kind,
                format!("{}: {}", host_and_port(&request.url), e.message),
            )
        })?;
        read(response).await
    }
}

/// A signal that aborts the request after [`TIMEOUT_MS`], where the runtime has
/// `AbortSignal.timeout` (Node >= 17.3, current browsers); no timeout elsewhere.
fn timeout_signal() -> Option<AbortSignal> {
    let class = Reflect::get(&js_sys::global(), &"AbortSignal".into()).ok()?;
    let timeout = Reflect::get(&class, &"timeout".into()).ok()?;
    timeout
        .is_function()
        .then(|| AbortSignal::timeout_with_u32(TIMEOUT_MS))
}

/// Calls the caller's `fetch(request)` and checks that it answered with a response.
async fn call_custom(
    fetch: &Function,
    request: web_sys::Request,
) -> Result<Response, TransportError> {
    let returned = fetch.call1(&JsValue::UNDEFINED, &request).map_err(thrown)?;
    let answer = JsFuture::from(Promise::resolve(&returned))
        .await
        .map_err(thrown)?;
    let status = Reflect::get(&answer, &"status".into()).unwrap_or(JsValue::UNDEFINED);
    if !answer.is_object() || status.as_f64().is_none() {
        return Err(failure(
            TransportErrorKind::Refused,
            "the `fetch` option did not resolve to a Response",
        ));
    }
    Ok(Response::from(answer.unchecked_into::<web_sys::Response>()))
}

async fn read(response: Response) -> Result<HttpResponse, TransportError> {
    let status = response.status();
    if status == 0 {
        return Err(failure(
            TransportErrorKind::Refused,
            "the runtime hid the response (an opaque redirect or response)",
        ));
    }
    let headers: Vec<(String, String)> = response.headers().entries().collect();
    let declared = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    let body = response.binary().await.map_err(|e| match e {
        gloo_net::Error::JsError(js) => failure(TransportErrorKind::Interrupted, js.message),
        other => failure(TransportErrorKind::Interrupted, other.to_string()),
    })?;
    if body.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// `host:port` of `url` (the scheme's port when none is written), as failures name it.
fn host_and_port(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    if has_port {
        authority.to_string()
    } else {
        let port = if scheme.eq_ignore_ascii_case("http") {
            80
        } else {
            443
        };
        format!("{authority}:{port}")
    }
}

fn method(method: Method) -> gloo_net::http::Method {
    match method {
        Method::Get => gloo_net::http::Method::GET,
        Method::Post => gloo_net::http::Method::POST,
        Method::Patch => gloo_net::http::Method::PATCH,
    }
}

fn failure(kind: TransportErrorKind, message: impl Into<String>) -> TransportError {
    TransportError::new(kind, message)
}

fn too_large() -> TransportError {
    failure(
        TransportErrorKind::TooLarge,
        format!("response body over {MAX_BODY_BYTES} bytes"),
    )
}

/// What a rejected `fetch` tells by its error's name. A fetch rejects without saying
/// whether the request left, so a failure counts as interrupted (a PATCH is then re-read,
/// never blindly resent); only a custom `fetch`'s error shows Node's `cause.code`, which
/// [`thrown`] reads to tell a connection that was never made.
fn classify(name: &str) -> TransportErrorKind {
    match name {
        "NotSupportedError" | "SecurityError" => TransportErrorKind::Refused,
        _ => TransportErrorKind::Interrupted,
    }
}

/// A value the caller's `fetch` threw or rejected with.
fn thrown(value: JsValue) -> TransportError {
    let get = |target: &JsValue, key: &str| Reflect::get(target, &key.into()).ok();
    let name = get(&value, "name")
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    let message = get(&value, "message")
        .and_then(|v| v.as_string())
        .or_else(|| value.as_string())
        .unwrap_or_else(|| "the `fetch` option failed".to_string());
    let code = get(&value, "cause")
        .filter(JsValue::is_object)
        .and_then(|cause| get(&cause, "code"))
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    let kind = match code.as_str() {
        "ECONNREFUSED" | "ENOTFOUND" | "EAI_AGAIN" | "UND_ERR_CONNECT_TIMEOUT" => {
            TransportErrorKind::Connect
        }
        _ => classify(&name),
    };
    let detail = if code.is_empty() {
        message
    } else {
        format!("{message} ({code})")
    };
    failure(kind, detail)
}
