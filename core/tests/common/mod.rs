//! Helpers shared by the integration tests: a client over the real ureq transport pointed at
//! a loopback server, JSON bodies shaped like Twitch's, and a raw scripted HTTP server for
//! what mockito cannot do (closing a connection without answering).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use fake_twitch::{FakeConfig, FakeTwitch, Seed};
use serde_json::{json, Value};
use twitch_drops::{Client, Config, Credentials, ManualClock, UreqTransport};

/// The time every test clock starts at (2023-11-14T22:13:20Z), in milliseconds.
pub const NOW_MS: u64 = 1_700_000_000_000;
/// The static access token most tests use.
pub const TOKEN: &str = "tok-static-3f9a";
/// The client id every test uses.
pub const CLIENT_ID: &str = "cid";

pub type TestClient = Client<UreqTransport, Arc<ManualClock>>;

/// The game of the tests' in-process fakes.
pub const GAME: &str = "509658";

/// A fake Twitch holding `entitlements` CLAIMED of [`GAME`] among `users` viewers.
pub fn fake_of_game(entitlements: usize, users: usize, rng_seed: u64) -> FakeTwitch {
    FakeTwitch::start(FakeConfig {
        seed: Seed::claimed_of(GAME, entitlements, users, rng_seed),
        ..FakeConfig::new()
    })
    .expect("fake starts")
}

/// A client's configuration for `fake`: its credentials (an app token from the client
/// secret) and its URLs.
pub fn fake_config(fake: &FakeTwitch) -> Config {
    Config::new(
        fake.client_id(),
        Credentials::ClientSecret(fake.client_secret().into()),
    )
    .with_helix_url(fake.helix_url())
    .with_auth_url(fake.auth_url())
}

/// A manual clock at [`NOW_MS`], shared so the test can read the sleeps afterwards.
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(NOW_MS))
}

/// Settings pointing both Helix and OAuth at `base` (a loopback server URL).
pub fn config_at(base: &str, credentials: Credentials) -> Config {
    Config::new(CLIENT_ID, credentials)
        .with_helix_url(format!("{base}/helix"))
        .with_auth_url(format!("{base}/oauth2"))
}

/// Settings pointing at a mockito server.
pub fn config(server: &mockito::ServerGuard, credentials: Credentials) -> Config {
    config_at(&server.url(), credentials)
}

/// A client over the real ureq transport with a manual clock.
pub fn client(config: Config, clock: &Arc<ManualClock>) -> TestClient {
    Client::with_transport(config, UreqTransport::new(), Arc::clone(clock)).expect("valid config")
}

/// A client with the static token [`TOKEN`], and its clock.
pub fn static_client(server: &mockito::ServerGuard) -> (TestClient, Arc<ManualClock>) {
    let clock = clock();
    let client = client(
        config(server, Credentials::AccessToken(TOKEN.into())),
        &clock,
    );
    (client, clock)
}

/// `Bearer <token>`.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// One entitlement as Twitch returns it.
pub fn entitlement(id: &str, status: &str) -> Value {
    json!({
        "id": id,
        "benefit_id": format!("benefit-{id}"),
        "timestamp": "2023-11-01T10:00:00Z",
        "user_id": "user-1",
        "game_id": "509658",
        "fulfillment_status": status,
        "last_updated": "2023-11-02T10:00:00Z",
    })
}

/// A page of entitlements with the given ids and status; `cursor` `None` gives
/// `"pagination":{}`.
pub fn page(ids: &[&str], status: &str, cursor: Option<&str>) -> String {
    let data: Vec<Value> = ids.iter().map(|id| entitlement(id, status)).collect();
    let pagination = match cursor {
        Some(c) => json!({ "cursor": c }),
        None => json!({}),
    };
    json!({ "data": data, "pagination": pagination }).to_string()
}

/// A PATCH answer: `(status, ids)` groups.
pub fn update_answer(groups: &[(&str, &[&str])]) -> String {
    let data: Vec<Value> = groups
        .iter()
        .map(|(status, ids)| json!({ "status": status, "ids": ids }))
        .collect();
    json!({ "data": data }).to_string()
}

