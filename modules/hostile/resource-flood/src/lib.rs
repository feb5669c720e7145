//! Hostile: opens its data file `opens` times (default 1,000,000) and keeps every handle. Each
//! open is a host resource (and a host file descriptor): the host must stop it at its
//! per-run resource cap, not run out of memory or descriptors.

use serde_json::Value;
use wasmhook_sdk::{Context, Error};

#[wasmhook_sdk::block]
fn run(ctx: Context) -> Result<u64, Error> {
    let data: Value = ctx.data()?;
    let opens = data.get("opens").and_then(Value::as_u64).unwrap_or(1_000_000);
    let path = std::env::var("WEBHOOK_DATA_FILE").unwrap_or_else(|_| "/webhook/data.json".into());
    let mut kept = Vec::new();
    for _ in 0..opens {
        match std::fs::File::open(&path) {
            Ok(file) => kept.push(file),
            Err(e) => return Err(Error::new(format!("open {} failed: {e}", kept.len()))),
        }
    }
    Ok(kept.len() as u64)
}
