//! Validation of user-set block and dataset settings against the server's limits (422s that
//! name the field).

use std::collections::BTreeMap;

use super::error::ApiError;
use crate::config::Config;
use crate::executor::retry::RetryPolicy;
use crate::secrets;
use wasmhook_store::block_settings::{
    Credential, EnvValue, Injection, KeyValueSettings, NetworkSettings, SECRET_PLACEHOLDER,
};
use wasmhook_store::blocks::{Block, RetrySettings};

/// Longest variable name accepted.
const MAX_ENV_NAME_BYTES: usize = 256;

/// Checks an environment map set by a caller or a block owner; the message names `field` and
/// the offending key. A name must be 1–256 bytes without `=` or NUL (the guest would otherwise
/// see `BAD=KEY` as `BAD` = `KEY=…`) and not one of [`wasmhook_abi::env::HOST_SET`]; a value must not
/// hold NUL (C guests would cut it there).
pub(crate) fn check_env(env: &BTreeMap<String, String>, field: &str) -> Result<(), String> {
    check_entries(env.iter().map(|(key, value)| (key, Some(value.as_str()))), field)
}

/// [`check_env`] for a block's saved env, whose values may name a secret instead.
fn check_block_env(env: &BTreeMap<String, EnvValue>) -> Result<(), String> {
    for value in env.values() {
        if let EnvValue::Secret(reference) = value {
            secrets::check_name(&reference.secret)?;
        }
    }
    fn text(value: &EnvValue) -> Option<&str> {
        match value {
            EnvValue::Text(text) => Some(text),
            EnvValue::Secret(_) => None,
        }
    }
    check_entries(env.iter().map(|(key, value)| (key, text(value))), "env")
}

fn check_entries<'a>(entries: impl Iterator<Item = (&'a String, Option<&'a str>)>, field: &str) -> Result<(), String> {
    for (key, value) in entries {
        if key.is_empty() || key.len() > MAX_ENV_NAME_BYTES || key.contains(['=', '\0']) {
            return Err(format!("`{field}` key {key:?} is not a valid variable name (1-256 bytes, no `=` or NUL)"));
        }
        if wasmhook_abi::env::HOST_SET.contains(&key.as_str()) {
            return Err(format!("`{field}` key {key:?} is set by the host and cannot be overridden"));
        }
        if value.is_some_and(|value| value.contains('\0')) {
            return Err(format!("`{field}.{key}` contains a NUL character"));
        }
    }
    Ok(())
}

/// Checks a block's settings (as they will be stored: a patch is checked merged).
pub(crate) fn check_block(config: &Config, block: &Block) -> Result<(), ApiError> {
    let Block { name, language, env, timeout_ms, fuel, memory_bytes, network, key_value, retry, .. } = block;
    let (timeout_ms, fuel, memory_bytes) = (*timeout_ms, *fuel, *memory_bytes);
    if name.trim().is_empty() || name.len() > 200 {
        return Err(ApiError::unprocessable("`name` must be 1 to 200 characters"));
    }
    let language_ok = !language.is_empty()
        && language.len() <= 32
        && language.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !language_ok {
        return Err(ApiError::unprocessable("`language` must be a lowercase identifier such as rust or python"));
    }
    check_block_env(env).map_err(ApiError::unprocessable)?;
    check_timeout(config, timeout_ms, "timeoutMs")?;
    // Stored as a SQLite INTEGER (i64): a larger budget was accepted and then failed as a 500.
    if fuel.is_some_and(|f| f == 0 || f > i64::MAX as u64) {
        return Err(ApiError::unprocessable(format!(
            "`fuel` must be between 1 and {} (or null for the default)",
            i64::MAX
        )));
    }
    let ceiling = config.run_memory_ceiling();
    if let Some(memory) = memory_bytes
        && !(1 << 20..=ceiling).contains(&memory)
    {
        return Err(ApiError::unprocessable(format!(
            "`memoryBytes` must be between 1048576 and {ceiling} (the server's max_memory_bytes, or its \
             memory_budget_bytes if smaller)"
        )));
    }
    check_network(config, network)?;
    check_key_value(key_value)?;
    check_retry(config, retry.as_ref(), "retry")
}

