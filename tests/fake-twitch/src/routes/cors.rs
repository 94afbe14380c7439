//! CORS for browser tests. Like Twitch, the `Ratelimit-*` headers are not exposed.

use hyper::header::{self, HeaderMap, HeaderValue};

use crate::http::Reply;

/// `Access-Control-Allow-Origin: *`, added to every response.
pub(crate) fn allow_origin(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

/// The answer to any `OPTIONS` preflight.
pub(crate) fn preflight() -> Reply {
    Reply::empty(204)
        .header(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            "GET, POST, PATCH, OPTIONS",
        )
        .header(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "Authorization, Client-Id, Content-Type",
        )
        .header(header::ACCESS_CONTROL_MAX_AGE, 86400)
}
