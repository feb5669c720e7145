//! Validation of user-set block and dataset settings against the server's limits (422s that
//! name the field).

use std::collections::BTreeMap;

use super::error::ApiError;
use crate::config::Config;

/// Checks a block's settings.
pub(crate) fn check_block(
    config: &Config,
    name: &str,
    language: &str,
    env: &BTreeMap<String, String>,
    timeout_ms: Option<u64>,
    fuel: Option<u64>,
    memory_bytes: Option<u64>,
) -> Result<(), ApiError> {
    if name.trim().is_empty() || name.len() > 200 {
        return Err(ApiError::unprocessable("`name` must be 1 to 200 characters"));
    }
    let language_ok = !language.is_empty()
        && language.len() <= 32
        && language.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !language_ok {
        return Err(ApiError::unprocessable("`language` must be a lowercase identifier such as rust or python"));
    }
    for key in env.keys() {
        if key.is_empty() || key.contains(['=', '\0']) {
            return Err(ApiError::unprocessable(format!("`env` key {key:?} is not a valid variable name")));
        }
    }
    check_timeout(config, timeout_ms, "timeoutMs")?;
    if fuel == Some(0) {
        return Err(ApiError::unprocessable("`fuel` must be greater than 0 (or null for the default)"));
    }
    if let Some(memory) = memory_bytes
        && !(1 << 20..=config.max_memory_bytes).contains(&memory)
    {
        return Err(ApiError::unprocessable(format!(
            "`memoryBytes` must be between 1048576 and {} (the server's max_memory_bytes)",
            config.max_memory_bytes
        )));
    }
    Ok(())
}

/// Checks a `timeoutMs` (block or dataset).
pub(crate) fn check_timeout(config: &Config, timeout_ms: Option<u64>, field: &str) -> Result<(), ApiError> {
    match timeout_ms {
        Some(ms) if ms == 0 || ms > config.max_timeout_ms => Err(ApiError::unprocessable(format!(
            "`{field}` must be between 1 and {} ms (the server's max_timeout_ms)",
            config.max_timeout_ms
        ))),
        _ => Ok(()),
    }
}
