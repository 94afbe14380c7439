//! GET /helix/entitlements/drops: filters, token rules, bounds and paging.

mod common;

use common::*;
use fake_twitch::{Entitlement, FakeTwitch, Faults, CLAIMED, FULFILLED};
use serde_json::json;

fn fake() -> FakeTwitch {
    start_with(|c| {
        c.seed = small_seed();
        c.seed.fulfilled_fraction = 0.3;
    })
}

/// Ours (not a foreign game), in store order.
fn visible(fake: &FakeTwitch, keep: impl Fn(&Entitlement) -> bool) -> Vec<String> {
    fake.entitlements()
        .into_iter()
        .filter(|e| e.game_id != "999999" && keep(e))
        .map(|e| e.id)
        .collect()
}

fn some_user(fake: &FakeTwitch) -> String {
    fake.entitlements()
        .into_iter()
        .find(|e| e.game_id == "509658")
        .unwrap()
        .user_id
}

#[test]
fn default_page_has_twenty_items_with_twitch_fields() {
    let fake = fake();
    let token = app_token(&fake);
    let resp = helix_get(&fake, &token, "/entitlements/drops");
    assert_eq!(resp.status, 200);
    let body = resp.json();
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 20);
    let mut fields: Vec<&str> = data[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "benefit_id",
            "fulfillment_status",
            "game_id",
            "id",
            "last_updated",
            "timestamp",
            "user_id"
        ]
    );
    assert!(data.iter().all(|e| e["game_id"] == "509658"));
    assert!(body["pagination"]["cursor"].as_str().is_some());
    // Field order follows Twitch's: id first.
    assert!(
        resp.body.starts_with("{\"data\":[{\"id\":"),
        "{}",
        resp.body
    );
}

#[test]
fn app_token_filters_and_their_combinations() {
    let fake = fake();
    let token = app_token(&fake);
    let user = some_user(&fake);

    let by_user = list_all(&fake, &token, &format!("first=1000&user_id={user}"));
    assert_eq!(by_user, visible(&fake, |e| e.user_id == user));
    assert!(!by_user.is_empty());

    let by_game = list_all(&fake, &token, "first=1000&game_id=509658");
    assert_eq!(by_game, visible(&fake, |_| true));

    let both = list_all(
        &fake,
        &token,
        &format!("first=1000&game_id=509658&user_id={user}"),
    );
    assert_eq!(both, by_user);

    for status in [CLAIMED, FULFILLED] {
        let filtered = list_all(
            &fake,
            &token,
            &format!("first=1000&user_id={user}&fulfillment_status={status}"),
        );
        assert_eq!(
            filtered,
            visible(&fake, |e| e.user_id == user
                && e.fulfillment_status == status)
        );
        let all = list_all(
            &fake,
            &token,
            &format!("first=1000&fulfillment_status={status}"),
        );
        assert_eq!(all, visible(&fake, |e| e.fulfillment_status == status));
    }

    let none = helix_get(&fake, &token, "/entitlements/drops?user_id=nobody");
    assert_eq!(none.json(), json!({"data": [], "pagination": {}}));
}

#[test]
fn user_token_sees_only_its_user() {
    let fake = fake();
    let user = some_user(&fake);
    let token = fake.user_token(&user, &[]).access_token;
    let own = visible(&fake, |e| e.user_id == user);

    assert_eq!(list_all(&fake, &token, "first=1000"), own);
    assert_eq!(list_all(&fake, &token, "first=1000&game_id=509658"), own);
    assert_eq!(
        list_all(&fake, &token, &format!("first=1000&user_id={user}")),
        own
    );

    let other = helix_get(&fake, &token, "/entitlements/drops?user_id=123");
    assert_eq!(other.status, 400);
    assert_eq!(other.json()["error"], "Bad Request");
}

#[test]
fn another_organizations_game_is_403() {
    let fake = fake();
    let app = app_token(&fake);
    let resp = helix_get(&fake, &app, "/entitlements/drops?game_id=999999");
    assert_eq!(resp.status, 403);
    assert_eq!(resp.json()["error"], "Forbidden");
    let user = fake.user_token("1", &[]).access_token;
    assert_eq!(
        helix_get(&fake, &user, "/entitlements/drops?game_id=999999").status,
        403
    );
}

#[test]
fn id_is_repeatable_up_to_100_times() {
    let fake = fake();
    let token = app_token(&fake);
    let ours = visible(&fake, |_| true);
    let resp = helix_get(
        &fake,
        &token,
        &format!("/entitlements/drops?id={}&id={}", ours[3], ours[7]),
    );
    assert_eq!(resp.status, 200);
    assert_eq!(resp.ids(), vec![ours[3].clone(), ours[7].clone()]);

    // Another organization's entitlement is not listed.
    let foreign = fake
        .entitlements()
        .into_iter()
        .find(|e| e.game_id == "999999")
        .unwrap();
    let resp = helix_get(
        &fake,
        &token,
        &format!("/entitlements/drops?id={}", foreign.id),
    );
    assert_eq!(resp.ids(), Vec::<String>::new());

    let query = |n: usize| {
        (0..n)
            .map(|i| format!("id={}", ours[i % ours.len()]))
            .collect::<Vec<_>>()
            .join("&")
    };
    let hundred = helix_get(
        &fake,
        &token,
        &format!("/entitlements/drops?first=100&{}", query(100)),
    );
    assert_eq!(hundred.status, 200);
    let too_many = helix_get(
        &fake,
        &token,
        &format!("/entitlements/drops?{}", query(101)),
    );
    assert_eq!(too_many.status, 400);
}

