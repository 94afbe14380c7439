//! Access tokens: the cache that decides when a token must be fetched, and the OAuth
//! requests that fetch one (client credentials, refresh) or check one (validate).
//!
//! The cache is plain state. A driver shares one [`TokenStore`] between operations (behind a
//! mutex when threads share a client, which makes fetching single-flight) and answers each
//! [`crate::Step::Authorize`] with [`TokenStore::authorize`].

use serde::Deserialize;

use crate::config::{Config, Credentials};
use crate::error::Error;
use crate::exchange::{AuthScheme, Exchange, Replay};
use crate::http::{HttpResponse, Method};
use crate::retry::RetryPolicy;
use crate::secret::Secret;
use crate::single_request::SingleRequest;
use crate::url::{encode_pairs, join};

/// Renew a token this long before Twitch says it expires.
const EXPIRY_MARGIN_MS: u64 = 60_000;

/// A token the client sends, with the identity operations use to say which one Twitch
/// rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessToken {
    secret: Secret,
    id: u64,
    expires_at_ms: Option<u64>,
}

impl AccessToken {
    /// The token itself.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// Which token this is, within its store (changes each time a token is fetched).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// When the token expires, if Twitch said.
    pub fn expires_at_ms(&self) -> Option<u64> {
        self.expires_at_ms
    }
}

/// A token as the OAuth endpoints return it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct OAuthToken {
    pub access_token: Secret,
    /// Present for user tokens; store it (it may change at each refresh).
    pub refresh_token: Option<Secret>,
    /// Seconds until the access token expires.
    pub expires_in: Option<u64>,
    pub scopes: Vec<String>,
}

/// What `GET /oauth2/validate` says about a token.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct TokenInfo {
    pub client_id: String,
    /// The user's login; absent for app tokens.
    #[serde(default)]
    pub login: Option<String>,
    /// The user's id; absent for app tokens.
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Seconds until the token expires.
    #[serde(default)]
    pub expires_in: u64,
}

/// The answer to a driver's [`crate::Step::Authorize`].
#[derive(Debug)]
pub enum Authorization {
    /// Use this token.
    Ready(AccessToken),
    /// Run this operation, give its result to [`TokenStore::install`], and use that token.
    Fetch(SingleRequest<OAuthToken>),
    /// No token can be had.
    Failed(Error),
}

/// One client's token cache.
#[derive(Debug)]
pub struct TokenStore {
    client_id: String,
    auth_url: String,
    retry: RetryPolicy,
    kind: Kind,
    client_secret: Option<Secret>,
    refresh_token: Option<Secret>,
    scopes: Vec<String>,
    current: Option<AccessToken>,
    fetched: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Static,
    App,
    User,
    Pending,
}

impl TokenStore {
    /// A cache for `config`'s credentials; a given token is used as is until rejected.
    pub fn new(config: &Config) -> Self {
        let mut store = TokenStore {
            client_id: config.client_id().to_string(),
            auth_url: config.auth_url().to_string(),
            retry: config.retry_policy().clone(),
            kind: Kind::Pending,
            client_secret: None,
            refresh_token: None,
            scopes: Vec::new(),
            current: None,
            fetched: 0,
        };
        match config.credentials() {
            Credentials::AccessToken(token) => {
                store.kind = Kind::Static;
                store.current = Some(store.next_token(token.clone(), None));
            }
            Credentials::ClientSecret(secret) => {
                store.kind = Kind::App;
                store.client_secret = Some(secret.clone());
            }
            Credentials::UserToken {
                access_token,
                refresh_token,
                client_secret,
            } => {
                store.kind = Kind::User;
                store.refresh_token = refresh_token.clone();
                store.client_secret = client_secret.clone();
                store.current = Some(store.next_token(access_token.clone(), None));
            }
            Credentials::None => {}
        }
        store
    }

    /// Decides how to answer [`crate::Step::Authorize`]: the cached token, unless it is
    /// missing, about to expire, or the one Twitch just `rejected`.
    pub fn authorize(&self, rejected: Option<u64>, now_ms: u64) -> Authorization {
        if let Some(token) = &self.current {
            let expired = token
                .expires_at_ms
                .is_some_and(|at| now_ms + EXPIRY_MARGIN_MS >= at);
            if Some(token.id) != rejected && !expired {
                return Authorization::Ready(token.clone());
            }
        }
        match self.kind {
            Kind::App => Authorization::Fetch(self.client_credentials()),
            Kind::User if self.refresh_token.is_some() => Authorization::Fetch(self.refresh()),
            Kind::Static | Kind::User => Authorization::Failed(Error::Unauthorized {
                status: 401,
                message: "the access token was rejected or expired and cannot be renewed \
                          here (no client secret or refresh token); supply a new token"
                    .into(),
            }),
            Kind::Pending => Authorization::Failed(Error::Unauthorized {
                status: 401,
                message: "no access token yet: complete the device code flow or configure \
                          a token or client secret"
                    .into(),
            }),
        }
    }

