//! PATCH /helix/entitlements/drops: per-id outcomes, body rules, counting.

mod common;

use common::*;
use fake_twitch::{Entitlement, FakeTwitch, Faults, CLAIMED, FULFILLED};

fn fake() -> FakeTwitch {
    start_with(|c| c.seed = small_seed())
}

fn ours(fake: &FakeTwitch) -> Vec<Entitlement> {
    fake.entitlements()
        .into_iter()
        .filter(|e| e.game_id == "509658")
        .collect()
}

fn foreign(fake: &FakeTwitch) -> Entitlement {
    fake.entitlements()
        .into_iter()
        .find(|e| e.game_id == "999999")
        .unwrap()
}

fn status_of(fake: &FakeTwitch, id: &str) -> String {
    fake.entitlements()
        .into_iter()
        .find(|e| e.id == id)
        .unwrap()
        .fulfillment_status
}

#[test]
fn success_sets_status_and_last_updated() {
    let fake = fake();
    let token = app_token(&fake);
    let target = ours(&fake)[0].clone();
    let resp = helix_patch(&fake, &token, &update_body(&[&target.id], FULFILLED));
    assert_eq!(
        groups(&resp),
        vec![("SUCCESS".to_string(), vec![target.id.clone()])]
    );
    let after = fake
        .entitlements()
        .into_iter()
        .find(|e| e.id == target.id)
        .unwrap();
    assert_eq!(after.fulfillment_status, FULFILLED);
    assert_ne!(after.last_updated, target.last_updated);
    assert!(after.last_updated.ends_with('Z'));
    assert_eq!(after.timestamp, target.timestamp);

    // And back.
    let resp = helix_patch(&fake, &token, &update_body(&[&target.id], CLAIMED));
    assert_eq!(group(&resp, "SUCCESS"), vec![target.id.clone()]);
    assert_eq!(status_of(&fake, &target.id), CLAIMED);
}

#[test]
fn every_outcome_in_one_request() {
    let fake = fake();
    fake.set_faults(Faults {
        update_failed_rate: 1.0,
        ..Faults::default()
    });
    let token = app_token(&fake);
    let foreign = foreign(&fake);
    let unknown = "00000000-0000-4000-8000-000000000000";
    let malformed = "not-a-uuid";
    let ours = ours(&fake);
    let resp = helix_patch(
        &fake,
        &token,
        &update_body(&[malformed, unknown, &foreign.id, &ours[0].id], FULFILLED),
    );
    let got = groups(&resp);
    assert_eq!(
        got,
        vec![
            ("INVALID_ID".to_string(), vec![malformed.to_string()]),
            ("NOT_FOUND".to_string(), vec![unknown.to_string()]),
            ("UNAUTHORIZED".to_string(), vec![foreign.id.clone()]),
            ("UPDATE_FAILED".to_string(), vec![ours[0].id.clone()]),
        ]
    );
    assert_eq!(status_of(&fake, &ours[0].id), ours[0].fulfillment_status);
    assert_eq!(status_of(&fake, &foreign.id), foreign.fulfillment_status);

    fake.set_faults(Faults::default());
    let resp = helix_patch(
        &fake,
        &token,
        &update_body(&[&ours[0].id, malformed, &ours[1].id], FULFILLED),
    );
    assert_eq!(
        groups(&resp),
        vec![
            (
                "SUCCESS".to_string(),
                vec![ours[0].id.clone(), ours[1].id.clone()]
            ),
            ("INVALID_ID".to_string(), vec![malformed.to_string()]),
        ]
    );
}

#[test]
fn user_token_may_update_only_its_own() {
    let fake = fake();
    let ours = ours(&fake);
    let mine = &ours[0];
    let theirs = ours.iter().find(|e| e.user_id != mine.user_id).unwrap();
    let token = fake.user_token(&mine.user_id, &[]).access_token;
    let resp = helix_patch(
        &fake,
        &token,
        &update_body(&[&mine.id, &theirs.id], FULFILLED),
    );
    assert_eq!(
        groups(&resp),
        vec![
            ("SUCCESS".to_string(), vec![mine.id.clone()]),
            ("UNAUTHORIZED".to_string(), vec![theirs.id.clone()]),
        ]
    );
}

