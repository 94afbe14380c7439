//! Bad inputs are typed errors before anything is sent: query limits, ids, analytics dates,
//! settings, and URLs the transport refuses.

mod common;

use common::*;
use mockito::{Matcher, Mock, Server, ServerGuard};
use twitch_drops::{
    AnalyticsQuery, Client, Config, Credentials, EntitlementsQuery, Error, FulfillmentStatus,
    HttpRequest, ManualClock, Method, Transport, TransportErrorKind, UreqTransport,
};

/// Mocks that fail the test if any request at all reaches the server.
fn nothing_sent(server: &mut ServerGuard) -> Vec<Mock> {
    ["GET", "POST", "PATCH"]
        .into_iter()
        .map(|method| server.mock(method, Matcher::Any).expect(0).create())
        .collect()
}

fn field_of(err: &Error) -> &'static str {
    match err {
        Error::InvalidInput { field, .. } => field,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn entitlement_queries_out_of_limits_are_refused() {
    let mut server = Server::new();
    let guards = nothing_sent(&mut server);
    let (client, _clock) = static_client(&server);
    let many: Vec<String> = ids(101);
    let cases = [
        (EntitlementsQuery::new().first(0), "first"),
        (EntitlementsQuery::new().first(1001), "first"),
        (
            EntitlementsQuery {
                ids: many,
                ..EntitlementsQuery::default()
            },
            "ids",
        ),
        (EntitlementsQuery::new().id("a").id(""), "ids"),
        (EntitlementsQuery::new().id("  "), "ids"),
        (EntitlementsQuery::new().user(""), "user_id"),
        (EntitlementsQuery::new().game(" "), "game_id"),
        (EntitlementsQuery::new().after(""), "after"),
    ];

    for (query, field) in cases {
        let err = client.entitlements_page(&query).unwrap_err();
        assert_eq!(field_of(&err), field, "{query:?}");
        assert_eq!(query.validate().unwrap_err(), err);

        let mut pages = client.entitlement_pages(query.clone());
        assert_eq!(field_of(&pages.next().unwrap().unwrap_err()), field);
        assert!(pages.next().is_none());

        let mut items = client.entitlements(query);
        assert_eq!(field_of(&items.next().unwrap().unwrap_err()), field);
        assert!(items.next().is_none());
    }

    for guard in &guards {
        guard.assert();
    }
    assert_eq!(client.requests_sent(), 0);
}

#[test]
fn page_size_limits_are_inclusive() {
    assert!(EntitlementsQuery::new().first(1).validate().is_ok());
    assert!(EntitlementsQuery::new().first(1000).validate().is_ok());
    let hundred = EntitlementsQuery {
        ids: ids(100),
        ..EntitlementsQuery::default()
    };
    assert!(hundred.validate().is_ok());
}

#[test]
fn an_empty_id_in_an_update_is_refused() {
    let mut server = Server::new();
    let guards = nothing_sent(&mut server);
    let (client, _clock) = static_client(&server);

    for ids in [&["a", "", "b"][..], &[" "][..]] {
        let err = client
            .update_entitlements(ids, FulfillmentStatus::Fulfilled)
            .unwrap_err();
        assert_eq!(field_of(&err), "ids");
    }

    for guard in &guards {
        guard.assert();
    }
}

#[test]
fn analytics_queries_are_checked_before_sending() {
    let mut server = Server::new();
    let guards = nothing_sent(&mut server);
    let (client, _clock) = static_client(&server);
    let only_start = AnalyticsQuery {
        started_at: Some("2023-10-01".into()),
        ..AnalyticsQuery::default()
    };
    let only_end = AnalyticsQuery {
        ended_at: Some("2023-10-01".into()),
        ..AnalyticsQuery::default()
    };
    let cases = [
        (only_start, "ended_at"),
        (only_end, "started_at"),
        (
            AnalyticsQuery::new().range("2023-10-31", "2023-10-01"),
            "ended_at",
        ),
        (
            AnalyticsQuery::new().range("2023-10-01T10:00:00Z", "2023-10-31"),
            "started_at",
        ),
        (
            AnalyticsQuery::new().range("2023-10-01", "2023-10-31T00:00:01Z"),
            "ended_at",
        ),
        (
            AnalyticsQuery::new().range("2023-10-01T00:00:00+02:00", "2023-10-31"),
            "started_at",
        ),
        (
            AnalyticsQuery::new().range("2023-02-30", "2023-03-31"),
            "started_at",
        ),
        (
            AnalyticsQuery::new().range("yesterday", "2023-03-31"),
            "started_at",
        ),
        (
            AnalyticsQuery::new().range("2023-03-01", "31/03/2023"),
            "ended_at",
        ),
        (AnalyticsQuery::new().first(101), "first"),
        (AnalyticsQuery::new().first(0), "first"),
        (AnalyticsQuery::new().game(""), "game_id"),
        (AnalyticsQuery::new().report_type(" "), "type"),
        (AnalyticsQuery::new().after(""), "after"),
    ];

    for (query, field) in cases {
        let err = client.game_analytics(&query).unwrap_err();
        assert_eq!(field_of(&err), field, "{query:?}");
    }

    for guard in &guards {
        guard.assert();
    }
    assert_eq!(client.requests_sent(), 0);
}

#[test]
fn an_analytics_range_of_one_day_is_fine() {
    let query = AnalyticsQuery::new().range("2023-10-01", "2023-10-01T00:00:00Z");
    assert_eq!(
        query.to_query_string().unwrap(),
        "started_at=2023-10-01T00%3A00%3A00Z&ended_at=2023-10-01T00%3A00%3A00Z"
    );
}

fn make(config: Config) -> Result<Client<UreqTransport, ManualClock>, Error> {
    Client::with_transport(config, UreqTransport::new(), ManualClock::new(NOW_MS))
}

#[test]
fn bad_settings_are_refused_when_the_client_is_made() {
    let token = || Credentials::AccessToken(TOKEN.into());
    let cases = [
        (Config::new("", token()), "client_id"),
        (Config::new("   ", token()), "client_id"),
        (
            Config::new("cid", token()).with_helix_url("http://api.twitch.tv/helix"),
            "helix_url",
        ),
        (
            Config::new("cid", token()).with_auth_url("http://id.twitch.tv/oauth2"),
            "auth_url",
        ),
        (
            Config::new("cid", token()).with_helix_url("http://127.0.0.1.evil.com/helix"),
            "helix_url",
        ),
        (
            Config::new("cid", token()).with_helix_url("ftp://api.twitch.tv/helix"),
            "helix_url",
        ),
        (
            Config::new("cid", token()).with_helix_url("api.twitch.tv/helix"),
            "helix_url",
        ),
        (
            Config::new("cid", Credentials::AccessToken("".into())),
            "access_token",
        ),
        (
            Config::new("cid", Credentials::ClientSecret(" ".into())),
            "client_secret",
        ),
        (
            Config::new(
                "cid",
                Credentials::UserToken {
                    access_token: "".into(),
                    refresh_token: Some("r".into()),
                    client_secret: None,
                },
            ),
            "access_token",
        ),
    ];

    for (config, field) in cases {
        let err = config.validate().unwrap_err();
        assert_eq!(field_of(&err), field, "{config:?}");
        assert_eq!(field_of(&make(config).unwrap_err()), field);
    }
}

#[test]
fn good_settings_are_accepted() {
    let token = || Credentials::AccessToken(TOKEN.into());
    for config in [
        Config::new("cid", token()),
        Config::new("cid", token()).with_helix_url("http://localhost:8080/helix/"),
        Config::new("cid", token()).with_helix_url("http://[::1]:8080/helix"),
        Config::new("cid", Credentials::None).with_auth_url("https://id.example.com/oauth2"),
    ] {
        assert!(make(config).is_ok());
    }
    let trimmed = Config::new("cid", token()).with_helix_url("http://127.0.0.1:1/helix/");
    assert_eq!(trimmed.helix_url(), "http://127.0.0.1:1/helix");
}

#[test]
fn fulfillment_status_parses_only_its_two_names() {
    assert_eq!(
        " claimed ".parse::<FulfillmentStatus>().unwrap(),
        FulfillmentStatus::Claimed
    );
    assert_eq!(
        "FULFILLED".parse::<FulfillmentStatus>().unwrap(),
        FulfillmentStatus::Fulfilled
    );
    let err = "DONE".parse::<FulfillmentStatus>().unwrap_err();
    assert_eq!(field_of(&err), "fulfillment_status");
}

#[test]
fn the_transport_refuses_plain_http_to_a_remote_host() {
    let transport = UreqTransport::new();
    for url in [
        "http://api.twitch.tv/helix/entitlements/drops",
        "http://localhost.evil.com/x",
        "not a url",
    ] {
        let request = HttpRequest::new(Method::Get, url)
            .with_header("Authorization", format!("Bearer {TOKEN}"));
        let err = transport.send(request).unwrap_err();
        assert_eq!(err.kind, TransportErrorKind::Refused, "{url}: {err}");
        assert!(!err.may_have_reached_server());
    }
}
