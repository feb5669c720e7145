//! Hostile: a finite but CPU-heavy loop of `iterations` (default 10^9) xorshift steps.
//! A small fuel budget must stop it with `out_of_fuel`; the default budget must not.

use serde_json::Value;
use wasmhook_sdk::{Context, Error};

#[wasmhook_sdk::block]
fn run(ctx: Context) -> Result<u64, Error> {
    let data: Value = ctx.data()?;
    let iterations = data.get("iterations").and_then(Value::as_u64).unwrap_or(1_000_000_000);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..iterations {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x = std::hint::black_box(x);
    }
    Ok(x)
}
