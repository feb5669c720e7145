//! A Slack Events API endpoint. Slack verifies a new Request URL by posting
//! `{"type": "url_verification", "challenge": "…"}` and expects the challenge back as the
//! body; this block answers it with [`HttpResponse`], and acknowledges every other event.

use serde::Deserialize;
use serde_json::{Value, json};
use wasmhook_sdk::{Context, Error, HttpResponse, log};

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    challenge: Option<String>,
    #[serde(default)]
    event: Option<Value>,
}

#[wasmhook_sdk::block]
fn run(ctx: Context) -> Result<Value, Error> {
    let envelope: Envelope = ctx.data()?;
    if envelope.kind == "url_verification" {
        let challenge = envelope
            .challenge
            .ok_or_else(|| Error::with_code("invalid_data", "url_verification without a challenge"))?;
        let reply = HttpResponse::text(200, challenge).content_type("text/plain");
        return serde_json::to_value(reply).map_err(|e| Error::new(e.to_string()));
    }
    let event_type = envelope.event.as_ref().and_then(|e| e.get("type")).and_then(Value::as_str).unwrap_or("unknown");
    log::info!("slack event {event_type}");
    Ok(json!({ "ok": true, "type": envelope.kind, "eventType": event_type }))
}
