//! The request and reply shapes handlers work with, independent of hyper.

use bytes::Bytes;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::Method;
use serde::Serialize;
use serde_json::json;

/// A fully read request.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Request {
    /// Decoded query pairs in order (`+` is a space).
    pub(crate) fn query_pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }

    /// Decoded query pairs followed by decoded form-body pairs.
    pub(crate) fn params(&self) -> Vec<(String, String)> {
        let mut pairs = self.query_pairs();
        pairs.extend(form_urlencoded::parse(&self.body).into_owned());
        pairs
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The first non-empty value of `name`.
pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

/// Every value of `name`, in order.
pub(crate) fn params_all<'a>(pairs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// A response to send.
#[derive(Clone, Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: Bytes,
}

impl Reply {
    /// A reply with a body of the given content type.
    pub(crate) fn with_body(
        status: u16,
        content_type: &'static str,
        body: impl Into<Bytes>,
    ) -> Reply {
        Reply {
            status,
            headers: vec![(
                hyper::header::CONTENT_TYPE,
                HeaderValue::from_static(content_type),
            )],
            body: body.into(),
        }
    }

    pub(crate) fn json(status: u16, value: &impl Serialize) -> Reply {
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Reply::with_body(status, "application/json", body)
    }

    pub(crate) fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Helix's error body: `{"error": <reason>, "status": n, "message": ...}`.
    pub(crate) fn helix_error(status: u16, message: &str) -> Reply {
        let reason = hyper::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error");
        Reply::json(
            status,
            &json!({"error": reason, "status": status, "message": message}),
        )
    }

    /// The OAuth server's error body: `{"status": n, "message": ...}`.
    pub(crate) fn oauth_error(status: u16, message: &str) -> Reply {
        Reply::json(status, &json!({"status": status, "message": message}))
    }

    pub(crate) fn header(mut self, name: HeaderName, value: impl ToString) -> Reply {
        if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
            self.headers.push((name, v));
        }
        self
    }
}