#[test]
fn duplicate_fulfills_are_counted() {
    let fake = fake();
    let token = app_token(&fake);
    let ours = ours(&fake);
    let ids = [ours[0].id.as_str(), ours[1].id.as_str()];
    helix_patch(&fake, &token, &update_body(&ids, FULFILLED));
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 0);
    helix_patch(&fake, &token, &update_body(&ids, FULFILLED));
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 2);
    // Setting CLAIMED twice is not a duplicate fulfil.
    helix_patch(&fake, &token, &update_body(&ids, CLAIMED));
    helix_patch(&fake, &token, &update_body(&ids, CLAIMED));
    assert_eq!(fake.stats().duplicate_fulfill_attempts, 2);
}

#[test]
fn stats_count_claimed_and_fulfilled() {
    let fake = fake();
    let token = app_token(&fake);
    let before = fake.stats();
    assert_eq!(before.claimed + before.fulfilled, 100);
    let ours = ours(&fake);
    let claimed: Vec<&str> = ours
        .iter()
        .filter(|e| e.fulfillment_status == CLAIMED)
        .take(5)
        .map(|e| e.id.as_str())
        .collect();
    helix_patch(&fake, &token, &update_body(&claimed, FULFILLED));
    let after = fake.stats();
    assert_eq!(after.claimed, before.claimed - 5);
    assert_eq!(after.fulfilled, before.fulfilled + 5);
}

#[test]
fn bad_bodies_are_400() {
    let fake = fake();
    let token = app_token(&fake);
    let id = ours(&fake)[0].id.clone();
    let too_many: Vec<String> = (0..101)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect();
    let too_many: Vec<&str> = too_many.iter().map(String::as_str).collect();
    let cases = [
        "not json".to_string(),
        "{}".to_string(),
        update_body(&[], FULFILLED).to_string(),
        update_body(&too_many, FULFILLED).to_string(),
        update_body(&[&id], "DONE").to_string(),
        serde_json::json!({ "entitlement_ids": [id] }).to_string(),
        serde_json::json!({ "entitlement_ids": id, "fulfillment_status": FULFILLED }).to_string(),
    ];
    for body in cases {
        let resp = try_helix_patch(&agent(), &fake, &token, "/entitlements/drops", &body).unwrap();
        assert_eq!(resp.status, 400, "{body}: {}", resp.body);
        assert_eq!(resp.json()["error"], "Bad Request");
    }
    // Exactly 100 is fine.
    let hundred = &too_many[..100];
    let resp = helix_patch(&fake, &token, &update_body(hundred, FULFILLED));
    assert_eq!(group(&resp, "NOT_FOUND").len(), 100);
}

#[test]
fn the_seed_specs_update_path_works_too() {
    let fake = fake();
    let token = app_token(&fake);
    let id = ours(&fake)[0].id.clone();
    let body = update_body(&[&id], FULFILLED).to_string();
    let resp =
        try_helix_patch(&agent(), &fake, &token, "/entitlements/drops/update", &body).unwrap();
    assert_eq!(group(&resp, "SUCCESS"), vec![id.clone()]);
    assert_eq!(
        fake.stats().requests_by_route["PATCH /helix/entitlements/drops/update"],
        1
    );
}

#[test]
fn duplicate_entitlements_are_all_updated() {
    let fake = fake();
    let token = app_token(&fake);
    let original = ours(&fake)
        .into_iter()
        .find(|e| e.fulfillment_status == CLAIMED)
        .unwrap();
    fake.insert_entitlement(original.clone());
    let resp = helix_patch(&fake, &token, &update_body(&[&original.id], FULFILLED));
    assert_eq!(group(&resp, "SUCCESS"), vec![original.id.clone()]);
    let copies: Vec<Entitlement> = fake
        .entitlements()
        .into_iter()
        .filter(|e| e.id == original.id)
        .collect();
    assert_eq!(copies.len(), 2);
    assert!(copies.iter().all(|e| e.fulfillment_status == FULFILLED));
}

#[test]
fn journal_records_ids_per_patch() {
    let fake = fake();
    let token = app_token(&fake);
    let ours = ours(&fake);
    let ids: Vec<&str> = ours.iter().take(3).map(|e| e.id.as_str()).collect();
    helix_patch(&fake, &token, &update_body(&ids, FULFILLED));
    let journal = fake.journal();
    let patch = journal.iter().find(|j| j.method == "PATCH").unwrap();
    assert_eq!(patch.path, "/helix/entitlements/drops");
    assert_eq!(patch.status, 200);
    assert_eq!(patch.body_ids, 3);
    let token_call = &journal[0];
    assert_eq!(token_call.path, "/oauth2/token");
    assert_eq!(token_call.body_ids, 0);
    assert!(journal.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
}
