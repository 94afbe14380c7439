//! The journals this crate keeps on disk: a file of JSON lines (one process at a time), and
//! SQLite and PostgreSQL tables that several instances share, each claiming what it grants.
//! The journal's rules and records are `twitch_drops_protocol::fulfill`'s.

mod deliveries_file;
mod file;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod shared;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use deliveries_file::FileDeliveryLog;
pub use file::FileJournal;
#[cfg(feature = "postgres")]
pub use postgres::PostgresJournal;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use shared::ClaimSettings;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteJournal;
