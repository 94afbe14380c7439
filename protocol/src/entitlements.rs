//! Drops entitlements: the data, the `GET /entitlements/drops` query with Twitch's limits,
//! and paging (a cursor until `pagination` comes back empty).

use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::Error;
use crate::exchange::{AuthScheme, Exchange, Replay};
use crate::http::{HttpResponse, Method};
use crate::ids::{check_id, InvalidId};
use crate::single_request::SingleRequest;
use crate::url::{encode_pairs, join};

/// Most ids one `GET` may filter by, and one `PATCH` may update.
pub const MAX_IDS_PER_REQUEST: usize = 100;
/// Largest page Twitch serves.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Pages one listing reads at most (a billion entitlements at 1000 a page): past this the
/// server is taken to be looping with cursors it never repeats.
pub const MAX_PAGES: u32 = 1_000_000;

/// Where an entitlement stands: earned by the viewer, or delivered by the game.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FulfillmentStatus {
    Claimed,
    Fulfilled,
}

impl FulfillmentStatus {
    /// The wire name (`"CLAIMED"`, `"FULFILLED"`).
    pub fn as_str(self) -> &'static str {
        match self {
            FulfillmentStatus::Claimed => "CLAIMED",
            FulfillmentStatus::Fulfilled => "FULFILLED",
        }
    }
}

impl fmt::Display for FulfillmentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FulfillmentStatus {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_uppercase().as_str() {
            "CLAIMED" => Ok(FulfillmentStatus::Claimed),
            "FULFILLED" => Ok(FulfillmentStatus::Fulfilled),
            _ => Err(Error::invalid(
                "fulfillment_status",
                format!("`{s}` is not CLAIMED or FULFILLED"),
            )),
        }
    }
}

/// A reward a viewer earned: give `user_id` the benefit `benefit_id`, then mark it FULFILLED.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entitlement {
    pub id: String,
    /// The reward (the Drop's benefit) to grant.
    #[serde(default)]
    pub benefit_id: String,
    /// When the viewer earned it (RFC 3339).
    #[serde(default)]
    pub timestamp: String,
    pub user_id: String,
    pub game_id: String,
    pub fulfillment_status: FulfillmentStatus,
    /// When its status last changed (RFC 3339).
    #[serde(default)]
    pub last_updated: String,
}

impl Entitlement {
    /// Checks every string field with [`check_id`]: bounded, no control characters. Applied
    /// to every entitlement read from Twitch, before anything else sees it.
    pub fn validate(&self) -> Result<(), InvalidId> {
        check_id("id", &self.id)?;
        check_id("user_id", &self.user_id)?;
        check_id("game_id", &self.game_id)?;
        check_id("benefit_id", &self.benefit_id)?;
        check_id("timestamp", &self.timestamp)?;
        check_id("last_updated", &self.last_updated)
    }
}

/// Filters for `GET /entitlements/drops`. Build with the methods; checked before sending.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntitlementsQuery {
    pub ids: Vec<String>,
    pub user_id: Option<String>,
    pub game_id: Option<String>,
    pub status: Option<FulfillmentStatus>,
    /// Page size, 1..=1000 (Twitch's default is 20).
    pub first: Option<u32>,
    /// Cursor from a previous page.
    pub after: Option<String>,
}

impl EntitlementsQuery {
    /// No filter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an entitlement id (repeatable, up to 100).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.ids.push(id.into());
        self
    }

    /// Only this viewer's entitlements.
    pub fn user(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Only this game's entitlements.
    pub fn game(mut self, game_id: impl Into<String>) -> Self {
        self.game_id = Some(game_id.into());
        self
    }

    /// Only entitlements in this status.
    pub fn status(mut self, status: FulfillmentStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Page size, 1..=1000.
    pub fn first(mut self, first: u32) -> Self {
        self.first = Some(first);
        self
    }

    /// Starts after this cursor.
    pub fn after(mut self, cursor: impl Into<String>) -> Self {
        self.after = Some(cursor.into());
        self
    }

    /// Checks Twitch's limits.
    pub fn validate(&self) -> Result<(), Error> {
        if self.ids.len() > MAX_IDS_PER_REQUEST {
            return Err(Error::invalid(
                "ids",
                format!(
                    "{} ids given; one request filters by at most {MAX_IDS_PER_REQUEST}",
                    self.ids.len()
                ),
            ));
        }
        if self.ids.iter().any(|id| id.trim().is_empty()) {
            return Err(Error::invalid("ids", "an entitlement id is empty"));
        }
        non_empty("user_id", &self.user_id)?;
        non_empty("game_id", &self.game_id)?;
        non_empty("after", &self.after)?;
        if let Some(first) = self.first {
            if !(1..=MAX_PAGE_SIZE).contains(&first) {
                return Err(Error::invalid(
                    "first",
                    format!("{first} is out of range; use 1..={MAX_PAGE_SIZE}"),
                ));
            }
        }
        Ok(())
    }

    /// The query string, ids repeated (`id=a&id=b`).
    pub fn to_query_string(&self) -> String {
        let first = self.first.map(|f| f.to_string());
        let mut pairs: Vec<(&str, &str)> = self.ids.iter().map(|id| ("id", id.as_str())).collect();
        let optional = [
            ("user_id", self.user_id.as_deref()),
            ("game_id", self.game_id.as_deref()),
            (
                "fulfillment_status",
                self.status.map(FulfillmentStatus::as_str),
            ),
            ("first", first.as_deref()),
            ("after", self.after.as_deref()),
        ];
        pairs.extend(optional.into_iter().filter_map(|(k, v)| Some((k, v?))));
        encode_pairs(pairs)
    }
}

pub(crate) fn non_empty(field: &'static str, value: &Option<String>) -> Result<(), Error> {
    match value {
        Some(v) if v.trim().is_empty() => Err(Error::invalid(field, "is empty")),
        _ => Ok(()),
    }
}

/// One page of entitlements and the cursor of the next, if any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntitlementsPage {
    pub entitlements: Vec<Entitlement>,
    /// `None` on the last page.
    pub cursor: Option<String>,
}

