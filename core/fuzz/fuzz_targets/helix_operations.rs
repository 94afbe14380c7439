//! The Helix operations driven with fuzzed responses: one entitlements page, paging, an
//! analytics page, a report download (with fuzzed redirects) and an EventSub subscription.
//! None may panic or hang. Credentials go only to the configured Helix URL; a report
//! download never sends them, and never fetches a plain-http URL off loopback, as the URL
//! parser ureq uses reads it.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use twitch_drops::analytics::{download_report, get_game_analytics};
use twitch_drops::entitlements::get_entitlements;
use twitch_drops::eventsub::{parse_subscription, subscription_request};
use twitch_drops::{
    AnalyticsQuery, Config, Credentials, DropGrantCondition, EntitlementPages, EntitlementsQuery,
    HttpRequest, Secret,
};
use twitch_drops_fuzz::{
    drive, entitlements_page, helix_answer, loopback_or_https, number, pick, rare, show, text,
    TOKEN,
};

const HELIX: &str = "https://api.twitch.tv/helix";

fn config() -> Config {
    Config::new("cid", Credentials::AccessToken(TOKEN.into()))
}

/// Every Helix request carries the token and the client id, and goes to Helix.
fn check_helix(request: &HttpRequest) {
    assert!(request.url.starts_with(HELIX), "{}", request.url);
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(request.header("client-id"), Some("cid"));
}

/// A report download sends no credentials and only to a safe URL.
fn check_download(request: &HttpRequest) {
    assert_eq!(request.header("authorization"), None, "{request:?}");
    assert_eq!(request.header("client-id"), None, "{request:?}");
    assert!(
        loopback_or_https(&request.url),
        "unsafe download URL {}",
        request.url
    );
}

fn analytics_answer(_: &HttpRequest, u: &mut Unstructured) -> Value {
    let n = u.int_in_range(0..=3usize).unwrap_or(1);
    let data: Vec<Value> = (0..n)
        .map(|_| {
            json!({
                "game_id": "493057",
                "URL": text(u, &["https://reports.example.com/r.csv?sig=1"]),
                "type": "overview_v2",
                "date_range": { "started_at": "2023-10-01T00:00:00Z", "ended_at": "2023-10-31T00:00:00Z" },
            })
        })
        .collect();
    let pagination = if rare(u, 3) {
        json!({ "cursor": "c1" })
    } else {
        json!({})
    };
    json!({ "data": data, "pagination": pagination })
}

fn subscription_answer(_: &HttpRequest, u: &mut Unstructured) -> Value {
    json!({
        "data": [{
            "id": text(u, &["f1c2a387-161a-49f9-a165-0f21d7a4e1c4"]),
            "status": "webhook_callback_verification_pending",
            "type": "drop.entitlement.grant",
            "version": "1",
            "condition": { "organization_id": "org1" },
            "transport": { "method": "webhook", "callback": "https://cb.example.com/webhook" },
            "created_at": "2023-11-14T22:13:20Z",
            "cost": number(u),
        }],
        "total": 1, "total_cost": 0, "max_total_cost": 10000,
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let u = &mut u;
    let config = config();
    match *pick(u, &[&0u8, &1, &2, &3, &4]) {
        0 => {
            let query = EntitlementsQuery::new().game("509658").first(1000);
            let mut op = get_entitlements(&config, &query).expect("valid query");
            let mut shaped = |_: &HttpRequest, u: &mut Unstructured| entitlements_page(u, 40);
            match drive(&mut op, u, &mut shaped, &mut check_helix).expect("a page ends") {
                Ok(page) => assert!(!page.cursor.as_deref().is_some_and(|c| c.trim().is_empty())),
                Err(e) => show(&e),
            }
        }
        1 => {
            let mut pages =
                EntitlementPages::new(EntitlementsQuery::new().first(1000)).expect("valid query");
            for _ in 0..50 {
                let Some(mut op) = pages.next_request(&config).expect("valid query") else {
                    break;
                };
                let mut shaped = |r: &HttpRequest, u: &mut Unstructured| helix_answer(r, u);
                match drive(&mut op, u, &mut shaped, &mut check_helix).expect("a page ends") {
                    Ok(page) => {
                        if let Err(e) = pages.advance(&page) {
                            show(&e);
                            assert!(pages.is_finished());
                        }
                    }
                    Err(e) => {
                        show(&e);
                        pages.finish();
                    }
                }
            }
        }
        2 => {
            let query = AnalyticsQuery::new().range("2023-10-01", "2023-10-31");
            let mut op = get_game_analytics(&config, &query).expect("valid query");
            match drive(&mut op, u, &mut analytics_answer, &mut check_helix).expect("ends") {
                Ok(page) => assert!(!page.cursor.as_deref().is_some_and(|c| c.trim().is_empty())),
                Err(e) => show(&e),
            }
        }
        3 => {
            let url = text(
                u,
                &[
                    "https://reports.example.com/r.csv?X-Amz-Signature=abc",
                    "http://127.0.0.1:9/r.csv",
                    "http://evil.example.com/r.csv",
                ],
            );
            let mut op = match download_report(&config, &url) {
                Ok(op) => op,
                Err(e) => return show(&e),
            };
            check_download(&twitch_drops::HttpRequest::new(
                twitch_drops::Method::Get,
                url,
            ));
            let mut shaped =
                |_: &HttpRequest, u: &mut Unstructured| json!(text(u, &["a,b\n1,2\n"]));
            match drive(&mut op, u, &mut shaped, &mut check_download).expect("a download ends") {
                Ok(_) => {}
                Err(e) => show(&e),
            }
        }
        _ => {
            let condition = DropGrantCondition::new("org1").category("509658");
            let secret = Secret::new("s3cre7-s3cre7-s3cre7");
            let mut op = subscription_request(
                &config,
                &condition,
                "https://cb.example.com/webhook",
                &secret,
            )
            .expect("valid subscription");
            match drive(&mut op, u, &mut subscription_answer, &mut check_helix).expect("ends") {
                Ok(subscription) => {
                    let _ = format!("{subscription:?}");
                }
                Err(e) => show(&e),
            }
            // The decoder on its own, on the same kind of bodies.
            let rest = u.len();
            let bytes = u.bytes(rest).unwrap_or_default().to_vec();
            let response = twitch_drops::HttpResponse::new(200, bytes);
            if let Err(e) = parse_subscription(&response) {
                show(&e);
            }
        }
    }
});
