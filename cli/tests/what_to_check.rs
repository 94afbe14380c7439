//! A new user's mistakes, run through the real `drops`: each fails at once (or warns) with
//! an error that names the URL or the setting and says what to check, never a retried
//! mystery.

mod common;

use std::process::{Command, Output};

use common::{fake_of_game, free_address, GAME};
use fake_twitch::FakeTwitch;

/// `drops fulfill --game game` with these URLs and credentials, and a fresh state folder.
fn fulfill(helix: &str, auth: &str, secret: &str, game: &str) -> Output {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let state =
        std::env::temp_dir().join(format!("drops-what-to-check-{}-{run}", std::process::id()));
    std::fs::create_dir_all(&state).expect("a state folder");
    let out = Command::new(env!("CARGO_BIN_EXE_drops"))
        .args(["fulfill", "--game", game, "--grant-log"])
        .arg(state.join("grants"))
        .env_clear()
        .env("XDG_STATE_HOME", &state)
        .env("TWITCH_CLIENT_ID", "fake-client-id")
        .env("TWITCH_CLIENT_SECRET", secret)
        .env("TWITCH_HELIX_URL", helix)
        .env("TWITCH_AUTH_URL", auth)
        .output()
        .expect("drops runs");
    let _ = std::fs::remove_dir_all(&state);
    out
}

fn at_fake(fake: &FakeTwitch, game: &str) -> Output {
    fulfill(
        &fake.helix_url(),
        &fake.auth_url(),
        &fake.client_secret(),
        game,
    )
}

/// Its stderr, after checking it exited 2 having retried nothing.
fn failed(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("retry"), "failed at once: {stderr}");
    stderr
}

#[test]
fn a_server_not_running_is_named_with_both_urls() {
    let address = free_address();
    let (helix, auth) = (
        format!("http://{address}/helix"),
        format!("http://{address}/oauth2"),
    );
    let stderr = failed(&fulfill(&helix, &auth, "a-secret", GAME));
    assert!(
        stderr.contains(&format!("{address}: connection refused")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "check --helix-url and --auth-url (TWITCH_HELIX_URL, TWITCH_AUTH_URL: now {helix} \
             and {auth})"
        )),
        "{stderr}"
    );
}

#[test]
fn a_host_name_that_does_not_resolve_is_told_as_such() {
    let stderr = failed(&fulfill(
        "https://drops-test.invalid/helix",
        "https://drops-test.invalid/oauth2",
        "a-secret",
        GAME,
    ));
    assert!(
        stderr.contains("drops-test.invalid:443: the host name could not be resolved (DNS"),
        "{stderr}"
    );
    assert!(
        stderr.contains("check --helix-url and --auth-url"),
        "{stderr}"
    );
}

#[test]
fn a_helix_url_without_its_path_is_named() {
    let fake = fake_of_game(10, 2, 51);
    let base = fake.helix_url().trim_end_matches("/helix").to_string();
    let stderr = failed(&fulfill(
        &base,
        &fake.auth_url(),
        &fake.client_secret(),
        GAME,
    ));
    assert!(
        stderr.contains(&format!(
            "{base} has no such route: check --helix-url (TWITCH_HELIX_URL), which ends in /helix"
        )),
        "{stderr}"
    );
}

#[test]
fn refused_credentials_name_the_oauth_url_and_the_flags() {
    let fake = fake_of_game(10, 2, 52);
    let stderr = failed(&fulfill(
        &fake.helix_url(),
        &fake.auth_url(),
        "not-the-secret",
        GAME,
    ));
    assert!(
        stderr.contains("Twitch refused the credentials"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("OAuth at {}", fake.auth_url())),
        "{stderr}"
    );
    assert!(
        stderr.contains("--client-secret/TWITCH_CLIENT_SECRET"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-secret"), "{stderr}");
}

#[test]
fn a_redirect_where_twitch_never_redirects_fails_at_once_naming_it() {
    let mut server = mockito::Server::new();
    let redirect = server
        .mock("GET", mockito::Matcher::Any)
        .with_status(302)
        .with_header("Location", "https://login.example/sso?session=s3cr3t")
        .expect(1)
        .create();
    let token = server
        .mock("POST", "/oauth2/token")
        .with_body(r#"{"access_token":"tok-0123456789","expires_in":3600,"token_type":"bearer"}"#)
        .create();
    let (helix, auth) = (
        format!("{}/helix", server.url()),
        format!("{}/oauth2", server.url()),
    );
    let stderr = failed(&fulfill(&helix, &auth, "a-secret", GAME));
    redirect.assert();
    token.assert();
    assert!(
        stderr.contains("Twitch answered 302 Found: a redirect to https://login.example/sso,"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cr3t"), "no query: {stderr}");
    assert!(
        stderr.contains("check --helix-url and --auth-url"),
        "{stderr}"
    );
}

#[test]
fn a_game_with_no_entitlements_at_all_is_warned_about() {
    let fake = fake_of_game(10, 2, 53);
    let out = at_fake(&fake, "123");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "drops: warning: game 123 has no entitlements at all, CLAIMED or FULFILLED: check \
             the game id (--game)"
        ),
        "{stderr}"
    );
    // The right game: no such warning.
    let out = at_fake(&fake, GAME);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("check the game id"), "{stderr}");
}
