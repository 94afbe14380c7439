//! Deterministic seeding, reset, insertion, stats and the admin routes.

mod common;

use common::*;
use fake_twitch::{Entitlement, FakeConfig, FakeTwitch, JournalEntry, Seed, Stats, CLAIMED};
use serde_json::json;

#[test]
fn same_seed_same_data_on_every_server() {
    let a = start();
    let b = start();
    assert_eq!(a.entitlements(), b.entitlements());
    assert_eq!(a.entitlements().len(), 1000);
    let other = start_with(|c| c.seed.rng_seed = 7);
    assert_ne!(a.entitlements(), other.entitlements());

    // Listings come out in the same order too.
    let ta = app_token(&a);
    let tb = app_token(&b);
    assert_eq!(
        helix_get(&a, &ta, "/entitlements/drops?first=50").ids(),
        helix_get(&b, &tb, "/entitlements/drops?first=50").ids()
    );
}

#[test]
fn seed_shape_is_respected() {
    let fake = start_with(|c| {
        c.seed = Seed {
            entitlements: 300,
            games: vec!["1".into(), "2".into()],
            foreign_games: vec!["3".into()],
            users: 4,
            fulfilled_fraction: 0.5,
            rng_seed: 5,
        }
    });
    let all = fake.entitlements();
    assert_eq!(all.len(), 300);
    let users: std::collections::BTreeSet<&str> = all.iter().map(|e| e.user_id.as_str()).collect();
    assert_eq!(users.len(), 4);
    for game in ["1", "2", "3"] {
        assert!(all.iter().any(|e| e.game_id == game), "{game}");
    }
    let claimed = all
        .iter()
        .filter(|e| e.fulfillment_status == CLAIMED)
        .count();
    assert!((100..200).contains(&claimed), "{claimed}");
    let ids: std::collections::HashSet<&str> = all.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), 300, "ids are unique");
    let stats = fake.stats();
    assert_eq!(stats.claimed, claimed);
    assert_eq!(stats.fulfilled, 300 - claimed);
}

#[test]
fn reset_reseeds_and_zeroes_counters_but_keeps_tokens() {
    let fake = start();
    let token = app_token(&fake);
    let id = fake
        .entitlements()
        .into_iter()
        .find(|e| e.game_id == "509658" && e.fulfillment_status == CLAIMED)
        .unwrap()
        .id;
    helix_patch(&fake, &token, &update_body(&[&id], "FULFILLED"));
    helix_patch(&fake, &token, &update_body(&[&id], "FULFILLED"));
    assert!(fake.stats().requests > 0);

    fake.reset(small_seed());
    let stats = fake.stats();
    assert_eq!(
        stats,
        Stats {
            claimed: 100,
            fulfilled: 0,
            games: stats.games.clone(),
            ..Stats::default()
        }
    );
    let claimed: usize = stats.games.values().map(|g| g.claimed).sum();
    assert_eq!(claimed, 100);
    assert!(stats.games.values().all(|g| g.fulfilled == 0));
    assert!(fake.journal().is_empty());
    assert_eq!(fake.entitlements().len(), 100);
    assert_eq!(helix_get(&fake, &token, "/entitlements/drops").status, 200);
}

#[test]
fn inserted_entitlements_are_listed_last() {
    let fake = start_with(|c| c.seed = small_seed());
    let token = app_token(&fake);
    let odd = Entitlement {
        id: "11111111-2222-4333-8444-555555555555".into(),
        benefit_id: "b".into(),
        timestamp: "2020-01-01T00:00:00.000Z".into(),
        user_id: "odd-user".into(),
        game_id: "509658".into(),
        fulfillment_status: CLAIMED.into(),
        last_updated: "2020-01-01T00:00:00.000Z".into(),
    };
    fake.insert_entitlement(odd.clone());
    fake.insert_entitlement(Entitlement {
        id: "11111111-2222-4333-8444-666666666666".into(),
        game_id: "999999".into(),
        ..odd.clone()
    });
    let resp = helix_get(&fake, &token, "/entitlements/drops?user_id=odd-user");
    assert_eq!(resp.json()["data"], json!([odd]));
}

