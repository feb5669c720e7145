//! The vocabulary every layer of wasmhook shares, and nothing else: what a run produced (its
//! outcome, logs and outbound calls), the capability settings a block is stored with (allowed
//! hosts, a webhook's signature scheme), key-value values, and the thread priorities of
//! background work; and the typed ids of every resource.
//!
//! It depends on no runtime, database or web framework, so the sandbox (wasmtime) and the store
//! (SQLite) can share these types without depending on each other.

#![warn(missing_docs)]

pub mod allowed_host;
pub mod block;
pub mod ids;
pub mod kv;
pub mod logs;
pub mod outbound;
pub mod outcome;
pub mod priority;
mod schema;
pub mod signature;

pub use allowed_host::{AllowedHost, AllowedHostError, Target};
pub use block::{BlockDigest, BlockShape};
pub use ids::{BlockId, DocId, ExecutionId, Id, IdError, KeyId, ReplayJobId, TeamId, UserId, WebhookId};
pub use kv::Versioned;
pub use logs::{LogLevel, LogLine, LogStream, Logs};
pub use outbound::OutboundCall;
pub use outcome::{Failure, FailureKind, Outcome, RunStatus};
