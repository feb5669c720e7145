//! Dedupe-then-forward: senders retry, so the same event can arrive twice (or more). The block
//! remembers each event id in the `seen` bucket (set-if-absent, atomic across concurrent runs)
//! and forwards only the first delivery of an id to `FORWARD_URL` (listed in the block's
//! `network.allowedHosts`); repeats answer `{"duplicate": true}` without calling out.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasmhook_sdk::kv::Bucket;
use wasmhook_sdk::{Context, Error, http, log};

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(flatten)]
    rest: Value,
}

#[derive(Serialize)]
struct Forwarded {
    id: String,
    duplicate: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
}

#[wasmhook_sdk::block]
fn run(ctx: Context) -> Result<Forwarded, Error> {
    let event: Event = ctx.data()?;
    let target = ctx.env("FORWARD_URL").ok_or_else(|| Error::with_code("config", "FORWARD_URL is not set"))?;
    let seen = Bucket::open("seen")?;
    if !seen.set_if_absent(&event.id, b"1")? {
        log::info!("event {} was already forwarded", event.id);
        return Ok(Forwarded { id: event.id, duplicate: true, status: None });
    }
    let response = http::post_json(&target, &serde_json::json!({ "id": event.id, "event": event.rest }))?;
    if !response.is_success() {
        // Forget the id so the sender's retry forwards it again.
        seen.delete(&event.id)?;
        return Err(Error::with_code("forward_failed", format!("{target} answered {}", response.status())));
    }
    Ok(Forwarded { id: event.id, duplicate: false, status: Some(response.status()) })
}
