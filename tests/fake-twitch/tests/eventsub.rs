//! EventSub: webhook subscriptions with their callback verification, and signed, batched
//! `drop.entitlement.grant` deliveries (and their faults) to a loopback webhook.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;
use fake_twitch::{
    ClaimStream, ClaimStreamStats, Delivery, FakeTwitch, Seed, CLAIMED, ORGANIZATION_ID,
};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const SECRET: &str = "webhook-secret-0123";

/// One request the webhook received.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

type Handler = dyn Fn(&Received) -> (u16, String) + Send + Sync;

/// A loopback HTTP/1.1 server that records each request and answers with `handler`.
struct Webhook {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Webhook {
    fn start(handler: impl Fn(&Received) -> (u16, String) + Send + Sync + 'static) -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/webhooks/twitch", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let thread = {
            let received = Arc::clone(&received);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    if let Ok(stream) = stream {
                        serve(stream, &received, handler.as_ref());
                    }
                }
            })
        };
        Webhook {
            url,
            received,
            stop,
            thread: Some(thread),
        }
    }

    /// Answers 204 to everything.
    fn accepting() -> Webhook {
        Webhook::start(|_| (204, String::new()))
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let addr = self.url.trim_start_matches("http://").split('/').next();
        let _ = TcpStream::connect(addr.unwrap());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(stream: TcpStream, received: &Mutex<Vec<Received>>, handler: &Handler) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.trim_end().split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let request = Received {
        path,
        headers,
        body,
    };
    let (status, answer) = handler(&request);
    received.lock().unwrap().push(request);
    let mut stream = reader.into_inner();
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
}

fn expected_signature(secret: &str, message_id: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message_id.as_bytes());
    mac.update(timestamp.as_bytes());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn age_secs(timestamp: &str) -> i64 {
    let sent = OffsetDateTime::parse(timestamp, &Rfc3339).unwrap();
    (OffsetDateTime::now_utc() - sent).whole_seconds()
}

fn is_signed_by(r: &Received, secret: &str) -> bool {
    r.header("Twitch-Eventsub-Message-Signature")
        == expected_signature(
            secret,
            r.header("Twitch-Eventsub-Message-Id"),
            r.header("Twitch-Eventsub-Message-Timestamp"),
            &r.body,
        )
}

