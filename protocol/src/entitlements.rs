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
use crate::shared_str::SharedStr;
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
    pub id: SharedStr,
    /// The reward (the Drop's benefit) to grant.
    #[serde(default)]
    pub benefit_id: SharedStr,
    /// When the viewer earned it (RFC 3339).
    #[serde(default)]
    pub timestamp: SharedStr,
    pub user_id: SharedStr,
    pub game_id: SharedStr,
    pub fulfillment_status: FulfillmentStatus,
    /// When its status last changed (RFC 3339).
    #[serde(default)]
    pub last_updated: SharedStr,
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
    // The body is checked as UTF-8 once (not string by string); a page in Twitch's usual
    // shape is then read by `fast_page`, anything else by serde_json (with its errors).
    let page = match std::str::from_utf8(body) {
        Ok(text) => match fast_page::parse(text) {
            Some(page) => page,
            None => serde_json::from_str(text),
        },
        Err(_) => serde_json::from_slice(body),
    }
    .map_err(|e| Error::decode("entitlements page", e))?;
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

/// A reader for pages in the shape Twitch sends: `{"data":[{…},…],"pagination":{…}}`, each
/// entitlement an object of the known fields with string values, no string holding an
/// escape. It reads them as serde_json would, and answers `None` at anything else (an escape,
/// an unknown or repeated field, a missing one, a `null`, a number…), leaving the page to
/// serde_json: so every page reads the same either way, errors included, and this one only
/// spares Twitch's usual page serde_json's general machinery.
mod fast_page {
    use super::{Entitlement, FulfillmentStatus, PageBody, Pagination, SharedStr, MAX_PAGE_SIZE};
    use crate::fast_json::Reader;

    pub(super) fn parse(text: &str) -> Option<Result<PageBody, serde_json::Error>> {
        let mut reader = Reader::new(text);
        let page = page(&mut reader)?;
        reader.at_end().then_some(Ok(page))
    }

    /// `{"data":[…],"pagination":{…}}`, `pagination` optional, each key once.
    fn page(reader: &mut Reader<'_>) -> Option<PageBody> {
        let (mut data, mut pagination) = (None, None);
        reader.object(|reader| {
            match reader.string()? {
                "data" if data.is_none() => {
                    reader.expect(b':')?;
                    data = Some(entitlements(reader)?);
                }
                "pagination" if pagination.is_none() => {
                    reader.expect(b':')?;
                    pagination = Some(self::pagination(reader)?);
                }
                _ => return None,
            }
            Some(())
        })?;
        Some(PageBody {
            data: data?,
            pagination: pagination.unwrap_or_default(),
        })
    }

    fn entitlements(reader: &mut Reader<'_>) -> Option<Vec<Entitlement>> {
        // About 250 bytes an entitlement; at most a full page reserved ahead.
        let mut data = Vec::with_capacity((reader.left() / 256).min(MAX_PAGE_SIZE as usize));
        let mut repeated = Repeated::default();
        reader.array(|reader| {
            data.push(entitlement(reader, &mut repeated)?);
            Some(())
        })?;
        Some(data)
    }

    /// The texts a page repeats from one entitlement to the next: its game, and the few
    /// benefits of a campaign's Drops (the last [`BENEFITS`] seen, in turn), shared by every
    /// entitlement that has the same.
    #[derive(Default)]
    struct Repeated {
        game_id: SharedStr,
        benefits: [SharedStr; BENEFITS],
        next_benefit: usize,
    }

    /// Benefit ids a page's reader remembers.
    const BENEFITS: usize = 8;

    impl Repeated {
        fn benefit(&mut self, text: &str) -> SharedStr {
            if let Some(known) = self.benefits.iter().find(|b| b.as_str() == text) {
                return known.clone();
            }
            let new = SharedStr::from(text);
            self.benefits[self.next_benefit] = new.clone();
            self.next_benefit = (self.next_benefit + 1) % BENEFITS;
            new
        }
    }

