//! The fulfillment engine with several steps out at once (`Engine::advance`), answered in a
//! fuzzed order: see `twitch_drops_fuzz::engine` for what is fed and what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| twitch_drops_fuzz::engine::run(data, true));
