//! The OAuth server: the three grants, device login, validate, revoke.

mod common;

use common::*;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

#[test]
fn client_credentials_issues_a_bearer_token() {
    let fake = start();
    let resp = post_form(
        &format!("{}/token", fake.auth_url()),
        &[
            ("client_id", "fake-client-id"),
            ("client_secret", "fake-client-secret"),
            ("grant_type", "client_credentials"),
        ],
    );
    assert_eq!(resp.status, 200);
    let body = resp.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["access_token"].as_str().unwrap().len(), 30);
    assert!(body.get("refresh_token").is_none());
    assert_eq!(fake.stats().tokens_issued, 1);
    assert_eq!(fake.stats().requests_by_route["POST /oauth2/token"], 1);
}

#[test]
fn client_credentials_checks_id_and_secret() {
    let fake = start();
    let url = format!("{}/token", fake.auth_url());
    let wrong_secret = post_form(
        &url,
        &[
            ("client_id", "fake-client-id"),
            ("client_secret", "nope"),
            ("grant_type", "client_credentials"),
        ],
    );
    assert_eq!(wrong_secret.status, 403);
    assert_eq!(
        wrong_secret.json(),
        serde_json::json!({"status": 403, "message": "invalid client secret"})
    );
    let wrong_id = post_form(
        &url,
        &[
            ("client_id", "other"),
            ("client_secret", "fake-client-secret"),
            ("grant_type", "client_credentials"),
        ],
    );
    assert_eq!(wrong_id.status, 400);
    assert_eq!(wrong_id.json()["status"], 400);
    let no_grant = post_form(&url, &[("client_id", "fake-client-id")]);
    assert_eq!(no_grant.status, 400);
    let odd_grant = post_form(&url, &[("grant_type", "password")]);
    assert_eq!(odd_grant.status, 400);
    assert_eq!(fake.stats().tokens_issued, 0);
}

#[test]
fn parameters_in_the_query_string_work_too() {
    let fake = start();
    let url = format!(
        "{}/token?client_id=fake-client-id&client_secret=fake-client-secret&grant_type=client_credentials",
        fake.auth_url()
    );
    assert_eq!(post_form(&url, &[]).status, 200);
}

#[test]
fn refresh_rotates_the_refresh_token() {
    let fake = start();
    let first = fake.user_token("1234", &["analytics:read:games"]);
    let url = format!("{}/token", fake.auth_url());
    let resp = post_form(
        &url,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &first.refresh_token),
            ("client_id", "fake-client-id"),
            ("client_secret", "fake-client-secret"),
        ],
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    let body = resp.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["scope"], serde_json::json!(["analytics:read:games"]));
    let second_refresh = body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second_refresh, first.refresh_token);
    assert_ne!(body["access_token"], first.access_token.as_str());

    // The old refresh token is spent.
    let again = post_form(
        &url,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &first.refresh_token),
        ],
    );
    assert_eq!(again.status, 400);
    assert_eq!(
        again.json(),
        serde_json::json!({"status": 400, "message": "Invalid refresh token"})
    );

    // The secret is optional, but checked when sent.
    let bad_secret = post_form(
        &url,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &second_refresh),
            ("client_secret", "nope"),
        ],
    );
    assert_eq!(bad_secret.status, 403);
    let no_secret = post_form(
        &url,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &second_refresh),
            ("client_id", "fake-client-id"),
        ],
    );
    assert_eq!(no_secret.status, 200, "{}", no_secret.body);

    // The refreshed token is a user token for the same user.
    let token = no_secret.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let validate = get(
        &format!("{}/validate", fake.auth_url()),
        &[("Authorization", &format!("OAuth {token}"))],
    );
    assert_eq!(validate.json()["user_id"], "1234");
    // user_token + 2 refreshes.
    assert_eq!(fake.stats().tokens_issued, 3);
}

