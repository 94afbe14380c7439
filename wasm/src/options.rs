//! The options of `new DropsClient({...})`, turned into the core's [`Config`].
//!
//! The `fetch` option never reaches this module: it is a function, handed to the
//! transport separately; `JSON.stringify` leaves it out of the options text.

use serde::Deserialize;
use twitch_drops_protocol::{Config, Credentials, Error, Secret};

use crate::errors::invalid;

/// What JavaScript passes, with its camelCase names.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientOptions {
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub helix_url: Option<String>,
    #[serde(default)]
    pub auth_url: Option<String>,
}

/// Why a browser may not hold a client secret, and what to do instead.
pub const BROWSER_SECRET: &str = "a client secret must never be used in a browser, where \
    anyone can read it from the page; keep it on your server and give the browser a user \
    `accessToken` (and `refreshToken`) from the device flow or your server instead";

/// Reads the options text into a validated [`Config`]. `in_browser` refuses a client
/// secret (pages and workers, not Node).
///
/// Credentials: an `accessToken` with a `refreshToken` is a user token (refreshed when
/// it expires or Twitch answers 401, sending `clientSecret` too when given); an
/// `accessToken` alone is used as is; a `clientSecret` alone fetches app tokens; nothing
/// means "run the device flow first".
pub fn config_from_json(options: &str, in_browser: bool) -> Result<Config, Error> {
    let options: ClientOptions =
        serde_json::from_str(options).map_err(|e| invalid("options", e.to_string()))?;
    config(options, in_browser)
}

/// [`config_from_json`] for options already read.
pub fn config(options: ClientOptions, in_browser: bool) -> Result<Config, Error> {
    if in_browser && options.client_secret.is_some() {
        return Err(invalid("clientSecret", BROWSER_SECRET));
    }
    let secret = options.client_secret.map(Secret::new);
    let credentials = match (options.access_token, options.refresh_token) {
        (Some(access), Some(refresh)) => Credentials::UserToken {
            access_token: access.into(),
            refresh_token: Some(refresh.into()),
            client_secret: secret,
        },
        (Some(access), None) => Credentials::AccessToken(access.into()),
        (None, Some(_)) => {
            return Err(invalid(
                "refreshToken",
                "is given without `accessToken`; give both (a user token), or neither",
            ))
        }
        (None, None) => match secret {
            Some(secret) => Credentials::ClientSecret(secret),
            None => Credentials::None,
        },
    };
    let mut config = Config::new(options.client_id, credentials);
    if let Some(url) = options.helix_url {
        config = config.with_helix_url(url);
    }
    if let Some(url) = options.auth_url {
        config = config.with_auth_url(url);
    }
    config.validate()?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use twitch_drops_protocol::ErrorKind;

    fn field(e: Error) -> &'static str {
        match e {
            Error::InvalidInput { field, .. } => field,
            other => panic!("not InvalidInput: {other}"),
        }
    }

    #[test]
    fn credentials_follow_the_options_given() {
        let c = config_from_json(r#"{"clientId":"c","clientSecret":"s"}"#, false).unwrap();
        assert_eq!(c.credentials(), &Credentials::ClientSecret("s".into()));
        let c = config_from_json(r#"{"clientId":"c","accessToken":"t"}"#, false).unwrap();
        assert_eq!(c.credentials(), &Credentials::AccessToken("t".into()));
        let c = config_from_json(
            r#"{"clientId":"c","accessToken":"t","refreshToken":"r"}"#,
            true,
        )
        .unwrap();
        assert!(matches!(
            c.credentials(),
            Credentials::UserToken {
                refresh_token: Some(_),
                client_secret: None,
                ..
            }
        ));
        let c = config_from_json(r#"{"clientId":"c"}"#, true).unwrap();
        assert_eq!(c.credentials(), &Credentials::None);
    }

    #[test]
    fn urls_are_checked_by_the_core() {
        let c = config_from_json(
            r#"{"clientId":"c","accessToken":"t","helixUrl":"http://127.0.0.1:9/helix/"}"#,
            false,
        )
        .unwrap();
        assert_eq!(c.helix_url(), "http://127.0.0.1:9/helix");
        let e = config_from_json(
            r#"{"clientId":"c","accessToken":"t","helixUrl":"http://example.com/helix"}"#,
            false,
        )
        .unwrap_err();
        assert_eq!(field(e), "helix_url");
    }

    #[test]
    fn a_browser_never_takes_a_client_secret() {
        let e = config_from_json(r#"{"clientId":"c","clientSecret":"s"}"#, true).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("never be used in a browser"), "{e}");
        let with_token =
            r#"{"clientId":"c","accessToken":"t","refreshToken":"r","clientSecret":"s"}"#;
        assert_eq!(
            field(config_from_json(with_token, true).unwrap_err()),
            "clientSecret"
        );
        assert!(config_from_json(with_token, false).is_ok());
    }

    #[test]
    fn malformed_options_are_invalid_input() {
        for text in [
            r#"{"clientSecret":"s"}"#,
            r#"{"clientId":"c","clientSecrett":"s"}"#,
            r#"{"clientId":5}"#,
            "not json",
        ] {
            assert_eq!(
                field(config_from_json(text, false).unwrap_err()),
                "options",
                "{text}"
            );
        }
        assert_eq!(
            field(config_from_json(r#"{"clientId":" "}"#, false).unwrap_err()),
            "client_id"
        );
        assert_eq!(
            field(config_from_json(r#"{"clientId":"c","refreshToken":"r"}"#, false).unwrap_err()),
            "refreshToken"
        );
    }
}
