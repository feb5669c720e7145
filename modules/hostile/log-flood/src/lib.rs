//! Hostile: writes `lines` (default 200000) log lines and as many stdout lines, then succeeds.
//! The host must cap what it keeps and keep serving.

use serde_json::Value;
use wasmhook_sdk::{Context, Error, log};

#[wasmhook_sdk::block]
fn run(ctx: Context) -> Result<u64, Error> {
    let data: Value = ctx.data()?;
    let lines = data.get("lines").and_then(Value::as_u64).unwrap_or(200_000);
    for i in 0..lines {
        log::info!("flood line {i} ........................................................");
        println!("stdout flood line {i} .................................................");
    }
    Ok(lines)
}
