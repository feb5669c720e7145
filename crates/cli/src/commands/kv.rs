//! `wasmhook kv …`: the team's key-value state.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Subcommand;
use reqwest::Method;

use super::{segment, value_bytes};
use crate::output::{Column, Output};
use crate::{ApiClient, CliError};

const KEYS: &[Column] = &[("KEY", "/key"), ("SIZE", "/size"), ("EXPIRES", "/expiresAt"), ("UPDATED", "/updatedAt")];

/// `wasmhook kv …`.
#[derive(Debug, Subcommand)]
pub enum Kv {
    /// List the buckets holding live keys (`listKvBuckets`).
    Buckets,
    /// List a bucket's keys in order (`listKvKeys`).
    Keys {
        /// The bucket.
        bucket: String,
        /// Keys after this one.
        #[arg(long)]
        after: Option<String>,
        /// At most this many (≤ 1000).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Print a value's raw bytes (`getKvValue`).
    Get {
        /// The bucket.
        bucket: String,
        /// The key.
        #[arg(id = "kv_key", value_name = "KEY")]
        key: String,
    },
    /// Set a value from `--value`, `--from-file` or stdin (`putKvValue`).
    Put {
        /// The bucket.
        bucket: String,
        /// The key.
        #[arg(id = "kv_key", value_name = "KEY")]
        key: String,
        /// The value.
        #[arg(long)]
        value: Option<String>,
        /// A file holding the value.
        #[arg(long)]
        from_file: Option<PathBuf>,
        /// Expire it after this many seconds.
        #[arg(long)]
        ttl_seconds: Option<u64>,
    },
    /// Delete a key (`deleteKvValue`).
    Delete {
        /// The bucket.
        bucket: String,
        /// The key.
        #[arg(id = "kv_key", value_name = "KEY")]
        key: String,
    },
}

impl Kv {
    /// Runs the subcommand.
    pub fn run(self, api: &ApiClient, out: Output) -> Result<(), CliError> {
        match self {
            Self::Buckets => {
                let buckets = api.call(Method::GET, "/v1/kv", None)?;
                if out.json {
                    out.done(&buckets, "");
                } else {
                    buckets["buckets"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|b| b.as_str())
                        .for_each(|b| println!("{b}"));
                }
            }
            Self::Keys { bucket, after, limit } => {
                let mut query = Vec::new();
                query.extend(after.map(|after| ("after", after)));
                query.extend(limit.map(|limit| ("limit", limit.to_string())));
                let page = api.call_query(Method::GET, &format!("/v1/kv/{}", segment(&bucket)), &query)?;
                if out.json {
                    out.done(&page, "");
                } else {
                    out.list(&page["keys"], KEYS);
                    if let Some(next) = page["next"].as_str() {
                        println!("(more: --after {next})");
                    }
                }
            }
            Self::Get { bucket, key } => {
                let bytes = api.get_bytes(&format!("/v1/kv/{}/{}", segment(&bucket), segment(&key)))?;
                std::io::stdout()
                    .write_all(&bytes)
                    .map_err(|e| CliError::Usage(format!("cannot write stdout: {e}")))?;
            }
            Self::Put { bucket, key, value, from_file, ttl_seconds } => {
                let bytes = value_bytes(value.as_deref(), from_file.as_deref())?;
                let ttl = ttl_seconds.map(|ttl| format!("?ttlSeconds={ttl}")).unwrap_or_default();
                api.put_bytes(&format!("/v1/kv/{}/{}{ttl}", segment(&bucket), segment(&key)), bytes)?;
                out.done(&serde_json::Value::Null, &format!("set {bucket}/{key}"));
            }
            Self::Delete { bucket, key } => {
                let answer =
                    api.call(Method::DELETE, &format!("/v1/kv/{}/{}", segment(&bucket), segment(&key)), None)?;
                out.done(&answer, &format!("deleted {bucket}/{key}"));
            }
        }
        Ok(())
    }
}