#[test]
fn device_code_flow_is_pending_until_approved() {
    let fake = start();
    let start = post_form(
        &format!("{}/device", fake.auth_url()),
        &[
            ("client_id", "fake-client-id"),
            ("scopes", "analytics:read:games user:read:email"),
        ],
    );
    assert_eq!(start.status, 200, "{}", start.body);
    let body = start.json();
    assert_eq!(body["expires_in"], 1800);
    assert_eq!(body["interval"], 5);
    assert!(body["verification_uri"]
        .as_str()
        .unwrap()
        .starts_with("http"));
    let device_code = body["device_code"].as_str().unwrap().to_string();
    let user_code = body["user_code"].as_str().unwrap().to_string();

    let poll = || {
        post_form(
            &format!("{}/token", fake.auth_url()),
            &[
                ("client_id", "fake-client-id"),
                ("device_code", &device_code),
                ("scopes", "analytics:read:games user:read:email"),
                ("grant_type", DEVICE_GRANT),
            ],
        )
    };
    let pending = poll();
    assert_eq!(pending.status, 400);
    assert_eq!(
        pending.json(),
        serde_json::json!({"status": 400, "message": "authorization_pending"})
    );

    fake.approve_device(&user_code, "777");
    let granted = poll();
    assert_eq!(granted.status, 200, "{}", granted.body);
    let body = granted.json();
    assert_eq!(
        body["scope"],
        serde_json::json!(["analytics:read:games", "user:read:email"])
    );
    assert!(body["refresh_token"].as_str().is_some());
    let token = body["access_token"].as_str().unwrap();
    let validate = get(
        &format!("{}/validate", fake.auth_url()),
        &[("Authorization", &format!("OAuth {token}"))],
    );
    assert_eq!(validate.json()["user_id"], "777");

    // A device code gives one token.
    assert_eq!(poll().status, 400);
}

#[test]
fn device_login_can_be_approved_over_http() {
    let fake = start();
    let body = post_form(
        &format!("{}/device", fake.auth_url()),
        &[("client_id", "fake-client-id"), ("scopes", "")],
    )
    .json();
    let user_code = body["user_code"].as_str().unwrap();
    let url = |code: &str| format!("{}/_fake/device/{code}/approve?user_id=55", fake.base_url());
    assert_eq!(post_form(&url("NOSUCHCODE"), &[]).status, 404);
    assert_eq!(post_form(&url(user_code), &[]).status, 204);
    let granted = post_form(
        &format!("{}/token", fake.auth_url()),
        &[
            ("client_id", "fake-client-id"),
            ("device_code", body["device_code"].as_str().unwrap()),
            ("grant_type", DEVICE_GRANT),
        ],
    );
    assert_eq!(granted.status, 200, "{}", granted.body);
}

#[test]
fn device_endpoints_check_the_client() {
    let fake = start();
    let resp = post_form(
        &format!("{}/device", fake.auth_url()),
        &[("client_id", "someone-else")],
    );
    assert_eq!(resp.status, 400);
    let resp = post_form(
        &format!("{}/token", fake.auth_url()),
        &[
            ("client_id", "fake-client-id"),
            ("device_code", "unknown"),
            ("grant_type", DEVICE_GRANT),
        ],
    );
    assert_eq!(resp.status, 400);
    assert_eq!(resp.message(), "invalid device code");
}

#[test]
fn validate_describes_app_and_user_tokens() {
    let fake = start();
    let url = format!("{}/validate", fake.auth_url());

    let app = app_token(&fake);
    let resp = get(&url, &[("Authorization", &format!("OAuth {app}"))]);
    assert_eq!(resp.status, 200);
    let body = resp.json();
    assert_eq!(body["client_id"], "fake-client-id");
    assert_eq!(body["scopes"], serde_json::json!([]));
    assert!(body.get("user_id").is_none_or(|u| u.is_null()));
    let expires_in = body["expires_in"].as_u64().unwrap();
    assert!((3590..=3600).contains(&expires_in), "{expires_in}");

    let user = fake.user_token("42", &["analytics:read:games"]);
    let body = get(
        &url,
        &[("Authorization", &format!("OAuth {}", user.access_token))],
    )
    .json();
    assert_eq!(body["user_id"], "42");
    assert!(body["login"].as_str().is_some());
    assert_eq!(body["scopes"], serde_json::json!(["analytics:read:games"]));

    let bad = get(&url, &[("Authorization", "OAuth not-a-token")]);
    assert_eq!(bad.status, 401);
    assert_eq!(
        bad.json(),
        serde_json::json!({"status": 401, "message": "invalid access token"})
    );
    assert_eq!(get(&url, &[]).status, 401);
}

#[test]
fn expired_tokens_fail_validation() {
    let fake = start_with(|c| c.token_ttl_secs = 0);
    let token = app_token(&fake);
    let resp = get(
        &format!("{}/validate", fake.auth_url()),
        &[("Authorization", &format!("OAuth {token}"))],
    );
    assert_eq!(resp.status, 401);
}

#[test]
fn revoke_forgets_a_token() {
    let fake = start();
    let token = app_token(&fake);
    let url = format!("{}/revoke", fake.auth_url());
    let resp = post_form(&url, &[("client_id", "fake-client-id"), ("token", &token)]);
    assert_eq!(resp.status, 200);
    let resp = helix_get(&fake, &token, "/entitlements/drops");
    assert_eq!(resp.status, 401);
    let resp = post_form(&url, &[("client_id", "fake-client-id"), ("token", &token)]);
    assert_eq!(resp.status, 400);
}
