//! CORS for browser tests.

mod common;

use common::*;

#[test]
fn preflight_allows_the_sdks_methods_and_headers() {
    let fake = start();
    for path in [
        "/helix/entitlements/drops",
        "/oauth2/token",
        "/_fake/faults",
    ] {
        let resp = read(
            agent()
                .options(format!("{}{path}", fake.base_url()))
                .header("Origin", "http://localhost:8080")
                .header("Access-Control-Request-Method", "PATCH")
                .header(
                    "Access-Control-Request-Headers",
                    "authorization, client-id, content-type",
                )
                .call()
                .unwrap(),
        )
        .unwrap();
        assert!(resp.status == 204 || resp.status == 200, "{path}");
        assert_eq!(resp.header("access-control-allow-origin"), Some("*"));
        let methods = resp.header("access-control-allow-methods").unwrap();
        for m in ["GET", "POST", "PATCH", "OPTIONS"] {
            assert!(methods.contains(m), "{methods}");
        }
        let headers = resp
            .header("access-control-allow-headers")
            .unwrap()
            .to_ascii_lowercase();
        for h in ["authorization", "client-id", "content-type"] {
            assert!(headers.contains(h), "{headers}");
        }
    }
    // Preflights are journaled but not counted as API calls.
    assert_eq!(fake.stats().requests, 0);
    assert_eq!(fake.journal().len(), 2);
}

#[test]
fn every_response_allows_any_origin_but_does_not_expose_rate_limit_headers() {
    let fake = start();
    let token = app_token(&fake);
    let responses = [
        helix_get(&fake, &token, "/entitlements/drops"),
        helix_get(&fake, "bad", "/entitlements/drops"),
        post_form(&format!("{}/token", fake.auth_url()), &[]),
        get(&format!("{}/_fake/stats", fake.base_url()), &[]),
        get(&format!("{}/nowhere", fake.base_url()), &[]),
    ];
    for resp in responses {
        assert_eq!(resp.header("access-control-allow-origin"), Some("*"));
        assert!(resp.header("access-control-expose-headers").is_none());
    }
}
