//! `fake-twitch`: run the fake for C, Node and browser tests.
//!
//! Prints one JSON line (`base_url`, `helix_url`, `auth_url`, `client_id`,
//! `client_secret`, `games`, `foreign_games`, `organization_id`) once listening, or with `--env` the same as
//! `export TWITCH_…=…` lines, then serves until killed, or until standard input closes with
//! `--exit-on-stdin-close`.

use std::io::{Read, Write};
use std::process::ExitCode;

use fake_twitch::{FakeConfig, FakeTwitch, Faults, Seed, DEFAULT_GAME, ORGANIZATION_ID};

const USAGE: &str = "\
usage: fake-twitch [options]
  --port N                 port on 127.0.0.1 (default 0: any free port)
  --entitlements N         seeded entitlements (default 1000)
  --games G1,G2            our organization's game ids (default 509658)
  --foreign-games G1,G2    another organization's game ids (default 999999)
  --users N                distinct viewers (default 50)
  --fulfilled F            share seeded FULFILLED, 0..1 (default 0.2)
  --seed S                 seed of the data generator (default 42)
  --faults JSON            initial faults, e.g. '{\"error_5xx_rate\":0.1}'
  --rate-limit PER_MIN     bucket refill per minute, 0 = off (default 800)
  --rate-limit-burst N     bucket size (default: same as --rate-limit)
  --client-id ID           (default fake-client-id)
  --client-secret SECRET   (default fake-client-secret)
  --token-ttl SECS         access token lifetime (default 3600)
  --report-ttl SECS        analytics report URL lifetime (default 300)
  --env                    print `export TWITCH_…=…` lines (shell syntax) instead of the
                           JSON line: TWITCH_CLIENT_ID, TWITCH_CLIENT_SECRET,
                           TWITCH_HELIX_URL, TWITCH_AUTH_URL, TWITCH_GAME_ID (the first of
                           --games), TWITCH_ORGANIZATION_ID (the games' organization, for
                           EventSub), FAKE_TWITCH_URL (the base of the /_fake/ routes)
  --exit-on-stdin-close    stop when standard input reaches end of file
  --help                   this text

Once listening it prints one JSON line: base_url, helix_url, auth_url, client_id,
client_secret, games (ours), foreign_games and organization_id. `POST /_fake/reset` refills the store
from the seed above (a JSON body replaces fields of it: entitlements, games,
foreign_games, users, fulfilled_fraction, rng_seed; any other field is refused).";

struct Options {
    config: FakeConfig,
    exit_on_stdin_close: bool,
    env: bool,
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `value` as one shell word: as is when it is plain, else in single quotes.
fn shell_quote(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c);
    if !value.is_empty() && value.chars().all(plain) {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

fn number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{flag}: not a valid number: {text}"))
}

fn parse(args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut config = FakeConfig::new();
    config.seed = Seed::standard();
    let mut exit_on_stdin_close = false;
    let mut env = false;
    let mut burst = None;
    let mut args = args.peekable();
    while let Some(flag) = args.next() {
        let (flag, inline) = match flag.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (flag, None),
        };
        let mut value = || -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--help" | "-h" => return Ok(None),
            "--exit-on-stdin-close" => exit_on_stdin_close = true,
            "--env" => env = true,
            "--port" => config.port = number(&flag, &value()?)?,
            "--entitlements" => config.seed.entitlements = number(&flag, &value()?)?,
            "--games" => config.seed.games = list(&value()?),
            "--foreign-games" => config.seed.foreign_games = list(&value()?),
            "--users" => config.seed.users = number(&flag, &value()?)?,
            "--fulfilled" => config.seed.fulfilled_fraction = number(&flag, &value()?)?,
            "--seed" => config.seed.rng_seed = number(&flag, &value()?)?,
            "--faults" => {
                config.faults = serde_json::from_str::<Faults>(&value()?)
                    .map_err(|e| format!("--faults: {e}"))?
            }
            "--rate-limit" => config.rate_limit_per_minute = number(&flag, &value()?)?,
            "--rate-limit-burst" => burst = Some(number(&flag, &value()?)?),
            "--client-id" => config.client_id = value()?,
            "--client-secret" => config.client_secret = value()?,
            "--token-ttl" => config.token_ttl_secs = number(&flag, &value()?)?,
            "--report-ttl" => config.report_ttl_secs = number(&flag, &value()?)?,
            other => return Err(format!("unknown option: {other}")),
        }
    }
    config.rate_limit_burst = burst.unwrap_or(config.rate_limit_per_minute);
    Ok(Some(Options {
        config,
        exit_on_stdin_close,
        env,
    }))
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("fake-twitch: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let fake = match FakeTwitch::start(options.config.clone()) {
        Ok(fake) => fake,
        Err(e) => {
            eprintln!(
                "fake-twitch: cannot listen on port {}: {e}",
                options.config.port
            );
            return ExitCode::FAILURE;
        }
    };
    let seed = &options.config.seed;
    let text = if options.env {
        let game = seed.games.first().map_or(DEFAULT_GAME, String::as_str);
        [
            ("TWITCH_CLIENT_ID", fake.client_id()),
            ("TWITCH_CLIENT_SECRET", fake.client_secret()),
            ("TWITCH_HELIX_URL", fake.helix_url()),
            ("TWITCH_AUTH_URL", fake.auth_url()),
            ("TWITCH_GAME_ID", game.to_string()),
            ("TWITCH_ORGANIZATION_ID", ORGANIZATION_ID.to_string()),
            ("FAKE_TWITCH_URL", fake.base_url()),
        ]
        .iter()
        .map(|(name, value)| format!("export {name}={}\n", shell_quote(value)))
        .collect::<String>()
    } else {
        let line = serde_json::json!({
            "base_url": fake.base_url(),
            "helix_url": fake.helix_url(),
            "auth_url": fake.auth_url(),
            "client_id": fake.client_id(),
            "client_secret": fake.client_secret(),
            "games": seed.games,
            "foreign_games": seed.foreign_games,
            "organization_id": ORGANIZATION_ID,
        });
        format!("{line}\n")
    };
    // One write, so a reader polling a file for the lines never sees half of them.
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    drop(stdout);

    if options.exit_on_stdin_close {
        let mut sink = [0u8; 4096];
        let mut stdin = std::io::stdin().lock();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        drop(fake);
        ExitCode::SUCCESS
    } else {
        loop {
            std::thread::park();
        }
    }
}
