//! The fulfillment engine driven by a non-blocking host (`HostedRun`), steps answered in a
//! fuzzed order: see `twitch_drops_fuzz::hosted` for what is fed and what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| twitch_drops_fuzz::hosted::run(data));
