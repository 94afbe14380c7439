// See what a drain does: the client's notes on stderr (warnings: retries and waits for the
// rate limit; `Level::Debug` shows every request), and its counters at the end.
//
// Reads TWITCH_CLIENT_ID, TWITCH_CLIENT_SECRET and TWITCH_GAME_ID, and optionally
// TWITCH_HELIX_URL / TWITCH_AUTH_URL (e.g. the fake Twitch's URLs).
use twitch_drops::{
    Client, Config, Credentials, FulfillOptions, GrantOutcome, GrantRequest, Level, Logger,
    MemoryJournal,
};

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let secret = Credentials::ClientSecret(env("TWITCH_CLIENT_SECRET")?.into());
    // This client's notes, at warn and above (a `tracing` subscriber gets them all too).
    let logger = Logger::new(Level::Warn, |line| {
        eprintln!("{}: {}: {}", line.level.as_str(), line.target, line.message)
    });
    let mut config = Config::new(env("TWITCH_CLIENT_ID")?, secret).with_logger(logger);
    if let Ok(url) = std::env::var("TWITCH_HELIX_URL") {
        config = config.with_helix_url(url);
    }
    if let Ok(url) = std::env::var("TWITCH_AUTH_URL") {
        config = config.with_auth_url(url);
    }
    let client = Client::new(config)?;

    let report = client.fulfill(
        FulfillOptions::game(env("TWITCH_GAME_ID")?),
        &mut MemoryJournal::new(),
        &mut |_: &GrantRequest| GrantOutcome::Granted,
    )?;
    let metrics = client.metrics();
    println!(
        "fulfilled {} in {} requests: {} retries, {} waits for the rate limit ({} ms)",
        report.fulfilled,
        metrics.total_requests(),
        metrics.total_retries(),
        metrics.rate_limit_waits,
        metrics.rate_limit_wait_ms
    );
    println!("{}", serde_json::to_string(&metrics)?);
    Ok(())
}
