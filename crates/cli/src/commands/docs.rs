//! `wasmhook docs …`.

use std::path::PathBuf;

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use super::{segment, with_file};
use crate::output::{Column, Output};
use crate::{ApiClient, CliError};

const LIST: &[Column] = &[("ID", "/id"), ("NAME", "/name"), ("DATASETS", "/datasets"), ("ARCHIVED", "/archivedAt")];
const SHOW: &[Column] = &[("id", "/id"), ("name", "/name"), ("datasets", "/datasets"), ("archived at", "/archivedAt")];

/// `wasmhook docs …`.
#[derive(Debug, Subcommand)]
pub enum Docs {
    /// Create a doc (`createDoc`).
    Create {
        /// Its name.
        name: String,
        /// A dataset, `KEY=BLOCK_ID` or `KEY=BLOCK_ID@VERSION` (repeatable, in run order).
        #[arg(long = "dataset", required = true)]
        datasets: Vec<String>,
        /// A JSON file with any other fields of the body.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// List the team's docs (`listDocs`).
    List,
    /// Show a doc (`getDoc`).
    Show {
        /// The doc id.
        id: String,
    },
    /// Archive a doc: its webhook answers 404 from then on (`archiveDoc`).
    Archive {
        /// The doc id.
        id: String,
    },
}

/// `KEY=BLOCK[@VERSION]` as a dataset.
fn dataset(spec: &str) -> Result<Value, CliError> {
    let (key, target) = spec
        .split_once('=')
        .ok_or_else(|| CliError::Usage(format!("--dataset {spec:?} must be KEY=BLOCK_ID[@VERSION]")))?;
    Ok(match target.split_once('@') {
        Some((block, version)) => {
            let version: i64 =
                version.parse().map_err(|_| CliError::Usage(format!("--dataset {spec:?}: bad version")))?;
            json!({ "key": key, "block": block, "version": version })
        }
        None => json!({ "key": key, "block": target }),
    })
}

impl Docs {
    /// Runs the subcommand.
    pub fn run(self, api: &ApiClient, out: Output) -> Result<(), CliError> {
        match self {
            Self::Create { name, datasets, file } => {
                let datasets = datasets.iter().map(|spec| dataset(spec)).collect::<Result<Vec<_>, _>>()?;
                let body = with_file(json!({ "name": name, "datasets": datasets }), file.as_deref())?;
                out.item(&api.call(Method::POST, "/v1/docs", Some(&body))?, SHOW);
            }
            Self::List => out.list(&api.call(Method::GET, "/v1/docs", None)?, LIST),
            Self::Show { id } => out.item(&api.call(Method::GET, &format!("/v1/docs/{}", segment(&id)), None)?, SHOW),
            Self::Archive { id } => {
                out.item(&api.call(Method::POST, &format!("/v1/docs/{}/archive", segment(&id)), None)?, SHOW)
            }
        }
        Ok(())
    }
}
