//! Access tokens, refresh tokens and device-code logins.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::rng::{Rng, TOKEN_ALPHABET, USER_CODE_ALPHABET};

/// A user access token and the refresh token that renews it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserTokens {
    /// Bearer token for Helix calls.
    pub access_token: String,
    /// One-use refresh token (`grant_type=refresh_token` rotates it).
    pub refresh_token: String,
}

/// How long a device code may be polled, as Twitch does.
pub(crate) const DEVICE_CODE_TTL_SECS: u64 = 1800;
/// The polling interval Twitch asks for.
pub(crate) const DEVICE_POLL_INTERVAL_SECS: u64 = 5;

/// What an access token stands for.
#[derive(Clone, Debug)]
pub(crate) struct TokenInfo {
    pub(crate) client_id: String,
    /// None for app tokens.
    pub(crate) user_id: Option<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_at: Instant,
    /// Helix calls made with it.
    pub(crate) uses: u32,
    pub(crate) revoked: bool,
}

impl TokenInfo {
    pub(crate) fn is_valid(&self, now: Instant) -> bool {
        !self.revoked && now < self.expires_at
    }

    pub(crate) fn expires_in(&self, now: Instant) -> u64 {
        self.expires_at.saturating_duration_since(now).as_secs()
    }

    pub(crate) fn login(&self) -> Option<String> {
        self.user_id.as_ref().map(|u| format!("user{u}"))
    }
}

#[derive(Clone, Debug)]
struct RefreshInfo {
    client_id: String,
    user_id: String,
    scopes: Vec<String>,
}

#[derive(Clone, Debug)]
struct DeviceGrant {
    user_code: String,
    client_id: String,
    scopes: Vec<String>,
    expires_at: Instant,
    approved_by: Option<String>,
}

/// A freshly issued user token, as the token endpoint reports it.
#[derive(Clone, Debug)]
pub(crate) struct UserGrant {
    pub(crate) access_token: String,
    pub(crate) refresh_token: String,
    pub(crate) expires_in: u64,
    pub(crate) scopes: Vec<String>,
}

/// A new device-code login.
#[derive(Clone, Debug)]
pub(crate) struct DeviceStart {
    pub(crate) device_code: String,
    pub(crate) user_code: String,
}

/// Why polling a device code gave no token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DevicePollError {
    Pending,
    Expired,
    Unknown,
    WrongClient,
}

/// Every token the fake has issued. Tokens survive [`reset`](crate::FakeTwitch::reset).
#[derive(Debug)]
pub(crate) struct Tokens {
    access: HashMap<String, TokenInfo>,
    refresh: HashMap<String, RefreshInfo>,
    devices: HashMap<String, DeviceGrant>,
    rng: Rng,
    ttl: Duration,
    /// Access tokens issued since start or the last reset.
    pub(crate) issued: usize,
}

impl Tokens {
    pub(crate) fn new(ttl_secs: u64) -> Tokens {
        Tokens {
            access: HashMap::new(),
            refresh: HashMap::new(),
            devices: HashMap::new(),
            rng: Rng::from_clock(),
            ttl: Duration::from_secs(ttl_secs),
            issued: 0,
        }
    }

    fn new_token(&mut self) -> String {
        self.rng.string(30, TOKEN_ALPHABET)
    }

    fn issue(&mut self, client_id: &str, user_id: Option<&str>, scopes: &[String]) -> String {
        let token = self.new_token();
        self.access.insert(
            token.clone(),
            TokenInfo {
                client_id: client_id.to_string(),
                user_id: user_id.map(str::to_string),
                scopes: scopes.to_vec(),
                expires_at: Instant::now() + self.ttl,
                uses: 0,
                revoked: false,
            },
        );
        self.issued += 1;
        token
    }

    /// A client-credentials token; returns it and its lifetime in seconds.
    pub(crate) fn issue_app(&mut self, client_id: &str) -> (String, u64) {
        (self.issue(client_id, None, &[]), self.ttl.as_secs())
    }