#[test]
fn delivery_creates_claimed_grants_and_posts_one_signed_batched_notification() {
    let fake = start_with(|c| c.seed = small_seed());
    let hook = Webhook::accepting();
    let before = fake.stats().claimed;

    let outcome = fake.deliver_grants(&hook.url, SECRET, 3).unwrap();

    assert_eq!(outcome.status, 204);
    assert_eq!(outcome.entitlement_ids.len(), 3);
    assert_eq!(fake.stats().claimed, before + 3);
    let received = hook.received();
    assert_eq!(received.len(), 1);
    let r = &received[0];
    assert_eq!(r.path, "/webhooks/twitch");
    assert_eq!(r.header("Content-Type"), "application/json");
    assert_eq!(r.header("Twitch-Eventsub-Message-Type"), "notification");
    assert_eq!(r.header("Twitch-Eventsub-Message-Id"), outcome.message_id);
    assert_eq!(
        r.header("Twitch-Eventsub-Message-Timestamp"),
        outcome.timestamp
    );
    assert_eq!(
        r.header("Twitch-Eventsub-Subscription-Type"),
        "drop.entitlement.grant"
    );
    assert_eq!(r.header("Twitch-Eventsub-Subscription-Version"), "1");
    assert!(is_signed_by(r, SECRET));
    assert!(age_secs(&outcome.timestamp).abs() < 60);

    let body = r.json();
    assert_eq!(body["subscription"]["type"], "drop.entitlement.grant");
    assert_eq!(
        body["subscription"]["transport"]["callback"],
        hook.url.as_str()
    );
    let events = body["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    let store = fake.entitlements();
    for (event, id) in events.iter().zip(&outcome.entitlement_ids) {
        let data = &event["data"];
        assert!(event["id"].as_str().is_some_and(|s| !s.is_empty()));
        assert_eq!(data["entitlement_id"], id.as_str());
        assert_eq!(data["organization_id"], ORGANIZATION_ID);
        assert_eq!(data["category_id"], "509658");
        let stored = store.iter().find(|e| e.id == *id).expect("in the store");
        assert_eq!(stored.fulfillment_status, CLAIMED);
        assert_eq!(data["user_id"], stored.user_id.as_str());
        assert_eq!(data["benefit_id"], stored.benefit_id.as_str());
        assert_eq!(data["created_at"], stored.timestamp.as_str());
        assert_eq!(
            data["user_login"],
            format!("user{}", stored.user_id).as_str()
        );
        for field in ["category_name", "campaign_id", "user_name"] {
            assert!(
                data[field].as_str().is_some_and(|s| !s.is_empty()),
                "{field}"
            );
        }
    }
    // The grants use the seed's users and the benefits of the game's seeded entitlements.
    let users = small_seed().user_ids();
    let benefits: std::collections::HashSet<_> =
        store[..100].iter().map(|e| e.benefit_id.clone()).collect();
    for id in &outcome.entitlement_ids {
        let e = store.iter().find(|e| e.id == *id).unwrap();
        assert!(users.contains(&e.user_id));
        assert!(benefits.contains(&e.benefit_id));
    }
    // Delivery is not a Helix request.
    assert_eq!(fake.stats().requests, 0);
}

#[test]
fn the_same_seed_grants_the_same_ids_and_reset_starts_over() {
    let hook = Webhook::accepting();
    let a = start_with(|c| c.seed = small_seed());
    let b = start_with(|c| c.seed = small_seed());
    let first = a.deliver_grants(&hook.url, SECRET, 2).unwrap();
    assert_eq!(
        first.entitlement_ids,
        b.deliver_grants(&hook.url, SECRET, 2)
            .unwrap()
            .entitlement_ids
    );
    let second = a.deliver_grants(&hook.url, SECRET, 2).unwrap();
    assert_ne!(first.entitlement_ids, second.entitlement_ids);
    assert_ne!(first.message_id, second.message_id);

    a.reset(small_seed());
    assert_eq!(a.entitlements().len(), 100);
    let again = a.deliver_grants(&hook.url, SECRET, 2).unwrap();
    assert_eq!(again.entitlement_ids, first.entitlement_ids);
    let other = start_with(|c| {
        c.seed = Seed {
            rng_seed: 7,
            ..small_seed()
        }
    });
    assert_ne!(
        other
            .deliver_grants(&hook.url, SECRET, 2)
            .unwrap()
            .entitlement_ids,
        first.entitlement_ids
    );
}

#[test]
fn replay_resends_the_last_message_unchanged_and_creates_nothing() {
    let fake = start_with(|c| c.seed = small_seed());
    let hook = Webhook::accepting();
    let first = fake.deliver_grants(&hook.url, SECRET, 2).unwrap();
    let count = fake.entitlements().len();

    let replay = fake
        .deliver(&Delivery {
            replay: true,
            ..Delivery::new(&hook.url, SECRET, 0)
        })
        .unwrap();

    assert_eq!(replay.message_id, first.message_id);
    assert_eq!(replay.timestamp, first.timestamp);
    assert_eq!(replay.entitlement_ids, first.entitlement_ids);
    assert_eq!(fake.entitlements().len(), count);
    let received = hook.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].body, received[1].body);
    assert!(is_signed_by(&received[1], SECRET));
}

#[test]
fn stale_and_bad_signature_deliveries() {
    let fake = start_with(|c| c.seed = small_seed());
    let hook = Webhook::accepting();

    let stale = fake
        .deliver(&Delivery {
            stale: true,
            ..Delivery::new(&hook.url, SECRET, 1)
        })
        .unwrap();
    let age = age_secs(&stale.timestamp);
    assert!((650..700).contains(&age), "{age}");

    fake.deliver(&Delivery {
        bad_signature: true,
        ..Delivery::new(&hook.url, SECRET, 1)
    })
    .unwrap();

    let received = hook.received();
    assert!(is_signed_by(&received[0], SECRET), "stale but well signed");
    assert_eq!(
        received[0].header("Twitch-Eventsub-Message-Timestamp"),
        stale.timestamp
    );
    assert!(!is_signed_by(&received[1], SECRET));
    assert!(received[1]
        .header("Twitch-Eventsub-Message-Signature")
        .starts_with("sha256="));
    // The grants exist either way: Helix lists them whatever happened to the push.
    assert_eq!(fake.entitlements().len(), 102);
}

