//! `GET /helix/analytics/games` and the download of a report's CSV (presigned URL: no
//! credentials go with it, redirects only to safe URLs).

mod common;

use common::*;
use mockito::{Matcher, Server, ServerGuard};
use serde_json::json;
use twitch_drops::{AnalyticsQuery, AnalyticsReport, Credentials, DateRange, Error};

const PATH: &str = "/helix/analytics/games";
const USER_TOKEN: &str = "user-tok-analytics";

fn user_client(server: &ServerGuard) -> TestClient {
    client(
        config(
            server,
            Credentials::UserToken {
                access_token: USER_TOKEN.into(),
                refresh_token: None,
                client_secret: None,
            },
        ),
        &clock(),
    )
}

fn report(url: &str) -> AnalyticsReport {
    AnalyticsReport {
        game_id: "493057".into(),
        url: url.into(),
        report_type: "overview_v2".into(),
        date_range: DateRange::default(),
    }
}

#[test]
fn a_page_of_reports_sends_every_filter_and_decodes() {
    let mut server = Server::new();
    let csv_url = format!("{}/reports/r1.csv?X-Amz-Signature=abc", server.url());
    let mock = server
        .mock("GET", PATH)
        .match_query(Matcher::Exact(
            "game_id=493057&type=overview_v2&started_at=2023-10-01T00%3A00%3A00Z\
             &ended_at=2023-10-31T00%3A00%3A00Z&first=5"
                .into(),
        ))
        .match_header("client-id", CLIENT_ID)
        .match_header("authorization", bearer(USER_TOKEN).as_str())
        .with_body(
            json!({
                "data": [{
                    "game_id": "493057",
                    "URL": csv_url,
                    "type": "overview_v2",
                    "date_range": {
                        "started_at": "2023-10-01T00:00:00Z",
                        "ended_at": "2023-10-31T00:00:00Z",
                    },
                }],
                "pagination": { "cursor": "next-1" },
            })
            .to_string(),
        )
        .expect(1)
        .create();
    let client = user_client(&server);

    let page = client
        .game_analytics(
            &AnalyticsQuery::new()
                .game("493057")
                .report_type("overview_v2")
                .range("2023-10-01", "2023-10-31")
                .first(5),
        )
        .unwrap();

    mock.assert();
    assert_eq!(page.cursor.as_deref(), Some("next-1"));
    assert_eq!(page.reports.len(), 1);
    let report = &page.reports[0];
    assert_eq!(report.game_id, "493057");
    assert_eq!(report.url, csv_url);
    assert_eq!(report.report_type, "overview_v2");
    assert_eq!(report.date_range.started_at, "2023-10-01T00:00:00Z");
    assert_eq!(report.date_range.ended_at, "2023-10-31T00:00:00Z");
}

