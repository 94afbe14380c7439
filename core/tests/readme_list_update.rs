//! The README's Rust listing-and-updating example is `core/examples/list_and_update.rs`,
//! word for word, and it fulfills a game's entitlements on a real (fake) Twitch server.

// `main` is the example's entry point; the tests call what it runs.
#[allow(dead_code)]
mod list_and_update {
    include!("../examples/list_and_update.rs");

    pub fn run() -> Result<(), Box<dyn std::error::Error>> {
        list_and_update()
    }
}

mod common;

use common::readme_block;
use fake_twitch::{FakeConfig, FakeTwitch, Seed};

const EXAMPLE: &str = include_str!("../examples/list_and_update.rs");
// Not `<!-- example: `: ffi/tests/packaging.rs checks those blocks as C and C++.
const MARKER: &str = "<!-- rust-example: core/examples/list_and_update.rs -->";

#[test]
fn readme_block_is_the_example() {
    assert_eq!(
        readme_block(MARKER),
        EXAMPLE,
        "README's listing example drifted from core/examples/list_and_update.rs"
    );
}

#[test]
fn the_example_lists_and_fulfills_every_claimed_entitlement() {
    let mut config = FakeConfig::new();
    config.seed = Seed {
        entitlements: 1500,
        games: vec!["509658".into()],
        foreign_games: vec!["999999".into()],
        users: 30,
        fulfilled_fraction: 0.2,
        rng_seed: 9,
    };
    let fake = FakeTwitch::start(config).expect("fake starts");
    let claimed = |fake: &FakeTwitch| {
        fake.stats()
            .games
            .get("509658")
            .map_or(0, |game| game.claimed)
    };
    let before = claimed(&fake);
    assert!(before > 1000, "the seed gives two pages");
    // The only test in this file: it alone sets the environment.
    std::env::set_var("TWITCH_CLIENT_ID", fake.client_id());
    std::env::set_var("TWITCH_CLIENT_SECRET", fake.client_secret());
    std::env::set_var("TWITCH_GAME_ID", "509658");
    std::env::set_var("TWITCH_HELIX_URL", fake.helix_url());
    std::env::set_var("TWITCH_AUTH_URL", fake.auth_url());

    list_and_update::run().expect("the example runs");

    let stats = fake.stats();
    assert_eq!(
        claimed(&fake),
        0,
        "every CLAIMED entitlement of the game fulfilled"
    );
    assert!(
        stats.games["999999"].claimed > 0,
        "another organization's are left alone"
    );
    assert_eq!(stats.duplicate_fulfill_attempts, 0);
    assert_eq!(
        stats.requests,
        before.div_ceil(1000) + before.div_ceil(100) + 1,
        "pages, batches of 100 and the token: {:?}",
        stats.requests_by_route
    );
}
