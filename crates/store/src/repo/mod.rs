//! The store's boundary: what the server may ask of persistence, one trait per area, so a
//! second backend (PostgreSQL, #17) implements the same traits and the server and its tests
//! run on either.
//!
//! [`Store`](crate::Store) (SQLite) implements every trait; the server reaches them through
//! [`Database`]. A method is one unit of work: whatever it writes commits together (on SQLite,
//! in one savepoint of the writer's group commit), so a backend with real transactions maps
//! each call to one.

mod callbacks;
mod kv;
mod secrets;
mod tenancy;

pub use callbacks::{CallbackRepo, SealedSecret};
pub use kv::KvRepo;
pub use secrets::SecretRepo;
pub use tenancy::{NewUserKey, TeamRef, TenancyRepo};

/// Every repository of one database.
pub trait Database: Send + Sync + std::fmt::Debug + 'static {
    /// Teams, users and API keys.
    fn tenancy(&self) -> &dyn TenancyRepo;
    /// Team secrets (sealed values).
    fn secrets(&self) -> &dyn SecretRepo;
    /// Blocks' key-value state.
    fn kv(&self) -> &dyn KvRepo;
    /// Completion callbacks and their messages.
    fn callbacks(&self) -> &dyn CallbackRepo;
}

impl Database for crate::Store {
    fn tenancy(&self) -> &dyn TenancyRepo {
        self
    }

    fn secrets(&self) -> &dyn SecretRepo {
        self
    }

    fn kv(&self) -> &dyn KvRepo {
        self
    }

    fn callbacks(&self) -> &dyn CallbackRepo {
        self
    }
}