    /// A user token with a fresh refresh token.
    pub(crate) fn issue_user(
        &mut self,
        client_id: &str,
        user_id: &str,
        scopes: &[String],
    ) -> UserGrant {
        let access_token = self.issue(client_id, Some(user_id), scopes);
        let refresh_token = self.rng.string(50, TOKEN_ALPHABET);
        self.refresh.insert(
            refresh_token.clone(),
            RefreshInfo {
                client_id: client_id.to_string(),
                user_id: user_id.to_string(),
                scopes: scopes.to_vec(),
            },
        );
        UserGrant {
            access_token,
            refresh_token,
            expires_in: self.ttl.as_secs(),
            scopes: scopes.to_vec(),
        }
    }

    /// Trade a refresh token for a new pair; the old refresh token stops working.
    /// `client_id` (when the caller sent one) must be the token's.
    pub(crate) fn refresh(&mut self, refresh_token: &str, client_id: &str) -> Option<UserGrant> {
        let info = self.refresh.get(refresh_token)?;
        if info.client_id != client_id {
            return None;
        }
        let info = self.refresh.remove(refresh_token)?;
        Some(self.issue_user(&info.client_id, &info.user_id, &info.scopes))
    }

    /// The token's record, valid or not.
    pub(crate) fn get(&self, token: &str) -> Option<&TokenInfo> {
        self.access.get(token)
    }

    /// Count one Helix use of a valid token, revoking it once it reaches `revoke_after`
    /// uses (0 = never). None when the token is unknown, expired or revoked.
    pub(crate) fn use_token(&mut self, token: &str, revoke_after: u32) -> Option<TokenInfo> {
        let now = Instant::now();
        let info = self.access.get_mut(token)?;
        if !info.is_valid(now) {
            return None;
        }
        if revoke_after > 0 && info.uses >= revoke_after {
            info.revoked = true;
            return None;
        }
        info.uses += 1;
        Some(info.clone())
    }

    /// Start counting uses afresh (faults changed).
    pub(crate) fn reset_uses(&mut self) {
        for info in self.access.values_mut() {
            info.uses = 0;
        }
    }

    /// Forget an access token (`POST /oauth2/revoke`); false when unknown.
    pub(crate) fn revoke(&mut self, token: &str, client_id: &str) -> bool {
        match self.access.get(token) {
            Some(info) if info.client_id == client_id => {
                self.access.remove(token);
                true
            }
            _ => false,
        }
    }

    /// Start a device-code login.
    pub(crate) fn start_device(&mut self, client_id: &str, scopes: &[String]) -> DeviceStart {
        let device_code = self.rng.string(40, TOKEN_ALPHABET);
        let user_code = self.rng.string(8, USER_CODE_ALPHABET);
        self.devices.insert(
            device_code.clone(),
            DeviceGrant {
                user_code: user_code.clone(),
                client_id: client_id.to_string(),
                scopes: scopes.to_vec(),
                expires_at: Instant::now() + Duration::from_secs(DEVICE_CODE_TTL_SECS),
                approved_by: None,
            },
        );
        DeviceStart {
            device_code,
            user_code,
        }
    }

    /// The user `user_id` enters `user_code` and approves; false when no pending login has
    /// that code.
    pub(crate) fn approve_device(&mut self, user_code: &str, user_id: &str) -> bool {
        let now = Instant::now();
        match self
            .devices
            .values_mut()
            .find(|d| d.user_code.eq_ignore_ascii_case(user_code) && now < d.expires_at)
        {
            Some(grant) => {
                grant.approved_by = Some(user_id.to_string());
                true
            }
            None => false,
        }
    }

    /// Poll a device code: the user token once approved (the code is then used up).
    pub(crate) fn poll_device(
        &mut self,
        device_code: &str,
        client_id: &str,
    ) -> Result<UserGrant, DevicePollError> {
        let grant = self
            .devices
            .get(device_code)
            .ok_or(DevicePollError::Unknown)?;
        if grant.client_id != client_id {
            return Err(DevicePollError::WrongClient);
        }
        if Instant::now() >= grant.expires_at {
            self.devices.remove(device_code);
            return Err(DevicePollError::Expired);
        }
        let Some(user_id) = grant.approved_by.clone() else {
            return Err(DevicePollError::Pending);
        };
        let grant = self
            .devices
            .remove(device_code)
            .ok_or(DevicePollError::Unknown)?;
        Ok(self.issue_user(&grant.client_id, &user_id, &grant.scopes))
    }
}