    /// `text` as a shared string: `last` again if it holds the same text, else a new one
    /// (which becomes `last`).
    fn shared(text: &str, last: &mut SharedStr) -> SharedStr {
        if last.as_str() != text {
            *last = SharedStr::from(text);
        }
        last.clone()
    }

    /// The fields of an entitlement, in the order Twitch writes them.
    const FIELDS: [&str; 7] = [
        "id",
        "benefit_id",
        "timestamp",
        "user_id",
        "game_id",
        "fulfillment_status",
        "last_updated",
    ];

    fn entitlement(reader: &mut Reader<'_>, repeated: &mut Repeated) -> Option<Entitlement> {
        let mut fields: [Option<&str>; 7] = [None; 7];
        let mut next = 0;
        reader.object(|reader| {
            // The field Twitch writes next is recognized as it stands; any other is read.
            let slot = match FIELDS.get(next) {
                Some(field) if reader.eat_key(field) => next,
                _ => {
                    let key = reader.string()?;
                    let slot = FIELDS.iter().position(|field| *field == key)?;
                    reader.expect(b':')?;
                    slot
                }
            };
            next = slot + 1;
            let value = reader.string()?;
            match fields[slot].replace(value) {
                Some(_) => None,
                None => Some(()),
            }
        })?;
        let [id, benefit_id, timestamp, user_id, game_id, status, last_updated] = fields;
        let (timestamp, last_updated) = (
            timestamp.unwrap_or_default(),
            last_updated.unwrap_or_default(),
        );
        let timestamp = SharedStr::from(timestamp);
        // Never updated since it was earned: one text for both.
        let last_updated = if last_updated == timestamp.as_str() {
            timestamp.clone()
        } else {
            SharedStr::from(last_updated)
        };
        Some(Entitlement {
            id: id?.into(),
            benefit_id: repeated.benefit(benefit_id.unwrap_or_default()),
            timestamp,
            user_id: user_id?.into(),
            game_id: shared(game_id?, &mut repeated.game_id),
            fulfillment_status: match status? {
                "CLAIMED" => FulfillmentStatus::Claimed,
                "FULFILLED" => FulfillmentStatus::Fulfilled,
                _ => return None,
            },
            last_updated,
        })
    }

