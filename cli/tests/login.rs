//! `drops login` end to end: the real binary runs the device code flow against the fake
//! Twitch, saves the user token where only the user can read it, and `drops analytics`
//! then uses it, renewing it when it expires.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use fake_twitch::{FakeConfig, FakeTwitch};

const GAME: &str = "509658";

fn fake(token_ttl_secs: u64) -> FakeTwitch {
    let mut config = FakeConfig::new();
    config.token_ttl_secs = token_ttl_secs;
    FakeTwitch::start(config).expect("the fake starts")
}

/// A fresh config folder for one test.
fn config_home(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("drops-login-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn drops(fake: &FakeTwitch, home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_drops"));
    command
        .args(args)
        .env_clear()
        .env("XDG_CONFIG_HOME", home)
        .env("TWITCH_CLIENT_ID", fake.client_id())
        .env("TWITCH_HELIX_URL", fake.helix_url())
        .env("TWITCH_AUTH_URL", fake.auth_url());
    command
}

/// Runs `drops login`, approving the code it prints as user 100000001 would.
fn login(fake: &FakeTwitch, home: &Path) -> Output {
    let mut child = drops(fake, home, &["login"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("drops runs");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut shown = String::new();
    let code = loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).expect("stderr") == 0 {
            panic!("drops login ended without showing a code: {shown}");
        }
        shown.push_str(&line);
        if let Some(rest) = line.split("enter the code ").nth(1) {
            break rest.split_whitespace().next().expect("a code").to_string();
        }
    };
    assert!(
        shown.contains(&fake.base_url()),
        "the URL is shown: {shown}"
    );
    fake.approve_device(&code, "100000001");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("stderr");
    let mut output = child.wait_with_output().expect("drops ends");
    output.stderr = format!("{shown}{rest}").into_bytes();
    output
}

fn saved(home: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(home.join("twitch-drops/login.json")).expect("saved");
    serde_json::from_str(&text).expect("JSON")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn login_saves_a_private_user_token_that_analytics_uses() {
    let fake = fake(3600);
    let home = config_home("saves");
    let out = login(&fake, &home);
    assert!(out.status.success(), "{}", text(&out));

    let file = home.join("twitch-drops/login.json");
    let login = saved(&home);
    let access = login["access_token"].as_str().expect("access token");
    let refresh = login["refresh_token"].as_str().expect("refresh token");
    assert_eq!(login["client_id"], fake.client_id());
    assert_eq!(login["scopes"], serde_json::json!(["analytics:read:games"]));
    // Never printed.
    assert!(!text(&out).contains(access) && !text(&out).contains(refresh));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(file.parent().expect("folder")), 0o700);
    }

    // `analytics` finds it: no token or secret in the environment.
    let issued = fake.stats().tokens_issued;
    let out = drops(&fake, &home, &["analytics", "--game", GAME])
        .output()
        .expect("drops runs");
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .expect("a report"),
    )
    .expect("JSON line");
    assert_eq!(report["game_id"], GAME);
    assert!(!text(&out).contains(access));
    // Still fresh: used as saved, not renewed.
    assert_eq!(fake.stats().tokens_issued, issued);
    assert_eq!(saved(&home)["access_token"], access);

    // Another client id's commands do not pick it up.
    let out = drops(&fake, &home, &["analytics", "--game", GAME])
        .env("TWITCH_CLIENT_ID", "another-client")
        .output()
        .expect("drops runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("drops login"), "{}", text(&out));
    std::fs::remove_dir_all(&home).ok();
}

#[test]
fn an_expiring_login_is_renewed_and_saved_again() {
    // Tokens live 30 s: within the minute before expiry, so the next use renews it.
    let fake = fake(30);
    let home = config_home("renews");
    let out = login(&fake, &home);
    assert!(out.status.success(), "{}", text(&out));
    let before = saved(&home);

    let issued = fake.stats().tokens_issued;
    let out = drops(&fake, &home, &["analytics", "--game", GAME])
        .output()
        .expect("drops runs");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(fake.stats().tokens_issued, issued + 1, "renewed once");
    let after = saved(&home);
    assert_ne!(after["access_token"], before["access_token"]);
    assert!(after["expires_at_ms"].as_u64() > before["expires_at_ms"].as_u64());
    let new_token = after["access_token"].as_str().expect("token");
    assert!(!text(&out).contains(new_token));
    std::fs::remove_dir_all(&home).ok();
}

#[test]
fn a_login_renewed_on_a_401_is_saved_for_the_next_command() {
    let fake = fake(3600);
    let home = config_home("revoked");
    let out = login(&fake, &home);
    assert!(out.status.success(), "{}", text(&out));
    let before = saved(&home);

    // Twitch revokes each token after one use; use the saved one once elsewhere.
    fake.set_faults(fake_twitch::Faults {
        revoke_token_after: 1,
        ..Default::default()
    });
    let access = before["access_token"].as_str().expect("token");
    let config = twitch_drops::Config::new(
        fake.client_id(),
        twitch_drops::Credentials::AccessToken(access.into()),
    )
    .with_helix_url(fake.helix_url())
    .with_auth_url(fake.auth_url());
    let elsewhere: twitch_drops::Client<twitch_drops::UreqTransport, twitch_drops::SystemClock> =
        twitch_drops::Client::new(config).expect("client");
    elsewhere
        .game_analytics(&twitch_drops::AnalyticsQuery::default())
        .expect("the one use");

    // analytics meets a 401, renews with the refresh token, and saves what it got.
    let out = drops(&fake, &home, &["analytics", "--game", GAME])
        .output()
        .expect("drops runs");
    assert!(out.status.success(), "{}", text(&out));
    let after = saved(&home);
    assert_ne!(after["access_token"], before["access_token"]);
    assert!(!text(&out).contains(after["access_token"].as_str().expect("token")));

    // The next command starts from the renewed token (the old one is refused).
    let out = drops(&fake, &home, &["analytics", "--game", GAME])
        .output()
        .expect("drops runs");
    assert!(out.status.success(), "{}", text(&out));
    std::fs::remove_dir_all(&home).ok();
}