#[test]
fn rfc3339_midnight_dates_and_a_cursor_are_accepted() {
    let mut server = Server::new();
    let mock = server
        .mock("GET", PATH)
        .match_query(Matcher::Exact(
            "started_at=2023-02-28T00%3A00%3A00Z&ended_at=2023-03-01T00%3A00%3A00Z&first=100&after=c9"
                .into(),
        ))
        .with_body(r#"{"data":[],"pagination":{}}"#)
        .expect(1)
        .create();
    let client = user_client(&server);

    let page = client
        .game_analytics(
            &AnalyticsQuery::new()
                .range("2023-02-28T00:00:00Z", "2023-03-01T00:00:00+00:00")
                .first(100)
                .after("c9"),
        )
        .unwrap();

    mock.assert();
    assert!(page.reports.is_empty());
    assert_eq!(page.cursor, None);
}

#[test]
fn an_app_token_refused_for_analytics_is_unauthorized() {
    let mut server = Server::new();
    let mock = server
        .mock("GET", PATH)
        .match_query(Matcher::Any)
        .with_status(401)
        .with_body(r#"{"error":"Unauthorized","status":401,"message":"Missing scope: analytics:read:games"}"#)
        .expect(1)
        .create();
    let (client, _clock) = static_client(&server);

    let err = client.game_analytics(&AnalyticsQuery::new()).unwrap_err();

    mock.assert();
    assert!(
        matches!(err, Error::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
}

#[test]
fn a_report_download_sends_no_credentials() {
    let mut server = Server::new();
    let csv = "date,game_id,views\n2023-10-01,493057,12\n";
    let mock = server
        .mock("GET", "/reports/r1.csv")
        .match_query(Matcher::Exact(
            "X-Amz-Signature=abc&X-Amz-Expires=300".into(),
        ))
        .match_header("authorization", Matcher::Missing)
        .match_header("client-id", Matcher::Missing)
        .with_header("content-type", "text/csv")
        .with_body(csv)
        .expect(1)
        .create();
    let client = user_client(&server);

    let bytes = client
        .download_report(&report(&format!(
            "{}/reports/r1.csv?X-Amz-Signature=abc&X-Amz-Expires=300",
            server.url()
        )))
        .unwrap();

    mock.assert();
    assert_eq!(bytes, csv.as_bytes());
    assert_eq!(client.requests_sent(), 1);
}

#[test]
fn a_report_download_follows_a_redirect_without_credentials() {
    let mut server = Server::new();
    let moved = server
        .mock("GET", "/reports/r1.csv")
        .with_status(302)
        .with_header("location", &format!("{}/storage/r1.csv", server.url()))
        .expect(1)
        .create();
    let target = server
        .mock("GET", "/storage/r1.csv")
        .match_header("authorization", Matcher::Missing)
        .match_header("client-id", Matcher::Missing)
        .with_body("a,b\n1,2\n")
        .expect(1)
        .create();
    let client = user_client(&server);

    let bytes = client
        .download_report(&report(&format!("{}/reports/r1.csv", server.url())))
        .unwrap();

    moved.assert();
    target.assert();
    assert_eq!(bytes, b"a,b\n1,2\n");
}

#[test]
fn a_redirect_to_plain_http_elsewhere_is_refused() {
    let mut server = Server::new();
    let moved = server
        .mock("GET", "/reports/r1.csv")
        .with_status(302)
        .with_header("location", "http://reports.example.com/r1.csv?sig=secret")
        .expect(1)
        .create();
    let client = user_client(&server);

    let err = client
        .download_report(&report(&format!("{}/reports/r1.csv", server.url())))
        .unwrap_err();

    moved.assert();
    match &err {
        Error::Http {
            status: 302,
            message,
            ..
        } => {
            assert!(
                message.contains("refused to follow a redirect"),
                "{message}"
            );
            assert!(
                !message.contains("sig=secret"),
                "the signature is not shown"
            );
        }
        other => panic!("expected a refused redirect, got {other:?}"),
    }
    assert_eq!(client.requests_sent(), 1);
}

#[test]
fn an_expired_report_url_says_so() {
    let mut server = Server::new();
    let mock = server
        .mock("GET", "/reports/old.csv")
        .with_status(403)
        .with_header("content-type", "application/xml")
        .with_body("<Error><Code>AccessDenied</Code></Error>")
        .expect(1)
        .create();
    let client = user_client(&server);

    let err = client
        .download_report(&report(&format!("{}/reports/old.csv", server.url())))
        .unwrap_err();

    mock.assert();
    match &err {
        Error::Http {
            status: 403,
            message,
            ..
        } => assert!(message.contains("expired"), "{message}"),
        other => panic!("expected Http 403, got {other:?}"),
    }
}

#[test]
fn a_report_url_over_plain_http_elsewhere_is_refused_before_sending() {
    let server = Server::new();
    let client = user_client(&server);

    let err = client
        .download_report(&report("http://reports.example.com/r1.csv"))
        .unwrap_err();

    assert!(
        matches!(err, Error::InvalidInput { field: "url", .. }),
        "{err:?}"
    );
    assert_eq!(client.requests_sent(), 0);
}
