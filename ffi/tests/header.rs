//! `include/twitch_drops.h` is generated from this crate by cbindgen 0.29.4 with
//! `ffi/cbindgen.toml`, and checked in. This test regenerates it and fails when the checked-in
//! header differs; `TD_BLESS_HEADER=1` writes the new one instead.

use std::path::PathBuf;

#[test]
fn header_matches_the_code() {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let header_path = crate_dir.join("../include/twitch_drops.h");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("ffi/cbindgen.toml is readable");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("the header is UTF-8");

    if std::env::var_os("TD_BLESS_HEADER").is_some() {
        std::fs::write(&header_path, &generated).expect("include/twitch_drops.h is writable");
        return;
    }
    let checked_in = std::fs::read_to_string(&header_path).unwrap_or_default();
    if checked_in != generated {
        let first_difference = checked_in
            .lines()
            .zip(generated.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| format!("line {}:\n  checked in: {a}\n  generated:  {b}", i + 1))
            .unwrap_or_else(|| {
                format!(
                    "one is a prefix of the other ({} vs {} lines)",
                    checked_in.lines().count(),
                    generated.lines().count()
                )
            });
        panic!(
            "include/twitch_drops.h is out of date with ffi/src ({first_difference}).\n\
             Regenerate it and review the diff:\n  \
             TD_BLESS_HEADER=1 cargo test -p twitch-drops-ffi --test header && git diff include/"
        );
    }
}
