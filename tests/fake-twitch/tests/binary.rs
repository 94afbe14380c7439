//! The `fake-twitch` binary prints one JSON line and serves.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::*;

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(args: &[&str]) -> (Running, serde_json::Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-twitch"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let info: serde_json::Value =
        serde_json::from_str(line.trim_end()).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    (Running(child), info)
}

#[test]
fn prints_its_urls_and_serves() {
    let (_child, info) = spawn(&["--port", "0", "--entitlements", "30", "--users", "3"]);
    let base = info["base_url"].as_str().unwrap();
    assert!(base.starts_with("http://127.0.0.1:"));
    assert_eq!(info["helix_url"], format!("{base}/helix"));
    assert_eq!(info["auth_url"], format!("{base}/oauth2"));
    assert_eq!(info["client_id"], "fake-client-id");
    assert_eq!(info["client_secret"], "fake-client-secret");
    assert_eq!(info["games"], serde_json::json!(["509658"]));
    assert_eq!(info["foreign_games"], serde_json::json!(["999999"]));
    assert_eq!(info["organization_id"], fake_twitch::ORGANIZATION_ID);
    assert_eq!(info.as_object().unwrap().len(), 8);

    let token = post_form(
        &format!("{base}/oauth2/token"),
        &[
            ("client_id", "fake-client-id"),
            ("client_secret", "fake-client-secret"),
            ("grant_type", "client_credentials"),
        ],
    )
    .json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let list = get(
        &format!("{base}/helix/entitlements/drops?first=100"),
        &[
            ("Client-Id", "fake-client-id"),
            ("Authorization", &format!("Bearer {token}")),
        ],
    );
    assert_eq!(list.status, 200);
    let all = get(&format!("{base}/_fake/entitlements"), &[]).json();
    assert_eq!(all.as_array().unwrap().len(), 30);
}

#[test]
fn defaults_and_options() {
    let (_child, info) = spawn(&[
        "--games",
        "1,2",
        "--seed",
        "3",
        "--rate-limit",
        "5",
        "--faults",
        r#"{"rate_limit_every": 2}"#,
        "--client-id",
        "cid",
    ]);
    let base = info["base_url"].as_str().unwrap();
    assert_eq!(info["client_id"], "cid");
    let all = get(&format!("{base}/_fake/entitlements"), &[]).json();
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 1000);
    assert!(all
        .iter()
        .all(|e| ["1", "2", "999999"].contains(&e["game_id"].as_str().unwrap())));
    let faults = get(&format!("{base}/_fake/faults"), &[]).json();
    assert_eq!(faults["rate_limit_every"], 2);
    let token = post_form(
        &format!("{base}/oauth2/token"),
        &[
            ("client_id", "cid"),
            ("client_secret", "fake-client-secret"),
            ("grant_type", "client_credentials"),
        ],
    )
    .json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let call = || {
        get(
            &format!("{base}/helix/entitlements/drops"),
            &[
                ("Client-Id", "cid"),
                ("Authorization", &format!("Bearer {token}")),
            ],
        )
    };
    let first = call();
    assert_eq!(first.header("ratelimit-limit"), Some("5"));
    assert_eq!(call().status, 429);
}

#[test]
fn exits_when_stdin_closes() {
    let (mut child, _info) = spawn(&["--exit-on-stdin-close", "--entitlements", "0"]);
    drop(child.0.stdin.take());
    let status = child.0.wait().unwrap();
    assert!(status.success());
}

#[test]
fn bad_options_fail_with_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_fake-twitch"))
        .args(["--bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
    let out = Command::new(env!("CARGO_BIN_EXE_fake-twitch"))
        .args(["--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--port"));
}

#[test]
fn env_prints_shell_exports_with_the_game() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-twitch"))
        .args(["--env", "--games", "7,8", "--entitlements", "5"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("binary starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..7 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        lines.push(line.trim_end().to_string());
    }
    let _child = Running(child);
    let value = |name: &str| {
        let prefix = format!("export {name}=");
        lines
            .iter()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {name} in {lines:?}"))
            .to_string()
    };
    assert_eq!(value("TWITCH_CLIENT_ID"), "fake-client-id");
    assert_eq!(value("TWITCH_CLIENT_SECRET"), "fake-client-secret");
    assert_eq!(value("TWITCH_GAME_ID"), "7");
    let helix = value("TWITCH_HELIX_URL");
    assert!(helix.starts_with("http://127.0.0.1:") && helix.ends_with("/helix"));
    assert_eq!(value("TWITCH_AUTH_URL"), helix.replace("/helix", "/oauth2"));
    assert_eq!(
        value("TWITCH_ORGANIZATION_ID"),
        fake_twitch::ORGANIZATION_ID
    );
    assert_eq!(value("FAKE_TWITCH_URL"), helix.replace("/helix", ""));
    let info = get(&helix.replace("/helix", "/_fake/info"), &[]).json();
    assert_eq!(info["games"], serde_json::json!(["7", "8"]));
}
