//! Flaky: fails its first `failTimes` attempts at a delivery, then succeeds — the block the
//! retry tests need. It counts attempts in the team's `flaky` bucket under `key`, so the
//! count survives between attempts (and across a server restart).
//!
//! Data: `{"key": "…", "failTimes": 2, "how": "retryable" | "plain" | "trap"}`:
//! - `retryable`: fails with the SDK's retryable flag (code `retryable:flaky`);
//! - `plain`: fails with a plain code (`flaky`), which a policy retries only if it lists it;
//! - `trap`: traps (`unreachable`, through `std::process::abort`).
//!
//! Output once it succeeds: `{"attempt": n}`.

use serde::Deserialize;
use serde_json::{Value, json};
use wasmhook_sdk::kv::Bucket;
use wasmhook_sdk::{Context, Error, log};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Plan {
    key: String,
    #[serde(default)]
    fail_times: i64,
    #[serde(default = "retryable")]
    how: String,
}

fn retryable() -> String {
    "retryable".to_owned()
}

#[wasmhook_sdk::block]
fn run(ctx: Context) -> Result<Value, Error> {
    let plan: Plan = ctx.data()?;
    let attempt = Bucket::open("flaky")?.increment(&plan.key, 1)?;
    log::info!("attempt {attempt} at {}", plan.key);
    if attempt > plan.fail_times {
        return Ok(json!({ "attempt": attempt }));
    }
    match plan.how.as_str() {
        "plain" => Err(Error::with_code("flaky", format!("attempt {attempt} fails"))),
        "trap" => std::process::abort(),
        _ => Err(Error::with_code("flaky", format!("attempt {attempt} fails, try again")).and_retry()),
    }
}
