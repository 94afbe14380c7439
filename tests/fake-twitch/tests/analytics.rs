//! GET /helix/analytics/games and the report downloads it links to.

mod common;

use std::time::Duration;

use common::*;
use fake_twitch::{FakeTwitch, Seed};

const SCOPE: &str = "analytics:read:games";

fn fake() -> FakeTwitch {
    start_with(|c| {
        c.seed = Seed {
            games: vec!["509658".into(), "1001".into(), "1002".into()],
            ..small_seed()
        };
    })
}

fn analytics(fake: &FakeTwitch, token: &str, query: &str) -> Resp {
    helix_get(fake, token, &format!("/analytics/games{query}"))
}

#[test]
fn needs_a_user_token_with_the_scope() {
    let fake = fake();
    let app = app_token(&fake);
    let resp = analytics(&fake, &app, "");
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.json(),
        serde_json::json!({"error": "Unauthorized", "status": 401, "message": "User token required"})
    );
    let unscoped = fake.user_token("1", &["user:read:email"]).access_token;
    let resp = analytics(&fake, &unscoped, "");
    assert_eq!(resp.status, 401);
    assert_eq!(resp.message(), "Missing scope: analytics:read:games");
    let scoped = fake.user_token("1", &[SCOPE]).access_token;
    assert_eq!(analytics(&fake, &scoped, "").status, 200);
}

#[test]
fn one_game_report_points_at_a_csv() {
    let fake = fake();
    let token = fake.user_token("1", &[SCOPE]).access_token;
    let resp = analytics(
        &fake,
        &token,
        "?game_id=509658&type=overview_v2&started_at=2026-01-01T00:00:00Z&ended_at=2026-01-31T00:00:00Z",
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    let body = resp.json();
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["game_id"], "509658");
    assert_eq!(data[0]["type"], "overview_v2");
    let range = &data[0]["date_range"];
    assert_eq!(range["ended_at"], "2026-01-31T00:00:00Z");
    assert!(range["started_at"]
        .as_str()
        .unwrap()
        .ends_with("T00:00:00Z"));
    assert_eq!(body["pagination"], serde_json::json!({}));

    let url = data[0]["URL"].as_str().unwrap();
    assert!(url.starts_with(&fake.base_url()), "{url}");
    let csv = get(url, &[]);
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert!(lines[0].starts_with("Date,Game ID"));
    assert!(lines.len() > 1);
    assert!(lines[1..].iter().all(|l| l.contains(",509658,")));
    assert_eq!(get(url, &[]).body, csv.body, "deterministic");

    // Another link for the same report serves the same bytes.
    let again = analytics(
        &fake,
        &token,
        "?game_id=509658&started_at=2026-01-01T00:00:00Z&ended_at=2026-01-31T00:00:00Z",
    );
    let url2 = again.json()["data"][0]["URL"].as_str().unwrap().to_string();
    assert_ne!(url2, url);
    assert_eq!(get(&url2, &[]).body, csv.body);
}

#[test]
fn report_urls_expire() {
    let fake = start_with(|c| {
        c.report_ttl_secs = 1;
        c.seed = small_seed();
    });
    let token = fake.user_token("1", &[SCOPE]).access_token;
    let resp = analytics(&fake, &token, "?game_id=509658");
    let url = resp.json()["data"][0]["URL"].as_str().unwrap().to_string();
    assert_eq!(get(&url, &[]).status, 200);
    std::thread::sleep(Duration::from_millis(1100));
    let expired = get(&url, &[]);
    assert_eq!(expired.status, 403);
    assert!(expired.body.contains("AccessDenied"), "{}", expired.body);
    assert!(serde_json::from_str::<serde_json::Value>(&expired.body).is_err());
    // Made-up names are refused too.
    assert_eq!(
        get(&format!("{}/_reports/nothing.csv", fake.base_url()), &[]).status,
        403
    );
}

#[test]
fn date_rules() {
    let fake = fake();
    let token = fake.user_token("1", &[SCOPE]).access_token;
    let cases = [
        ("?started_at=2026-01-01T00:00:00Z", 400),
        ("?ended_at=2026-01-01T00:00:00Z", 400),
        (
            "?started_at=2026-02-01T00:00:00Z&ended_at=2026-01-01T00:00:00Z",
            400,
        ),
        ("?started_at=yesterday&ended_at=2026-01-01T00:00:00Z", 400),
        (
            "?started_at=2026-01-01T10:30:00Z&ended_at=2026-01-31T00:00:00Z",
            400,
        ),
        (
            "?started_at=2026-01-01T00:00:00Z&ended_at=2026-01-01T00:00:00Z",
            200,
        ),
        ("", 200),
    ];
    for (query, status) in cases {
        let resp = analytics(&fake, &token, query);
        assert_eq!(resp.status, status, "{query}: {}", resp.body);
    }
    // Without dates: the last year, ending a couple of days ago.
    let body = analytics(&fake, &token, "?game_id=509658").json();
    let range = &body["data"][0]["date_range"];
    assert!(range["started_at"].as_str().unwrap() < range["ended_at"].as_str().unwrap());
}

#[test]
fn first_and_type_bounds() {
    let fake = fake();
    let token = fake.user_token("1", &[SCOPE]).access_token;
    for bad in ["?first=0", "?first=101", "?first=x", "?type=overview_v1"] {
        assert_eq!(analytics(&fake, &token, bad).status, 400, "{bad}");
    }
    assert_eq!(analytics(&fake, &token, "?first=100").status, 200);
}

#[test]
fn unknown_game_is_404_and_foreign_game_is_403() {
    let fake = fake();
    let token = fake.user_token("1", &[SCOPE]).access_token;
    assert_eq!(analytics(&fake, &token, "?game_id=424242").status, 404);
    assert_eq!(analytics(&fake, &token, "?game_id=999999").status, 403);
}

#[test]
fn all_games_page_with_after_which_game_id_ignores() {
    let fake = fake();
    let token = fake.user_token("1", &[SCOPE]).access_token;
    let first = analytics(&fake, &token, "?first=2");
    let body = first.json();
    let games: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["game_id"].as_str().unwrap())
        .collect();
    assert_eq!(games, ["509658", "1001"]);
    let cursor = body["pagination"]["cursor"].as_str().unwrap();
    let second = analytics(&fake, &token, &format!("?first=2&after={cursor}")).json();
    assert_eq!(second["data"][0]["game_id"], "1002");
    assert_eq!(second["data"].as_array().unwrap().len(), 1);
    assert_eq!(second["pagination"], serde_json::json!({}));

    assert_eq!(analytics(&fake, &token, "?after=garbage").status, 400);
    // `after` is ignored when game_id is set, even garbage.
    let one = analytics(&fake, &token, "?game_id=1002&after=garbage");
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["data"][0]["game_id"], "1002");
}
