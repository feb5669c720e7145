//! API caller: uses the run's own key (`WASMHOOK_API_KEY`) the way a Definite dataset writes
//! back — stores a note in the team's key-value state over `/v1/kv`, runs another block
//! (`data.block`) through the v2 webhook, and reports what an admin-only route says to its key.
//!
//! For the tests only: with `data.keep_key` set, it also stores its key under `notes/run-key`,
//! so the test can show the key stops working when the run ends.

use serde::Deserialize;
use serde_json::{Value, json};
use wasmhook_sdk::api::{Api, KEY_VAR};
use wasmhook_sdk::http::Request;
use wasmhook_sdk::{Context, Error};

#[derive(Deserialize)]
struct Call {
    block: String,
    #[serde(default)]
    data: Value,
    #[serde(default)]
    keep_key: bool,
}

#[wasmhook_sdk::block]
fn run(ctx: Context) -> Result<Value, Error> {
    let call: Call = ctx.data()?;
    let api = Api::from_env()?;
    api.kv_put("notes", "from-run", b"written by a run")?;
    let note = api.kv_get("notes", "from-run")?.map(|b| String::from_utf8_lossy(&b).into_owned());
    let block = match api.run_block(&call.block, &call.data) {
        Ok(answer) => answer,
        Err(error) => json!({ "error": error.to_string() }),
    };
    let base = ctx.env("WASMHOOK_API_BASE_URL").unwrap_or_default();
    let key = ctx.env(KEY_VAR).unwrap_or_default();
    let admin_only = Request::get(format!("{base}/v1/secrets")).header("authorization", format!("Bearer {key}")).send()?;
    if call.keep_key {
        api.kv_put("notes", "run-key", key.as_bytes())?;
    }
    Ok(json!({ "note": note, "block": block, "adminOnlyStatus": admin_only.status() }))
}
