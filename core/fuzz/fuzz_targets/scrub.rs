//! `scrub` with a live secret and any text around any spelling of it: the secret never
//! survives, and text that holds no trace of it comes back unchanged.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use twitch_drops::{scrub, Secret, MIN_SCRUBBED_BYTES};

#[derive(Arbitrary, Debug)]
struct Input {
    secret: String,
    before: String,
    after: String,
    /// 0: as is, 1: repeated, 2: not included at all.
    how: u8,
}

fuzz_target!(|input: Input| {
    if input.secret.len() < MIN_SCRUBBED_BYTES {
        return;
    }
    let secret = Secret::new(input.secret.clone());
    let middle = match input.how % 3 {
        0 => input.secret.clone(),
        1 => input.secret.repeat(3),
        _ => String::new(),
    };
    let text = format!("{}{middle}{}", input.before, input.after);
    let scrubbed = scrub(&text);
    assert!(
        !scrubbed.contains(&input.secret),
        "{:?} survives in {scrubbed:?}",
        input.secret
    );
    let traceless = !text.contains(&input.secret)
        && !text.contains('%')
        && !text.contains('+')
        && !text.contains('\\');
    if traceless {
        assert_eq!(scrubbed, text, "text without the secret was changed");
    }
    drop(secret);
});