/// Checks a block's or dataset's `retry` against the server's ceilings.
pub(crate) fn check_retry(config: &Config, retry: Option<&RetrySettings>, field: &str) -> Result<(), ApiError> {
    match retry {
        Some(settings) => RetryPolicy::check(settings, config)
            .map_err(|e| ApiError::unprocessable(format!("`{field}`: {}", e.trim_start_matches("retry.")))),
        None => Ok(()),
    }
}

/// Checks a block's `keyValue`: bucket names (or `*`) and a TTL of at least a second.
fn check_key_value(settings: &KeyValueSettings) -> Result<(), ApiError> {
    for bucket in settings.buckets.iter().filter(|b| *b != "*") {
        wasmhook_sandbox::keyvalue::check_bucket(bucket)
            .map_err(|e| ApiError::unprocessable(format!("`keyValue.buckets`: {e}")))?;
    }
    if settings.ttl_seconds == Some(0) {
        return Err(ApiError::unprocessable("`keyValue.ttlSeconds` must be at least 1 (or absent: no expiry)"));
    }
    Ok(())
}

/// Most `allowedHosts` entries a block may list.
const MAX_ALLOWED_HOSTS: usize = 64;

/// Checks a block's `network` limits against the server's ceilings (the entries themselves
/// were parsed, and so checked, when the body was read).
fn check_network(config: &Config, network: &NetworkSettings) -> Result<(), ApiError> {
    if network.allowed_hosts.len() > MAX_ALLOWED_HOSTS {
        return Err(ApiError::unprocessable(format!(
            "`network.allowedHosts` lists more than {MAX_ALLOWED_HOSTS} entries"
        )));
    }
    if network.max_requests.is_some_and(|n| n == 0 || n > config.outbound_max_requests) {
        return Err(ApiError::unprocessable(format!(
            "`network.maxRequests` must be between 1 and {} (the server's outbound_max_requests)",
            config.outbound_max_requests
        )));
    }
    for (field, bytes) in
        [("maxRequestBytes", network.max_request_bytes), ("maxResponseBytes", network.max_response_bytes)]
    {
        if bytes.is_some_and(|n| n == 0 || n > config.outbound_max_body_bytes) {
            return Err(ApiError::unprocessable(format!(
                "`network.{field}` must be between 1 and {} (the server's outbound_max_body_bytes)",
                config.outbound_max_body_bytes
            )));
        }
    }
    for credential in &network.credentials {
        check_credential(credential).map_err(ApiError::unprocessable)?;
    }
    if network.connect_timeout_ms.is_some_and(|ms| ms == 0 || ms > config.max_timeout_ms) {
        return Err(ApiError::unprocessable(format!(
            "`network.connectTimeoutMs` must be between 1 and {} (the server's max_timeout_ms)",
            config.max_timeout_ms
        )));
    }
    Ok(())
}

/// Headers a credential may not set: the connection's own (hyper and the host set them).
const FRAMING_HEADERS: [&str; 6] = ["host", "content-length", "transfer-encoding", "connection", "upgrade", "te"];

/// Checks a credential: a secret name, a header name that is not a framing header, and a value
/// template that uses the secret and makes a valid header value.
fn check_credential(credential: &Credential) -> Result<(), String> {
    secrets::check_name(&credential.secret)?;
    let Injection { header, value, .. } = &credential.inject;
    let name = http::HeaderName::try_from(header.as_str())
        .map_err(|_| format!("`network.credentials` header {header:?} is not a valid header name"))?;
    if FRAMING_HEADERS.contains(&name.as_str()) {
        return Err(format!("`network.credentials` may not set {header:?}: the host sets it"));
    }
    if !value.contains(SECRET_PLACEHOLDER) {
        return Err(format!("`network.credentials` value {value:?} must contain {SECRET_PLACEHOLDER}"));
    }
    http::HeaderValue::try_from(value.replace(SECRET_PLACEHOLDER, "x"))
        .map_err(|_| format!("`network.credentials` value {value:?} is not a valid header value"))?;
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
