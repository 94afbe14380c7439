//! `drops login`: a user token by the device code flow, kept for `analytics`.
//!
//! The token and its refresh token are saved in one file only the user can read (0600, in a
//! 0700 folder): `$DROPS_LOGIN_FILE`, else `$XDG_CONFIG_HOME/twitch-drops/login.json`, else
//! `~/.config/twitch-drops/login.json`. A saved token belongs to the client id and OAuth URL
//! it was issued for, and is renewed with its refresh token (and saved again) when it has
//! expired or is about to, or when Twitch refuses it during a command. Tokens are never
//! printed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use twitch_drops::{
    Client, Clock, Config, Credentials, Secret, Session, SystemClock, UreqTransport,
};

/// The saved login a command is using, and the session using it: a token the session renews
/// along the way (Twitch answered 401) is saved when the command ends, by [`save_renewed`].
struct InUse {
    path: PathBuf,
    saved: Saved,
    session: Option<Arc<Session>>,
}

static IN_USE: Mutex<Option<InUse>> = Mutex::new(None);

/// A saved token is renewed when it expires within this many milliseconds.
const RENEW_MARGIN_MS: u64 = 60_000;

/// What the login file holds.
#[derive(Clone, Serialize, Deserialize)]
struct Saved {
    client_id: String,
    auth_url: String,
    access_token: String,
    refresh_token: Option<String>,
    /// Unix milliseconds; `None` when Twitch gave no lifetime.
    expires_at_ms: Option<u64>,
    scopes: Vec<String>,
}

/// Where the login is kept; `None` when neither the override nor a home folder is known.
pub fn login_file() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(file) = var("DROPS_LOGIN_FILE") {
        return Some(PathBuf::from(file));
    }
    let config = var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(config.join("twitch-drops").join("login.json"))
}

/// Runs the device code flow for `scopes` and saves the token.
pub fn run(config: Config, scopes: &[String]) -> Result<ExitCode, String> {
    let path = login_file()
        .ok_or("no place to keep the login: set HOME, XDG_CONFIG_HOME or DROPS_LOGIN_FILE")?;
    let client = Client::new(config.clone()).map_err(|e| e.to_string())?;
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let code = client
        .start_device_flow(&scopes)
        .map_err(|e| e.to_string())?;
    eprintln!(
        "To log in, open {} and enter the code {} (valid {} minutes).\nWaiting for you to approve it...",
        code.verification_uri,
        code.user_code,
        code.expires_in / 60
    );
    let token = client
        .finish_device_flow(&code)
        .map_err(|e| format!("login: {e}"))?;
    let now = SystemClock.now_ms();
    let saved = Saved {
        client_id: config.client_id().to_string(),
        auth_url: config.auth_url().to_string(),
        access_token: token.access_token.expose().to_string(),
        refresh_token: token.refresh_token.map(|t| t.expose().to_string()),
        expires_at_ms: token
            .expires_in
            .map(|s| now.saturating_add(s.saturating_mul(1000))),
        scopes: token.scopes,
    };
    save(&path, &saved)?;
    eprintln!(
        "Logged in (scopes: {}). The token is saved in {} (readable by you only); \
         `drops analytics` uses it and renews it when it expires.",
        saved.scopes.join(" "),
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The saved login's credentials for `config`'s client id and OAuth URL, renewed first
/// when it has expired or is about to (and saved again). `Ok(None)` when there is no saved
/// login for them.
pub fn saved_credentials(
    config: &Config,
    client_secret: Option<&str>,
) -> Result<Option<Credentials>, String> {
    let Some(path) = login_file() else {
        return Ok(None);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut saved: Saved = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not a saved login ({e}); run `drops login` again",
            path.display()
        )
    })?;
    if saved.client_id != config.client_id() || saved.auth_url != config.auth_url() {
        return Ok(None);
    }
    let credentials = |saved: &Saved| Credentials::UserToken {
        access_token: Secret::new(saved.access_token.clone()),
        refresh_token: saved.refresh_token.clone().map(Secret::new),
        client_secret: client_secret.map(Secret::from),
    };
    let now = SystemClock.now_ms();
    let expiring = saved
        .expires_at_ms
        .is_some_and(|at| now.saturating_add(RENEW_MARGIN_MS) >= at);
    if expiring && saved.refresh_token.is_some() {
        let client: Client<UreqTransport, SystemClock> = Client::new(
            Config::new(config.client_id(), credentials(&saved)).with_auth_url(config.auth_url()),
        )
        .map_err(|e| e.to_string())?;
        // Passing the current token as rejected makes the client renew it.
        let current = client.authorize(None).map_err(|e| e.to_string())?;
        let renewed = client.authorize(Some(current.id())).map_err(|e| {
            format!("the saved login could not be renewed ({e}); run `drops login` again")
        })?;
        let token = client
            .user_token()
            .ok_or("the renewed login is not a user token; run `drops login` again")?;
        saved.access_token = token.access_token.expose().to_string();
        saved.refresh_token = token
            .refresh_token
            .map(|t| t.expose().to_string())
            .or(saved.refresh_token);
        saved.expires_at_ms = renewed.expires_at_ms();
        save(&path, &saved)?;
    }
    let credentials = credentials(&saved);
    *IN_USE.lock().unwrap_or_else(|e| e.into_inner()) = Some(InUse {
        path,
        saved,
        session: None,
    });
    Ok(Some(credentials))
}

/// The client built from [`saved_credentials`]: its session is watched for renewals.
pub fn watch(session: &Arc<Session>) {
    if let Some(in_use) = IN_USE.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        in_use.session = Some(Arc::clone(session));
    }
}

/// Saves the user token again if the command's session renewed it (its lifetime is then
/// unknown here: the next renewal comes on Twitch's 401). Nothing to do otherwise.
pub fn save_renewed() -> Result<(), String> {
    let Some(in_use) = IN_USE.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return Ok(());
    };
    let Some(token) = in_use.session.and_then(|session| session.user_token()) else {
        return Ok(());
    };
    if token.access_token.expose() == in_use.saved.access_token {
        return Ok(());
    }
    let mut saved = in_use.saved;
    saved.access_token = token.access_token.expose().to_string();
    if let Some(refresh) = token.refresh_token {
        saved.refresh_token = Some(refresh.expose().to_string());
    }
    saved.expires_at_ms = None;
    save(&in_use.path, &saved)
}

/// Writes `saved` to `path` readable by the user only: a 0600 file in a 0700 folder,
/// written whole to a temporary file, synced, then renamed over the old one.
fn save(path: &Path, saved: &Saved) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(fail)?;
    }
    let text = serde_json::to_string_pretty(saved).map_err(|e| e.to_string())?;
    let temp = path.with_extension("json.new");
    let _ = std::fs::remove_file(&temp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temp).map_err(fail)?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(fail)?;
    drop(file);
    std::fs::rename(&temp, path).map_err(fail)
}
