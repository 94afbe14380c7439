//! The C entry points that take strings (`ffi/`), called the way C would: NUL-terminated
//! strings of any bytes (invalid UTF-8 too) or NULL, for the client id, credentials, URLs,
//! user agent, query filters, dates, entitlement ids, scopes, report URLs and transport
//! error messages; then the step API fed fuzzed responses, and error messages copied into
//! buffers of every size. Never a panic (even one the panic boundary would catch), never a
//! memory error or leak (ASan), and a copied message is always NUL-terminated in bounds.
#![no_main]

use std::ffi::{c_char, CString};
use std::ptr::{null, null_mut};

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use twitch_drops_fuzz::{pick, rare, text, NOW_MS};
use twitchdrops::analytics::*;
use twitchdrops::client::*;
use twitchdrops::config::*;
use twitchdrops::entitlements::*;
use twitchdrops::error::*;
use twitchdrops::op::*;
use twitchdrops::result::td_result;
use twitchdrops::token::*;
use twitchdrops::update::*;

/// A C string: usually one of `usual`, sometimes any bytes (cut at the first NUL, as C
/// reads them), now and then NULL.
fn c_string(u: &mut Unstructured, usual: &[&str]) -> Option<CString> {
    if rare(u, 16) {
        return None;
    }
    let bytes: Vec<u8> = if rare(u, 3) {
        u.arbitrary().unwrap_or_default()
    } else {
        text(u, usual).into_bytes()
    };
    let cut = bytes.split(|b| *b == 0).next().unwrap_or(&[]).to_vec();
    Some(CString::new(cut).expect("cut at the first NUL"))
}

fn ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(null(), |s| s.as_ptr())
}

/// Copies the error's message into a buffer of a fuzzed size and checks the contract.
unsafe fn read_error(u: &mut Unstructured, error: *mut td_error) {
    let len = *pick(u, &[&256usize, &0, &1, &8, &4096]);
    let mut buf = vec![0x55 as c_char; len];
    let mut written = usize::MAX;
    let buf_ptr = if len == 0 {
        null_mut()
    } else {
        buf.as_mut_ptr()
    };
    let code = td_error_message(error, buf_ptr, len, &mut written);
    match code {
        td_result::TD_OK => {
            assert!(written < len, "{written} bytes in a buffer of {len}");
            assert_eq!(buf[written], 0, "NUL-terminated");
        }
        td_result::TD_BUFFER_TOO_SMALL => assert!(written > len, "needs {written} > {len}"),
        other => panic!("td_error_message answered {other:?}"),
    }
    let _ = (
        td_error_code(error),
        td_error_http_status(error),
        td_error_transport_kind(error),
    );
    let mut buf = vec![0 as c_char; 64];
    let _ = td_error_twitch_message(error, buf.as_mut_ptr(), buf.len(), &mut written);
}

unsafe fn entitlements_query(u: &mut Unstructured) -> *mut td_entitlements_query {
    let query = td_entitlements_query_new();
    for _ in 0..u.int_in_range(0..=4u8).unwrap_or(0) {
        let s = c_string(u, &["e1", "509658", "cursor", ""]);
        let _ = match u.int_in_range(0..=5u8).unwrap_or(0) {
            0 => td_entitlements_query_add_id(query, ptr(&s)),
            1 => td_entitlements_query_set_user_id(query, ptr(&s)),
            2 => td_entitlements_query_set_game_id(query, ptr(&s)),
            3 => td_entitlements_query_set_after(query, ptr(&s)),
            4 => td_entitlements_query_set_status(query, u.arbitrary().unwrap_or(1)),
            _ => td_entitlements_query_set_first(query, u.arbitrary().unwrap_or(1000)),
        };
    }
    query
}

unsafe fn analytics_query(u: &mut Unstructured) -> *mut td_analytics_query {
    let query = td_analytics_query_new();
    for _ in 0..u.int_in_range(0..=4u8).unwrap_or(0) {
        let dates = [
            "2023-10-01",
            "2023-10-01T00:00:00Z",
            "2023-10-01T01:00:00+01:00",
            "",
        ];
        let s = c_string(u, &dates);
        let t = c_string(u, &dates);
        let _ = match u.int_in_range(0..=4u8).unwrap_or(0) {
            0 => td_analytics_query_set_game_id(query, ptr(&s)),
            1 => td_analytics_query_set_type(query, ptr(&s)),
            2 => td_analytics_query_set_range(query, ptr(&s), ptr(&t)),
            3 => td_analytics_query_set_after(query, ptr(&s)),
            _ => td_analytics_query_set_first(query, u.arbitrary().unwrap_or(100)),
        };
    }
    query
}

/// Starts one operation with fuzzed string arguments; NULL when refused.
unsafe fn begin(
    u: &mut Unstructured,
    client: *const td_client,
    error: *mut td_error,
) -> (*mut td_op, u8) {
    let mut op = null_mut();
    let which = u.int_in_range(0..=4u8).unwrap_or(0);
    let code = match which {
        0 => {
            let url = c_string(
                u,
                &[
                    "https://reports.example.com/r.csv?sig=1",
                    "http://evil.example.com/r.csv",
                    "http://127.0.0.1:1/r.csv",
                ],
            );
            td_client_begin_download_report(client, ptr(&url), &mut op, error)
        }
        1 | 2 => {
            let n = u.int_in_range(0..=4usize).unwrap_or(1);
            let strings: Vec<Option<CString>> = (0..n)
                .map(|_| c_string(u, &["e1", "e2", "analytics:read:games", " "]))
                .collect();
            let ptrs: Vec<*const c_char> = strings.iter().map(ptr).collect();
            let array = if rare(u, 16) { null() } else { ptrs.as_ptr() };
            let count = if rare(u, 16) { n + 1 } else { n }.min(ptrs.len());
            if which == 1 {
                let status = *pick(u, &[&1u32, &2, &0, &7]);
                td_client_begin_update_entitlements(client, array, count, status, &mut op, error)
            } else {
                td_client_begin_start_device_flow(client, array, count, &mut op, error)
            }
        }
        3 => {
            let query = entitlements_query(u);
            let code = td_client_begin_entitlements_page(client, query, &mut op, error);
            td_entitlements_query_free(query);
            code
        }
        _ => {
            let query = analytics_query(u);
            let code = td_client_begin_game_analytics(client, query, &mut op, error);
            td_analytics_query_free(query);
            code
        }
    };
    if code != td_result::TD_OK {
        read_error(u, error);
        assert!(op.is_null(), "an output written on failure");
    }
    (op, which)
}