    /// Stores a freshly fetched token and returns it for use.
    pub fn install(&mut self, token: OAuthToken, now_ms: u64) -> AccessToken {
        if token.refresh_token.is_some() {
            // A user token (refresh, or a device login): from now on the client acts as
            // that user, renewing with the refresh token.
            self.refresh_token = token.refresh_token;
            self.kind = Kind::User;
        }
        if !token.scopes.is_empty() {
            self.scopes = token.scopes;
        }
        let expires_at = token
            .expires_in
            .map(|s| now_ms.saturating_add(s.saturating_mul(1000)));
        let access = self.next_token(token.access_token, expires_at);
        self.current = Some(access.clone());
        access
    }

    /// The current user token and refresh token, for an application to persist (Twitch may
    /// hand out a new refresh token at each refresh). `None` for app and static tokens.
    pub fn user_token(&self) -> Option<OAuthToken> {
        if self.kind != Kind::User {
            return None;
        }
        let current = self.current.as_ref()?;
        Some(OAuthToken {
            access_token: current.secret.clone(),
            refresh_token: self.refresh_token.clone(),
            expires_in: None,
            scopes: self.scopes.clone(),
        })
    }

    fn next_token(&mut self, secret: Secret, expires_at_ms: Option<u64>) -> AccessToken {
        self.fetched += 1;
        AccessToken {
            secret,
            id: self.fetched,
            expires_at_ms,
        }
    }

    fn client_credentials(&self) -> SingleRequest<OAuthToken> {
        let secret = self.client_secret.clone().unwrap_or_default();
        token_request(
            &self.auth_url,
            &self.retry,
            encode_pairs([
                ("client_id", self.client_id.as_str()),
                ("client_secret", secret.expose()),
                ("grant_type", "client_credentials"),
            ]),
        )
    }

    fn refresh(&self) -> SingleRequest<OAuthToken> {
        let refresh = self.refresh_token.clone().unwrap_or_default();
        let mut pairs = vec![
            ("client_id", self.client_id.as_str()),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose()),
        ];
        if let Some(secret) = &self.client_secret {
            pairs.push(("client_secret", secret.expose()));
        }
        token_request(&self.auth_url, &self.retry, encode_pairs(pairs))
    }
}

/// `POST {auth}/token` with a form body, decoded into an [`OAuthToken`]. A 4xx from the
/// token endpoint means the credentials are wrong: it becomes [`Error::Unauthorized`].
pub(crate) fn token_request(
    auth_url: &str,
    retry: &RetryPolicy,
    form: String,
) -> SingleRequest<OAuthToken> {
    let exchange = Exchange::new(
        Method::Post,
        join(auth_url, "token", ""),
        AuthScheme::None,
        Replay::Safe,
        retry,
    )
    .form(form);
    SingleRequest::new(exchange, decode_token).map_error(credentials_refused)
}

fn credentials_refused(error: Error) -> Error {
    match error {
        Error::Http {
            status: status @ 400..=499,
            message,
            ..
        } => Error::Unauthorized { status, message },
        other => other,
    }
}

/// Twitch sends `scope` as a list; other servers as a space-separated string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scopes {
    List(Vec<String>),
    Spaced(String),
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    scope: Option<Scopes>,
}

pub(crate) fn decode_token(response: &HttpResponse) -> Result<OAuthToken, Error> {
    let body: TokenBody = response.json("token response")?;
    if body.access_token.is_empty() {
        return Err(Error::decode("token response", "empty access_token"));
    }
    let scopes = match body.scope {
        Some(Scopes::List(list)) => list,
        Some(Scopes::Spaced(s)) => s.split_whitespace().map(String::from).collect(),
        None => Vec::new(),
    };
    Ok(OAuthToken {
        access_token: Secret::new(body.access_token),
        refresh_token: body
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(Secret::new),
        expires_in: body.expires_in,
        scopes,
    })
}

/// `GET {auth}/validate` for the client's current token (renewed once if Twitch says 401).
pub fn validate(config: &Config) -> SingleRequest<TokenInfo> {
    let exchange = Exchange::new(
        Method::Get,
        join(config.auth_url(), "validate", ""),
        AuthScheme::OAuth,
        Replay::Safe,
        config.retry_policy(),
    );
    SingleRequest::new(exchange, |r| r.json("token validation"))
}
