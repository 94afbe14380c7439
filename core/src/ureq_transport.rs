//! The default transport for native targets, over `ureq` 3: agents reused across calls
//! (keep-alive), timeouts by default, a cap on response bodies, and no plain `http` except to
//! loopback. Redirects are not followed here (the core follows them where it wants them,
//! without credentials), so an `Authorization` header never travels to another host.
//!
//! Loopback means loopback: plain `http` goes through its own agent, which uses no proxy and
//! checks, when it connects, that every address the host name resolved to is a loopback
//! address (a hosts file may map `localhost` anywhere).

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ureq::http;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::url::for_messages;
use crate::{
    check_secure_url, HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind,
};

/// Settings of the default transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UreqOptions {
    /// Connection set-up (TCP and TLS). Default 10 s.
    pub connect_timeout: Duration,
    /// Waiting for the response headers, and again for the body. Default 30 s.
    pub read_timeout: Duration,
    /// Largest response body read; larger ones fail with `TooLarge`. Default 16 MiB.
    pub max_body_bytes: u64,
    /// Sent as `User-Agent`.
    pub user_agent: String,
}

impl Default for UreqOptions {
    fn default() -> Self {
        UreqOptions {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            max_body_bytes: 16 * 1024 * 1024,
            user_agent: concat!("twitch-drops/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// A blocking HTTP transport; cheap to share between threads (one connection pool).
#[derive(Clone, Debug)]
pub struct UreqTransport {
    /// `https`.
    agent: ureq::Agent,
    /// Plain `http`, to loopback only: no proxy, every resolved address checked.
    loopback: ureq::Agent,
    max_body_bytes: u64,
}

/// Resolves a host name for plain-http requests: `(host, port)` to addresses.
type ResolveFn = dyn Fn(&str, u16) -> std::io::Result<Vec<SocketAddr>> + Send + Sync;

impl Default for UreqTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl UreqTransport {
    /// A transport with the default options.
    pub fn new() -> Self {
        Self::with_options(UreqOptions::default())
    }

    /// A transport with `options`.
    pub fn with_options(options: UreqOptions) -> Self {
        Self::build(options, LoopbackOnly { resolve: None })
    }

    /// A transport with `options` whose plain-http requests resolve host names with
    /// `resolve` instead of the system (a test seam: a hosts file cannot be changed in a
    /// test). The addresses it gives are checked as the system's are.
    pub fn with_loopback_resolver(
        options: UreqOptions,
        resolve: impl Fn(&str, u16) -> std::io::Result<Vec<SocketAddr>> + Send + Sync + 'static,
    ) -> Self {
        Self::build(
            options,
            LoopbackOnly {
                resolve: Some(Arc::new(resolve)),
            },
        )
    }

    fn build(options: UreqOptions, loopback: LoopbackOnly) -> Self {
        let config = |proxy: bool| {
            let builder = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .max_redirects_will_error(false)
                .timeout_connect(Some(options.connect_timeout))
                .timeout_recv_response(Some(options.read_timeout))
                .timeout_recv_body(Some(options.read_timeout))
                // Keep a connection for each request a pipelined run has out at once (ureq
                // keeps 3 per host by default: a fourth request's connection was closed
                // after each use, and a new one opened, 128 KiB buffers zeroed, the next).
                .max_idle_connections_per_host(crate::fulfill::MAX_REQUESTS_IN_FLIGHT)
                .max_idle_connections(2 * crate::fulfill::MAX_REQUESTS_IN_FLIGHT)
                .user_agent(options.user_agent.as_str());
            if proxy {
                builder.build()
            } else {
                builder.proxy(None).build()
            }
        };
        UreqTransport {
            agent: ureq::Agent::with_parts(config(true), DefaultConnector::default(), Lookups),
            loopback: ureq::Agent::with_parts(config(false), DefaultConnector::default(), loopback),
            max_body_bytes: options.max_body_bytes,
        }
    }

    fn run<B: ureq::AsSendBody>(
        &self,
        builder: http::request::Builder,
        body: B,
    ) -> Result<HttpResponse, TransportError> {
        let request = builder
            .body(body)
            .map_err(|e| TransportError::new(TransportErrorKind::Refused, e.to_string()))?;
        let plain = request.uri().scheme_str() != Some("https");
        let agent = if plain { &self.loopback } else { &self.agent };
        let target = host_and_port(request.uri());
        let classify = |e| classify(e, &target);
        let mut response = agent.run(request).map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        // Read into room for the whole body when its length is given (a page is about
        // 250 KB: grown from empty it was reallocated and copied a dozen times).
        let given = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|length| length.to_str().ok()?.parse::<u64>().ok())
            .unwrap_or(0);
        let mut body = Vec::with_capacity(given.min(self.max_body_bytes) as usize);
        response
            .body_mut()
            .with_config()
            .limit(self.max_body_bytes)
            .reader()
            .read_to_end(&mut body)
            .map_err(|e| classify(e.into()))?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

impl Transport for UreqTransport {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        check_secure_url(&request.url).map_err(|problem| {
            TransportError::new(TransportErrorKind::Refused, problem.describe(&request.url))
        })?;
        let mut builder = http::Request::builder()
            .method(request.method.as_str())
            .uri(request.url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let result = match request.body {
            Some(body) => self.run(builder, body),
            None => self.run(builder, ()),
        };
        // ureq's messages may quote the URL: show it as messages show URLs (no userinfo, no
        // query), on top of the scrubbing every `TransportError` gets.
        result.map_err(|e| {
            let message = e.message.replace(&request.url, &for_messages(&request.url));
            TransportError::new(e.kind, message)
        })
    }
}

/// `host:port` of a request, as its errors name it.
fn host_and_port(uri: &http::Uri) -> String {
    let host = uri.host().unwrap_or("?");
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    format!("{host}:{port}")
}

/// The system's resolver, with its failures named: ureq reports a failed lookup as a plain
/// I/O error, which read as a connection dropped half-way.
#[derive(Debug)]
struct Lookups;

impl Resolver for Lookups {
    fn resolve(
        &self,
        uri: &http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        DefaultResolver::default()
            .resolve(uri, config, timeout)
            .map_err(lookup_failed)
    }
}

/// A host name that could not be resolved, and what the resolver said.
#[derive(Debug)]
struct NameNotFound(String);

impl std::fmt::Display for NameNotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NameNotFound {}

/// A resolver's I/O error, marked as a name not found.
fn lookup_failed(error: ureq::Error) -> ureq::Error {
    match error {
        ureq::Error::Io(e) => ureq::Error::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            NameNotFound(e.to_string()),
        )),
        other => other,
    }
}

/// Sorts ureq's errors by whether the server may have seen the request, and says what
/// happened where: a refused connection, a name not found, a timeout, a TLS failure.
fn classify(error: ureq::Error, target: &str) -> TransportError {
    use ureq::Error as E;
    use ureq::Timeout as T;
    let name_not_found = |e: &std::io::Error| e.get_ref().is_some_and(|i| i.is::<NameNotFound>());
    let detail = match &error {
        E::HostNotFound => format!("{target}: the host name was not found (DNS)"),
        E::Io(e) if name_not_found(e) => {
            let said = e.get_ref().map(|i| i.to_string()).unwrap_or_default();
            format!("{target}: the host name could not be resolved (DNS: {said})")
        }
        E::ConnectionFailed => format!("{target}: the connection failed"),
        E::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("{target}: connection refused (is the server running, and the URL right?)")
        }
        E::Timeout(T::Connect | T::Resolve) => format!("{target}: timed out connecting"),
        E::Timeout(_) => format!("{target}: timed out waiting for the answer"),
        E::Tls(e) => format!("{target}: TLS failed: {e}"),
        other => format!("{target}: {other}"),
    };
    let kind = match &error {
        E::HostNotFound | E::ConnectionFailed | E::Tls(_) => TransportErrorKind::Connect,
        E::Io(e) if name_not_found(e) => TransportErrorKind::Connect,
        E::Timeout(T::Connect | T::Resolve) => TransportErrorKind::Connect,
        E::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            TransportErrorKind::Connect
        }
        E::Io(e) if e.get_ref().is_some_and(|inner| inner.is::<NotLoopback>()) => {
            TransportErrorKind::Refused
        }
        E::BodyExceedsLimit(_) => TransportErrorKind::TooLarge,
        E::BadUri(_) | E::Http(_) | E::InvalidProxyUrl => TransportErrorKind::Refused,
        _ => TransportErrorKind::Interrupted,
    };
    TransportError::new(kind, detail)
}

/// The resolver of the plain-http agent: resolves as the system (or the given function)
/// does, then refuses unless every address is loopback. Runs when ureq connects, so what is
/// checked is what is used.
#[derive(Clone)]
struct LoopbackOnly {
    resolve: Option<Arc<ResolveFn>>,
}

impl std::fmt::Debug for LoopbackOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoopbackOnly")
    }
}

