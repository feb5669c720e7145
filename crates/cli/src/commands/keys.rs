//! `wasmhook keys …` and `wasmhook teams …`.

use clap::{Subcommand, ValueEnum};
use reqwest::Method;
use serde_json::{Value, json};

use super::segment;
use crate::output::{Column, Output};
use crate::{ApiClient, CliError};

const LIST: &[Column] = &[
    ("ID", "/id"),
    ("SCOPE", "/scope"),
    ("LABEL", "/label"),
    ("HINT", "/hint"),
    ("CREATED", "/createdAt"),
    ("REVOKED", "/revokedAt"),
];

/// What a key may do.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Scope {
    /// Everything of the team.
    Admin,
    /// Call webhooks and read executions.
    Execute,
}

/// `wasmhook keys …`.
#[derive(Debug, Subcommand)]
pub enum Keys {
    /// Create a key for a new user of the team; the key is printed once (`createKey`).
    Create {
        /// What it may do.
        #[arg(long, value_enum)]
        scope: Scope,
        /// A label to recognise it by.
        #[arg(long)]
        label: Option<String>,
        /// The new user's name.
        #[arg(long)]
        user_name: Option<String>,
    },
    /// List the team's keys, never their secrets (`listKeys`).
    List,
    /// Revoke a key (`revokeKey`).
    Revoke {
        /// The key id.
        id: String,
    },
}

/// `wasmhook teams …`.
#[derive(Debug, Subcommand)]
pub enum Teams {
    /// Create a tenant with an admin user and key, printed once; the operator team's admins
    /// only (`createTeam`).
    Create {
        /// The team's name.
        name: String,
    },
}

impl Keys {
    /// Runs the subcommand.
    pub fn run(self, api: &ApiClient, out: Output) -> Result<(), CliError> {
        match self {
            Self::Create { scope, label, user_name } => {
                let scope = match scope {
                    Scope::Admin => "admin",
                    Scope::Execute => "execute",
                };
                let mut body = json!({ "scope": scope });
                if let Some(label) = label {
                    body["label"] = Value::from(label);
                }
                if let Some(user_name) = user_name {
                    body["userName"] = Value::from(user_name);
                }
                let created = api.call(Method::POST, "/v1/keys", Some(&body))?;
                out.item(&created, &[("api key (shown once)", "/apiKey"), ("id", "/key/id"), ("scope", "/key/scope")]);
            }
            Self::List => out.list(&api.call(Method::GET, "/v1/keys", None)?, LIST),
            Self::Revoke { id } => {
                let answer = api.call(Method::DELETE, &format!("/v1/keys/{}", segment(&id)), None)?;
                out.done(&answer, &format!("revoked key {id}"));
            }
        }
        Ok(())
    }
}

impl Teams {
    /// Runs the subcommand.
    pub fn run(self, api: &ApiClient, out: Output) -> Result<(), CliError> {
        match self {
            Self::Create { name } => {
                let created = api.call(Method::POST, "/v1/teams", Some(&json!({ "name": name })))?;
                out.item(
                    &created,
                    &[("team", "/team/id"), ("name", "/team/name"), ("admin api key (shown once)", "/apiKey")],
                );
            }
        }
        Ok(())
    }
}