/// Polls `op` to its end, answering with fuzzed bodies and transport errors, then takes
/// its value.
unsafe fn run(u: &mut Unstructured, op: *mut td_op, which: u8, error: *mut td_error) {
    let mut step = td_step {
        kind: td_step_kind::TD_STEP_DONE,
        request: null(),
        sleep_ms: 0,
        result: td_result::TD_OK,
    };
    for _ in 0..500 {
        if td_op_poll(op, NOW_MS, &mut step, error) != td_result::TD_OK {
            return read_error(u, error);
        }
        let code = match step.kind {
            td_step_kind::TD_STEP_SEND if rare(u, 6) => {
                let message = c_string(u, &["connection reset"]);
                let kind = u.int_in_range(0..=5u32).unwrap_or(1);
                td_op_feed_transport_error(op, kind, ptr(&message), error)
            }
            td_step_kind::TD_STEP_SEND => {
                let status = *pick(u, &[&200u16, &401, &429, &500, &302, &400]);
                let len = u.int_in_range(0..=512usize).unwrap_or(0);
                let body = u.bytes(len).unwrap_or_default();
                let body_ptr = if body.is_empty() {
                    null()
                } else {
                    body.as_ptr()
                };
                td_op_feed_response(op, status, null(), 0, body_ptr, body.len(), error)
            }
            td_step_kind::TD_STEP_SLEEP => td_op_feed_slept(op, error),
            td_step_kind::TD_STEP_DONE => break,
        };
        if code != td_result::TD_OK {
            read_error(u, error);
        }
    }
    if step.kind != td_step_kind::TD_STEP_DONE {
        return;
    }
    let taken = match which {
        0 => {
            let mut bytes = null_mut();
            let code = td_op_take_bytes(op, &mut bytes, error);
            td_bytes_free(bytes);
            code
        }
        1 => {
            let mut report = null_mut();
            let code = td_op_take_update_report(op, &mut report, error);
            td_update_report_free(report);
            code
        }
        2 => {
            let mut code_out = null_mut();
            let code = td_op_take_device_code(op, &mut code_out, error);
            td_device_code_free(code_out);
            code
        }
        3 => {
            let mut page = null_mut();
            let code = td_op_take_entitlements_page(op, &mut page, error);
            if !page.is_null() {
                for i in 0..td_entitlements_page_count(page) {
                    let _ = td_entitlement_id(td_entitlements_page_get(page, i));
                }
            }
            td_entitlements_page_free(page);
            code
        }
        _ => {
            let mut page = null_mut();
            let code = td_op_take_analytics_page(op, &mut page, error);
            td_analytics_page_free(page);
            code
        }
    };
    if taken != td_result::TD_OK {
        read_error(u, error);
    }
    // A second take, or one of the wrong kind, is refused cleanly.
    let mut info = null_mut();
    assert_ne!(
        td_op_take_token_info(op, &mut info, error),
        td_result::TD_OK
    );
    assert!(info.is_null());
    td_token_info_free(info);
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let u = &mut u;
    unsafe {
        let error = td_error_new();
        let client_id = c_string(u, &["cid", " "]);
        let mut config = null_mut();
        if td_client_config_new(ptr(&client_id), &mut config, error) != td_result::TD_OK {
            read_error(u, error);
            assert!(config.is_null());
            td_error_free(error);
            return;
        }
        for _ in 0..u.int_in_range(0..=5u8).unwrap_or(1) {
            let urls = [
                "https://api.twitch.tv/helix",
                "http://127.0.0.1:1/helix",
                "http://api.twitch.tv/helix",
            ];
            let a = c_string(u, &["tok-3f9a", "https://api.twitch.tv/helix", ""]);
            let b = c_string(u, &urls);
            let c = c_string(u, &["secret"]);
            let _ = match u.int_in_range(0..=6u8).unwrap_or(0) {
                0 => td_client_config_set_access_token(config, ptr(&a)),
                1 => td_client_config_set_client_secret(config, ptr(&a)),
                2 => td_client_config_set_user_token(config, ptr(&a), ptr(&b), ptr(&c)),
                3 => td_client_config_set_helix_url(config, ptr(&b)),
                4 => td_client_config_set_auth_url(config, ptr(&b)),
                5 => td_client_config_set_user_agent(config, ptr(&a)),
                _ => td_client_config_set_max_body_bytes(config, u.arbitrary().unwrap_or(1024)),
            };
        }
        let mut client = null_mut();
        let made = td_client_new(config, &mut client, error);
        td_client_config_free(config);
        if made != td_result::TD_OK {
            read_error(u, error);
            assert!(client.is_null());
        } else {
            let (op, which) = begin(u, client, error);
            if !op.is_null() {
                run(u, op, which, error);
                td_op_free(op);
            }
            td_client_free(client);
        }
        td_error_free(error);
    }
});
