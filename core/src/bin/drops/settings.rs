//! Where the command finds its credentials and Twitch: flags, else the environment.

use clap::Args;
use twitch_drops::{Client, Config, Credentials, SystemClock, UreqTransport};

/// Connection flags; each can come from the environment instead.
#[derive(Args)]
pub struct Connection {
    /// Your application's client id.
    #[arg(long, env = "TWITCH_CLIENT_ID", global = true)]
    client_id: Option<String>,
    /// Client secret, for an app access token.
    #[arg(
        long,
        env = "TWITCH_CLIENT_SECRET",
        hide_env_values = true,
        global = true
    )]
    client_secret: Option<String>,
    /// An access token (app or user), used as is.
    #[arg(
        long,
        env = "TWITCH_ACCESS_TOKEN",
        hide_env_values = true,
        global = true
    )]
    access_token: Option<String>,
    /// Helix base URL.
    #[arg(long, env = "TWITCH_HELIX_URL", default_value = twitch_drops::DEFAULT_HELIX_URL, global = true)]
    helix_url: String,
    /// OAuth base URL.
    #[arg(long, env = "TWITCH_AUTH_URL", default_value = twitch_drops::DEFAULT_AUTH_URL, global = true)]
    auth_url: String,
}

pub type DropsClient = Client<UreqTransport, SystemClock>;

impl Connection {
    /// A client from the flags; a clear message when something is missing.
    pub fn client(&self) -> Result<DropsClient, String> {
        let client_id = self
            .client_id
            .clone()
            .ok_or("no client id: pass --client-id or set TWITCH_CLIENT_ID")?;
        let credentials = match (&self.access_token, &self.client_secret) {
            (Some(token), _) => Credentials::AccessToken(token.as_str().into()),
            (None, Some(secret)) => Credentials::ClientSecret(secret.as_str().into()),
            (None, None) => {
                return Err("no credentials: set TWITCH_CLIENT_SECRET (app token) or \
                            TWITCH_ACCESS_TOKEN, or run `drops demo` to try it offline"
                    .into())
            }
        };
        let config = Config::new(client_id, credentials)
            .with_helix_url(&self.helix_url)
            .with_auth_url(&self.auth_url);
        Client::new(config).map_err(|e| e.to_string())
    }
}
