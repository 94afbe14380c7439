//! What the fake starts with: a deterministic set of entitlements.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::rfc3339_millis;
use crate::entitlement::{Entitlement, CLAIMED, FULFILLED};
use crate::rng::Rng;

/// The game used when a seed asks for entitlements but names no game.
pub const DEFAULT_GAME: &str = "509658";
/// The other organization's game in [`Seed::standard`].
pub const DEFAULT_FOREIGN_GAME: &str = "999999";

/// Seeded entitlements are granted from this instant on (2025-01-01T00:00:00Z), one
/// about every minute, so data never depends on when the test runs.
const SEED_EPOCH_UNIX: i64 = 1_735_689_600;

/// How to fill the store. The same `Seed` always yields the same entitlements (ids,
/// fields and order), on every machine.
///
/// When both `games` and `foreign_games` are given, about one entitlement in ten goes to
/// a foreign game; the rest spread evenly over `games`. `users` viewers (at least one)
/// share the entitlements at random; `fulfilled_fraction` of them start `FULFILLED`.
///
/// As JSON (the `reset` admin route, [`FakeConfig`](crate::FakeConfig)'s `seed`), an object
/// of these fields; an unknown field is an error, so a misspelt one is not silently dropped:
/// `{"entitlements": 1000, "games": ["509658"], "foreign_games": ["999999"], "users": 50,
/// "fulfilled_fraction": 0.2, "rng_seed": 42}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Seed {
    /// How many entitlements to create.
    pub entitlements: usize,
    /// Game ids owned by our organization (the fake's client id).
    pub games: Vec<String>,
    /// Game ids owned by another organization: listing them is a 403, updating their
    /// entitlements is `UNAUTHORIZED`.
    pub foreign_games: Vec<String>,
    /// How many distinct viewers.
    pub users: usize,
    /// Share of entitlements that start `FULFILLED` (0.0..=1.0).
    pub fulfilled_fraction: f64,
    /// Seed of the generator.
    pub rng_seed: u64,
}

impl Seed {
    /// The binary's default: 1000 entitlements over game `509658` (ours) and `999999`
    /// (another organization's), 50 users, a fifth of them already fulfilled.
    pub fn standard() -> Seed {
        Seed {
            entitlements: 1000,
            games: vec![DEFAULT_GAME.to_string()],
            foreign_games: vec![DEFAULT_FOREIGN_GAME.to_string()],
            users: 50,
            fulfilled_fraction: 0.2,
            rng_seed: 42,
        }
    }

    /// `entitlements` CLAIMED of one `game` of ours (none fulfilled, no foreign game), among
    /// `users` viewers: what a test of the main job starts from.
    pub fn claimed_of(game: &str, entitlements: usize, users: usize, rng_seed: u64) -> Seed {
        Seed {
            entitlements,
            games: vec![game.to_string()],
            foreign_games: Vec::new(),
            users,
            fulfilled_fraction: 0.0,
            rng_seed,
        }
    }

    /// An empty store that still knows which games are ours and whose are foreign.
    pub fn empty() -> Seed {
        Seed {
            entitlements: 0,
            ..Seed::standard()
        }
    }

    /// The user ids this seed gives entitlements to, in a fixed order.
    pub fn user_ids(&self) -> Vec<String> {
        let mut rng = Rng::new(self.rng_seed);
        Self::draw_users(&mut rng, self.users.max(1))
    }

    fn draw_users(rng: &mut Rng, n: usize) -> Vec<String> {
        // Disjoint ranges keep the ids distinct.
        (0..n as u64)
            .map(|k| (100_000_000 + k * 7919 + rng.below(7919)).to_string())
            .collect()
    }

    /// Our games; [`DEFAULT_GAME`] when the seed names no game at all.
    pub(crate) fn our_games(&self) -> Vec<String> {
        let mut games = self.games.clone();
        if games.is_empty() && self.foreign_games.is_empty() {
            games.push(DEFAULT_GAME.to_string());
        }
        games
    }

    /// Three benefit ids per game (ours, then foreign ones), as seeded entitlements use.
    pub(crate) fn benefits(&self) -> Vec<(String, Vec<String>)> {
        let mut rng = Rng::new(self.rng_seed);
        Self::draw_users(&mut rng, self.users.max(1));
        self.draw_benefits(&mut rng)
    }

    fn draw_benefits(&self, rng: &mut Rng) -> Vec<(String, Vec<String>)> {
        self.our_games()
            .iter()
            .chain(self.foreign_games.iter())
            .map(|g| (g.clone(), (0..3).map(|_| rng.uuid()).collect()))
            .collect()
    }

    /// The entitlements this seed describes, in their stable order.
    pub(crate) fn generate(&self) -> Vec<Entitlement> {
        let mut rng = Rng::new(self.rng_seed);
        let users = Self::draw_users(&mut rng, self.users.max(1));
        let games = self.our_games();
        let benefits = self.draw_benefits(&mut rng);
        let benefits_of = |game: &str| -> &Vec<String> {
            &benefits
                .iter()
                .find(|(g, _)| g == game)
                .expect("every game has benefits")
                .1
        };
        let foreign_share = if games.is_empty() {
            1.0
        } else if self.foreign_games.is_empty() {
            0.0
        } else {
            0.1
        };

        (0..self.entitlements)
            .map(|i| {
                let id = rng.uuid();
                let foreign = rng.chance(foreign_share);
                let pool = if foreign { &self.foreign_games } else { &games };
                let game = pool[rng.below(pool.len() as u64) as usize].clone();
                let list = benefits_of(&game);
                let benefit = list[rng.below(list.len() as u64) as usize].clone();
                let user = users[rng.below(users.len() as u64) as usize].clone();
                let granted_ms = (SEED_EPOCH_UNIX + i as i64 * 60 + rng.below(60) as i64) * 1000
                    + rng.below(1000) as i64;
                let fulfilled = rng.chance(self.fulfilled_fraction);
                let updated_ms = if fulfilled {
                    granted_ms + 1000 * (1 + rng.below(86_400) as i64)
                } else {
                    granted_ms
                };
                Entitlement {
                    id,
                    benefit_id: benefit,
                    timestamp: millis_to_rfc3339(granted_ms),
                    user_id: user,
                    game_id: game,
                    fulfillment_status: if fulfilled { FULFILLED } else { CLAIMED }.to_string(),
                    last_updated: millis_to_rfc3339(updated_ms),
                }
            })
            .collect()
    }
}

fn millis_to_rfc3339(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    rfc3339_millis(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_data() {
        assert_eq!(Seed::standard().generate(), Seed::standard().generate());
        let other = Seed {
            rng_seed: 43,
            ..Seed::standard()
        };
        assert_ne!(Seed::standard().generate(), other.generate());
    }

    #[test]
    fn shares_roughly_match() {
        let rows = Seed::standard().generate();
        assert_eq!(rows.len(), 1000);
        let foreign = rows.iter().filter(|e| e.game_id == "999999").count();
        assert!((50..150).contains(&foreign), "{foreign}");
        let fulfilled = rows
            .iter()
            .filter(|e| e.fulfillment_status == FULFILLED)
            .count();
        assert!((120..280).contains(&fulfilled), "{fulfilled}");
        assert_eq!(rows[0].timestamp.len(), "2025-01-01T00:00:00.000Z".len());
    }

    #[test]
    fn games_default_when_missing() {
        let seed = Seed {
            entitlements: 3,
            ..Seed::default()
        };
        assert!(seed.generate().iter().all(|e| e.game_id == DEFAULT_GAME));
    }
}
