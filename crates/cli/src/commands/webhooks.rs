//! `wasmhook webhooks …`.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use reqwest::Method;
use serde_json::{Value, json};

use super::{segment, with_file};
use crate::output::{Column, Output};
use crate::{ApiClient, CliError};

const LIST: &[Column] = &[
    ("ID", "/id"),
    ("NAME", "/name"),
    ("TARGET", "/target/type"),
    ("STATE", "/state"),
    ("AUTH", "/auth"),
    ("URL", "/url"),
];
const SHOW: &[Column] = &[
    ("id", "/id"),
    ("name", "/name"),
    ("url", "/url"),
    ("target", "/target"),
    ("state", "/state"),
    ("accepting", "/accepting"),
    ("auth", "/auth"),
    ("secret", "/secret"),
    ("secret hint", "/secretHint"),
    ("signature", "/signature/scheme"),
    ("settings", "/settings"),
];

/// What a webhook runs.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Auth {
    /// A secret in `Authorization: Bearer` or `?token=` (generated, shown once).
    Secret,
    /// None: the URL is the capability (add a signature check).
    None,
}

/// `wasmhook webhooks …`.
#[derive(Debug, Subcommand)]
pub enum Webhooks {
    /// Create a trigger webhook for a block or a doc (`createWebhook`).
    Create {
        /// Run this block.
        #[arg(long, conflicts_with = "doc", required_unless_present = "doc")]
        block: Option<String>,
        /// Run this doc.
        #[arg(long)]
        doc: Option<String>,
        /// Its name.
        #[arg(long)]
        name: Option<String>,
        /// How senders authenticate.
        #[arg(long, value_enum, default_value = "secret")]
        auth: Auth,
        /// Answer 201 at once and run from the queue.
        #[arg(long = "async")]
        run_async: bool,
        /// A JSON file with any other fields of the body (`settings`, `signature`, …).
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// List the team's webhooks (`listWebhooks`).
    List,
    /// Show a webhook (`getWebhook`).
    Show {
        /// The webhook id.
        id: String,
    },
    /// Take one call within `--ttl-seconds` (`armWebhook`).
    Arm {
        /// The webhook id.
        id: String,
        /// How long the call may come (default 1 hour).
        #[arg(long)]
        ttl_seconds: Option<u64>,
    },
    /// Take calls (`enableWebhook`).
    Enable {
        /// The webhook id.
        id: String,
    },
    /// Refuse calls with 404 (`disableWebhook`).
    Disable {
        /// The webhook id.
        id: String,
    },
    /// A new secret, shown once; the old one stays valid `--grace-seconds` (`rotateWebhookSecret`).
    RotateSecret {
        /// The webhook id.
        id: String,
        /// Keep the old secret this long.
        #[arg(long)]
        grace_seconds: Option<u64>,
    },
    /// A new URL; the old one answers 404 (`regenerateWebhookUrl`).
    RegenerateUrl {
        /// The webhook id.
        id: String,
    },
    /// The webhook's signature check.
    #[command(subcommand)]
    Signature(Signature),
    /// Delete a webhook (`deleteWebhook`).
    Delete {
        /// The webhook id.
        id: String,
    },
}

/// `wasmhook webhooks signature …`.
#[derive(Debug, Subcommand)]
pub enum Signature {
    /// Require a signature: a JSON file with `{"scheme", "secrets", …}` (`setWebhookSignature`).
    Set {
        /// The webhook id.
        id: String,
        /// The signature config (README "Signatures").
        file: PathBuf,
    },
    /// Stop checking signatures (`removeWebhookSignature`).
    Remove {
        /// The webhook id.
        id: String,
    },
}

impl Webhooks {
    /// Runs the subcommand.
    pub fn run(self, api: &ApiClient, out: Output) -> Result<(), CliError> {
        let path = |id: &str, action: &str| format!("/v1/webhooks/{}/{action}", segment(id));
        let shown = match self {
            Self::Create { block, doc, name, auth, run_async, file } => {
                let target = match (block, doc) {
                    (Some(id), _) => json!({ "type": "block", "id": id }),
                    (None, Some(id)) => json!({ "type": "doc", "id": id }),
                    (None, None) => return Err(CliError::Usage("give --block or --doc".into())),
                };
                let auth = match auth {
                    Auth::Secret => "secret",
                    Auth::None => "none",
                };
                let mut body = json!({ "target": target, "auth": auth });
                if let Some(name) = name {
                    body["name"] = Value::from(name);
                }
                if run_async {
                    body["settings"] = json!({ "responseMode": "async" });
                }
                api.call(Method::POST, "/v1/webhooks", Some(&with_file(body, file.as_deref())?))?
            }
            Self::List => {
                out.list(&api.call(Method::GET, "/v1/webhooks", None)?, LIST);
                return Ok(());
            }
            Self::Show { id } => api.call(Method::GET, &format!("/v1/webhooks/{}", segment(&id)), None)?,
            Self::Arm { id, ttl_seconds } => {
                let body = ttl_seconds.map(|ttl| json!({ "ttlSeconds": ttl }));
                api.call(Method::POST, &path(&id, "arm"), body.as_ref())?
            }
            Self::Enable { id } => api.call(Method::POST, &path(&id, "enable"), None)?,
            Self::Disable { id } => api.call(Method::POST, &path(&id, "disable"), None)?,
            Self::RotateSecret { id, grace_seconds } => {
                let body = grace_seconds.map(|grace| json!({ "graceSeconds": grace }));
                api.call(Method::POST, &path(&id, "rotate-secret"), body.as_ref())?
            }
            Self::RegenerateUrl { id } => api.call(Method::POST, &path(&id, "regenerate-url"), None)?,
            Self::Signature(Signature::Set { id, file }) => {
                let body = with_file(json!({}), Some(&file))?;
                api.call(Method::PUT, &path(&id, "signature"), Some(&body))?
            }
            Self::Signature(Signature::Remove { id }) => api.call(Method::DELETE, &path(&id, "signature"), None)?,
            Self::Delete { id } => {
                let answer = api.call(Method::DELETE, &format!("/v1/webhooks/{}", segment(&id)), None)?;
                out.done(&answer, &format!("deleted webhook {id}"));
                return Ok(());
            }
        };
        out.item(&shown, SHOW);
        Ok(())
    }
}
