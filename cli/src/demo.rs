//! `drops demo`: the whole flow offline. Starts the fake Twitch in-process with seeded
//! entitlements, runs `fulfill` against it, then shows what the fake itself recorded.

use std::collections::HashMap;
use std::process::ExitCode;

use fake_twitch::{FakeConfig, FakeTwitch, Seed};
use twitch_drops::{
    Client, Config, Credentials, FulfillOptions, GrantOutcome, GrantRequest, SystemClock,
    UreqTransport,
};

const GAME: &str = "509658";

pub fn run(entitlements: usize, logging: &crate::log::Logging) -> Result<ExitCode, String> {
    let mut config = FakeConfig::new();
    config.seed = Seed {
        entitlements,
        games: vec![GAME.to_string()],
        foreign_games: vec!["999999".to_string()],
        users: 200,
        fulfilled_fraction: 0.1,
        rng_seed: 7,
    };
    let fake = FakeTwitch::start(config).map_err(|e| format!("could not start the fake: {e}"))?;
    let before = fake.stats();
    let ours = before.games.get(GAME).cloned().unwrap_or_default();
    eprintln!(
        "fake Twitch at {} holding {} CLAIMED and {} FULFILLED entitlements of game {GAME}, \
         and {} of another organization's game (left alone)",
        fake.base_url(),
        ours.claimed,
        ours.fulfilled,
        before.claimed + before.fulfilled - ours.claimed - ours.fulfilled
    );
    let sdk = Config::new(
        fake.client_id(),
        Credentials::ClientSecret(fake.client_secret().into()),
    )
    .with_helix_url(fake.helix_url())
    .with_auth_url(fake.auth_url())
    .with_logger(logging.logger());
    let client = Client::with_transport(sdk, UreqTransport::new(), SystemClock)
        .map_err(|e| e.to_string())?;
    eprintln!("drops fulfill --game {GAME}  (the demo's grant: a set standing for the game)");
    let mut granted: HashMap<String, u32> = HashMap::new();
    let mut grant = |request: &GrantRequest| {
        *granted
            .entry(request.entitlement.id.to_string())
            .or_default() += 1;
        GrantOutcome::Granted
    };
    let mut journal = twitch_drops::MemoryJournal::new();
    let summary = super::fulfill::fulfill(
        &client,
        FulfillOptions::game(GAME),
        &mut journal,
        &mut grant,
        logging.quiet(),
        &|e| e.to_string(),
    )?;
    let twice = granted.values().filter(|n| **n > 1).count();
    eprintln!("granted {} rewards; granted twice: {twice}", granted.len());
    let after = fake.stats();
    let left = after.games.get(GAME).map_or(0, |game| game.claimed);
    eprintln!(
        "the fake's own count: {left} entitlements of game {GAME} left CLAIMED, \
         {} duplicate fulfill attempts, {} requests served",
        after.duplicate_fulfill_attempts, after.requests
    );
    Ok(summary.exit_code())
}
