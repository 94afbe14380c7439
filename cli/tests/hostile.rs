//! Issue 16: a hostile server or hostile data gets nowhere. Loopback servers answer what a
//! compromised or buggy Twitch could, and the real `drops` binary and the library are
//! checked: no file outside the folder the user gave, no server string in a line-based
//! format it could forge, no journal poisoned by one record.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mockito::{Matcher, Server, ServerGuard};
use serde_json::json;
use twitch_drops::entitlements::parse_entitlements_page;
use twitch_drops::fulfill::JournalRecord;
use twitch_drops::{Error, FileJournal, Journal, SqliteJournal, MAX_ID_BYTES};

const GAME: &str = "509658";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("drops-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A fresh user's state folder for one run (the default journal goes there): never the
/// real one, and no journal left by another test.
fn state_home() -> PathBuf {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("drops-hostile-state-{}-{run}", std::process::id()))
}

/// The `drops` binary against `server` with an access token (no token request needed).
fn drops(server: &ServerGuard, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_drops"))
        .args(args)
        .env_clear()
        .env("XDG_STATE_HOME", state_home())
        .env("TWITCH_CLIENT_ID", "cid")
        .env("TWITCH_ACCESS_TOKEN", "user-token-abcdef")
        .env("TWITCH_HELIX_URL", format!("{}/helix", server.url()))
        .env("TWITCH_AUTH_URL", format!("{}/oauth2", server.url()))
        .output()
        .expect("drops runs")
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

// Item 1: file names from reports.

#[test]
fn report_downloads_stay_inside_the_folder_whatever_the_names() {
    let root = scratch("download");
    let dir = root.join("a").join("b").join("reports");
    std::fs::create_dir_all(&dir).unwrap();
    let absolute = root.join("absolute-target");
    let mut server = Server::new();
    let csv = server
        .mock("GET", "/report.csv")
        .with_body("chosen,by,the,server\n")
        .expect_at_least(1)
        .create();
    let url = format!("{}/report.csv", server.url());
    let long = "L".repeat(MAX_ID_BYTES);
    let names = [
        ("../../X", "overview_v2"),
        (absolute.to_str().unwrap(), "overview_v2"),
        ("CON", ""),
        ("NUL.txt", "x"),
        ("..\\..\\win", "overview_v2"),
        (long.as_str(), "overview_v2"),
        (GAME, "../../../../escape"),
    ];
    let data: Vec<_> = names
        .iter()
        .map(|(game, kind)| json!({"game_id": game, "URL": url, "type": kind}))
        .collect();
    let _page = server
        .mock("GET", "/helix/analytics/games")
        .match_query(Matcher::Any)
        .with_body(json!({"data": data, "pagination": {}}).to_string())
        .create();

    let out = drops(&server, &["analytics", "--download", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    csv.assert();

    // Nothing outside `dir`; every file directly inside it, with a short safe name.
    let everything = files_under(&root);
    let saved = files_under(&dir);
    assert_eq!(
        everything, saved,
        "files outside the folder: {everything:?}"
    );
    assert_eq!(saved.len(), names.len(), "{saved:?}\n{stderr}");
    for path in &saved {
        assert_eq!(path.parent(), Some(dir.as_path()));
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(
            name.len() <= twitch_drops::file_name::MAX_FILE_NAME_BYTES,
            "{name}"
        );
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
            "{name}"
        );
        assert!(!name.starts_with('.'), "{name}");
        let device = name.split('.').next().unwrap().to_ascii_uppercase();
        assert!(
            !["CON", "NUL", "PRN", "AUX"].contains(&device.as_str()),
            "{name}"
        );
    }
    assert!(!absolute.with_extension("csv").exists());

    // A NUL (or any control character) in a game id refuses the page: nothing is saved.
    let _nul = server
        .mock("GET", "/helix/analytics/games")
        .match_query(Matcher::Any)
        .with_body(json!({"data": [{"game_id": "a\u{0}b", "URL": url, "type": "t"}]}).to_string())
        .create();
    let out = drops(&server, &["analytics", "--download", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("`game_id`"), "{stderr}");
    assert_eq!(files_under(&root).len(), names.len());
    assert!(!root.join("a").join("X-overview_v2.csv").exists());
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_report_whose_names_leave_nothing_is_refused_and_a_link_is_not_followed() {
    let root = scratch("refused");
    let dir = root.join("reports");
    std::fs::create_dir_all(&dir).unwrap();
    let mut server = Server::new();
    let _csv = server
        .mock("GET", "/report.csv")
        .with_body("new\n")
        .create();
    let url = format!("{}/report.csv", server.url());

    // A link where the report will be saved points out of the folder: it is replaced.
    let outside = root.join("outside.csv");
    std::fs::write(&outside, "precious\n").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, dir.join("7-t.csv")).unwrap();
    let page = server
        .mock("GET", "/helix/analytics/games")
        .match_query(Matcher::Any)
        .with_body(json!({"data": [{"game_id": "7", "URL": url, "type": "t"}]}).to_string())
        .create();
    let out = drops(&server, &["analytics", "--download", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "precious\n");
    assert_eq!(
        std::fs::read_to_string(dir.join("7-t.csv")).unwrap(),
        "new\n"
    );
    page.remove();

    let _page = server
        .mock("GET", "/helix/analytics/games")
        .match_query(Matcher::Any)
        .with_body(json!({"data": [{"game_id": "../..", "URL": url, "type": "/"}]}).to_string())
        .create();
    let out = drops(&server, &["analytics", "--download", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("no usable file name"), "{stderr}");
    let _ = std::fs::remove_dir_all(&root);
}

// Item 3: ids validated where they enter; the grant log refuses what it cannot hold.

fn entitlement_json(id: &str, user: &str, benefit: &str) -> serde_json::Value {
    json!({
        "id": id, "benefit_id": benefit, "timestamp": "2026-01-01T00:00:00Z",
        "user_id": user, "game_id": GAME, "fulfillment_status": "CLAIMED",
        "last_updated": "2026-01-01T00:00:00Z",
    })
}

#[test]
fn ids_with_control_characters_or_overlong_are_refused_naming_the_field() {
    let cases = [
        (entitlement_json("e1\nforged 1 2", "u", "b"), "`id`"),
        (entitlement_json("e1", "u\r", "b"), "`user_id`"),
        (entitlement_json("e1", "u", "b\u{0}"), "`benefit_id`"),
        (
            entitlement_json("e1", "u", &"b".repeat(MAX_ID_BYTES + 1)),
            "`benefit_id`",
        ),
        (entitlement_json(&"9".repeat(1 << 20), "u", "b"), "`id`"),
    ];
    for (bad, field) in cases {
        let body = json!({"data": [entitlement_json("ok", "u", "b"), bad], "pagination": {}});
        let error = parse_entitlements_page(body.to_string().as_bytes()).unwrap_err();
        let Error::Decode { context, detail } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(*context, "entitlements page");
        assert!(detail.contains(field), "{detail}");
        assert!(detail.contains("entitlement 1"), "{detail}");
        assert!(
            error.to_string().len() < 300,
            "the id is not echoed: {error}"
        );
    }
    let mut game = entitlement_json("e1", "u", "b");
    game["game_id"] = json!("1\u{2028}2");
    let body = json!({"data": [game]});
    let error = parse_entitlements_page(body.to_string().as_bytes()).unwrap_err();
    assert!(error.to_string().contains("`game_id`"), "{error}");
}

#[test]
fn eventsub_grants_and_analytics_reports_are_checked_too() {
    let body = json!({"data": [{"game_id": "1\n2", "URL": "https://x/r", "type": "t"}]});
    let error =
        twitch_drops::analytics::parse_analytics_page(body.to_string().as_bytes()).unwrap_err();
    assert!(error.to_string().contains("`game_id`"), "{error}");

    let grant = json!({
        "subscription": {"id": "s", "type": "drop.entitlement.grant", "version": "1",
                         "status": "enabled", "condition": {}, "created_at": "2026-01-01T00:00:00Z",
                         "transport": {"method": "webhook", "callback": "https://x/cb"}, "cost": 0},
        "events": [{"id": "ev", "data": {"user_id": "u", "entitlement_id": "e\n1",
                                          "benefit_id": "b"}}]
    });
    let error = eventsub_message(&grant.to_string())
        .map(|_| ())
        .unwrap_err();
    assert!(error.contains("`entitlement_id`"), "{error}");
}

/// Verifies a correctly signed notification carrying `body`.
fn eventsub_message(body: &str) -> Result<twitch_drops::eventsub::Message, String> {
    use twitch_drops::eventsub::*;
    let secret = twitch_drops::Secret::new("s3cre7-s3cre7");
    let (id, at) = ("m1", "2026-01-01T00:00:00Z");
    let headers = vec![
        (HEADER_MESSAGE_ID, id.to_string()),
        (HEADER_MESSAGE_TIMESTAMP, at.to_string()),
        (
            HEADER_MESSAGE_SIGNATURE,
            signature(&secret, id, at, body.as_bytes()),
        ),
        (HEADER_MESSAGE_TYPE, "notification".to_string()),
    ];
    let now = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    verify(&headers, body.as_bytes(), &secret, now).map_err(|e| e.to_string())
}

/// A server with one page of `entitlements` for [`GAME`], and a PATCH answering SUCCESS for
/// `fulfilled`.
fn fulfill_server(entitlements: Vec<serde_json::Value>, fulfilled: &[&str]) -> ServerGuard {
    let mut server = Server::new();
    server
        .mock("GET", "/helix/entitlements/drops")
        .match_query(Matcher::Any)
        .with_body(json!({"data": entitlements, "pagination": {}}).to_string())
        .create();
    server
        .mock("PATCH", "/helix/entitlements/drops")
        .with_body(json!({"data": [{"status": "SUCCESS", "ids": fulfilled}]}).to_string())
        .create();
    server
}

#[test]
fn a_server_cannot_forge_grant_log_lines() {
    let dir = scratch("grant-log");
    let log = dir.join("grants");
    let forged = entitlement_json("e1 u1 b1\ne666 attacker gold", "u1", "b1");
    let server = fulfill_server(vec![entitlement_json("e0", "u0", "b0"), forged], &["e0"]);
    let out = drops(
        &server,
        &[
            "fulfill",
            "--game",
            GAME,
            "--grant-log",
            log.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("`id`") && stderr.contains("control character"),
        "{stderr}"
    );
    let written = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !written.contains("attacker"),
        "forged line written: {written:?}"
    );

    // A space passes the id rule but would shift the log's columns: that grant is refused.
    let spaced = entitlement_json("e2", "u2 extra", "b2");
    let server = fulfill_server(vec![entitlement_json("e0", "u0", "b0"), spaced], &["e0"]);
    let out = drops(
        &server,
        &[
            "fulfill",
            "--game",
            GAME,
            "--grant-log",
            log.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let written = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(written, "e0 u0 b0\n", "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

// Item 4: journals refuse a record they cannot use, naming the journal and the record.

fn granting(id: &str) -> JournalRecord {
    JournalRecord::Granting {
        id: id.into(),
        user_id: "u".into(),
        benefit_id: "b".into(),
        game_id: GAME.into(),
    }
}

#[test]
fn a_poisoned_file_journal_is_refused_naming_the_journal_and_the_line() {
    let dir = scratch("journal");
    let path = dir.join("journal.jsonl");
    let good = serde_json::to_string(&granting("e0")).unwrap();
    let huge = serde_json::to_string(&granting(&"9".repeat(8 << 20))).unwrap();
    std::fs::write(&path, format!("{good}\n{huge}\n{good}\n")).unwrap();
    let error = FileJournal::new(&path).load().unwrap_err().to_string();
    assert!(error.contains(path.to_str().unwrap()), "{error}");
    assert!(error.contains("line 2"), "{error}");
    assert!(!error.contains("Twitch"), "{error}");
    assert!(
        error.len() < 500,
        "the record is not echoed: {} bytes",
        error.len()
    );

    // Short enough to read, but not an id this library writes.
    let bad = serde_json::to_string(&granting("e1\r\nx")).unwrap();
    std::fs::write(&path, format!("{good}\n{bad}\n{good}\n")).unwrap();
    let error = FileJournal::new(&path).load().unwrap_err().to_string();
    assert!(
        error.contains("line 2") && error.contains("`id`"),
        "{error}"
    );
    assert!(error.contains("granting"), "{error}");
    // The file is left as it was, for the operator to look at.
    assert!(std::fs::read_to_string(&path).unwrap().contains(&bad));

    let mut fresh = FileJournal::new(dir.join("fresh.jsonl"));
    let error = fresh
        .append(&[granting(&"1".repeat(MAX_ID_BYTES + 1))])
        .unwrap_err();
    assert!(error.to_string().contains("`id`"), "{error}");
    assert!(!dir.join("fresh.jsonl").exists() || fresh.load().unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_shared_journal_refuses_records_it_cannot_use() {
    let dir = scratch("sqlite");
    let path = dir.join("journal.db");
    let mut journal = SqliteJournal::open(&path).unwrap();
    let error = journal
        .claim(&[granting("ok"), granting("e\n1")])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(path.to_str().unwrap()) && error.contains("`id`"),
        "{error}"
    );
    assert!(!error.contains("Twitch"), "{error}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_cli_blames_the_journal_not_twitch() {
    let dir = scratch("cli-journal");
    let path = dir.join("journal.jsonl");
    let huge = serde_json::to_string(&granting(&"9".repeat(1 << 20))).unwrap();
    std::fs::write(&path, format!("{huge}\n{{}}\n")).unwrap();
    let server = fulfill_server(vec![entitlement_json("e0", "u0", "b0")], &["e0"]);
    let journal = format!("file:{}", path.display());
    let log = dir.join("grants");
    let out = drops(
        &server,
        &[
            "fulfill",
            "--game",
            GAME,
            "--journal",
            &journal,
            "--grant-log",
            log.to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains(path.to_str().unwrap()), "{stderr}");
    assert!(!stderr.contains("could not reach Twitch"), "{stderr}");
    assert!(stderr.len() < 2000, "{} bytes of stderr", stderr.len());
    let _ = std::fs::remove_dir_all(&dir);
}

// Item 2: a server that echoes every secret it was sent gets none of them into any message.

const CLIENT_SECRET: &str = "client-secret-0123456789abcdef";
const ACCESS_TOKEN: &str = "access-token-0123456789abcdef";
const REFRESH_TOKEN: &str = "refresh-token-0123456789abcdef";
const DEVICE_CODE: &str = "device-code-0123456789abcdef";
const EVENTSUB_SECRET: &str = "eventsub-secret-0123456789";
const ALL_SECRETS: [&str; 5] = [
    CLIENT_SECRET,
    ACCESS_TOKEN,
    REFRESH_TOKEN,
    DEVICE_CODE,
    EVENTSUB_SECRET,
];

/// A loopback HTTP server: `answer(method and path, whole request as text)` gives the status
/// and body of each answer. Runs until the test process ends.
fn echo_server(answer: fn(&str, &str) -> (u16, String)) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            let head_end = loop {
                let Ok(n) = stream.read(&mut buf) else {
                    break None;
                };
                if n == 0 {
                    break None;
                }
                request.extend_from_slice(&buf[..n]);
                if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(at + 4);
                }
            };
            let Some(head_end) = head_end else { continue };
            let head = String::from_utf8_lossy(&request[..head_end]).to_string();
            let length = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            while request.len() < head_end + length {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&request).to_string();
            let line = head.lines().next().unwrap_or("").to_string();
            let (status, body) = answer(&line, &text);
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    url
}

/// Twitch's error body, with the whole request (headers and body) as its message.
fn echoed(status: u16, request: &str) -> (u16, String) {
    let body = json!({"error": "Bad Request", "status": status, "message": request});
    (status, body.to_string())
}

/// Helix 401s; the token endpoint echoes; the device endpoint hands out [`DEVICE_CODE`].
fn echo_everything(line: &str, request: &str) -> (u16, String) {
    if line.contains("/oauth2/device") {
        let body = json!({"device_code": DEVICE_CODE, "user_code": "ABCD",
                          "verification_uri": "https://x/activate", "expires_in": 1800,
                          "interval": 1});
        return (200, body.to_string());
    }
    if line.contains("/oauth2/") {
        return echoed(400, request);
    }
    if line.contains("/eventsub/") {
        return echoed(400, request);
    }
    if request.contains(&format!("Bearer {ACCESS_TOKEN}")) && line.contains("fulfillment_status") {
        // Asked for CLAIMED ones: echo in a 2xx the parser cannot read (a `Decode` error).
        return (200, json!({"data": request}).to_string());
    }
    if request.contains(&format!("Bearer {ACCESS_TOKEN}")) && line.contains("user_id") {
        return (401, json!({"message": request}).to_string());
    }
    echoed(400, request)
}

/// No secret in `text`, in any spelling a server might echo.
fn assert_clean(what: &str, text: &str) {
    for secret in ALL_SECRETS {
        let form: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        assert!(
            !text.contains(secret) && !text.contains(&form),
            "{what} shows {secret}: {text}"
        );
    }
}

fn assert_error_clean(what: &str, error: &Error) {
    assert_clean(what, &error.to_string());
    assert_clean(what, &format!("{error:?}"));
    assert_clean(what, error.twitch_message().unwrap_or(""));
    assert!(
        format!("{error:?}").contains(twitch_drops::REDACTED),
        "{what}: the server's echo did not come back, so nothing was tested: {error:?}"
    );
}

#[test]
fn echoed_secrets_never_reach_a_rust_error() {
    use twitch_drops::{Client, Config, Credentials, EntitlementsQuery, ManualClock, Secret};
    use twitch_drops::{DropGrantCondition, UreqTransport};
    let base = echo_server(echo_everything);
    let clock = std::sync::Arc::new(ManualClock::new(1_700_000_000_000));
    let client = |credentials: Credentials| {
        let config = Config::new("cid", credentials)
            .with_helix_url(format!("{base}/helix"))
            .with_auth_url(format!("{base}/oauth2"));
        Client::with_transport(config, UreqTransport::new(), std::sync::Arc::clone(&clock)).unwrap()
    };
    let query = EntitlementsQuery::new().game(GAME);

    // The client secret, in the client-credentials form the token endpoint echoes.
    let app = client(Credentials::ClientSecret(CLIENT_SECRET.into()));
    let error = app.entitlements_page(&query).unwrap_err();
    assert_error_clean("client credentials", &error);

    // The access token, echoed in a 400, in a 2xx that cannot be read, in a 401 (which
    // then makes the refresh, with the refresh token and client secret, be echoed too).
    let user = client(Credentials::UserToken {
        access_token: ACCESS_TOKEN.into(),
        refresh_token: Some(REFRESH_TOKEN.into()),
        client_secret: Some(CLIENT_SECRET.into()),
    });
    let error = user.entitlements_page(&query).unwrap_err();
    assert_error_clean("bearer token in a 400", &error);
    let claimed = query
        .clone()
        .status(twitch_drops::FulfillmentStatus::Claimed);
    let error = user.entitlements_page(&claimed).unwrap_err();
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert_error_clean("bearer token in a 2xx", &error);
    let error = user
        .entitlements_page(&query.clone().user("1"))
        .unwrap_err();
    assert_error_clean("refresh token", &error);

    // The device code, echoed by the poll.
    let device = client(Credentials::None);
    let code = device.start_device_flow(&["analytics:read:games"]).unwrap();
    let error = device.finish_device_flow(&code).unwrap_err();
    assert_error_clean("device code", &error);

    // The EventSub secret, echoed by the subscription endpoint.
    let secret = Secret::new(EVENTSUB_SECRET);
    let condition = DropGrantCondition::new("org-1");
    let request = twitch_drops::eventsub::subscription_request(
        app.config(),
        &condition,
        "https://game.example/eventsub",
        &secret,
    )
    .unwrap();
    let error = app.run(request).unwrap_err();
    assert_error_clean("eventsub secret", &error);
}

#[test]
fn urls_in_messages_lose_their_password_and_query() {
    use twitch_drops::{Client, Config, Credentials};
    let config = Config::new("cid", Credentials::ClientSecret(CLIENT_SECRET.into()))
        .with_helix_url("http://studio:hunter2-password@api.example.com/helix?token=qs-secret");
    let error = Client::new(config).map(|_| ()).unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(shown.contains("api.example.com"), "{shown}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("qs-secret"),
        "{shown}"
    );
}

#[test]
fn echoed_secrets_never_reach_the_cli_output() {
    let base = echo_server(echo_everything);
    let run = |env: &[(&str, &str)], args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_drops"))
            .args(args)
            .env_clear()
            .env("XDG_STATE_HOME", state_home())
            .env("TWITCH_CLIENT_ID", "cid")
            .env("TWITCH_HELIX_URL", format!("{base}/helix"))
            .env("TWITCH_AUTH_URL", format!("{base}/oauth2"))
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{text}");
        assert!(
            text.contains(twitch_drops::REDACTED),
            "no echo came back: {text}"
        );
        text
    };
    let text = run(
        &[("TWITCH_CLIENT_SECRET", CLIENT_SECRET)],
        &["entitlements", "--game", GAME],
    );
    assert_clean("drops with a client secret", &text);
    let text = run(
        &[("TWITCH_ACCESS_TOKEN", ACCESS_TOKEN)],
        &["entitlements", "--game", GAME],
    );
    assert_clean("drops with an access token", &text);
    let text = run(
        &[("TWITCH_CLIENT_SECRET", CLIENT_SECRET)],
        &["fulfill", "--game", GAME, "--grant-log", "/dev/null"],
    );
    assert_clean("drops fulfill", &text);

    let out = Command::new(env!("CARGO_BIN_EXE_drops"))
        .args(["entitlements", "--game", GAME])
        .env_clear()
        .env("TWITCH_CLIENT_ID", "cid")
        .env("TWITCH_CLIENT_SECRET", CLIENT_SECRET)
        .env(
            "TWITCH_HELIX_URL",
            "http://u:hunter2-password@api.example.com/helix",
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("api.example.com"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

// Item 5: plain http only to loopback, checked on the addresses actually connected to.

/// This machine's address on its default route, if it has one (no packet is sent).
fn non_loopback_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn localhost_is_trusted_only_when_it_resolves_to_loopback() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use twitch_drops::UreqTransport;
    use twitch_drops::{HttpRequest, Method, Transport, TransportErrorKind, UreqOptions};

    // A listener on every interface counts the connections it gets.
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&connections);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    let elsewhere = non_loopback_address().unwrap_or([192, 0, 2, 1].into());
    let options = UreqOptions {
        connect_timeout: std::time::Duration::from_millis(300),
        ..UreqOptions::default()
    };

    // The hosts file maps `localhost` elsewhere: refused before connecting.
    let hijacked = UreqTransport::with_loopback_resolver(options.clone(), move |host, port| {
        assert_eq!(host, "localhost");
        Ok(vec![std::net::SocketAddr::new(elsewhere, port)])
    });
    let request = HttpRequest::new(Method::Get, format!("http://localhost:{port}/helix/x"))
        .with_header("Authorization", format!("Bearer {ACCESS_TOKEN}"));
    let error = hijacked.send(request.clone()).unwrap_err();
    assert_eq!(error.kind, TransportErrorKind::Refused, "{error}");
    assert!(error.message.contains("not loopback"), "{error}");
    assert!(error.message.contains(&elsewhere.to_string()), "{error}");
    // One loopback address among others is not enough either.
    let mixed = UreqTransport::with_loopback_resolver(options.clone(), move |_, port| {
        Ok(vec![
            std::net::SocketAddr::new([127, 0, 0, 1].into(), port),
            std::net::SocketAddr::new(elsewhere, port),
        ])
    });
    let error = mixed.send(request.clone()).unwrap_err();
    assert_eq!(error.kind, TransportErrorKind::Refused, "{error}");
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "a connection was made"
    );

    // `localhost` that does resolve to loopback works, and so does https's own resolver.
    let server = echo_server(|_, _| (200, "{}".into()));
    let server_port: u16 = server.rsplit(':').next().unwrap().parse().unwrap();
    let honest = UreqTransport::with_loopback_resolver(options, move |_, _| {
        Ok(vec![std::net::SocketAddr::new(
            [127, 0, 0, 1].into(),
            server_port,
        )])
    });
    let response = honest
        .send(HttpRequest::new(
            Method::Get,
            format!("http://localhost:{server_port}/x"),
        ))
        .unwrap();
    assert_eq!(response.status, 200);
}