#[test]
fn first_must_be_between_1_and_1000() {
    let fake = fake();
    let token = app_token(&fake);
    for bad in ["0", "1001", "-1", "abc", "2.5"] {
        let resp = helix_get(&fake, &token, &format!("/entitlements/drops?first={bad}"));
        assert_eq!(resp.status, 400, "first={bad}");
        assert_eq!(resp.json()["status"], 400);
    }
    assert_eq!(
        helix_get(&fake, &token, "/entitlements/drops?first=1")
            .ids()
            .len(),
        1
    );
    let all = helix_get(&fake, &token, "/entitlements/drops?first=1000");
    assert_eq!(all.ids(), visible(&fake, |_| true));
    assert_eq!(all.json()["pagination"], json!({}));
}

#[test]
fn fulfillment_status_must_be_claimed_or_fulfilled() {
    let fake = fake();
    let token = app_token(&fake);
    for bad in ["claimed", "DONE"] {
        let resp = helix_get(
            &fake,
            &token,
            &format!("/entitlements/drops?fulfillment_status={bad}"),
        );
        assert_eq!(resp.status, 400, "{bad}");
    }
}

#[test]
fn paging_ends_with_empty_pagination_and_sees_everything_once() {
    let fake = fake();
    let token = app_token(&fake);
    let ids = list_all(&fake, &token, "first=7");
    assert_eq!(ids, visible(&fake, |_| true));
}

#[test]
fn garbage_cursor_is_400() {
    let fake = fake();
    let token = app_token(&fake);
    for bad in ["garbage", "eyJ4Ijo1fQ", "%%%"] {
        let resp = helix_get(&fake, &token, &format!("/entitlements/drops?after={bad}"));
        assert_eq!(resp.status, 400, "after={bad}");
    }
}

#[test]
fn cursors_are_opaque_and_stable_under_updates() {
    let fake = fake();
    let token = app_token(&fake);
    let first = helix_get(&fake, &token, "/entitlements/drops?first=10");
    let cursor = first.cursor().unwrap();
    assert!(!cursor.chars().all(|c| c.is_ascii_digit()), "{cursor}");
    let second = helix_get(
        &fake,
        &token,
        &format!("/entitlements/drops?first=10&after={cursor}"),
    );
    // Fulfil the first page, then ask for the second page again: same items.
    let ids: Vec<String> = first.ids();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(
        helix_patch(&fake, &token, &update_body(&ids, FULFILLED)).status,
        200
    );
    let again = helix_get(
        &fake,
        &token,
        &format!("/entitlements/drops?first=10&after={cursor}"),
    );
    assert_eq!(again.ids(), second.ids());
    assert_eq!(again.cursor(), second.cursor());
}

/// Read a CLAIMED page, fulfil it, follow the cursor; returns the ids fulfilled.
fn fulfil_while_paging(fake: &FakeTwitch, token: &str) -> Vec<String> {
    let mut done = Vec::new();
    let mut after = String::new();
    loop {
        let resp = helix_get(
            fake,
            token,
            &format!("/entitlements/drops?fulfillment_status=CLAIMED&first=10{after}"),
        );
        assert_eq!(resp.status, 200, "{}", resp.body);
        let ids = resp.ids();
        if !ids.is_empty() {
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            let update = helix_patch(fake, token, &update_body(&refs, FULFILLED));
            assert_eq!(group(&update, "SUCCESS").len(), ids.len());
        }
        done.extend(ids);
        match resp.cursor() {
            Some(c) => after = format!("&after={c}"),
            None => return done,
        }
    }
}

#[test]
fn stable_cursors_skip_nothing_when_updating_while_paging_claimed() {
    let fake = fake();
    let token = app_token(&fake);
    let claimed = visible(&fake, |e| e.fulfillment_status == CLAIMED);
    assert!(claimed.len() > 30);
    let done = fulfil_while_paging(&fake, &token);
    assert_eq!(done, claimed);
    assert!(visible(&fake, |e| e.fulfillment_status == CLAIMED).is_empty());
}

#[test]
fn positional_cursors_skip_items_when_updating_while_paging_claimed() {
    let fake = fake();
    fake.set_faults(Faults {
        positional_cursors: true,
        ..Faults::default()
    });
    let token = app_token(&fake);
    let claimed = visible(&fake, |e| e.fulfillment_status == CLAIMED);
    let done = fulfil_while_paging(&fake, &token);
    assert!(
        done.len() < claimed.len(),
        "{} of {}",
        done.len(),
        claimed.len()
    );
    let left = visible(&fake, |e| e.fulfillment_status == CLAIMED);
    assert_eq!(left.len(), claimed.len() - done.len());

    // Re-querying until empty gets the rest.
    let mut rounds = 0;
    while !fulfil_while_paging(&fake, &token).is_empty() {
        rounds += 1;
        assert!(rounds < 20);
    }
    assert!(visible(&fake, |e| e.fulfillment_status == CLAIMED).is_empty());

    // Positional cursors are offsets into the filtered list and page to {} as usual.
    let ids = list_all(&fake, &token, "first=9");
    assert_eq!(ids, visible(&fake, |_| true));
}
