//! `GET /helix/entitlements/drops`: one page, every filter's encoding, the headers, and
//! paging through `client.entitlement_pages` / `client.entitlements`.

mod common;

use common::*;
use mockito::{Matcher, Server};
use twitch_drops::{EntitlementsQuery, Error, FulfillmentStatus};

const PATH: &str = "/helix/entitlements/drops";

#[test]
fn one_page_sends_client_id_and_bearer_and_decodes_every_field() {
    let mut server = Server::new();
    let mock = server
        .mock("GET", PATH)
        .match_query(Matcher::Exact("game_id=509658&first=2".into()))
        .match_header("client-id", CLIENT_ID)
        .match_header("authorization", bearer(TOKEN).as_str())
        .match_header("accept", "application/json")
        .with_header("content-type", "application/json")
        .with_body(page(&["e1", "e2"], "CLAIMED", Some("cursor-1")))
        .expect(1)
        .create();
    let (client, clock) = static_client(&server);

    let page = client
        .entitlements_page(&EntitlementsQuery::new().game("509658").first(2))
        .unwrap();

    mock.assert();
    assert_eq!(page.cursor.as_deref(), Some("cursor-1"));
    assert_eq!(page.entitlements.len(), 2);
    let first = &page.entitlements[0];
    assert_eq!(first.id, "e1");
    assert_eq!(first.benefit_id, "benefit-e1");
    assert_eq!(first.user_id, "user-1");
    assert_eq!(first.game_id, "509658");
    assert_eq!(first.fulfillment_status, FulfillmentStatus::Claimed);
    assert_eq!(first.timestamp, "2023-11-01T10:00:00Z");
    assert_eq!(first.last_updated, "2023-11-02T10:00:00Z");
    assert_eq!(client.requests_sent(), 1);
    assert!(clock.sleeps().is_empty());
}

#[test]
fn every_filter_is_encoded_and_ids_repeat() {
    let mut server = Server::new();
    let mock = server
        .mock("GET", PATH)
        .match_query(Matcher::Exact(
            "id=a&id=b&user_id=u1&game_id=g1&fulfillment_status=FULFILLED&first=1000&after=cur-9"
                .into(),
        ))
        .with_body(page(&["a", "b"], "FULFILLED", None))
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);

    let query = EntitlementsQuery::new()
        .id("a")
        .id("b")
        .user("u1")
        .game("g1")
        .status(FulfillmentStatus::Fulfilled)
        .first(1000)
        .after("cur-9");
    let page = client.entitlements_page(&query).unwrap();

    mock.assert();
    assert_eq!(page.cursor, None);
    assert!(page
        .entitlements
        .iter()
        .all(|e| e.fulfillment_status == FulfillmentStatus::Fulfilled));
}

#[test]
fn no_filter_sends_no_query_string() {
    let mut server = Server::new();
    let mock = server
        .mock("GET", PATH)
        .match_query(Matcher::Exact(String::new()))
        .with_body(page(&[], "CLAIMED", None))
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);

    let page = client.entitlements_page(&EntitlementsQuery::new()).unwrap();

    mock.assert();
    assert!(page.entitlements.is_empty());
}

#[test]
fn claimed_status_and_user_filter_are_encoded() {
    let mut server = Server::new();
    let mock = server
        .mock("GET", PATH)
        .match_query(Matcher::Exact(
            "user_id=123&fulfillment_status=CLAIMED".into(),
        ))
        .with_body(page(&["x"], "CLAIMED", None))
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);

    client
        .entitlements_page(
            &EntitlementsQuery::new()
                .user("123")
                .status(FulfillmentStatus::Claimed),
        )
        .unwrap();

    mock.assert();
}

#[test]
fn values_are_form_encoded() {
    let mut server = Server::new();
    let mock = server
        .mock("GET", PATH)
        .match_query(Matcher::Exact("id=a+b%26c&after=x%3Dy%2Fz".into()))
        .with_body(page(&[], "CLAIMED", None))
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);

    client
        .entitlements_page(&EntitlementsQuery::new().id("a b&c").after("x=y/z"))
        .unwrap();

    mock.assert();
}