/// A plain-http host that resolved to an address that is not loopback.
#[derive(Debug)]
struct NotLoopback {
    host: String,
    address: std::net::IpAddr,
}

impl std::fmt::Display for NotLoopback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` resolves to {}, which is not loopback; plain http is allowed only to \
             loopback: use https",
            self.host, self.address
        )
    }
}

impl std::error::Error for NotLoopback {}

impl Resolver for LoopbackOnly {
    fn resolve(
        &self,
        uri: &http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().unwrap_or("").to_string();
        let addresses = match &self.resolve {
            None => Lookups.resolve(uri, config, timeout)?,
            Some(resolve) => {
                let port = uri.port_u16().unwrap_or(80);
                let bare = host.trim_start_matches('[').trim_end_matches(']');
                let mut found = self.empty();
                let addresses = resolve(bare, port).map_err(|e| lookup_failed(e.into()))?;
                for address in addresses.into_iter().take(16) {
                    found.push(address);
                }
                if found.is_empty() {
                    return Err(ureq::Error::HostNotFound);
                }
                found
            }
        };
        if let Some(address) = addresses.iter().find(|a| !a.ip().is_loopback()) {
            let refusal = NotLoopback {
                host,
                address: address.ip(),
            };
            return Err(ureq::Error::Io(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                refusal,
            )));
        }
        Ok(addresses)
    }
}
