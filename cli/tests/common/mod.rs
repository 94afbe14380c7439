//! What several of the CLI's test programs use: the fake Twitch of one game, and a free
//! loopback port.
#![allow(dead_code)]

use fake_twitch::{FakeConfig, FakeTwitch, Seed};

/// The game of the tests' fakes.
pub const GAME: &str = "509658";

/// A fake holding `entitlements` CLAIMED of [`GAME`], among `users` viewers.
pub fn fake_of_game(entitlements: usize, users: usize, rng_seed: u64) -> FakeTwitch {
    FakeTwitch::start(FakeConfig {
        seed: Seed::claimed_of(GAME, entitlements, users, rng_seed),
        ..FakeConfig::new()
    })
    .expect("fake starts")
}

/// A free loopback port's address, known before a server starts on it.
pub fn free_address() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}
