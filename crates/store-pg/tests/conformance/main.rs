//! The store's contract, checked on both backends: every case runs once on a SQLite file and
//! once on a PostgreSQL database of its own (skipped without `PG_TEST_URL`, see `support`).
//! A case states what the repositories promise callers, through their traits only.

#[path = "../support/mod.rs"]
pub mod support;

mod blocks;
mod callbacks;
mod cluster;
mod docs;
mod execution_stats;
mod executions;
mod kv;
mod large_records;
mod sealing;
mod tenancy;
mod webhooks;
