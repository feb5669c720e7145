//! `wasmhook events capture`: saves the deliveries a webhook (or block, or doc) received as
//! sample files, for `wasmhook dev --event` and for tests.

use std::path::PathBuf;

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

use super::segment;
use crate::output::Output;
use crate::{ApiClient, CliError};

/// The key that marks a file as a capture (the guest's `data` and env), not a bare event.
pub const CAPTURE_MARKER: &str = "wasmhookCapture";

/// `wasmhook events …`.
#[derive(Debug, Subcommand)]
pub enum Events {
    /// Save stored inputs of recent executions as `DIR/<execution id>.json`
    /// (`listExecutions`, then `getExecution` for each).
    Capture {
        /// Of this trigger webhook's deliveries.
        #[arg(long, required_unless_present_any = ["block", "doc"])]
        webhook: Option<String>,
        /// Of this block's runs.
        #[arg(long)]
        block: Option<String>,
        /// Of this doc's runs.
        #[arg(long)]
        doc: Option<String>,
        /// Where to write them (created if missing).
        #[arg(long, default_value = "samples")]
        out: PathBuf,
        /// At most this many, newest first.
        #[arg(long, default_value_t = 10)]
        limit: u32,
    },
}

impl Events {
    /// Runs the subcommand.
    pub fn run(self, api: &ApiClient, out: Output) -> Result<(), CliError> {
        let Self::Capture { webhook, block, doc, out: dir, limit } = self;
        let mut query = vec![("limit", limit.to_string())];
        query.extend(webhook.map(|id| ("webhook", id)));
        query.extend(block.map(|id| ("block", id)));
        query.extend(doc.map(|id| ("doc", id)));
        let listed = api.call_query(Method::GET, "/v1/executions", &query)?;
        std::fs::create_dir_all(&dir).map_err(|e| CliError::Usage(format!("cannot create {}: {e}", dir.display())))?;
        let mut written = Vec::new();
        for execution in listed.as_array().into_iter().flatten() {
            let Some(id) = execution["id"].as_str() else { continue };
            let full = api.call(Method::GET, &format!("/v1/executions/{}", segment(id)), None)?;
            let Some(input) = full.get("input").filter(|input| input.is_object()) else {
                continue; // not kept (storePayload: false, or purged)
            };
            let mut capture = json!({ CAPTURE_MARKER: 1, "execution": id, "data": input["data"], "env": input["env"] });
            if let Some(files) = input.get("files") {
                capture["files"] = files.clone();
            }
            let path = dir.join(format!("{id}.json"));
            let text = serde_json::to_string_pretty(&capture).unwrap_or_default() + "\n";
            std::fs::write(&path, text)
                .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", path.display())))?;
            written.push(Value::from(path.display().to_string()));
        }
        let summary = format!("saved {} deliveries in {}", written.len(), dir.display());
        out.done(&json!({ "files": written }), &summary);
        Ok(())
    }
}

/// A sample file as what the v2 call sends: a capture's `data` and the caller's part of its
/// env (the host sets the rest again, and refuses a call that tries), or the whole file as
/// the event.
pub fn sample_call(sample: &Value) -> Value {
    if sample.get(CAPTURE_MARKER).is_none() {
        return json!({ "data": sample });
    }
    let mut env = sample["env"].as_object().cloned().unwrap_or_default();
    // The host sets these itself (and refuses a call that tries); `WEBHOOK_DATA` is `data`
    // again, which an edited sample must not contradict.
    env.retain(|name, _| !wasmhook_abi::env::HOST_SET.contains(&name.as_str()) && name != wasmhook_abi::env::DATA);
    json!({ "data": sample["data"], "environment_variables": env })
}
