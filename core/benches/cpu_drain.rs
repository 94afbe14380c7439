//! One drain with the library alone, for `core/benches/cpu/compare.py`: the same job as its
//! Python baseline (list every CLAIMED entitlement of the game, grant each, mark them
//! FULFILLED), with the in-memory journal and a grant that only counts, so what is measured
//! is the library's own work. Reads `TWITCH_CLIENT_ID`, `TWITCH_CLIENT_SECRET`,
//! `TWITCH_HELIX_URL`, `TWITCH_AUTH_URL` and `TWITCH_GAME_ID`; without them (as under
//! `cargo bench`) it says so and does nothing.

use twitch_drops::{
    Client, Config, Credentials, FulfillOptions, GrantOutcome, GrantRequest, MemoryJournal,
};

fn main() {
    let env = |name: &str| std::env::var(name).ok();
    let (Some(id), Some(secret), Some(helix), Some(auth), Some(game)) = (
        env("TWITCH_CLIENT_ID"),
        env("TWITCH_CLIENT_SECRET"),
        env("TWITCH_HELIX_URL"),
        env("TWITCH_AUTH_URL"),
        env("TWITCH_GAME_ID"),
    ) else {
        eprintln!("cpu_drain: run by core/benches/cpu/compare.py (it needs TWITCH_* set)");
        return;
    };
    let config = Config::new(id, Credentials::ClientSecret(secret.into()))
        .with_helix_url(helix)
        .with_auth_url(auth);
    let client = Client::new(config).expect("a valid config");
    // Grants handed out at once (the default 1, or e.g. 100 for a studio whose grant
    // function takes a batch): `compare.py` measures both.
    let grants_in_flight = env("TD_GRANTS_IN_FLIGHT")
        .and_then(|n| n.parse().ok())
        .unwrap_or(twitch_drops::fulfill::DEFAULT_GRANTS_IN_FLIGHT);
    let mut granted = 0u64;
    let report = client
        .fulfill(
            FulfillOptions {
                grants_in_flight,
                ..FulfillOptions::game(game)
            },
            &mut MemoryJournal::new(),
            &mut |_: &GrantRequest| {
                granted += 1;
                GrantOutcome::Granted
            },
        )
        .expect("valid options");
    assert!(report.is_complete(), "{report:?}");
    println!("{{\"fulfilled\":{}}}", report.fulfilled);
}
