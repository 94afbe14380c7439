//! Where the command finds its credentials and Twitch: flags, else the environment.

use clap::Args;
use twitch_drops::{Client, Config, Credentials, Logger, SystemClock, UreqTransport};

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
    /// Where the library's notes go (from `-v`, `-q`, `--log-format`).
    #[arg(skip)]
    pub logger: Option<Logger>,
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
    /// `error` as the user reads it, with what to check when it can only be a setting: the
    /// token endpoint refusing the credentials, a route Twitch does not have (a base URL
    /// without its path), a redirect (something else at the URL), a server that cannot be
    /// reached.
    pub fn explain(&self, error: &twitch_drops::Error) -> String {
        use twitch_drops::{Error, TransportErrorKind};
        let shown = |url: &str| twitch_drops::url::for_messages(url);
        match error {
            Error::Unauthorized { .. } => format!(
                "{error} (OAuth at {}: --client-id/TWITCH_CLIENT_ID, \
                 --client-secret/TWITCH_CLIENT_SECRET, --access-token/TWITCH_ACCESS_TOKEN)",
                shown(&self.auth_url)
            ),
            Error::Http { status: 404, .. } => format!(
                "{error}: {} has no such route: check --helix-url (TWITCH_HELIX_URL), which \
                 ends in /helix",
                shown(&self.helix_url)
            ),
            Error::Http {
                status: 300..=399, ..
            } => format!(
                "{error}: check --helix-url and --auth-url (TWITCH_HELIX_URL, TWITCH_AUTH_URL: \
                 now {} and {})",
                shown(&self.helix_url),
                shown(&self.auth_url)
            ),
            Error::Transport(e) if e.kind == TransportErrorKind::Connect => format!(
                "{error}: check --helix-url and --auth-url (TWITCH_HELIX_URL, TWITCH_AUTH_URL: \
                 now {} and {})",
                shown(&self.helix_url),
                shown(&self.auth_url)
            ),
            other => other.to_string(),
        }
    }

    pub fn config(&self, credentials: Credentials) -> Result<Config, String> {
        let client_id = self
            .client_id
            .clone()
            .ok_or("no client id: pass --client-id or set TWITCH_CLIENT_ID")?;
        let config = Config::new(client_id, credentials)
            .with_helix_url(&self.helix_url)
            .with_auth_url(&self.auth_url);
        Ok(match &self.logger {
            Some(logger) => config.with_logger(logger.clone()),
            None => config,
        })
    }
}
