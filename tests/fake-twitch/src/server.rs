//! The running server and its synchronous handle.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;

use crate::claim_stream::{ClaimStream, ClaimStreamStats};
use crate::config::FakeConfig;
use crate::entitlement::Entitlement;
use crate::eventsub::{Delivery, DeliveryOutcome, EventSubSubscription};
use crate::faults::Faults;
use crate::journal::JournalEntry;
use crate::routes;
use crate::seed::Seed;
use crate::state::State;
use crate::stats::Stats;
use crate::tokens::UserTokens;

/// A fake Twitch listening on 127.0.0.1, served by a Tokio runtime on background threads.
/// All methods are synchronous and may be called from any thread while requests are in
/// flight. Dropping it stops the server, closes every connection and frees the port.
#[derive(Debug)]
pub struct FakeTwitch {
    state: Arc<State>,
    addr: SocketAddr,
    /// Runs the fake's own outgoing work (EventSub deliveries) for the sync methods.
    runtime: tokio::runtime::Handle,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeTwitch {
    /// Bind `127.0.0.1:config.port` (0 = any free port) and start serving. Fails only if
    /// the port cannot be bound or threads cannot be started.
    pub fn start(config: FakeConfig) -> io::Result<FakeTwitch> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fake-twitch")
            .enable_all()
            .build()?;
        let listener = {
            let _guard = runtime.enter();
            let socket = TcpSocket::new_v4()?;
            socket.set_reuseaddr(true)?;
            socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, config.port)))?;
            socket.listen(1024)?
        };
        let addr = listener.local_addr()?;
        let state = Arc::new(State::new(&config, format!("http://{addr}")));
        let (shutdown, stop) = oneshot::channel();
        let served = Arc::clone(&state);
        let handle = runtime.handle().clone();
        let thread = std::thread::Builder::new()
            .name("fake-twitch-accept".to_string())
            .spawn(move || {
                runtime.block_on(serve(listener, served, stop));
                // Cancels every connection task, which closes their sockets.
                runtime.shutdown_timeout(Duration::from_secs(2));
            })?;
        Ok(FakeTwitch {
            state,
            addr,
            runtime: handle,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.state.base_url.clone()
    }

    /// The Helix base, `http://127.0.0.1:PORT/helix`.
    pub fn helix_url(&self) -> String {
        format!("{}/helix", self.state.base_url)
    }

    /// The OAuth base, `http://127.0.0.1:PORT/oauth2`.
    pub fn auth_url(&self) -> String {
        format!("{}/oauth2", self.state.base_url)
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The client id the fake accepts.
    pub fn client_id(&self) -> String {
        self.state.client_id.clone()
    }

    /// The client secret the fake accepts.
    pub fn client_secret(&self) -> String {
        self.state.client_secret.clone()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.state.stats()
    }

    /// Every non-admin request so far, oldest first.
    pub fn journal(&self) -> Vec<JournalEntry> {
        self.state.journal()
    }

    /// Replace the faults in force (restarts the fault generator and token use counts).
    pub fn set_faults(&self, faults: Faults) {
        self.state.set_faults(faults);
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        self.state.faults()
    }

    /// Reshape the rate limit (0 points a minute turns it off; burst 0 = `per_minute`);
    /// every bucket starts full.
    pub fn set_rate_limit(&self, per_minute: u32, burst: u32) {
        self.state.set_rate_limit(per_minute, burst);
    }

    /// Mint a user access token and refresh token for `user_id`, as if the user had logged
    /// in. Counts as an issued token.
    pub fn user_token(&self, user_id: &str, scopes: &[&str]) -> UserTokens {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        self.state.user_token(user_id, &scopes)
    }

    /// Mint an app access token, as the client-credentials grant would.
    pub fn app_token(&self) -> String {
        self.state.app_token()
    }

    /// The user `user_id` approves the pending device-code login shown as `user_code`;
    /// the next poll of its device code gets a token. Unknown codes are ignored.
    pub fn approve_device(&self, user_code: &str, user_id: &str) {
        self.state.approve_device(user_code, user_id);
    }

    /// Every entitlement in the store, in its stable order, including other
    /// organizations' games.
    pub fn entitlements(&self) -> Vec<Entitlement> {
        self.state.entitlements()
    }

    /// Add an entitlement at the end of the stable order. Duplicates and foreign games are
    /// allowed; a game is foreign only if the seed lists it in `foreign_games`.
    pub fn insert_entitlement(&self, e: Entitlement) {
        self.state.insert_entitlement(e);
    }

    /// Replace all entitlements with `seed`'s, zero the counters and the journal, forget
    /// report links and the last EventSub message, and refill the buckets. Tokens, faults,
    /// the rate-limit shape and EventSub subscriptions stay.
    pub fn reset(&self, seed: Seed) {
        self.state.reset(seed);
    }

    /// Grant `count` new `CLAIMED` entitlements (our first game, the seed's users and
    /// benefits, ids drawn deterministically from the seed) and POST them to
    /// `callback_url` as one signed, batched `drop.entitlement.grant` notification, as
    /// Twitch does. The callback must be `http://` on a loopback host. Returns what was
    /// sent and the callback's answer; fails on a bad URL, an empty secret, `count` outside
    /// 1..=1000, or when the callback cannot be reached in 10 s (the grants stay created:
    /// Helix still lists them).
    pub fn deliver_grants(
        &self,
        callback_url: &str,
        secret: &str,
        count: usize,
    ) -> io::Result<DeliveryOutcome> {
        self.deliver(&Delivery::new(callback_url, secret, count))
    }

    /// Make a delivery with options: a replay of the last message, a stale timestamp, a
    /// bad signature. A replay with nothing sent before fails with `NotFound`.
    pub fn deliver(&self, delivery: &Delivery) -> io::Result<DeliveryOutcome> {
        let (done, outcome) = std::sync::mpsc::channel();
        let state = Arc::clone(&self.state);
        let delivery = delivery.clone();
        self.runtime.spawn(async move {
            let _ = done.send(state.deliver(&delivery).await);
        });
        outcome
            .recv()
            .map_err(|_| io::Error::other("the fake stopped before the delivery ended"))?
    }

    /// Starts a stream of viewers' claims: new CLAIMED entitlements at `stream.per_second`,
    /// batched and pushed to every enabled `drop.entitlement.grant` subscription as they
    /// are made, with the stream's faults (messages lost, doubled, late) and Twitch's
    /// retries while a callback fails. Replaces a stream already running; returns at once.
    /// Fails (`InvalidInput`) on a field out of range, naming it.
    pub fn stream_claims(&self, stream: &ClaimStream) -> io::Result<()> {
        let _runtime = self.runtime.enter();
        self.state.stream_claims(stream.clone())
    }

    /// What the claim stream has done so far.
    pub fn claim_stream_stats(&self) -> ClaimStreamStats {
        self.state.claim_stream_stats()
    }

    /// Every EventSub subscription created with `POST /helix/eventsub/subscriptions`, with
    /// its status (`enabled` once the callback answered the challenge).
    pub fn eventsub_subscriptions(&self) -> Vec<EventSubSubscription> {
        self.state.eventsub_subscriptions()
    }
}

impl Drop for FakeTwitch {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(listener: TcpListener, state: Arc<State>, mut stop: oneshot::Receiver<()>) {
    loop {
        let stream = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = service_fn(move |req| routes::handle(Arc::clone(&state), req));
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
