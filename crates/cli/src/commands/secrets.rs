//! `wasmhook secrets …`: values are write-only.

use std::path::PathBuf;

use clap::Subcommand;
use reqwest::Method;
use serde_json::json;

use super::{segment, value_bytes};
use crate::output::{Column, Output};
use crate::{ApiClient, CliError};

const LIST: &[Column] = &[("NAME", "/name"), ("CREATED", "/createdAt"), ("UPDATED", "/updatedAt")];

/// `wasmhook secrets …`.
#[derive(Debug, Subcommand)]
pub enum Secrets {
    /// Create or replace a secret (`putSecret`); the value from `--value`, `--from-file`, or
    /// stdin (so it stays out of the shell history).
    Set {
        /// The secret's name.
        name: String,
        /// The value.
        #[arg(long)]
        value: Option<String>,
        /// A file holding the value.
        #[arg(long)]
        from_file: Option<PathBuf>,
    },
    /// List names and times, never values (`listSecrets`).
    List,
    /// Show a secret's name and times (`getSecret`).
    Show {
        /// The secret's name.
        name: String,
    },
    /// Delete a secret (`deleteSecret`).
    Delete {
        /// The secret's name.
        name: String,
    },
}

impl Secrets {
    /// Runs the subcommand.
    pub fn run(self, api: &ApiClient, out: Output) -> Result<(), CliError> {
        match self {
            Self::Set { name, value, from_file } => {
                let bytes = value_bytes(value.as_deref(), from_file.as_deref())?;
                let value = String::from_utf8(bytes)
                    .map_err(|_| CliError::Usage("a secret value must be UTF-8 text".into()))?;
                let value = value.strip_suffix('\n').unwrap_or(&value);
                let info = api.call(
                    Method::PUT,
                    &format!("/v1/secrets/{}", segment(&name)),
                    Some(&json!({ "value": value })),
                )?;
                out.item(&info, LIST);
            }
            Self::List => out.list(&api.call(Method::GET, "/v1/secrets", None)?, LIST),
            Self::Show { name } => {
                out.item(&api.call(Method::GET, &format!("/v1/secrets/{}", segment(&name)), None)?, LIST)
            }
            Self::Delete { name } => {
                let answer = api.call(Method::DELETE, &format!("/v1/secrets/{}", segment(&name)), None)?;
                out.done(&answer, &format!("deleted secret {name}"));
            }
        }
        Ok(())
    }
}
