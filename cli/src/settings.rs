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
    /// Use the user token `drops login` saved, when there is one for this client id
    /// (commands that need a user token set it; a given access token still comes first).
    #[arg(skip)]
    pub use_login: bool,
}

pub type DropsClient = Client<UreqTransport, SystemClock>;

impl Connection {
    /// A client from the flags; a clear message when something is missing.
    pub fn client(&self) -> Result<DropsClient, String> {
        // The client id first: without it nothing else matters.
        let settings = self.config(Credentials::None)?;
        let saved = match (&self.access_token, self.use_login) {
            (None, true) => {
                crate::login::saved_credentials(&settings, self.client_secret.as_deref())?
            }
            _ => None,
        };
        let using_login = saved.is_some();
        let credentials = match (&self.access_token, saved, &self.client_secret) {
            (Some(token), _, _) => Credentials::AccessToken(token.as_str().into()),
            (None, Some(saved), _) => saved,
            (None, None, Some(secret)) => Credentials::ClientSecret(secret.as_str().into()),
            (None, None, None) => {
                return Err("no credentials: set TWITCH_CLIENT_SECRET (app token) or \
                            TWITCH_ACCESS_TOKEN, or run `drops login` (a user token) or \
                            `drops demo` to try it offline"
                    .into())
            }
        };
        let client = Client::new(self.config(credentials)?).map_err(|e| e.to_string())?;
        if using_login {
            crate::login::watch(client.session());
        }
        Ok(client)
    }

    /// The settings with `credentials`; a clear message when the client id is missing.
    pub fn config(&self, credentials: Credentials) -> Result<Config, String> {
        let client_id = self
            .client_id
            .clone()
            .ok_or("no client id: pass --client-id or set TWITCH_CLIENT_ID")?;
        Ok(Config::new(client_id, credentials)
            .with_helix_url(&self.helix_url)
            .with_auth_url(&self.auth_url))
    }
}