#[test]
fn admin_routes() {
    let fake = start_with(|c| c.seed = small_seed());
    let base = fake.base_url();

    let info = get(&format!("{base}/_fake/info"), &[]).json();
    assert_eq!(info["helix_url"], fake.helix_url());
    assert_eq!(info["client_secret"], "fake-client-secret");

    let tokens = post_json(
        &format!("{base}/_fake/users/4242/token?scopes=analytics:read:games+user:read:email"),
        &json!(null),
    )
    .json();
    let access = tokens["access_token"].as_str().unwrap();
    assert!(tokens["refresh_token"].as_str().is_some());
    let validate = get(
        &format!("{}/validate", fake.auth_url()),
        &[("Authorization", &format!("OAuth {access}"))],
    )
    .json();
    assert_eq!(validate["user_id"], "4242");
    assert_eq!(
        validate["scopes"],
        json!(["analytics:read:games", "user:read:email"])
    );

    let entitlements: Vec<Entitlement> =
        serde_json::from_str(&get(&format!("{base}/_fake/entitlements"), &[]).body).unwrap();
    assert_eq!(entitlements, fake.entitlements());
    let added = Entitlement {
        id: "abc".into(),
        ..entitlements[0].clone()
    };
    let resp = post_json(&format!("{base}/_fake/entitlements"), &json!(added));
    assert_eq!(resp.status, 204);
    assert_eq!(fake.entitlements().len(), 101);
    let resp = post_json(
        &format!("{base}/_fake/entitlements"),
        &json!([added, added]),
    );
    assert_eq!(resp.status, 204);
    assert_eq!(fake.entitlements().len(), 103);

    let resp = post_json(
        &format!("{base}/_fake/rate_limit"),
        &json!({"per_minute": 60, "burst": 1}),
    );
    assert_eq!(resp.status, 204);
    let token = app_token(&fake);
    assert_eq!(helix_get(&fake, &token, "/entitlements/drops").status, 200);
    assert_eq!(helix_get(&fake, &token, "/entitlements/drops").status, 429);

    let stats: Stats =
        serde_json::from_str(&get(&format!("{base}/_fake/stats"), &[]).body).unwrap();
    assert_eq!(stats.rate_limited, 1);
    // validate, token, 2 × list: admin routes are not counted.
    assert_eq!(stats.requests, 4, "{stats:?}");
    assert_eq!(stats.requests_by_route["GET /helix/entitlements/drops"], 2);
    assert_eq!(stats.tokens_issued, 2);
    let journal: Vec<JournalEntry> =
        serde_json::from_str(&get(&format!("{base}/_fake/journal"), &[]).body).unwrap();
    assert_eq!(journal.len(), 4);
    assert_eq!(journal[0].path, "/oauth2/validate");
    assert_eq!(journal[3].status, 429);
    assert_eq!(journal[2].query, "");

    let resp = post_json(
        &format!("{base}/_fake/reset"),
        &json!({"entitlements": 10, "games": ["509658"], "users": 2, "rng_seed": 1}),
    );
    assert_eq!(resp.status, 204);
    assert_eq!(fake.entitlements().len(), 10);
    assert_eq!(fake.stats().requests, 0);
    // An empty body restores the seed the server started with (small_seed here).
    fake.insert_entitlement(added);
    let resp = read(
        agent()
            .post(format!("{base}/_fake/reset"))
            .send_empty()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(resp.status, 204);
    assert_eq!(
        fake.entitlements(),
        start_with(|c| c.seed = small_seed()).entitlements()
    );

    assert_eq!(get(&format!("{base}/_fake/nothing"), &[]).status, 404);
    assert_eq!(
        post_json(&format!("{base}/_fake/reset"), &json!("x")).status,
        400
    );
}

#[test]
fn dropping_the_server_frees_its_port() {
    let fake = start();
    let port = fake.port();
    let token = app_token(&fake);
    assert_eq!(helix_get(&fake, &token, "/entitlements/drops").status, 200);
    drop(fake);
    // The pooled keep-alive connection is gone and nobody listens.
    let agent = agent();
    let result = agent
        .get(format!("http://127.0.0.1:{port}/oauth2/validate"))
        .call();
    assert!(result.is_err());
    // The same port can be bound again right away.
    let again = FakeTwitch::start(FakeConfig {
        port,
        ..FakeConfig::new()
    })
    .expect("port is free again");
    assert_eq!(again.port(), port);
}

#[test]
fn config_round_trips_through_json() {
    let config = FakeConfig::new();
    let text = serde_json::to_string(&config).unwrap();
    let back: FakeConfig = serde_json::from_str(&text).unwrap();
    assert_eq!(back.seed, config.seed);
    assert_eq!(back.client_id, "fake-client-id");
    let partial: FakeConfig = serde_json::from_str(r#"{"port": 0}"#).unwrap();
    assert_eq!(partial.rate_limit_per_minute, 800);
    assert_eq!(partial.report_ttl_secs, 300);
    assert_eq!(partial.token_ttl_secs, 3600);
    assert_eq!(partial.rate_limit_burst, 800);
}

#[test]
fn the_handle_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<FakeTwitch>();
    let fake = std::sync::Arc::new(start_with(|c| c.seed = small_seed()));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let fake = std::sync::Arc::clone(&fake);
            std::thread::spawn(move || {
                let token = app_token(&fake);
                for _ in 0..10 {
                    assert_eq!(helix_get(&fake, &token, "/entitlements/drops").status, 200);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(fake.stats().requests, 44);
}

#[test]
fn reset_keeps_the_startup_seed_for_fields_not_given_and_refuses_unknown_ones() {
    let fake = start();
    let base = fake.base_url();
    let standard = fake.entitlements();
    let reset = |body: serde_json::Value| post_json(&format!("{base}/_fake/reset"), &body);

    // `{}` is the start-up seed, not an empty store.
    assert_eq!(reset(json!({})).status, 204);
    assert_eq!(fake.entitlements(), standard);

    // One field changed; the others (games, foreign games, users...) stay the start-up ones.
    assert_eq!(reset(json!({"entitlements": 40})).status, 204);
    let all = fake.entitlements();
    assert_eq!(all.len(), 40);
    assert_eq!(all[..], standard[..40]);

    // A misspelt field is refused, naming it, and the store is left alone.
    let resp = reset(json!({"entitlments": 5}));
    assert_eq!(resp.status, 400);
    assert!(resp.body.contains("entitlments"), "{}", resp.body);
    assert_eq!(fake.entitlements().len(), 40);
    assert_eq!(reset(json!([1])).status, 400);

    // After a reset with a seed, an empty body goes back to the start-up seed.
    assert_eq!(
        reset(json!({"games": ["1"], "entitlements": 3})).status,
        204
    );
    let resp = read(
        agent()
            .post(format!("{base}/_fake/reset"))
            .send_empty()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(resp.status, 204);
    assert_eq!(fake.entitlements(), standard);

    // The Rust type refuses unknown fields as well.
    assert!(serde_json::from_str::<Seed>(r#"{"entitlements": 1, "gmes": []}"#).is_err());
}

#[test]
fn stats_count_each_game_apart() {
    let fake = start();
    let token = app_token(&fake);
    let stats = fake.stats();
    let ours = &stats.games["509658"];
    let foreign = &stats.games["999999"];
    assert_eq!(stats.games.len(), 2);
    assert_eq!(ours.claimed + foreign.claimed, stats.claimed);
    assert_eq!(ours.fulfilled + foreign.fulfilled, stats.fulfilled);
    assert!(foreign.claimed > 0);

    // Drain our game: its CLAIMED count reaches 0 while the other organization's stays.
    let ids: Vec<String> = fake
        .entitlements()
        .into_iter()
        .filter(|e| e.game_id == "509658" && e.fulfillment_status == CLAIMED)
        .map(|e| e.id)
        .collect();
    for batch in ids.chunks(100) {
        let batch: Vec<&str> = batch.iter().map(String::as_str).collect();
        helix_patch(&fake, &token, &update_body(&batch, "FULFILLED"));
    }
    let base = fake.base_url();
    let after: Stats =
        serde_json::from_str(&get(&format!("{base}/_fake/stats"), &[]).body).unwrap();
    assert_eq!(after.games["509658"].claimed, 0);
    assert_eq!(
        after.games["509658"].fulfilled,
        ours.fulfilled + ours.claimed
    );
    assert_eq!(after.games["999999"], *foreign);
}
