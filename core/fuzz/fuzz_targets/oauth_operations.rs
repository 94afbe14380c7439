//! The OAuth decoders through the public API: `token::validate`, a client-credentials
//! fetch, a refresh, and the device flow (start, then poll with the code the fuzzed answer
//! gave), each driven by `Operation::resume` with fuzzed responses. None may panic or hang;
//! token requests carry no `Authorization` header; the validate call carries only the
//! token it was given; a decoded token's `Debug` does not depend on the secrets in it.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use twitch_drops::{
    device, token, Authorization, Config, Credentials, DeviceCode, HttpRequest, OAuthToken,
    TokenStore, ANALYTICS_SCOPE,
};
use twitch_drops_fuzz::{drive, number, pick, rare, show, text, NOW_MS, TOKEN};

fn shaped(request: &HttpRequest, u: &mut Unstructured) -> Value {
    if request.url.ends_with("/token") {
        let scope = if rare(u, 2) {
            json!([ANALYTICS_SCOPE])
        } else {
            json!(text(u, &["analytics:read:games user:read:email", ""]))
        };
        json!({
            "access_token": text(u, &["fetched-Zq81Kd", ""]),
            "refresh_token": text(u, &["refresh-Tb56Yu", ""]),
            "expires_in": number(u),
            "scope": scope,
            "token_type": "bearer",
        })
    } else if request.url.ends_with("/device") {
        json!({
            "device_code": "device-Hj29Kl",
            "user_code": text(u, &["ABCDEFGH"]),
            "verification_uri": "https://www.twitch.tv/activate",
            "expires_in": number(u),
            "interval": number(u),
        })
    } else {
        json!({
            "client_id": "cid",
            "login": text(u, &["viewer"]),
            "user_id": text(u, &["141981764"]),
            "scopes": [ANALYTICS_SCOPE],
            "expires_in": number(u),
        })
    }
}

/// Token requests send no credentials in headers; validate sends the token it was given.
fn check(request: &HttpRequest) {
    let authorization = request.header("authorization");
    if request.url.ends_with("/validate") {
        assert_eq!(authorization, Some(format!("OAuth {TOKEN}").as_str()));
    } else {
        assert_eq!(authorization, None, "{request:?}");
    }
    assert!(
        request.url.starts_with("https://id.twitch.tv/oauth2/"),
        "{}",
        request.url
    );
}

/// `Debug` of a token must not depend on its secrets.
fn check_redacted(token: &OAuthToken) {
    let blank = OAuthToken {
        access_token: "other".into(),
        refresh_token: token.refresh_token.as_ref().map(|_| "other".into()),
        ..token.clone()
    };
    assert_eq!(format!("{token:?}"), format!("{blank:?}"));
}

fn check_code_redacted(code: &DeviceCode) {
    let blank = DeviceCode {
        device_code: "other".into(),
        ..code.clone()
    };
    assert_eq!(format!("{code:?}"), format!("{blank:?}"));
}

/// Runs a token fetch, installs what it got, and asks the store again.
fn fetch_and_install(u: &mut Unstructured, store: &mut TokenStore, rejected: Option<u64>) {
    let Authorization::Fetch(mut fetch) = store.authorize(rejected, NOW_MS) else {
        return;
    };
    match drive(&mut fetch, u, &mut shaped, &mut check).expect("a token fetch ends") {
        Ok(fetched) => {
            check_redacted(&fetched);
            let installed = store.install(fetched, NOW_MS);
            let _ = format!("{installed:?} {store:?}");
            let later = u.int_in_range(0..=7_200_000u64).unwrap_or(0);
            let _ = store.authorize(None, NOW_MS + later);
            let _ = store.authorize(Some(installed.id()), NOW_MS + later);
            if let Some(user) = store.user_token() {
                check_redacted(&user);
            }
        }
        Err(e) => show(&e),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let u = &mut u;
    let which = *pick(u, &[&0u8, &1, &2, &3]);
    match which {
        0 => {
            let config = Config::new("cid", Credentials::AccessToken(TOKEN.into()));
            let mut validate = token::validate(&config);
            match drive(&mut validate, u, &mut shaped, &mut check).expect("validate ends") {
                Ok(info) => {
                    let _ = format!("{info:?}");
                }
                Err(e) => show(&e),
            }
        }
        1 => {
            let config = Config::new("cid", Credentials::ClientSecret("csecret-Q7fGh2".into()));
            let mut store = TokenStore::new(&config);
            fetch_and_install(u, &mut store, None);
        }
        2 => {
            let config = Config::new(
                "cid",
                Credentials::UserToken {
                    access_token: TOKEN.into(),
                    refresh_token: Some("refresh-Tb56Yu".into()),
                    client_secret: None,
                },
            );
            let mut store = TokenStore::new(&config);
            fetch_and_install(u, &mut store, Some(1));
        }
        _ => {
            let config = Config::new("cid", Credentials::None);
            let mut start =
                device::start_device_flow(&config, &[ANALYTICS_SCOPE]).expect("valid scopes");
            let code = match drive(&mut start, u, &mut shaped, &mut check).expect("start ends") {
                Ok(code) => code,
                Err(e) => return show(&e),
            };
            check_code_redacted(&code);
            let mut poll = device::poll_device_flow(&config, &code);
            match drive(&mut poll, u, &mut shaped, &mut check).expect("polling ends") {
                Ok(token) => check_redacted(&token),
                Err(e) => show(&e),
            }
        }
    }
});
