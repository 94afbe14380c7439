//! `drops serve`: fulfillment as a service. An EventSub webhook takes Twitch's
//! `drop.entitlement.grant` pushes (verified, each message acted on once, remembered in the
//! journal's database), a worker grants them through the engine, and a drain of the CLAIMED
//! list every `--reconcile-every` catches whatever the push missed. The journal keeps grants
//! exactly once across both paths and across restarts.
//!
//! HTTP: `POST` to any path is the webhook (plain HTTP, meant to sit behind the studio's
//! TLS proxy); `GET /healthz` answers 200 once ready (subscribed), 503 before; `GET /livez`
//! 200 while it runs; `GET /metrics` is Prometheus text.
//! SIGTERM or Ctrl-C: webhooks are answered 503 (Twitch delivers them again), the run in
//! progress stops gracefully, the process exits 0 (130 when the stop outlasts
//! `--stop-grace`; 2 after a grant over `--grant-timeout`, for a restart to resume it).

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use twitch_drops::eventsub::{self, DropGrantCondition};
use twitch_drops::webhook::{self, Delivery, DeliveryLog};
use twitch_drops::{
    as_data, Clock, Engine, Entitlement, EntitlementsQuery, ErrorKind, FulfillOptions,
    FulfillReport, Grant, Journal, Secret, StopSignal, SystemClock,
};

use crate::settings::DropsClient;

mod http;
mod metrics;
use http::{Request, Requests};
use metrics::{prometheus, Counters, TimedGrant};

/// How many times a subscription is tried when Twitch fails to answer it (about 4 minutes
/// of waits in all); then `/healthz` stays 503 and the error says why.
const SUBSCRIBE_ATTEMPTS: u32 = 10;

/// What `drops serve` was asked to do.
pub struct Serve {
    pub listen: String,
    pub game: String,
    pub secret: Secret,
    pub callback_url: Option<String>,
    pub organization: Option<String>,
    pub campaign: Option<String>,
    pub reconcile_every: Duration,
    pub grants_in_flight: usize,
}

/// Runs until SIGTERM or Ctrl-C. `journal` is the engine's, `deliveries` where message ids
/// are remembered (the same database when it can be), `grant` how rewards are given.
pub fn run(
    client: Arc<DropsClient>,
    serve: Serve,
    journal: Box<dyn Journal + Send>,
    deliveries: Box<dyn DeliveryLog + Send>,
    grant: Box<dyn Grant + Send>,
    stop: StopSignal,
) -> Result<(), String> {
    let (listener, address) = http::bind(&serve.listen)?;
    let requests = Requests::new(listener)?;
    eprintln!("drops: listening on http://{address}");
    let subscriber = Arc::new(Subscriber {
        client: Arc::clone(&client),
        target: serve.callback_url.clone().zip(serve.organization.clone()),
        game: serve.game.clone(),
        campaign: serve.campaign.clone(),
        secret: serve.secret.clone(),
        ready: std::sync::atomic::AtomicBool::new(serve.callback_url.is_none()),
    });
    // In the background: Twitch verifies the callback on this very server, which must be
    // answering meanwhile.
    Arc::clone(&subscriber).subscribe();
    let counters = Arc::new(Counters::default());
    let (pushes, pushed) = mpsc::channel::<Vec<Entitlement>>();
    let worker = {
        let (client, counters, stop) = (Arc::clone(&client), Arc::clone(&counters), stop.clone());
        let options = WorkerOptions {
            game: serve.game.clone(),
            reconcile_every: serve.reconcile_every,
            grants_in_flight: serve.grants_in_flight,
        };
        let grant = Box::new(TimedGrant {
            grant,
            counters: Arc::clone(&counters),
        });
        std::thread::spawn(move || work(&client, options, journal, grant, pushed, &counters, stop))
    };
    let service = Service {
        client: &client,
        secret: &serve.secret,
        pushes: &pushes,
        counters: &counters,
        stop: &stop,
        subscriber: &subscriber,
        refusals: &Every::new(Duration::from_secs(10)),
    };
    let listening = listen(requests, &service, deliveries, &worker);
    drop(pushes);
    let stopped = stop.is_raised();
    worker.join().map_err(|_| {
        "the grant worker panicked: stopped so that a restart grants again".to_string()
    })?;
    if !stopped {
        return Err("the grant worker stopped: stopped so that a restart grants again".into());
    }
    listening?;
    if crate::interrupt::stopped_on_error() {
        return Err(
            "a grant did not finish within --grant-timeout: stopped so that a restart \
                    resumes it"
                .into(),
        );
    }
    eprintln!("drops: stopped");
    Ok(())
}