#[test]
fn the_callback_status_and_body_come_back() {
    let fake = start_with(|c| c.seed = small_seed());
    let hook = Webhook::start(|_| (403, "bad signature".to_string()));
    let outcome = fake.deliver_grants(&hook.url, SECRET, 1).unwrap();
    assert_eq!(outcome.status, 403);
    assert_eq!(outcome.body, "bad signature");
}

#[test]
fn bad_deliveries_are_refused() {
    let fake = start_with(|c| c.seed = small_seed());
    let hook = Webhook::accepting();
    let kind = |d: Delivery| fake.deliver(&d).unwrap_err().kind();
    use std::io::ErrorKind::{InvalidInput, NotFound};

    assert_eq!(
        kind(Delivery {
            replay: true,
            ..Delivery::new(&hook.url, SECRET, 1)
        }),
        NotFound
    );
    assert_eq!(kind(Delivery::new(&hook.url, SECRET, 0)), InvalidInput);
    assert_eq!(kind(Delivery::new(&hook.url, SECRET, 1001)), InvalidInput);
    assert_eq!(kind(Delivery::new(&hook.url, "", 1)), InvalidInput);
    for callback in [
        "https://127.0.0.1:1/hook",
        "http://example.com/hook",
        "http://10.0.0.1/hook",
        "not a url",
    ] {
        assert_eq!(
            kind(Delivery::new(callback, SECRET, 1)),
            InvalidInput,
            "{callback}"
        );
    }
    assert_eq!(fake.entitlements().len(), 100, "nothing created");
    assert!(hook.received().is_empty());

    // Nobody listening: the grants are created, the delivery fails.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    assert!(fake.deliver_grants(&url, SECRET, 1).is_err());
    assert_eq!(fake.entitlements().len(), 101);

    // Debug never shows the secret.
    assert!(!format!("{:?}", Delivery::new(&hook.url, SECRET, 1)).contains(SECRET));
}

