//! The README's Rust quickstart is `core/examples/quickstart.rs`, word for word, and it
//! drains a real (fake) Twitch server.

// `main` is the example's entry point; the tests call what it runs.
#[allow(dead_code)]
mod quickstart {
    include!("../examples/quickstart.rs");

    pub fn run() -> Result<(), Box<dyn std::error::Error>> {
        drain()
    }
}

mod common;

use common::readme_block;
use fake_twitch::{FakeConfig, FakeTwitch, Seed};

const EXAMPLE: &str = include_str!("../examples/quickstart.rs");

#[test]
fn readme_quickstart_is_the_example() {
    assert_eq!(
        readme_block("<!-- quickstart: core/examples/quickstart.rs -->"),
        EXAMPLE,
        "README's Rust quickstart drifted from core/examples/quickstart.rs"
    );
}

#[test]
fn quickstart_drains_the_fake() {
    let mut config = FakeConfig::new();
    config.seed = Seed {
        entitlements: 2500,
        games: vec!["509658".into()],
        foreign_games: vec!["999999".into()],
        users: 40,
        fulfilled_fraction: 0.2,
        rng_seed: 3,
    };
    let fake = FakeTwitch::start(config).expect("fake starts");
    let claimed_before = fake
        .entitlements()
        .iter()
        .filter(|e| e.game_id == "509658" && e.fulfillment_status == "CLAIMED")
        .count();
    assert!(claimed_before > 1000, "the seed gives several pages");
    // This file holds this one test that touches the environment.
    std::env::set_var("TWITCH_CLIENT_ID", fake.client_id());
    std::env::set_var("TWITCH_CLIENT_SECRET", fake.client_secret());
    std::env::set_var("TWITCH_GAME_ID", "509658");
    std::env::set_var("TWITCH_HELIX_URL", fake.helix_url());
    std::env::set_var("TWITCH_AUTH_URL", fake.auth_url());
    // The example writes its journal in the working directory.
    let dir = std::env::temp_dir().join(format!("drops-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    std::env::set_current_dir(&dir).expect("cd");

    quickstart::run().expect("the quickstart runs");

    let left = fake
        .entitlements()
        .iter()
        .filter(|e| e.game_id == "509658" && e.fulfillment_status == "CLAIMED")
        .count();
    assert_eq!(
        left, 0,
        "every CLAIMED entitlement of the game was fulfilled"
    );
    let journal = std::fs::read_to_string(dir.join("drops.journal")).expect("the journal");
    assert!(
        journal.contains("\"settled\""),
        "the run journaled its grants"
    );
    std::fs::remove_dir_all(&dir).ok();
    let stats = fake.stats();
    assert_eq!(stats.duplicate_fulfill_attempts, 0);
    let pages = claimed_before.div_ceil(1000);
    let updates = claimed_before.div_ceil(100);
    assert_eq!(
        stats.requests_by_route.values().sum::<usize>() - stats.tokens_issued,
        pages + updates + 1,
        "minimum requests and the final pass's page: {:?}",
        stats.requests_by_route
    );
}
