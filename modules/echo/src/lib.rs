//! Echo: returns the delivery's data and the env vars named in `ECHO_ENV` (comma-separated).
//! The workhorse of the tests and benchmarks: it reads the data file like a real block does.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use wasmhook_sdk::{Context, Error};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Echo {
    data: Value,
    env: BTreeMap<String, Option<String>>,
    execution_id: Option<String>,
    dataset_key: Option<String>,
}

#[wasmhook_sdk::block]
fn run(ctx: Context) -> Result<Echo, Error> {
    let env = ctx
        .env("ECHO_ENV")
        .unwrap_or_default()
        .split(',')
        .filter(|name| !name.is_empty())
        .map(|name| (name.to_owned(), ctx.env(name)))
        .collect();
    Ok(Echo { data: ctx.data()?, env, execution_id: ctx.execution_id(), dataset_key: ctx.dataset_key() })
}