#[test]
fn pages_follow_the_cursor_until_pagination_is_empty() {
    let mut server = Server::new();
    let first = server
        .mock("GET", PATH)
        .match_query(Matcher::Exact("game_id=g&first=2".into()))
        .with_body(page(&["e1", "e2"], "CLAIMED", Some("c1")))
        .expect(1)
        .create();
    let second = server
        .mock("GET", PATH)
        .match_query(Matcher::Exact("game_id=g&first=2&after=c1".into()))
        .with_body(page(&["e3", "e4"], "CLAIMED", Some("c2")))
        .expect(1)
        .create();
    let last = server
        .mock("GET", PATH)
        .match_query(Matcher::Exact("game_id=g&first=2&after=c2".into()))
        .with_body(page(&["e5"], "CLAIMED", None))
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);

    let pages: Vec<_> = client
        .entitlement_pages(EntitlementsQuery::new().game("g").first(2))
        .collect::<Result<_, _>>()
        .unwrap();

    first.assert();
    second.assert();
    last.assert();
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[0].cursor.as_deref(), Some("c1"));
    assert_eq!(pages[1].cursor.as_deref(), Some("c2"));
    assert_eq!(pages[2].cursor, None);
    assert_eq!(client.requests_sent(), 3);
}

#[test]
fn entitlements_iterator_stops_when_pagination_is_missing() {
    let mut server = Server::new();
    let first = server
        .mock("GET", PATH)
        .match_query(Matcher::Exact("first=3".into()))
        .with_body(page(&["e1", "e2", "e3"], "CLAIMED", Some("c1")))
        .expect(1)
        .create();
    let last = server
        .mock("GET", PATH)
        .match_query(Matcher::Exact("first=3&after=c1".into()))
        .with_body(serde_json::json!({ "data": [entitlement("e4", "FULFILLED")] }).to_string())
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);

    let ids: Vec<String> = client
        .entitlements(EntitlementsQuery::new().first(3))
        .map(|e| e.unwrap().id.to_string())
        .collect();

    first.assert();
    last.assert();
    assert_eq!(ids, ["e1", "e2", "e3", "e4"]);
    assert_eq!(client.requests_sent(), 2);
}

#[test]
fn an_empty_cursor_string_ends_paging() {
    let mut server = Server::new();
    let mock = server
        .mock("GET", PATH)
        .with_body(r#"{"data":[],"pagination":{"cursor":""}}"#)
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);

    let pages: Vec<_> = client.entitlement_pages(EntitlementsQuery::new()).collect();

    mock.assert();
    assert_eq!(pages.len(), 1);
    assert!(pages[0].is_ok());
}

#[test]
fn a_cursor_that_does_not_advance_ends_paging_with_an_error() {
    let mut server = Server::new();
    let mock = server
        .mock("GET", PATH)
        .match_query(Matcher::Exact("after=same".into()))
        .with_body(page(&["e1"], "CLAIMED", Some("same")))
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);

    let mut pages = client.entitlement_pages(EntitlementsQuery::new().after("same"));
    assert_eq!(pages.next().unwrap().unwrap().entitlements.len(), 1);
    assert!(matches!(
        pages.next(),
        Some(Err(Error::Decode {
            context: "entitlements page",
            ..
        }))
    ));
    assert!(pages.next().is_none());
    mock.assert();
}

#[test]
fn the_iterator_yields_a_twitch_error_once_then_ends() {
    let mut server = Server::new();
    let mock = server
        .mock("GET", PATH)
        .match_query(Matcher::Any)
        .with_status(400)
        .with_header("content-type", "application/json")
        .with_body(
            r#"{"error":"Bad Request","status":400,"message":"user_id and game_id mismatch"}"#,
        )
        .expect(1)
        .create();
    let (client, clock) = static_client(&server);

    let mut items = client.entitlements(EntitlementsQuery::new().user("u").game("g"));
    match items.next() {
        Some(Err(Error::Http {
            status: 400,
            error,
            message,
        })) => {
            assert_eq!(error, "Bad Request");
            assert_eq!(message, "user_id and game_id mismatch");
        }
        other => panic!("expected a 400, got {other:?}"),
    }
    assert!(items.next().is_none());
    mock.assert();
    assert!(clock.sleeps().is_empty(), "a 400 is not retried");
}

#[test]
fn a_403_is_not_retried() {
    let mut server = Server::new();
    let mock = server
        .mock("GET", PATH)
        .match_query(Matcher::Any)
        .with_status(403)
        .with_body(
            r#"{"error":"Forbidden","status":403,"message":"organization does not own the game"}"#,
        )
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);

    let err = client
        .entitlements_page(&EntitlementsQuery::new().game("g"))
        .unwrap_err();

    mock.assert();
    assert!(matches!(err, Error::Http { status: 403, .. }), "{err:?}");
    assert_eq!(err.status(), Some(403));
    assert_eq!(
        err.twitch_message(),
        Some("organization does not own the game")
    );
}
