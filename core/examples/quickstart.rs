// Drain every CLAIMED entitlement of a game: grant each in the game exactly once, then mark
// it FULFILLED. The journal file lets a rerun after a crash finish the job without granting
// anything twice.
//
// Reads TWITCH_CLIENT_ID, TWITCH_CLIENT_SECRET and TWITCH_GAME_ID, and optionally
// TWITCH_HELIX_URL / TWITCH_AUTH_URL (e.g. the fake Twitch's URLs).
use twitch_drops::{
    Client, Config, Credentials, FileJournal, FulfillOptions, GrantOutcome, GrantRequest,
};

fn main() -> std::process::ExitCode {
    // Errors printed with Display: their advice (what to check) shows.
    match drain() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn drain() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let secret = Credentials::ClientSecret(env("TWITCH_CLIENT_SECRET")?.into());
    let mut config = Config::new(env("TWITCH_CLIENT_ID")?, secret);
    if let Ok(url) = std::env::var("TWITCH_HELIX_URL") {
        config = config.with_helix_url(url);
    }
    if let Ok(url) = std::env::var("TWITCH_AUTH_URL") {
        config = config.with_auth_url(url);
    }
    let client = Client::new(config)?;

    let mut grant = |request: &GrantRequest| {
        let e = &request.entitlement;
        // Your game gives `e.benefit_id` to `e.user_id` here. When `request.resumed` is
        // true a crash interrupted an earlier attempt: check your records for `e.id` first.
        println!("granting {} to user {}", e.benefit_id, e.user_id);
        GrantOutcome::Granted
    };
    let options = FulfillOptions::game(env("TWITCH_GAME_ID")?);
    let mut journal = FileJournal::new("drops.journal");
    let report = client.fulfill(options, &mut journal, &mut grant)?;

    println!(
        "fulfilled {} of {} entitlements in {} requests",
        report.fulfilled,
        report.listed,
        client.requests_sent()
    );
    match report.error {
        Some(error) => Err(error.into()),
        None => Ok(()),
    }
}