    /// `{}` or `{"cursor":"…"}`.
    fn pagination(reader: &mut Reader<'_>) -> Option<Pagination> {
        let mut cursor = None;
        reader.object(|reader| {
            if cursor.is_some() || reader.string()? != "cursor" {
                return None;
            }
            reader.expect(b':')?;
            cursor = Some(reader.string()?.to_owned());
            Some(())
        })?;
        Some(Pagination { cursor })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"{"data":[{"id":"af080b41-cdf2-4a01-8e53-b8da0059e8ba","benefit_id":"2781afb1","timestamp":"2025-01-01T00:00:42.302Z","user_id":"100241225","game_id":"509658","fulfillment_status":"CLAIMED","last_updated":"2025-01-01T00:00:42.302Z"},{"user_id":"7","id":"b","game_id":"g","fulfillment_status":"FULFILLED"}],"pagination":{"cursor":"eyJhZnRlciI6MX0"}}"#;

    /// What serde_json alone makes of a body.
    fn by_serde(text: &str) -> Option<(Vec<Entitlement>, Option<String>)> {
        let page: PageBody = serde_json::from_str(text).ok()?;
        Some((page.data, page.pagination.cursor))
    }

    /// What the fast reader makes of it, if it reads it.
    fn by_fast(text: &str) -> Option<(Vec<Entitlement>, Option<String>)> {
        let page = fast_page::parse(text)?.expect("the fast reader never errs");
        Some((page.data, page.pagination.cursor))
    }

    #[test]
    fn the_fast_reader_reads_twitchs_page_as_serde_does() {
        let fast = by_fast(PAGE).expect("Twitch's shape is read fast");
        assert_eq!(Some(&fast), by_serde(PAGE).as_ref());
        assert_eq!(fast.0.len(), 2);
        assert_eq!(
            fast.0[1].benefit_id, "",
            "a missing optional field is empty"
        );
        for text in [
            r#"{"data":[]}"#,
            r#" { "pagination" : { } , "data" : [ ] } "#,
            "{\"data\":[],\"pagination\":{\"cursor\":\"x\"}}\n",
        ] {
            assert_eq!(by_fast(text), by_serde(text), "{text}");
            assert!(by_fast(text).is_some(), "{text}");
        }
    }

    #[test]
    fn a_page_shares_the_texts_its_entitlements_repeat() {
        let entitlement = |id: usize, benefit: usize| {
            format!(
                r#"{{"id":"e{id}","benefit_id":"b{benefit}","timestamp":"t{id}","user_id":"u","game_id":"509658","fulfillment_status":"CLAIMED","last_updated":"t{id}"}}"#
            )
        };
        // Three benefits in turn, then one of them again after ten others.
        let mut data: Vec<String> = (0..9).map(|n| entitlement(n, n % 3)).collect();
        data.extend((0..10).map(|n| entitlement(100 + n, 10 + n)));
        data.push(entitlement(200, 0));
        let text = format!(r#"{{"data":[{}]}}"#, data.join(","));
        let (page, _) = by_fast(&text).expect("read fast");
        assert_eq!(Some(&page), by_serde(&text).map(|(page, _)| page).as_ref());
        let same = |a: &SharedStr, b: &SharedStr| std::ptr::eq(a.as_str(), b.as_str());
        assert!(page.iter().all(|e| same(&e.game_id, &page[0].game_id)));
        assert!(page.iter().all(|e| same(&e.timestamp, &e.last_updated)));
        assert!(same(&page[0].benefit_id, &page[3].benefit_id));
        assert!(same(&page[2].benefit_id, &page[8].benefit_id));
        // Eight benefits are remembered: `b0` was forgotten among the ten new ones.
        assert!(!same(&page[0].benefit_id, &page[19].benefit_id));
        assert_eq!(page[19].benefit_id, "b0");
    }

    #[test]
    fn the_fast_reader_leaves_anything_else_to_serde() {
        for text in [
            r#"{"data":[{"id":"a\u0062","user_id":"u","game_id":"g","fulfillment_status":"CLAIMED"}]}"#,
            r#"{"data":[{"id":"a","id":"b","user_id":"u","game_id":"g","fulfillment_status":"CLAIMED"}]}"#,
            r#"{"data":[{"id":"a","user_id":"u","game_id":"g","fulfillment_status":"CLAIMED","extra":1}]}"#,
            r#"{"data":[{"id":"a","user_id":"u","game_id":"g"}]}"#,
            r#"{"data":[{"id":"a","user_id":"u","game_id":"g","fulfillment_status":"claimed"}]}"#,
            r#"{"data":[],"pagination":{"cursor":null}}"#,
            r#"{"data":[],"total":3}"#,
            r#"{"data":[],"data":[]}"#,
            r#"{"data":[]} x"#,
            r#"{"data":[],}"#,
            "{\"data\":[{\"id\":\"a\u{1}\"}]}",
        ] {
            assert_eq!(by_fast(text), None, "{text}");
        }
    }

    /// Every page one edit away from a good one: read the same way by both, or left to
    /// serde_json.
    #[test]
    fn the_fast_reader_agrees_with_serde_one_edit_away() {
        let edits = [
            "", "\"", "\\", "{", "}", "[", "]", ",", ":", " ", "\n", "\u{1}", "x", "0", "n",
            "\u{7f}", "é",
        ];
        let mut checked = 0;
        for at in (0..=PAGE.len()).filter(|&at| PAGE.is_char_boundary(at)) {
            for edit in edits {
                let next = PAGE[at..].chars().next().map_or(0, char::len_utf8);
                for text in [
                    format!("{}{edit}{}", &PAGE[..at], &PAGE[at..]),
                    format!("{}{edit}{}", &PAGE[..at], &PAGE[at + next..]),
                ] {
                    if let Some(fast) = by_fast(&text) {
                        assert_eq!(Some(fast), by_serde(&text), "{text}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 1000, "{checked}");
    }
}
