//! The README's logs-and-metrics example is `core/examples/logs_and_metrics.rs`, word for
//! word, and against a faulty (fake) Twitch it warns once per retry and counts them.

// `main` is the example's entry point; the test calls what it runs.
#[allow(dead_code)]
mod logs_and_metrics {
    include!("../examples/logs_and_metrics.rs");

    pub fn drain() -> Result<(), Box<dyn std::error::Error>> {
        run()
    }
}

mod common;

use common::readme_block;
use fake_twitch::{FakeConfig, FakeTwitch, Faults, Seed};

const EXAMPLE: &str = include_str!("../examples/logs_and_metrics.rs");
const MARKER: &str = "<!-- rust-example: core/examples/logs_and_metrics.rs -->";

#[test]
fn readme_block_is_the_example() {
    assert_eq!(readme_block(MARKER), EXAMPLE, "the README's block drifted");
}

#[test]
fn the_example_drains_a_faulty_fake() {
    let mut config = FakeConfig::new();
    config.seed = Seed::claimed_of("509658", 1200, 30, 3);
    config.faults = Faults {
        error_5xx_rate: 0.2,
        rng_seed: 8,
        ..Faults::default()
    };
    let fake = FakeTwitch::start(config).expect("fake starts");
    // The only test in this file that sets the environment.
    std::env::set_var("TWITCH_CLIENT_ID", fake.client_id());
    std::env::set_var("TWITCH_CLIENT_SECRET", fake.client_secret());
    std::env::set_var("TWITCH_GAME_ID", "509658");
    std::env::set_var("TWITCH_HELIX_URL", fake.helix_url());
    std::env::set_var("TWITCH_AUTH_URL", fake.auth_url());
    logs_and_metrics::drain().expect("the example drains");
    let left = fake.stats().games.get("509658").map_or(0, |g| g.claimed);
    assert_eq!(left, 0);
    assert!(
        fake.stats().faults_injected.values().sum::<usize>() > 0,
        "faults were met"
    );
}
