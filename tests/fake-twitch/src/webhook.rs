//! The fake's outgoing side: one HTTP/1.1 POST to a webhook callback on this machine.
//!
//! Twitch delivers EventSub messages over HTTPS to anywhere; the fake delivers over plain
//! HTTP, and only to loopback addresses, so a test never sends traffic off the machine.

use std::io;
use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long one delivery may take, connection to last byte.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Most of a callback's answer kept (the challenge echo is short).
const MAX_ANSWER: usize = 64 * 1024;

/// What the callback answered.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    /// The body, lossily decoded as UTF-8.
    pub(crate) body: String,
}

/// Where a callback URL points: a loopback host, its port and the path to request.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    host: String,
    port: u16,
    authority: String,
    path: String,
}

/// Checks that `url` is `http://` to a loopback host (127.0.0.0/8, `::1`, `localhost`).
pub(crate) fn target(url: &str) -> Result<Target, String> {
    let uri: Uri = url.parse().map_err(|_| format!("`{url}` is not a URL"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!(
            "`{url}`: the fake delivers over plain http only (to a loopback callback)"
        ));
    }
    let host = uri
        .host()
        .ok_or_else(|| format!("`{url}` has no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(format!(
            "`{url}`: the fake delivers only to loopback hosts (127.0.0.1, ::1, localhost)"
        ));
    }
    Ok(Target {
        port: uri.port_u16().unwrap_or(80),
        authority: uri
            .authority()
            .map(|a| a.as_str().to_string())
            .unwrap_or_else(|| host.clone()),
        path: uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".to_string()),
        host,
    })
}

/// POSTs a JSON `body` with `headers` to `target` and reads the answer.
pub(crate) async fn post(
    target: &Target,
    headers: &[(String, String)],
    body: Bytes,
) -> io::Result<Answer> {
    tokio::time::timeout(TIMEOUT, exchange(target, headers, body))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the callback did not answer"))?
}

async fn exchange(
    target: &Target,
    headers: &[(String, String)],
    body: Bytes,
) -> io::Result<Answer> {
    let stream = TcpStream::connect((target.host.as_str(), target.port)).await?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(io::Error::other)?;
    let driver = tokio::spawn(connection);

    let mut request = Request::builder()
        .method(Method::POST)
        .uri(target.path.as_str())
        .header(HOST, target.authority.as_str())
        .header(CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(io::Error::other)?;
        let value = HeaderValue::from_str(value).map_err(io::Error::other)?;
        request = request.header(name, value);
    }
    let request = request.body(Full::new(body)).map_err(io::Error::other)?;
    let response = sender
        .send_request(request)
        .await
        .map_err(io::Error::other)?;
    let status = response.status().as_u16();
    // An answer longer than we keep still counts: its status is what matters.
    let body = match Limited::new(response.into_body(), MAX_ANSWER)
        .collect()
        .await
    {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
        Err(_) => String::new(),
    };
    drop(sender);
    driver.abort();
    Ok(Answer { status, body })
}