/// The `drop.entitlement.grant` subscription of `--callback-url`, made at start and again
/// after Twitch revokes it for failed deliveries.
struct Subscriber {
    client: Arc<DropsClient>,
    /// The callback URL and the organization, when the subscription is ours to make.
    target: Option<(String, String)>,
    game: String,
    campaign: Option<String>,
    secret: Secret,
    /// True once subscribed (or when there is nothing to subscribe): `/healthz` is ready.
    ready: std::sync::atomic::AtomicBool,
}

impl Subscriber {
    /// Subscribes on a thread of its own (Twitch verifies the callback on this server).
    fn subscribe(self: Arc<Self>) {
        if self.target.is_none() {
            return;
        }
        std::thread::spawn(move || {
            let Some((callback, organization)) = &self.target else {
                return;
            };
            let mut condition = DropGrantCondition::new(organization).category(self.game.clone());
            if let Some(campaign) = &self.campaign {
                condition = condition.campaign(campaign.clone());
            }
            // A failure Twitch may get over (no answer, 429, 5xx) is tried again, waiting
            // 1, 2, 4… up to 60 s, SUBSCRIBE_ATTEMPTS times in all.
            let mut attempt = 1;
            let made = loop {
                let made = eventsub::subscription_request(
                    self.client.config(),
                    &condition,
                    callback,
                    &self.secret,
                )
                .and_then(|op| self.client.run(op));
                let passing = match &made {
                    Err(e) => match e.kind() {
                        ErrorKind::Transport | ErrorKind::RateLimited => true,
                        ErrorKind::Http => e.status().is_some_and(|s| s == 429 || s >= 500),
                        _ => false,
                    },
                    Ok(_) => false,
                };
                if !passing || attempt == SUBSCRIBE_ATTEMPTS {
                    break made;
                }
                let wait = Duration::from_secs((1u64 << (attempt - 1)).min(60));
                if let Err(e) = &made {
                    eprintln!(
                        "drops: warn: cannot subscribe yet ({e}); trying again in {} s",
                        wait.as_secs()
                    );
                }
                std::thread::sleep(wait);
                attempt += 1;
            };
            let (subscription, how) = match made {
                Ok(subscription) => (subscription, "subscribed to"),
                // The same subscription exists (a restart, another instance): reuse it.
                Err(e) if e.status() == Some(409) => match self
                    .client
                    .find_drop_grant_subscription(&condition, callback)
                {
                    Ok(Some(subscription)) => (subscription, "reusing"),
                    Ok(None) => {
                        eprintln!(
                            "drops: error: Twitch says the subscription exists (409) but does not \
                             list it; not subscribed"
                        );
                        return;
                    }
                    Err(e) => {
                        eprintln!("drops: error: cannot list the subscriptions: {e}");
                        return;
                    }
                },
                Err(e) => {
                    eprintln!("drops: error: cannot subscribe: {e}");
                    return;
                }
            };
            let usable = matches!(
                subscription.status.as_str(),
                "enabled" | "webhook_callback_verification_pending"
            );
            eprintln!(
                "drops: {how} drop.entitlement.grant ({}, {}){}",
                as_data(&subscription.id),
                as_data(&subscription.status),
                if usable {
                    ""
                } else {
                    ": delete it (Twitch's API or console) and restart to subscribe again"
                }
            );
            self.ready.store(usable, Ordering::SeqCst);
        });
    }

    /// Twitch revoked the subscription: subscribes again when it gave up on failed
    /// deliveries and the subscription is ours; otherwise (authorization revoked, a
    /// version removed) a human must act.
    fn revoked(self: &Arc<Self>, subscription: &eventsub::Subscription) {
        let again =
            subscription.status == "notification_failures_exceeded" && self.target.is_some();
        eprintln!(
            "drops: warn: Twitch revoked subscription {} ({}){}",
            as_data(&subscription.id),
            as_data(&subscription.status),
            if again { ": subscribing again" } else { "" }
        );
        if again {
            self.ready.store(false, Ordering::SeqCst);
            Arc::clone(self).subscribe();
        }
    }
}

