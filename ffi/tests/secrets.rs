//! Issue 16 on the C ABI: a server that echoes the request (client secret, bearer token) in
//! its error body gets neither into `td_error_message` nor `td_error_twitch_message`, and a
//! base URL's password never reaches a message.

use std::ffi::{c_char, CStr, CString};
use std::io::{Read, Write};
use std::ptr;

use twitchdrops::client::*;
use twitchdrops::config::*;
use twitchdrops::entitlements::*;
use twitchdrops::error::*;
use twitchdrops::result::td_result;

const CLIENT_SECRET: &str = "ffi-client-secret-0123456789";
const ACCESS_TOKEN: &str = "ffi-access-token-0123456789";

/// A loopback server answering every request 400 with the whole request as Twitch's message.
fn echo_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then the body its Content-Length announces.
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request).to_string();
                if let Some(at) = text.find("\r\n\r\n") {
                    let length = text
                        .lines()
                        .find_map(|l| {
                            let (n, v) = l.split_once(':')?;
                            n.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if request.len() >= at + 4 + length {
                        break;
                    }
                }
            }
            let message = String::from_utf8_lossy(&request).to_string();
            let body = serde_json::json!({"error": "Bad Request", "status": 400,
                                          "message": message})
            .to_string();
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 400 X\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    url
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

type Copier = unsafe extern "C" fn(*const td_error, *mut c_char, usize, *mut usize) -> td_result;

fn copied(error: *const td_error, copy: Copier) -> String {
    let mut buf = vec![0 as c_char; 1 << 16];
    let mut written = 0usize;
    let result = unsafe { copy(error, buf.as_mut_ptr(), buf.len(), &mut written) };
    assert_eq!(result, td_result::TD_OK);
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// Makes a client over `helix` with `credentials` set, asks for a page, and returns the
/// error's message and Twitch message (or the `td_client_new` failure's message).
fn failure(helix: &str, auth: &str, set: impl Fn(*mut td_client_config)) -> (String, String) {
    unsafe {
        let error = td_error_new();
        let mut config = ptr::null_mut();
        assert_eq!(
            td_client_config_new(c("cid").as_ptr(), &mut config, error),
            td_result::TD_OK
        );
        set(config);
        td_client_config_set_helix_url(config, c(helix).as_ptr());
        td_client_config_set_auth_url(config, c(auth).as_ptr());
        let mut client = ptr::null_mut();
        if td_client_new(config, &mut client, error) == td_result::TD_OK {
            let query = td_entitlements_query_new();
            td_entitlements_query_set_game_id(query, c("509658").as_ptr());
            let mut page = ptr::null_mut();
            assert_ne!(
                td_client_entitlements_page(client, query, &mut page, error),
                td_result::TD_OK
            );
            td_entitlements_query_free(query);
            td_client_free(client);
        }
        td_client_config_free(config);
        let shown = (
            copied(error, td_error_message),
            copied(error, td_error_twitch_message),
        );
        td_error_free(error);
        shown
    }
}

fn assert_clean(what: &str, (message, twitch): &(String, String)) {
    for secret in [CLIENT_SECRET, ACCESS_TOKEN] {
        assert!(
            !message.contains(secret),
            "{what}: td_error_message: {message}"
        );
        assert!(
            !twitch.contains(secret),
            "{what}: td_error_twitch_message: {twitch}"
        );
    }
}

#[test]
fn echoed_secrets_never_reach_the_error_buffers() {
    let base = echo_server();
    let (helix, auth) = (format!("{base}/helix"), format!("{base}/oauth2"));
    let shown = failure(&helix, &auth, |config| unsafe {
        td_client_config_set_client_secret(config, c(CLIENT_SECRET).as_ptr());
    });
    assert_clean("client secret", &shown);
    assert!(shown.1.contains("<redacted>"), "no echo: {shown:?}");

    let shown = failure(&helix, &auth, |config| unsafe {
        td_client_config_set_access_token(config, c(ACCESS_TOKEN).as_ptr());
    });
    assert_clean("access token", &shown);
    assert!(shown.1.contains("<redacted>"), "no echo: {shown:?}");
}

#[test]
fn a_base_url_password_never_reaches_a_message() {
    let shown = failure(
        "http://studio:hunter2-password@api.example.com/helix",
        "https://id.twitch.tv/oauth2",
        |config| unsafe {
            td_client_config_set_client_secret(config, c(CLIENT_SECRET).as_ptr());
        },
    );
    assert!(shown.0.contains("api.example.com"), "{shown:?}");
    assert!(!shown.0.contains("hunter2"), "{shown:?}");
}
