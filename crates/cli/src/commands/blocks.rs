//! `wasmhook blocks …`.

use std::path::PathBuf;

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use super::{pairs, segment, with_file};
use crate::output::{Column, Output};
use crate::{ApiClient, CliError};

const LIST: &[Column] = &[
    ("ID", "/id"),
    ("NAME", "/name"),
    ("LANGUAGE", "/language"),
    ("ACTIVE", "/activeVersion"),
    ("UPDATED", "/updatedAt"),
];
const SHOW: &[Column] = &[
    ("id", "/id"),
    ("name", "/name"),
    ("language", "/language"),
    ("active version", "/activeVersion"),
    ("timeout ms", "/timeoutMs"),
    ("memory bytes", "/memoryBytes"),
    ("allowed hosts", "/network/allowedHosts"),
    ("env", "/env"),
];
const VERSIONS: &[Column] = &[
    ("VERSION", "/version"),
    ("DIGEST", "/digest"),
    ("SIZE", "/size"),
    ("SHAPE", "/shape"),
    ("CREATED", "/createdAt"),
];

/// `wasmhook blocks …`.
#[derive(Debug, Subcommand)]
pub enum Blocks {
    /// Create a block (`createBlock`).
    Create {
        /// Its name.
        name: String,
        /// `rust`, `python`, `javascript`, … (picks the v2 `<language>.environment_variables`).
        #[arg(long)]
        language: Option<String>,
        /// An env value, `KEY=VALUE` (repeatable).
        #[arg(long = "env")]
        env: Vec<String>,
        /// The run's time limit.
        #[arg(long)]
        timeout_ms: Option<u64>,
        /// The run's memory cap.
        #[arg(long)]
        memory_bytes: Option<u64>,
        /// An origin the block may call, e.g. `https://api.stripe.com` (repeatable).
        #[arg(long = "allow-host")]
        allow_hosts: Vec<String>,
        /// A JSON file with any other fields of the body (`retry`, `keyValue`, …).
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// List the team's blocks (`listBlocks`).
    List,
    /// Show a block (`getBlock`).
    Show {
        /// The block id.
        id: String,
    },
    /// Upload a component as a new version, validated and compiled now; it becomes the active
    /// version unless `--no-activate` (`uploadBlockVersion`).
    Deploy {
        /// The block id.
        id: String,
        /// The component (`.wasm`).
        file: PathBuf,
        /// Keep the current active version.
        #[arg(long)]
        no_activate: bool,
    },
    /// List a block's versions (`listBlockVersions`).
    Versions {
        /// The block id.
        id: String,
    },
    /// Make a version the active one (`activateBlockVersion`).
    Activate {
        /// The block id.
        id: String,
        /// The version.
        version: i64,
    },
    /// Activate the version before the active one.
    Rollback {
        /// The block id.
        id: String,
    },
}

impl Blocks {
    /// Runs the subcommand.
    pub fn run(self, api: &ApiClient, out: Output) -> Result<(), CliError> {
        match self {
            Self::Create { name, language, env, timeout_ms, memory_bytes, allow_hosts, file } => {
                let mut body = json!({ "name": name });
                let fields = [
                    ("language", language.map(Value::from)),
                    ("env", (!env.is_empty()).then(|| pairs(&env, "--env")).transpose()?),
                    ("timeoutMs", timeout_ms.map(Value::from)),
                    ("memoryBytes", memory_bytes.map(Value::from)),
                    ("network", (!allow_hosts.is_empty()).then(|| json!({ "allowedHosts": allow_hosts }))),
                ];
                for (name, value) in fields {
                    if let Some(value) = value {
                        body[name] = value;
                    }
                }
                let created = api.call(Method::POST, "/v1/blocks", Some(&with_file(body, file.as_deref())?))?;
                out.item(&created, SHOW);
            }
            Self::List => out.list(&api.call(Method::GET, "/v1/blocks", None)?, LIST),
            Self::Show { id } => out.item(&api.call(Method::GET, &format!("/v1/blocks/{}", segment(&id)), None)?, SHOW),
            Self::Deploy { id, file, no_activate } => {
                let bytes = std::fs::read(&file)
                    .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", file.display())))?;
                let query = if no_activate { "?activate=false" } else { "" };
                let version =
                    api.post_bytes(&format!("/v1/blocks/{}/versions{query}", segment(&id)), "application/wasm", bytes)?;
                out.item(&version, VERSIONS);
            }
            Self::Versions { id } => {
                out.list(&api.call(Method::GET, &format!("/v1/blocks/{}/versions", segment(&id)), None)?, VERSIONS)
            }
            Self::Activate { id, version } => out.item(&activate(api, &id, version)?, SHOW),
            Self::Rollback { id } => {
                let block = api.call(Method::GET, &format!("/v1/blocks/{}", segment(&id)), None)?;
                let active = block["activeVersion"]
                    .as_i64()
                    .ok_or_else(|| CliError::Usage("the block has no active version".into()))?;
                let versions = api.call(Method::GET, &format!("/v1/blocks/{}/versions", segment(&id)), None)?;
                let previous = versions
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v["version"].as_i64())
                    .filter(|v| *v < active)
                    .max()
                    .ok_or_else(|| CliError::Usage(format!("no version before the active one ({active})")))?;
                out.item(&activate(api, &id, previous)?, SHOW);
            }
        }
        Ok(())
    }
}

/// Makes `version` the block's active one; the block as it is now.
fn activate(api: &ApiClient, id: &str, version: i64) -> Result<Value, CliError> {
    api.call(Method::POST, &format!("/v1/blocks/{}/activate", segment(id)), Some(&json!({ "version": version })))
}
