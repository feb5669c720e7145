//! Request inspector: returns what a trigger webhook handed the block, so a sender can see
//! exactly what arrives (and the tests can check it byte for byte): the raw body as hex, the
//! content type, the parsed data, the captured headers and request, and the whole environment.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;
use wasmhook_sdk::{Context, Error};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Inspection {
    webhook_id: Option<String>,
    content_type: Option<String>,
    body_len: usize,
    body_hex: String,
    data: Value,
    headers: BTreeMap<String, String>,
    request: Option<Value>,
    env: BTreeMap<String, String>,
}

#[wasmhook_sdk::block]
fn run(ctx: Context) -> Result<Inspection, Error> {
    let body = ctx.body()?;
    let mut body_hex = String::with_capacity(body.len() * 2);
    for byte in &body {
        let _ = write!(body_hex, "{byte:02x}");
    }
    let request = ctx.request()?.map(|r| {
        serde_json::json!({ "method": r.method, "query": r.query, "sourceIp": r.source_ip, "receivedAt": r.received_at })
    });
    Ok(Inspection {
        webhook_id: ctx.webhook_id(),
        content_type: ctx.content_type(),
        body_len: body.len(),
        body_hex,
        data: ctx.data()?,
        headers: ctx.headers()?,
        request,
        env: std::env::vars().collect(),
    })
}