#[test]
fn admin_route_delivers_with_the_same_options() {
    let fake = start_with(|c| c.seed = small_seed());
    let hook = Webhook::accepting();
    let url = format!("{}/_fake/eventsub/deliver", fake.base_url());

    let resp = post_json(
        &url,
        &json!({"callback": hook.url, "secret": SECRET, "count": 2}),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    let outcome = resp.json();
    assert_eq!(outcome["status"], 204);
    assert_eq!(outcome["entitlement_ids"].as_array().unwrap().len(), 2);

    let resp = post_json(
        &url,
        &json!({"callback": hook.url, "secret": SECRET, "replay": true, "bad_signature": true}),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.json()["message_id"], outcome["message_id"]);
    let received = hook.received();
    assert_eq!(received.len(), 2);
    assert!(is_signed_by(&received[0], SECRET));
    assert!(!is_signed_by(&received[1], SECRET));

    let resp = post_json(
        &url,
        &json!({"callback": "http://example.com/", "secret": SECRET, "count": 1}),
    );
    assert_eq!(resp.status, 400);
    assert!(resp.message().contains("loopback"), "{}", resp.message());
    assert_eq!(post_json(&url, &json!("nope")).status, 400);

    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let resp = post_json(
        &url,
        &json!({"callback": gone, "secret": SECRET, "count": 1}),
    );
    assert_eq!(resp.status, 502, "{}", resp.body);
}

/// POST `/helix/eventsub/subscriptions` with `token`.
fn subscribe(fake: &FakeTwitch, token: &str, body: &Value) -> Resp {
    read(
        agent()
            .post(format!("{}/eventsub/subscriptions", fake.helix_url()))
            .header("Client-Id", fake.client_id())
            .header("Authorization", format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .expect("POST completes"),
    )
    .expect("body reads")
}

fn subscription_body(callback: &str) -> Value {
    json!({
        "type": "drop.entitlement.grant",
        "version": "1",
        "condition": {"organization_id": ORGANIZATION_ID, "category_id": "509658"},
        "transport": {"method": "webhook", "callback": callback, "secret": SECRET},
        "is_batching_enabled": true,
    })
}

/// Waits (bounded) for the subscription's status to leave "pending".
fn settled_status(fake: &FakeTwitch, id: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = fake
            .eventsub_subscriptions()
            .into_iter()
            .find(|s| s.id == id)
            .expect("subscription exists")
            .status;
        if status != "webhook_callback_verification_pending" || Instant::now() > deadline {
            return status;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Answers a verification with its challenge, 204 otherwise.
fn echoing() -> Webhook {
    echoing_but(|_| false)
}

/// The same, but 503 to the notifications `refuse` picks.
fn echoing_but(refuse: impl Fn(&Received) -> bool + Send + Sync + 'static) -> Webhook {
    Webhook::start(move |r| {
        match r
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Twitch-Eventsub-Message-Type"))
        {
            Some((_, t)) if t == "webhook_callback_verification" => (
                200,
                r.json()["challenge"].as_str().unwrap_or("").to_string(),
            ),
            _ if refuse(r) => (503, "busy".to_string()),
            _ => (204, String::new()),
        }
    })
}

#[test]
fn subscribing_answers_202_then_verifies_the_callback() {
    let fake = start_with(|c| c.seed = small_seed());
    let token = app_token(&fake);
    let hook = echoing();

    let resp = subscribe(&fake, &token, &subscription_body(&hook.url));

    assert_eq!(resp.status, 202, "{}", resp.body);
    let body = resp.json();
    assert_eq!(body["total"], 1);
    assert_eq!(body["total_cost"], 0);
    let sub = &body["data"][0];
    assert_eq!(sub["type"], "drop.entitlement.grant");
    assert_eq!(sub["version"], "1");
    assert_eq!(sub["status"], "webhook_callback_verification_pending");
    assert_eq!(sub["condition"]["organization_id"], ORGANIZATION_ID);
    assert_eq!(
        sub["transport"],
        json!({"method": "webhook", "callback": hook.url})
    );
    assert!(!resp.body.contains(SECRET), "the secret is never echoed");
    let id = sub["id"].as_str().unwrap();

    assert_eq!(settled_status(&fake, id), "enabled");
    let received = hook.received();
    assert_eq!(received.len(), 1);
    let challenge = &received[0];
    assert_eq!(
        challenge.header("Twitch-Eventsub-Message-Type"),
        "webhook_callback_verification"
    );
    assert!(is_signed_by(challenge, SECRET));
    assert_eq!(challenge.json()["subscription"]["id"], id);

    // Listed, counted and journaled like any Helix call.
    let stats = fake.stats();
    assert_eq!(
        stats.requests_by_route["POST /helix/eventsub/subscriptions"],
        1
    );
    let listed = helix_get(&fake, &token, "/eventsub/subscriptions").json();
    assert_eq!(listed["data"][0]["id"], id);
    assert_eq!(listed["data"][0]["status"], "enabled");

    // A delivery to that callback names the subscription.
    fake.deliver_grants(&hook.url, SECRET, 1).unwrap();
    assert_eq!(hook.received()[1].json()["subscription"]["id"], id);

    // The same subscription again is a conflict.
    let again = subscribe(&fake, &token, &subscription_body(&hook.url));
    assert_eq!(again.status, 409, "{}", again.body);
}

#[test]
fn a_callback_that_does_not_echo_the_challenge_fails_verification() {
    let fake = start_with(|c| c.seed = small_seed());
    let token = app_token(&fake);
    let hook = Webhook::start(|_| (200, "not the challenge".to_string()));
    let resp = subscribe(&fake, &token, &subscription_body(&hook.url));
    assert_eq!(resp.status, 202, "{}", resp.body);
    let id = resp.json()["data"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        settled_status(&fake, &id),
        "webhook_callback_verification_failed"
    );

    // An https callback the fake cannot reach is accepted and stays pending.
    let resp = subscribe(
        &fake,
        &token,
        &subscription_body("https://example.com/twitch"),
    );
    assert_eq!(resp.status, 202, "{}", resp.body);
    let id = resp.json()["data"][0]["id"].as_str().unwrap().to_string();
    std::thread::sleep(Duration::from_millis(50));
    let status = |id: &str| {
        fake.eventsub_subscriptions()
            .into_iter()
            .find(|s| s.id == id)
            .map(|s| s.status)
    };
    assert_eq!(
        status(&id).as_deref(),
        Some("webhook_callback_verification_pending")
    );
}

#[test]
fn subscription_requests_are_validated() {
    let fake = start_with(|c| c.seed = small_seed());
    let token = app_token(&fake);
    let ok = subscription_body("https://example.com/twitch");
    let with = |path: &[&str], value: Value| {
        let mut body = ok.clone();
        let mut at = &mut body;
        for key in &path[..path.len() - 1] {
            at = &mut at[*key];
        }
        at[path[path.len() - 1]] = value;
        body
    };
    let cases = [
        with(&["type"], json!("channel.follow")),
        with(&["version"], json!("2")),
        with(&["condition"], json!({})),
        with(&["condition", "organization_id"], json!("")),
        with(&["condition", "category_id"], json!("")),
        with(&["transport", "method"], json!("websocket")),
        with(
            &["transport", "callback"],
            json!("http://example.com/twitch"),
        ),
        with(&["transport", "secret"], json!("short")),
        with(&["transport", "secret"], json!("x".repeat(101))),
        with(&["transport", "secret"], json!("sécret-non-ascii")),
        with(&["is_batching_enabled"], json!(false)),
    ];
    for body in &cases {
        let resp = subscribe(&fake, &token, body);
        assert_eq!(resp.status, 400, "{body}: {}", resp.body);
        assert!(!resp.message().is_empty());
    }
    let resp = read(
        agent()
            .post(format!("{}/eventsub/subscriptions", fake.helix_url()))
            .header("Client-Id", fake.client_id())
            .header("Authorization", format!("Bearer {token}"))
            .send("{not json")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(resp.status, 400);

    // Webhooks need an app token.
    let user = fake.user_token("4242", &[]);
    let resp = subscribe(&fake, &user.access_token, &ok);
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.message(),
        "auth must use app access token to create webhook subscription"
    );
    assert_eq!(subscribe(&fake, "bad-token", &ok).status, 401);
    assert!(fake.eventsub_subscriptions().is_empty());

    let admin = get(
        &format!("{}/_fake/eventsub/subscriptions", fake.base_url()),
        &[],
    );
    assert_eq!(admin.status, 200);
    assert_eq!(admin.json(), json!([]));
}

/// The first attempt of a message whose id starts with 0 to 3 (about a quarter).
fn refused_first(r: &Received) -> bool {
    r.header("Twitch-Eventsub-Message-Retry") == "0"
        && r.header("Twitch-Eventsub-Message-Id")
            .starts_with(['0', '1', '2', '3'])
}

/// Waits (bounded) until the claim stream has made and delivered everything.
fn stream_finished(fake: &FakeTwitch) -> ClaimStreamStats {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stats = fake.claim_stream_stats();
        if !stats.running {
            return stats;
        }
        assert!(
            Instant::now() < deadline,
            "the stream never ended: {stats:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_claim_stream_pushes_batches_with_losses_duplicates_late_messages_and_retries() {
    let fake = start_with(|c| c.seed = small_seed());
    let token = app_token(&fake);
    // The first attempt of about a quarter of the messages fails: Twitch sends it again.
    let hook = echoing_but(refused_first);
    let created = subscribe(&fake, &token, &subscription_body(&hook.url));
    let id = created.json()["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(settled_status(&fake, &id), "enabled");
    let claimed_before = fake.stats().claimed;

    fake.stream_claims(&ClaimStream {
        claims: 300,
        per_second: 300.0,
        batch_ms: 10,
        lost_rate: 0.2,
        duplicate_rate: 0.2,
        duplicate_after_ms: 50,
        late_rate: 0.2,
        late_ms: 300,
        rng_seed: 11,
    })
    .unwrap();
    let stats = stream_finished(&fake);

    assert_eq!(stats.claims, 300);
    assert_eq!(
        fake.stats().claimed,
        claimed_before + 300,
        "Helix lists them all"
    );
    assert_eq!(stats.unpushed_claims, 0);
    assert!(
        stats.messages >= 5,
        "batched, but more than one batch: {stats:?}"
    );
    assert!(stats.messages < 300, "claims were batched: {stats:?}");
    for (what, n) in [
        ("lost", stats.lost),
        ("duplicated", stats.duplicated),
        ("late", stats.late),
        ("retries", stats.retries),
    ] {
        assert!(n > 0, "some {what}: {stats:?}");
    }
    assert_eq!(
        stats.failed, 0,
        "every retried message got through: {stats:?}"
    );
    assert_eq!(
        stats.delivered,
        stats.messages - stats.lost + stats.duplicated
    );

    // What the callback took: each message once or (duplicated) twice, signed, with the
    // claims no lost message held.
    let notifications: Vec<Received> = hook
        .received()
        .into_iter()
        .filter(|r| r.header("Twitch-Eventsub-Message-Type") == "notification")
        .collect();
    let failed_first = notifications.iter().filter(|r| refused_first(r)).count();
    assert_eq!(stats.retries, failed_first, "one retry per refused attempt");
    let mut taken: std::collections::BTreeMap<String, usize> = Default::default();
    let mut claims = std::collections::BTreeSet::new();
    for r in &notifications {
        assert!(is_signed_by(r, SECRET));
        assert_eq!(r.json()["subscription"]["id"], id.as_str());
        if !refused_first(r) {
            *taken
                .entry(r.header("Twitch-Eventsub-Message-Id").to_string())
                .or_default() += 1;
        }
        for event in r.json()["events"].as_array().unwrap() {
            claims.insert(
                event["data"]["entitlement_id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
    }
    assert_eq!(taken.len(), stats.messages - stats.lost);
    assert_eq!(
        taken.values().filter(|&&n| n == 2).count(),
        stats.duplicated
    );
    assert_eq!(
        claims.len(),
        300 - stats.lost_claims,
        "the claims of every message not lost"
    );
    let store: std::collections::BTreeMap<String, String> = fake
        .entitlements()
        .into_iter()
        .map(|e| (e.id, e.fulfillment_status))
        .collect();
    assert!(claims
        .iter()
        .all(|c| store.get(c).map(String::as_str) == Some(CLAIMED)));
}

#[test]
fn claim_streams_over_the_admin_route_refuse_bad_fields_and_push_nothing_unsubscribed() {
    let fake = start_with(|c| c.seed = small_seed());
    let url = format!("{}/_fake/eventsub/stream", fake.base_url());
    let bad = post_json(&url, &json!({"claims": 10, "lost_rate": 2.0}));
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("lost_rate"), "{}", bad.body);
    let unknown = post_json(&url, &json!({"claims": 10, "loss": 0.5}));
    assert_eq!(unknown.status, 400, "{}", unknown.body);

    let ok = post_json(&url, &json!({"claims": 20, "per_second": 2000.0}));
    assert_eq!(ok.status, 204, "{}", ok.body);
    stream_finished(&fake);
    let stats: ClaimStreamStats = serde_json::from_str(&get(&url, &[]).body).unwrap();
    assert_eq!(
        (stats.claims, stats.unpushed_claims, stats.messages),
        (20, 20, 0)
    );
}

#[test]
fn a_reset_stops_a_claim_stream_and_its_late_messages() {
    let fake = start_with(|c| c.seed = small_seed());
    let token = app_token(&fake);
    let hook = echoing();
    let created = subscribe(&fake, &token, &subscription_body(&hook.url));
    let id = created.json()["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(settled_status(&fake, &id), "enabled");
    fake.stream_claims(&ClaimStream {
        claims: 50,
        per_second: 1000.0,
        late_rate: 1.0,
        late_ms: 400,
        ..ClaimStream::default()
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(150));
    assert!(fake.claim_stream_stats().claims > 0, "claims were made");
    fake.reset(small_seed());
    std::thread::sleep(Duration::from_millis(800));
    let notifications = hook
        .received()
        .iter()
        .filter(|r| r.header("Twitch-Eventsub-Message-Type") == "notification")
        .count();
    assert_eq!(
        notifications, 0,
        "the late messages of a stopped stream are not sent"
    );
    assert_eq!(fake.claim_stream_stats(), ClaimStreamStats::default());
}
