//! What a client needs to know: who it is (client id, credentials), where Twitch is, and how
//! hard to retry. Validated once, when a client is made.

use crate::error::Error;
use crate::observe::Logger;
use crate::retry::RetryPolicy;
use crate::secret::Secret;
use crate::url::check_secure_url;

/// Twitch's Helix base URL.
pub const DEFAULT_HELIX_URL: &str = "https://api.twitch.tv/helix";
/// Twitch's OAuth base URL (token, device, validate).
pub const DEFAULT_AUTH_URL: &str = "https://id.twitch.tv/oauth2";

/// How the client gets access tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// A token obtained elsewhere. Used as is; a 401 is final.
    AccessToken(Secret),
    /// An app access token by client credentials: fetched on first use, cached, fetched anew
    /// when it expires or Twitch answers 401.
    ClientSecret(Secret),
    /// A user access token (needed for analytics). With a refresh token it is refreshed when
    /// it expires or Twitch answers 401; `client_secret` is needed for confidential clients.
    UserToken {
        access_token: Secret,
        refresh_token: Option<Secret>,
        client_secret: Option<Secret>,
    },
    /// No token yet: complete the device code flow (`twitch_drops::Client::start_device_flow`)
    /// before calling Helix.
    None,
}

/// A client's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    client_id: String,
    credentials: Credentials,
    helix_url: String,
    auth_url: String,
    retry: RetryPolicy,
    logger: Option<Logger>,
}

impl Config {
    /// Settings for Twitch itself with the default retry policy.
    pub fn new(client_id: impl Into<String>, credentials: Credentials) -> Self {
        Config {
            client_id: client_id.into(),
            credentials,
            helix_url: DEFAULT_HELIX_URL.to_string(),
            auth_url: DEFAULT_AUTH_URL.to_string(),
            retry: RetryPolicy::default(),
            logger: None,
        }
    }

    /// Uses another Helix base URL (a proxy, the fake Twitch).
    pub fn with_helix_url(mut self, url: impl Into<String>) -> Self {
        self.helix_url = url.into().trim_end_matches('/').to_string();
        self
    }

    /// Uses another OAuth base URL.
    pub fn with_auth_url(mut self, url: impl Into<String>) -> Self {
        self.auth_url = url.into().trim_end_matches('/').to_string();
        self
    }

    /// Uses another retry policy.
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Hands this client's notes (requests, retries, waits, tokens, the engine's decisions)
    /// at the logger's level and above to it, besides `tracing`. Per client: two clients
    /// may log to different places.
    pub fn with_logger(mut self, logger: Logger) -> Self {
        self.logger = Some(logger);
        self
    }

    /// The logger given with [`Config::with_logger`].
    pub fn logger(&self) -> Option<&Logger> {
        self.logger.as_ref()
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    pub fn helix_url(&self) -> &str {
        &self.helix_url
    }

    pub fn auth_url(&self) -> &str {
        &self.auth_url
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Checks every setting; clients call this when they are made.
    pub fn validate(&self) -> Result<(), Error> {
        if self.client_id.trim().is_empty() {
            return Err(Error::invalid(
                "client_id",
                "is empty; use your application's client id from the Twitch developer console",
            ));
        }
        for (field, url) in [("helix_url", &self.helix_url), ("auth_url", &self.auth_url)] {
            check_secure_url(url).map_err(|p| Error::invalid(field, p.describe(url)))?;
        }
        let empty = |s: &Secret| s.expose().trim().is_empty();
        match &self.credentials {
            Credentials::AccessToken(t) if empty(t) => {
                Err(Error::invalid("access_token", "is empty"))
            }
            Credentials::ClientSecret(s) if empty(s) => {
                Err(Error::invalid("client_secret", "is empty"))
            }
            Credentials::UserToken { access_token, .. } if empty(access_token) => {
                Err(Error::invalid("access_token", "is empty"))
            }
            _ => Ok(()),
        }
    }
}
