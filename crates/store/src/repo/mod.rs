//! The store's boundary: what the server may ask of persistence, one trait per area, so a
//! second backend (PostgreSQL, #17) implements the same traits and the server and its tests
//! run on either.
//!
//! [`Store`](crate::Store) (SQLite) implements every trait; the server reaches them through
//! [`Database`]. A method is one unit of work: whatever it writes commits together (on SQLite,
//! in one savepoint of the writer's group commit), so a backend with real transactions maps
//! each call to one.

mod blocks;
mod callbacks;
mod docs;
mod executions;
mod kv;
mod replay_jobs;
mod sealing;
mod secrets;
mod tenancy;
mod webhooks;

pub use blocks::{BlockCheck, BlockRepo};
pub use callbacks::{CallbackRepo, SealedSecret};
pub use docs::DocRepo;
pub use executions::{Acceptance, Completion, ExecutionRepo, Finished, FollowUp, KeyClaimRequest, delivery_key};
pub use kv::KvRepo;
pub use replay_jobs::{NewReplay, ReplayJobRepo};
pub use sealing::SealingRepo;
pub use secrets::SecretRepo;
pub use tenancy::{NewUserKey, TeamRef, TenancyRepo};
pub use webhooks::{SecretHash, WebhookRepo};

/// A database as the server holds it: any backend, shared by every task.
pub type SharedDatabase = std::sync::Arc<dyn Database>;

/// Every repository of one database.
pub trait Database: Send + Sync + std::fmt::Debug + 'static {
    /// Teams, users and API keys.
    fn tenancy(&self) -> &dyn TenancyRepo;
    /// Blocks and their versions.
    fn blocks(&self) -> &dyn BlockRepo;
    /// Docs.
    fn docs(&self) -> &dyn DocRepo;
    /// Trigger webhooks.
    fn webhooks(&self) -> &dyn WebhookRepo;
    /// Executions and the durable queue.
    fn executions(&self) -> &dyn ExecutionRepo;
    /// Bulk replays.
    fn replay_jobs(&self) -> &dyn ReplayJobRepo;
    /// Sealed values as a whole (master-key rotation).
    fn sealing(&self) -> &dyn SealingRepo;
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

    fn blocks(&self) -> &dyn BlockRepo {
        self
    }

    fn docs(&self) -> &dyn DocRepo {
        self
    }

    fn webhooks(&self) -> &dyn WebhookRepo {
        self
    }

    fn executions(&self) -> &dyn ExecutionRepo {
        self
    }

    fn replay_jobs(&self) -> &dyn ReplayJobRepo {
        self
    }

    fn sealing(&self) -> &dyn SealingRepo {
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
