//! The fulfillment engine, one step at a time (`Engine::resume`): see
//! `twitch_drops_fuzz::engine` for what is fed and what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| twitch_drops_fuzz::engine::run(data, false));
