//! Key-value probe: runs the operations listed in its data against the team's buckets and
//! reports each result, so the tests can drive `wasi:keyvalue` from outside.
//!
//! Data: `{"ops": [{"op": "increment" | "get" | "set" | "delete" | "keys" | "setIfAbsent" |
//! "append", "bucket": "…", "key": "…", "value": "…", "delta": 1}]}`. Output: one
//! `{"ok": …}` or `{"error": "…", "denied": bool}` per operation.

use serde::Deserialize;
use serde_json::{Value, json};
use wasmhook_sdk::kv::{Bucket, KvError};
use wasmhook_sdk::{Context, Error};

#[derive(Deserialize)]
struct Probe {
    ops: Vec<Op>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Op {
    op: String,
    bucket: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    value: String,
    #[serde(default = "one")]
    delta: i64,
}

fn one() -> i64 {
    1
}

fn apply(op: &Op) -> Result<Value, KvError> {
    let bucket = Bucket::open(&op.bucket)?;
    let text = |bytes: Option<Vec<u8>>| bytes.map(|b| String::from_utf8_lossy(&b).into_owned());
    Ok(match op.op.as_str() {
        "increment" => json!(bucket.increment(&op.key, op.delta)?),
        "get" => json!(text(bucket.get(&op.key)?)),
        "set" => json!(bucket.set(&op.key, op.value.as_bytes())?),
        "delete" => json!(bucket.delete(&op.key)?),
        "keys" => json!(bucket.keys()?),
        "setIfAbsent" => json!(bucket.set_if_absent(&op.key, op.value.as_bytes())?),
        // Compare-and-swap: appends `value` to the current text, retrying on conflicts.
        "append" => {
            let written = bucket.update(&op.key, |current| {
                let mut next = current.map(<[u8]>::to_vec).unwrap_or_default();
                next.extend_from_slice(op.value.as_bytes());
                next
            })?;
            json!(String::from_utf8_lossy(&written))
        }
        other => json!({ "unknown op": other }),
    })
}

#[wasmhook_sdk::block]
fn run(ctx: Context) -> Result<Vec<Value>, Error> {
    let probe: Probe = ctx.data()?;
    Ok(probe
        .ops
        .iter()
        .map(|op| match apply(op) {
            Ok(value) => json!({ "ok": value }),
            Err(error) => json!({ "error": error.to_string(), "denied": error.is_access_denied() }),
        })
        .collect())
}
