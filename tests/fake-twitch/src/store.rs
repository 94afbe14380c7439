//! The entitlements and the rules for reading and paging them.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::cursor::Cursor;
use crate::entitlement::{Entitlement, CLAIMED};
use crate::seed::Seed;
use crate::stats::GameCounts;

/// Which entitlements a GET selects.
#[derive(Clone, Debug, Default)]
pub(crate) struct Filter {
    pub(crate) ids: Option<HashSet<String>>,
    pub(crate) user_id: Option<String>,
    pub(crate) game_id: Option<String>,
    pub(crate) status: Option<String>,
}

/// One page of a listing.
#[derive(Clone, Debug)]
pub(crate) struct Page {
    pub(crate) items: Vec<Entitlement>,
    /// None on the last page.
    pub(crate) next: Option<Cursor>,
}

/// All entitlements in a stable order (seed order, then insertion order), and which
/// games belong to another organization.
#[derive(Debug, Default)]
pub(crate) struct Store {
    rows: Vec<Entitlement>,
    index: HashMap<String, Vec<usize>>,
    owned_games: Vec<String>,
    foreign_games: HashSet<String>,
    /// PATCH FULFILLED of ids already FULFILLED.
    pub(crate) duplicate_fulfill_attempts: usize,
}

impl Store {
    pub(crate) fn new(seed: &Seed) -> Store {
        let mut store = Store {
            owned_games: seed.games.clone(),
            foreign_games: seed.foreign_games.iter().cloned().collect(),
            ..Store::default()
        };
        for e in seed.generate() {
            store.insert(e);
        }
        store
    }

    /// Append an entitlement (duplicate ids are allowed: updates then touch every copy).
    pub(crate) fn insert(&mut self, e: Entitlement) {
        self.index
            .entry(e.id.clone())
            .or_default()
            .push(self.rows.len());
        self.rows.push(e);
    }

    pub(crate) fn all(&self) -> Vec<Entitlement> {
        self.rows.clone()
    }

    /// Owned by another organization: invisible to listings, 403 as a filter,
    /// `UNAUTHORIZED` to updates. Any game not named foreign by the seed counts as ours.
    pub(crate) fn is_foreign(&self, game_id: &str) -> bool {
        self.foreign_games.contains(game_id)
    }

    /// Named by the seed as ours (analytics reports exist only for these).
    pub(crate) fn owned_games(&self) -> &[String] {
        &self.owned_games
    }

    /// (claimed, fulfilled) counts.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let claimed = self
            .rows
            .iter()
            .filter(|e| e.fulfillment_status == CLAIMED)
            .count();
        (claimed, self.rows.len() - claimed)
    }

    /// `CLAIMED` and `FULFILLED` counts by game id.
    pub(crate) fn counts_by_game(&self) -> BTreeMap<String, GameCounts> {
        let mut games: BTreeMap<String, GameCounts> = BTreeMap::new();
        for e in &self.rows {
            let counts = games.entry(e.game_id.clone()).or_default();
            if e.fulfillment_status == CLAIMED {
                counts.claimed += 1;
            } else {
                counts.fulfilled += 1;
            }
        }
        games
    }

    /// Every copy of the entitlement with this id.
    pub(crate) fn find(&self, id: &str) -> Vec<&Entitlement> {
        self.index
            .get(id)
            .map(|positions| positions.iter().map(|&p| &self.rows[p]).collect())
            .unwrap_or_default()
    }

    /// Set the status of every copy of `id`; returns true if one already had `status`.
    pub(crate) fn set_status(&mut self, id: &str, status: &str, now: &str) -> bool {
        let mut already = false;
        for &p in self.index.get(id).map(Vec::as_slice).unwrap_or_default() {
            let row = &mut self.rows[p];
            already |= row.fulfillment_status == status;
            row.fulfillment_status = status.to_string();
            row.last_updated = now.to_string();
        }
        already
    }

    fn matches(&self, f: &Filter, e: &Entitlement) -> bool {
        !self.is_foreign(&e.game_id)
            && f.ids.as_ref().is_none_or(|ids| ids.contains(&e.id))
            && f.user_id.as_ref().is_none_or(|u| *u == e.user_id)
            && f.game_id.as_ref().is_none_or(|g| *g == e.game_id)
            && f.status.as_ref().is_none_or(|s| *s == e.fulfillment_status)
    }

    /// Up to `first` matching items from `cursor` on; `positional` picks the kind of
    /// cursor handed out for the next page.
    pub(crate) fn page(
        &self,
        filter: &Filter,
        first: usize,
        cursor: Cursor,
        positional: bool,
    ) -> Page {
        let cursor = match cursor {
            Cursor::Start if positional => Cursor::Offset(0),
            other => other,
        };
        match cursor {
            Cursor::Start | Cursor::After(_) => {
                let start = match cursor {
                    Cursor::After(pos) => pos.saturating_add(1),
                    _ => 0,
                };
                let mut hits = self
                    .rows
                    .iter()
                    .enumerate()
                    .skip(start)
                    .filter(|(_, e)| self.matches(filter, e))
                    .take(first + 1);
                let items: Vec<(usize, &Entitlement)> = hits.by_ref().take(first).collect();
                let more = hits.next().is_some();
                Page {
                    next: match items.last() {
                        Some((pos, _)) if more => Some(Cursor::After(*pos)),
                        _ => None,
                    },
                    items: items.into_iter().map(|(_, e)| e.clone()).collect(),
                }
            }
            Cursor::Offset(offset) => {
                let all: Vec<&Entitlement> = self
                    .rows
                    .iter()
                    .filter(|e| self.matches(filter, e))
                    .collect();
                let end = offset.saturating_add(first).min(all.len());
                let items: Vec<Entitlement> = all
                    .get(offset.min(all.len())..end)
                    .unwrap_or_default()
                    .iter()
                    .map(|e| (*e).clone())
                    .collect();
                Page {
                    next: (end < all.len()).then_some(Cursor::Offset(end)),
                    items,
                }
            }
        }
    }
}
