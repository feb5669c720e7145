//! Hostile: returns a JSON string of `bytes` (default 16 MiB) characters, far over any sane
//! output cap.

use serde_json::Value;
use wasmhook_sdk::{Context, Error};

#[wasmhook_sdk::block]
fn run(ctx: Context) -> Result<String, Error> {
    let data: Value = ctx.data()?;
    let bytes = data.get("bytes").and_then(Value::as_u64).unwrap_or(16 << 20);
    Ok("x".repeat(bytes as usize))
}
