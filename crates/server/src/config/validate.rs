//! The checks of the merged configuration: each refusal names the setting, so an operator
//! knows what to fix before the server starts.

use std::time::Duration;

use super::{Config, ConfigError, MIN_LEASE_MS};

impl Config {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| ConfigError::Invalid {
            key: key.into(),
            origin: "the merged configuration".into(),
            message: message.into(),
        };
        if self.max_body_bytes == 0 {
            return Err(invalid("max_body_bytes", "must be greater than 0"));
        }
        if self.max_concurrent_runs == 0 || self.max_concurrent_runs > 10_000 {
            return Err(invalid("max_concurrent_runs", "must be between 1 and 10000"));
        }
        if self.prepared_cache == 0 {
            return Err(invalid("prepared_cache", "must be greater than 0"));
        }
        if self.doc_concurrency == 0 {
            return Err(invalid("doc_concurrency", "must be greater than 0"));
        }
        if self.default_memory_bytes > self.max_memory_bytes {
            return Err(invalid("default_memory_bytes", "must not exceed max_memory_bytes"));
        }
        if self.max_memory_bytes < (1 << 20) {
            return Err(invalid("max_memory_bytes", "must be at least 1 MiB"));
        }
        if self.max_timeout_ms == 0 {
            return Err(invalid("max_timeout_ms", "must be greater than 0"));
        }
        if self.workers == 0 {
            return Err(invalid("workers", "must be greater than 0"));
        }
        if self.queue_depth == 0 {
            return Err(invalid("queue_depth", "must be greater than 0"));
        }
        if self.header_timeout.is_zero() {
            return Err(invalid("header_timeout_ms", "must be greater than 0"));
        }
        if self.body_timeout.is_zero() {
            return Err(invalid("body_timeout_ms", "must be greater than 0"));
        }
        if self.memory_budget_bytes.is_some_and(|b| b < self.default_memory_bytes) {
            return Err(invalid("memory_budget_bytes", "must be at least default_memory_bytes (one default run)"));
        }
        if self.team_queue_depth == Some(0) {
            return Err(invalid("team_queue_depth", "must be greater than 0"));
        }
        if self.max_concurrent_compiles == 0 {
            return Err(invalid("max_concurrent_compiles", "must be greater than 0"));
        }
        if self.max_sync_runs == Some(0) {
            return Err(invalid("max_sync_runs", "must be greater than 0"));
        }
        if self.outbound_max_requests == 0 {
            return Err(invalid("outbound_max_requests", "must be greater than 0"));
        }
        if self.outbound_max_body_bytes == 0 {
            return Err(invalid("outbound_max_body_bytes", "must be greater than 0"));
        }
        if self.max_connections == 0 {
            return Err(invalid("max_connections", "must be greater than 0"));
        }
        if self.lease < Duration::from_millis(MIN_LEASE_MS) {
            return Err(invalid("lease_ms", "must be at least 300 (renewals take a round trip each)"));
        }
        if self.database_pool_size == 0 {
            return Err(invalid("database_pool_size", "must be greater than 0"));
        }
        if self.database_url.is_some() && self.master_key.is_none() && self.master_key_file.is_none() {
            // Each node would create a key file of its own, and secrets sealed on one node
            // would not open on another.
            return Err(invalid(
                "database_url",
                "needs a master key every node shares: set master_key (WASMHOOK_MASTER_KEY) or master_key_file",
            ));
        }
        if self.retention_interval.is_zero() {
            return Err(invalid("retention_interval_ms", "must be greater than 0"));
        }
        if self.retry_max_attempts_limit == 0 {
            return Err(invalid("retry_max_attempts_limit", "must be greater than 0"));
        }
        if self.retry_default_max_attempts == 0 || self.retry_default_max_attempts > self.retry_max_attempts_limit {
            return Err(invalid("retry_default_max_attempts", "must be 1 to retry_max_attempts_limit"));
        }
        if self.callback_timeout.is_zero() {
            return Err(invalid("callback_timeout_ms", "must be greater than 0"));
        }
        if self.replay_rate_per_second == 0 {
            return Err(invalid("replay_rate_per_second", "must be greater than 0"));
        }
        if self.replay_max_executions == 0 {
            return Err(invalid("replay_max_executions", "must be greater than 0"));
        }
        // An idempotent repeat answers with the original execution ids: they must still exist.
        if self.retention < self.idempotency_window {
            return Err(invalid(
                "retention_secs",
                "must be at least idempotency_window_secs (a repeat answers with the original executions)",
            ));
        }
        Ok(())
    }
}
