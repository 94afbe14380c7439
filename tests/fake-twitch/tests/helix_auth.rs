//! Every Helix call needs a matching Client-Id and a valid bearer token.

mod common;

use common::*;
use serde_json::json;

#[test]
fn missing_token_is_401() {
    let fake = start();
    let resp = get(
        &format!("{}/entitlements/drops", fake.helix_url()),
        &[("Client-Id", "fake-client-id")],
    );
    assert_eq!(resp.status, 401);
    let body = resp.json();
    assert_eq!(body["error"], "Unauthorized");
    assert_eq!(body["status"], 401);
    assert!(!body["message"].as_str().unwrap().is_empty());
}

#[test]
fn bad_token_is_401_invalid_oauth_token() {
    let fake = start();
    let resp = helix_get(&fake, "notatoken", "/entitlements/drops");
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.json(),
        json!({"error": "Unauthorized", "status": 401, "message": "Invalid OAuth token"})
    );
}

#[test]
fn client_id_must_match_the_token() {
    let fake = start();
    let token = app_token(&fake);
    let resp = get(
        &format!("{}/entitlements/drops", fake.helix_url()),
        &[
            ("Client-Id", "another-client"),
            ("Authorization", &format!("Bearer {token}")),
        ],
    );
    assert_eq!(resp.status, 401);
    assert_eq!(resp.message(), "Client ID and OAuth token do not match");
    let resp = get(
        &format!("{}/entitlements/drops", fake.helix_url()),
        &[("Authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(resp.status, 401);
}

#[test]
fn expired_token_is_401() {
    let fake = start_with(|c| c.token_ttl_secs = 0);
    let token = app_token(&fake);
    let resp = helix_get(&fake, &token, "/entitlements/drops");
    assert_eq!(resp.status, 401);
    assert_eq!(resp.message(), "Invalid OAuth token");
}

#[test]
fn valid_app_and_user_tokens_are_accepted() {
    let fake = start();
    let app = app_token(&fake);
    assert_eq!(helix_get(&fake, &app, "/entitlements/drops").status, 200);
    let user = fake.user_token("100", &[]);
    assert_eq!(
        helix_get(&fake, &user.access_token, "/entitlements/drops").status,
        200
    );
    assert_eq!(fake.app_token().len(), 30);
}

#[test]
fn unknown_helix_paths_are_404() {
    let fake = start();
    let token = app_token(&fake);
    assert_eq!(helix_get(&fake, &token, "/users").status, 404);
    assert_eq!(fake.stats().requests_by_route["other"], 1);
}