/// A client-credentials answer.
pub fn app_token_body(token: &str, expires_in: u64) -> String {
    json!({ "access_token": token, "expires_in": expires_in, "token_type": "bearer" }).to_string()
}

/// `n` distinct entitlement ids.
pub fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("ent-{i:04}")).collect()
}

/// The ids a PATCH body asked for.
pub fn patch_ids(body: &[u8]) -> Vec<String> {
    let value: Value = serde_json::from_slice(body).expect("PATCH body is JSON");
    value["entitlement_ids"]
        .as_array()
        .expect("entitlement_ids")
        .iter()
        .map(|v| v.as_str().expect("string id").to_string())
        .collect()
}

/// A whole raw HTTP/1.1 response with a JSON body; the server closes after it.
pub fn raw_response(status: u16, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// What the scripted server does with the next request it reads.
#[derive(Clone, Debug)]
pub enum Action {
    /// Write these bytes (a whole raw response), then close the connection.
    Respond(Vec<u8>),
    /// Close the connection without writing anything (the request was read: "applied, then
    /// the connection was lost").
    Close,
}

/// A request the scripted server read.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A tiny HTTP server on loopback that plays a script: one connection and one request per
/// action, in order, then stops accepting.
pub struct ScriptedServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    thread: Option<JoinHandle<()>>,
}

impl ScriptedServer {
    pub fn start(actions: Vec<Action>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        let thread = std::thread::spawn(move || {
            let mut pending = actions.into_iter().peekable();
            while let Some(action) = pending.peek() {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                if serve_connection(stream, action, &recorded) {
                    pending.next();
                }
            }
        });
        ScriptedServer {
            addr,
            requests,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests read so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits until the script has been played (every action used).
    pub fn finish(mut self) -> Vec<Recorded> {
        if let Some(thread) = self.thread.take() {
            thread.join().expect("scripted server thread");
        }
        self.requests()
    }
}

/// Reads one request on a connection and plays `action` on it; false when no request came.
fn serve_connection(stream: TcpStream, action: &Action, recorded: &Mutex<Vec<Recorded>>) -> bool {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut writer = stream.try_clone().expect("clone stream");
    let mut reader = BufReader::new(stream);
    let Some(request) = read_request(&mut reader) else {
        return false;
    };
    recorded.lock().unwrap().push(request);
    if let Action::Respond(bytes) = action {
        let _ = writer.write_all(bytes);
        let _ = writer.flush();
    }
    let _ = writer.shutdown(std::net::Shutdown::Both);
    true
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Recorded> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Recorded {
        method,
        target,
        headers,
        body,
    })
}

/// A loopback port with nothing listening on it (bound, then released).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.local_addr().expect("local addr").port()
}

/// PATCH bodies' ids, in the order the server received them.
pub type Batches = Arc<Mutex<Vec<Vec<String>>>>;

/// A mockito body callback that records each PATCH's ids and answers `status` for all of them.
pub fn answer_all(
    status: &'static str,
    batches: &Batches,
) -> impl Fn(&mockito::Request) -> Vec<u8> + Send + Sync + 'static {
    let batches = Arc::clone(batches);
    move |request| {
        let ids = patch_ids(request.body().expect("body"));
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let answer = update_answer(&[(status, &refs)]);
        batches.lock().unwrap().push(ids);
        answer.into_bytes()
    }
}

/// The ```rust block that follows `marker` in the README, as the README has it.
pub fn readme_block(marker: &str) -> String {
    const README: &str = include_str!("../../../README.md");
    let start = README
        .find(marker)
        .unwrap_or_else(|| panic!("README has no `{marker}` marker"));
    let rest = &README[start..];
    let open = rest
        .find("```rust\n")
        .expect("a ```rust block after the marker")
        + 8;
    let close = rest[open..].find("```").expect("the block is closed") + open;
    rest[open..close].to_string()
}
