// List entitlements and update them by hand: a game's CLAIMED entitlements page by page,
// then each marked FULFILLED, with Twitch's answer for every id. (`Client::fulfill` in the
// quickstart does this with a journal, so nothing is granted twice across crashes; this is
// for tools and one-off corrections.)
//
// Reads TWITCH_CLIENT_ID, TWITCH_CLIENT_SECRET and TWITCH_GAME_ID, and optionally
// TWITCH_HELIX_URL / TWITCH_AUTH_URL (e.g. the fake Twitch's URLs).
use twitch_drops::{
    Client, Config, Credentials, EntitlementsQuery, FulfillmentStatus, UpdateStatus,
};

fn main() -> std::process::ExitCode {
    // Errors printed with Display: their advice (what to check) shows.
    match list_and_update() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn list_and_update() -> Result<(), Box<dyn std::error::Error>> {
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

    // Every page (up to 1000 entitlements each), fetched as the loop goes. Read them all
    // before updating: marking items while paging a CLAIMED filter could skip some.
    let claimed = EntitlementsQuery::new()
        .game(env("TWITCH_GAME_ID")?)
        .status(FulfillmentStatus::Claimed)
        .first(1000);
    let mut ids = Vec::new();
    for entitlement in client.entitlements(claimed) {
        let e = entitlement?;
        println!("{} earned {} (user {})", e.id, e.benefit_id, e.user_id);
        ids.push(e.id);
    }

    // Batches of 100, retried as Twitch's rules say; one outcome per id.
    let report = client.update_entitlements(&ids, FulfillmentStatus::Fulfilled)?;
    for outcome in &report.outcomes {
        if outcome.status != UpdateStatus::Success {
            eprintln!(
                "not fulfilled: {} ({})",
                outcome.id,
                outcome.status.as_str()
            );
        }
    }
    for id in &report.unconfirmed {
        eprintln!("unconfirmed: {id} (re-read it later)");
    }
    let done = report.ids_with(UpdateStatus::Success).count();
    println!(
        "listed {}, fulfilled {done}, in {} requests",
        ids.len(),
        client.requests_sent()
    );
    Ok(())
}
