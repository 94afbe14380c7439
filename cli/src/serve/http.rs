//! serve's HTTP side. Anyone can reach a webhook, so hyper parses the requests (on a thread
//! of their own) and every wait on a client is bounded:
//! - a request's headers must arrive within [`HEADER_DEADLINE`] (an idle kept-alive
//!   connection is closed after as long);
//! - a webhook's body must arrive whole within [`BODY_DEADLINE`], at most [`MAX_BODY`]
//!   bytes (413 beyond, whatever `Content-Length` says, and nothing is set aside for it);
//! - a connection lives [`CONNECTION_LIFETIME`]: then it is closed once its request in
//!   progress is answered, and at once [`CLOSING_DEADLINE`] later (a client that does not
//!   read its answers cannot keep one);
//! - at most [`MAX_CONNECTIONS`] connections are open at once; more are closed at once;
//! - the service's one thread is handed a request only once it is whole, so a slow client
//!   delays no other delivery, no probe and no stop.

use std::convert::Infallible;
use std::net::TcpListener;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};

/// The longest a request's headers take to arrive (and a kept-alive connection stays idle).
const HEADER_DEADLINE: Duration = Duration::from_secs(10);

/// The longest a webhook body takes to arrive whole.
const BODY_DEADLINE: Duration = Duration::from_secs(10);

/// The longest a request waits for the service's answer.
const ANSWER_DEADLINE: Duration = Duration::from_secs(30);

/// The largest webhook body read (Twitch's batches are far smaller).
const MAX_BODY: usize = 1024 * 1024;

/// Connections open at once.
const MAX_CONNECTIONS: usize = 128;

/// How long a connection is kept (Twitch opens another).
const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

/// How long a connection past its lifetime has to finish its request in progress.
const CLOSING_DEADLINE: Duration = Duration::from_secs(10);

/// A whole request, for the service's thread to answer.
pub(super) struct Request {
    pub method: hyper::Method,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    answer: tokio::sync::oneshot::Sender<Answer>,
}

/// The service's answer: a status, a body and its content type.
struct Answer {
    status: u16,
    body: Vec<u8>,
    content_type: &'static str,
}

impl Request {
    /// Sends the answer (to a client that may have gone).
    pub(super) fn respond(self, status: u16, body: Vec<u8>, content_type: &'static str) {
        let _ = self.answer.send(Answer {
            status,
            body,
            content_type,
        });
    }
}

/// The service's requests, whole, one at a time.
pub(super) struct Requests {
    requests: mpsc::Receiver<Request>,
}

/// Listens on `address`; returns the listener and the address it listens on.
pub(super) fn bind(address: &str) -> Result<(TcpListener, String), String> {
    let listener =
        TcpListener::bind(address).map_err(|e| format!("cannot listen on {address}: {e}"))?;
    let local = listener
        .local_addr()
        .map_or_else(|_| address.to_string(), |a| a.to_string());
    Ok((listener, local))
}

impl Requests {
    /// Serves `listener` from a thread of its own.
    pub(super) fn new(listener: TcpListener) -> Result<Requests, String> {
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("cannot listen: {e}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| format!("cannot start the HTTP server: {e}"))?;
        let (sender, requests) = mpsc::channel();
        std::thread::spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => accept(listener, sender).await,
                    Err(e) => eprintln!("drops: error: cannot listen: {e}"),
                }
            })
        });
        Ok(Requests { requests })
    }

    /// The next request, waiting at most `timeout`; `Err` once the HTTP server has ended
    /// (its thread died), when no request can come any more.
    pub(super) fn next(&self, timeout: Duration) -> Result<Option<Request>, ()> {
        match self.requests.recv_timeout(timeout) {
            Ok(request) => Ok(Some(request)),
            Err(mpsc::RecvTimeoutError::Timeout) => Ok(None),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(()),
        }
    }
}

async fn accept(listener: tokio::net::TcpListener, service: mpsc::Sender<Request>) {
    let open = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors and the like: back off, keep serving.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
            continue; // too many open: this one is closed at once
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        tokio::spawn(async move {
            let handler = service_fn(move |request| handle(request, service.clone()));
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_DEADLINE)
                .serve_connection(TokioIo::new(stream), handler);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = tokio::time::sleep(CONNECTION_LIFETIME) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(CLOSING_DEADLINE, connection).await;
                }
            }
            drop(permit);
        });
    }
}

/// Reads one request whole and has the service answer it.
async fn handle(
    request: hyper::Request<hyper::body::Incoming>,
    service: mpsc::Sender<Request>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let announced = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|length| length > MAX_BODY as u64) {
        return Ok(response(
            413,
            b"the body is too large\n".to_vec(),
            "text/plain",
        ));
    }
    let body = if parts.method == hyper::Method::POST {
        match tokio::time::timeout(BODY_DEADLINE, Limited::new(body, MAX_BODY).collect()).await {
            Ok(Ok(body)) => body.to_bytes(),
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
                return Ok(response(
                    413,
                    b"the body is too large\n".to_vec(),
                    "text/plain",
                ));
            }
            Ok(Err(_)) => {
                return Ok(response(
                    400,
                    b"the body could not be read\n".to_vec(),
                    "text/plain",
                ));
            }
            Err(_) => {
                return Ok(response(
                    408,
                    b"the body did not come in time\n".to_vec(),
                    "text/plain",
                ));
            }
        }
    } else {
        Bytes::new()
    };
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let (answer, answered) = tokio::sync::oneshot::channel();
    let whole = Request {
        method: parts.method,
        path: parts.uri.path().to_string(),
        headers,
        body,
        answer,
    };
    let stopped = || response(503, b"stopping; send it again\n".to_vec(), "text/plain");
    if service.send(whole).is_err() {
        return Ok(stopped());
    }
    Ok(
        match tokio::time::timeout(ANSWER_DEADLINE, answered).await {
            Ok(Ok(answer)) => response(answer.status, answer.body, answer.content_type),
            Ok(Err(_)) => stopped(),
            // The service is behind (its journal slow): Twitch sends it again, and the message
            // id makes sure it is acted on once.
            Err(_) => response(503, b"busy; send it again\n".to_vec(), "text/plain"),
        },
    )
}

fn response(
    status: u16,
    body: Vec<u8>,
    content_type: &'static str,
) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}