/// What answering a request needs.
struct Service<'a> {
    client: &'a DropsClient,
    secret: &'a Secret,
    pushes: &'a mpsc::Sender<Vec<Entitlement>>,
    counters: &'a Counters,
    stop: &'a StopSignal,
    subscriber: &'a Arc<Subscriber>,
    /// Refused webhook requests (anyone can send one) are said at most every 10 s.
    refusals: &'a Every,
}

/// A line said at most once a period, with how many were held back meanwhile.
struct Every {
    period: Duration,
    last: std::sync::Mutex<Option<Instant>>,
    held: std::sync::atomic::AtomicU64,
}

impl Every {
    fn new(period: Duration) -> Self {
        Every {
            period,
            last: std::sync::Mutex::new(None),
            held: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// `Some(held back since the last one)` when a line may be said now.
    fn now(&self) -> Option<u64> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < self.period) {
            self.held.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *last = Some(now);
        Some(self.held.swap(0, Ordering::Relaxed))
    }
}

/// Answers requests until the stop signal.
/// A worker that ended without a stop (it panicked) ends the service too, rather than take
/// pushes nobody grants: the process exits non-zero for its supervisor to restart it. The
/// worker ends only after a stop or a panic. An HTTP server that ended stops the worker
/// gracefully and ends the service with an error, for the same reason.
fn listen(
    requests: Requests,
    service: &Service<'_>,
    mut deliveries: Box<dyn DeliveryLog + Send>,
    worker: &std::thread::JoinHandle<()>,
) -> Result<(), String> {
    // After a stop, requests are still answered (webhooks 503, so Twitch sends them again;
    // the probes as ever) until the worker has finished its run.
    while !worker.is_finished() {
        match requests.next(Duration::from_millis(200)) {
            Ok(Some(request)) => answer(request, service, &mut *deliveries),
            Ok(None) => {}
            Err(()) => {
                crate::interrupt::stop_on_error("the HTTP server ended");
                while !worker.is_finished() {
                    std::thread::sleep(Duration::from_millis(50));
                }
                return Err(
                    "the HTTP server ended: stopped so that a restart listens again".into(),
                );
            }
        }
    }
    Ok(())
}

/// Answers one request.
fn answer(request: Request, service: &Service<'_>, deliveries: &mut dyn DeliveryLog) {
    use hyper::Method;
    let (status, body, content_type): (u16, Vec<u8>, &'static str) =
        match (&request.method, request.path.as_str()) {
            (&Method::GET, "/livez") => (200, b"live\n".to_vec(), "text/plain"),
            (&Method::GET, "/healthz") if service.subscriber.ready.load(Ordering::SeqCst) => {
                (200, b"ok\n".to_vec(), "text/plain")
            }
            (&Method::GET, "/healthz") => {
                (503, b"live; not subscribed yet\n".to_vec(), "text/plain")
            }
            (&Method::GET, "/metrics") => (
                200,
                prometheus(service.client, service.counters).into_bytes(),
                "text/plain; version=0.0.4",
            ),
            (&Method::POST, _) if service.stop.is_raised() => {
                (503, b"stopping; send it again\n".to_vec(), "text/plain")
            }
            (&Method::POST, _) => {
                let handled = webhook::handle(
                    &request.headers,
                    &request.body,
                    service.secret,
                    SystemClock.now_ms(),
                    deliveries,
                );
                note_delivery(&handled.delivery, service);
                if let Delivery::Revocation { subscription } = &handled.delivery {
                    service.subscriber.revoked(subscription);
                }
                (handled.response.status, handled.response.body, "text/plain")
            }
            _ => (404, b"not found\n".to_vec(), "text/plain"),
        };
    request.respond(status, body, content_type);
}

/// Counts a webhook delivery and hands its grants to the worker.
fn note_delivery(delivery: &Delivery, service: &Service<'_>) {
    let (pushes, counters) = (service.pushes, service.counters);
    match delivery {
        Delivery::Grants { entitlements, .. } => {
            counters.messages.fetch_add(1, Ordering::Relaxed);
            counters
                .pushed
                .fetch_add(entitlements.len() as u64, Ordering::Relaxed);
            let _ = pushes.send(entitlements.clone());
        }
        Delivery::Repeated { .. } => {
            counters.messages.fetch_add(1, Ordering::Relaxed);
            counters.duplicates.fetch_add(1, Ordering::Relaxed);
        }
        Delivery::Other { .. } => {
            counters.messages.fetch_add(1, Ordering::Relaxed);
        }
        Delivery::Refused(error) => {
            counters.refused.fetch_add(1, Ordering::Relaxed);
            match service.refusals.now() {
                Some(0) => eprintln!("drops: warn: a webhook request was refused: {error}"),
                Some(held) => eprintln!(
                    "drops: warn: a webhook request was refused: {error} ({held} more since \
                     the last one said; drops_eventsub_refused_total counts them all)"
                ),
                None => {}
            }
        }
        Delivery::NotRecorded(error) => {
            eprintln!("drops: warn: a delivery could not be recorded (503, Twitch sends it again): {error}");
        }
        _ => {}
    }
}

struct WorkerOptions {
    game: String,
    reconcile_every: Duration,
    grants_in_flight: usize,
}

/// Grants what is pushed as it comes, and drains the CLAIMED list every `reconcile_every`
/// (at once first: what arrived while the service was down).
fn work(
    client: &DropsClient,
    options: WorkerOptions,
    mut journal: Box<dyn Journal + Send>,
    mut grant: Box<dyn Grant + Send>,
    pushed: mpsc::Receiver<Vec<Entitlement>>,
    counters: &Counters,
    stop: StopSignal,
) {
    // Every run, pushed or drained: this worker's journal and grant, counted.
    let mut run = |engine: Engine| {
        let report =
            client.drive_engine_pipelined(engine, journal.as_mut(), grant.as_mut(), &mut |_| {});
        counters.runs.fetch_add(1, Ordering::Relaxed);
        report
    };
    let mut next_drain = Instant::now();
    loop {
        if stop.is_raised() {
            return;
        }
        // A drain when it is due, before any push: a steady stream of pushes never
        // postpones it (it is what catches the pushes Twitch lost).
        if Instant::now() >= next_drain {
            let drain = FulfillOptions {
                grants_in_flight: options.grants_in_flight,
                stop_signal: Some(stop.clone()),
                ..FulfillOptions::new(EntitlementsQuery::new().game(options.game.clone()))
            };
            match Engine::new(client.config(), drain) {
                Ok(engine) => {
                    let report = run(engine);
                    counters
                        .reconciled
                        .fetch_add(report.fulfilled, Ordering::Relaxed);
                    if report.listed > 0 || report.error.is_some() {
                        say("reconcile", report.listed as usize, &report);
                    }
                }
                Err(e) => eprintln!("drops: reconcile: {e}"),
            }
            next_drain = Instant::now() + options.reconcile_every;
            continue;
        }
        let wait = next_drain.saturating_duration_since(Instant::now());
        match pushed.recv_timeout(wait.min(Duration::from_millis(200))) {
            Ok(mut entitlements) => {
                // Everything pushed meanwhile goes in the same run.
                while let Ok(more) = pushed.try_recv() {
                    entitlements.extend(more);
                }
                // Only this game's: a subscription made elsewhere may cover others.
                let before = entitlements.len();
                entitlements.retain(|e| e.game_id == options.game);
                if entitlements.len() < before {
                    eprintln!(
                        "drops: warn: {} pushed entitlements of other games left alone",
                        before - entitlements.len()
                    );
                }
                if entitlements.is_empty() {
                    continue;
                }
                let count = entitlements.len();
                let engine = Engine::for_entitlements(client.config(), entitlements, 1)
                    .with_grants_in_flight(options.grants_in_flight)
                    .map(|e| e.with_stop_signal(stop.clone()));
                match engine {
                    Ok(engine) => say("push", count, &run(engine)),
                    Err(e) => eprintln!("drops: push: {e}"),
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// One line per run that did something.
fn say(what: &str, count: usize, report: &FulfillReport) {
    let error = report
        .error
        .as_ref()
        .map(|e| format!("; stopped: {e}"))
        .unwrap_or_default();
    eprintln!(
        "drops: {what}: {count} entitlements, {} fulfilled, {} left{error}",
        report.fulfilled + report.already_fulfilled,
        report.left()
    );
}