/// Twitch's `pagination` object: `{"cursor": "…"}`, or `{}` on the last page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Pagination {
    #[serde(default)]
    pub cursor: Option<String>,
}

impl Pagination {
    pub(crate) fn next(self) -> Option<String> {
        // A blank cursor is no cursor (sent back, it would be refused as an empty `after`).
        self.cursor.filter(|c| !c.trim().is_empty())
    }
}

#[derive(Deserialize)]
struct PageBody {
    data: Vec<Entitlement>,
    #[serde(default)]
    pagination: Pagination,
}

/// Reads a `GET /entitlements/drops` body. An entitlement whose ids fail [`check_id`]
/// refuses the whole page with a `Decode` error naming its position and field.
pub fn parse_entitlements_page(body: &[u8]) -> Result<EntitlementsPage, Error> {
    let page: PageBody =
        serde_json::from_slice(body).map_err(|e| Error::decode("entitlements page", e))?;
    for (index, entitlement) in page.data.iter().enumerate() {
        entitlement
            .validate()
            .map_err(|e| Error::decode("entitlements page", format!("entitlement {index}: {e}")))?;
    }
    Ok(EntitlementsPage {
        entitlements: page.data,
        cursor: page.pagination.next(),
    })
}

/// The operation that gets one page.
pub fn get_entitlements(
    config: &Config,
    query: &EntitlementsQuery,
) -> Result<SingleRequest<EntitlementsPage>, Error> {
    query.validate()?;
    let exchange = Exchange::new(
        Method::Get,
        join(
            config.helix_url(),
            "entitlements/drops",
            &query.to_query_string(),
        ),
        helix_auth(config),
        Replay::Safe,
        config.retry_policy(),
    );
    Ok(SingleRequest::new(exchange, |r: &HttpResponse| {
        parse_entitlements_page(&r.body)
    }))
}

pub(crate) fn helix_auth(config: &Config) -> AuthScheme {
    AuthScheme::Helix {
        client_id: config.client_id().to_string(),
    }
}

/// Paging state: which page to ask for next, for any driver. The one home of the paging
/// rules: a cursor until `pagination` comes back empty (a page with no data but a cursor is
/// not the last), and an end with an error when the server loops — a cursor seen before in
/// this listing (`A→B→A` as much as `A→A`), or more than [`MAX_PAGES`] pages.
///
/// ```text
/// while let Some(op) = pages.next_request(&config)? { let page = drive(op)?; pages.advance(&page)?; … }
/// ```
#[derive(Clone, Debug)]
pub struct EntitlementPages {
    query: EntitlementsQuery,
    finished: bool,
    /// Pages read so far.
    read: u32,
    /// Every cursor of this listing, hashed (8 bytes each; a collision would only end a
    /// listing early with an error, never loop it).
    seen: HashSet<u64>,
}

impl EntitlementPages {
    /// Paging over `query`, starting at its `after` cursor if it has one.
    pub fn new(query: EntitlementsQuery) -> Result<Self, Error> {
        query.validate()?;
        let seen = query.after.iter().map(|c| cursor_hash(c)).collect();
        Ok(EntitlementPages {
            query,
            finished: false,
            read: 0,
            seen,
        })
    }

    /// The operation for the next page, or `None` after the last one.
    pub fn next_request(
        &self,
        config: &Config,
    ) -> Result<Option<SingleRequest<EntitlementsPage>>, Error> {
        if self.finished {
            return Ok(None);
        }
        get_entitlements(config, &self.query).map(Some)
    }

    /// Records a page. Fails, and ends paging, when the server loops: its cursor was seen
    /// before in this listing, or the listing has reached [`MAX_PAGES`] pages.
    pub fn advance(&mut self, page: &EntitlementsPage) -> Result<(), Error> {
        self.read = self.read.saturating_add(1);
        let Some(cursor) = &page.cursor else {
            self.finished = true;
            return Ok(());
        };
        // The cursor is the server's text: named by position, never quoted.
        let looped = if !self.seen.insert(cursor_hash(cursor)) {
            format!(
                "the pagination cursor of page {} was one seen earlier in this listing \
                 (the server loops)",
                self.read
            )
        } else if self.read >= MAX_PAGES {
            format!("the listing reached {MAX_PAGES} pages without an end (the server loops)")
        } else {
            self.query.after = Some(cursor.clone());
            return Ok(());
        };
        self.finished = true;
        Err(Error::decode("entitlements page", looped))
    }

    /// Stops paging (after an error the caller will not retry).
    pub fn finish(&mut self) {
        self.finished = true;
    }

    /// True after the last page.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The cursor the next page starts after (to resume paging later).
    pub fn cursor(&self) -> Option<&str> {
        self.query.after.as_deref()
    }
}

fn cursor_hash(cursor: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    cursor.hash(&mut hasher);
    hasher.finish()
}
