//! Shared helpers: a ureq agent that never turns statuses into errors, and shortcuts for
//! the calls every test makes.
#![allow(dead_code)]

use std::time::Duration;

use fake_twitch::{FakeConfig, FakeTwitch, Seed};
use serde_json::Value;

/// A response read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn header_u64(&self, name: &str) -> u64 {
        self.header(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .parse()
            .unwrap()
    }

    /// `message` of an error body.
    pub fn message(&self) -> String {
        self.json()["message"].as_str().unwrap_or("").to_string()
    }

    /// Ids of `data`.
    pub fn ids(&self) -> Vec<String> {
        self.json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    }

    pub fn cursor(&self) -> Option<String> {
        self.json()["pagination"]["cursor"]
            .as_str()
            .map(str::to_string)
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

/// An agent that never reuses a connection.
pub fn fresh_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .max_idle_connections(0)
        .max_idle_connections_per_host(0)
        .build()
        .into()
}

pub fn read(mut response: ureq::http::Response<ureq::Body>) -> Result<Resp, ureq::Error> {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = response.body_mut().read_to_string()?;
    Ok(Resp {
        status,
        headers,
        body,
    })
}

pub fn start() -> FakeTwitch {
    FakeTwitch::start(FakeConfig::new()).expect("fake starts")
}

pub fn start_with(edit: impl FnOnce(&mut FakeConfig)) -> FakeTwitch {
    let mut config = FakeConfig::new();
    edit(&mut config);
    FakeTwitch::start(config).expect("fake starts")
}

/// A small, easy-to-reason-about seed: 100 entitlements, 5 users, none fulfilled.
pub fn small_seed() -> Seed {
    Seed {
        entitlements: 100,
        users: 5,
        fulfilled_fraction: 0.0,
        ..Seed::standard()
    }
}

pub fn get(url: &str, headers: &[(&str, &str)]) -> Resp {
    let mut req = agent().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    read(req.call().expect("GET completes")).expect("body reads")
}

pub fn post_form(url: &str, pairs: &[(&str, &str)]) -> Resp {
    read(
        agent()
            .post(url)
            .send_form(pairs.iter().copied())
            .expect("POST completes"),
    )
    .expect("body reads")
}

pub fn post_json(url: &str, body: &Value) -> Resp {
    read(
        agent()
            .post(url)
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .expect("POST completes"),
    )
    .expect("body reads")
}

/// A client-credentials token fetched over HTTP.
pub fn app_token(fake: &FakeTwitch) -> String {
    let resp = post_form(
        &format!("{}/token", fake.auth_url()),
        &[
            ("client_id", &fake.client_id()),
            ("client_secret", &fake.client_secret()),
            ("grant_type", "client_credentials"),
        ],
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()["access_token"].as_str().unwrap().to_string()
}

/// GET `{helix}{path_and_query}` with the fake's client id and `token`.
pub fn helix_get(fake: &FakeTwitch, token: &str, path_and_query: &str) -> Resp {
    try_helix_get(&agent(), fake, token, path_and_query).expect("GET completes")
}

pub fn try_helix_get(
    agent: &ureq::Agent,
    fake: &FakeTwitch,
    token: &str,
    path_and_query: &str,
) -> Result<Resp, ureq::Error> {
    let response = agent
        .get(format!("{}{path_and_query}", fake.helix_url()))
        .header("Client-Id", fake.client_id())
        .header("Authorization", format!("Bearer {token}"))
        .call()?;
    read(response)
}

/// PATCH `/helix/entitlements/drops` with a JSON body.
pub fn helix_patch(fake: &FakeTwitch, token: &str, body: &Value) -> Resp {
    try_helix_patch(
        &agent(),
        fake,
        token,
        "/entitlements/drops",
        &body.to_string(),
    )
    .expect("PATCH completes")
}

pub fn try_helix_patch(
    agent: &ureq::Agent,
    fake: &FakeTwitch,
    token: &str,
    path: &str,
    body: &str,
) -> Result<Resp, ureq::Error> {
    let response = agent
        .patch(format!("{}{path}", fake.helix_url()))
        .header("Client-Id", fake.client_id())
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(body)?;
    read(response)
}

/// `{"entitlement_ids": ids, "fulfillment_status": status}`.
pub fn update_body(ids: &[&str], status: &str) -> Value {
    serde_json::json!({ "entitlement_ids": ids, "fulfillment_status": status })
}

/// The outcome groups of a PATCH answer as (status, ids).
pub fn groups(resp: &Resp) -> Vec<(String, Vec<String>)> {
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["status"].as_str().unwrap().to_string(),
                g["ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

/// Ids listed under `status` in a PATCH answer.
pub fn group(resp: &Resp, status: &str) -> Vec<String> {
    groups(resp)
        .into_iter()
        .find(|(s, _)| s == status)
        .map(|(_, ids)| ids)
        .unwrap_or_default()
}

/// Page through a listing until `pagination` is `{}`; returns all ids.
pub fn list_all(fake: &FakeTwitch, token: &str, query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..10_000 {
        let q = match &after {
            Some(c) => format!("{query}&after={c}"),
            None => query.to_string(),
        };
        let resp = helix_get(fake, token, &format!("/entitlements/drops?{q}"));
        assert_eq!(resp.status, 200, "{}", resp.body);
        ids.extend(resp.ids());
        match resp.cursor() {
            Some(c) => after = Some(c),
            None => {
                assert_eq!(resp.json()["pagination"], serde_json::json!({}));
                return ids;
            }
        }
    }
    panic!("paging never ended");
}
