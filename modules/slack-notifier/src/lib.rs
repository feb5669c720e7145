//! Slack notifier: posts a message about each delivery to a Slack channel through
//! `chat.postMessage`, without ever holding the Slack token. The block's
//! `network.credentials` has the host add `Authorization: Bearer {secret}` to its requests to
//! the Slack API; the block only names the channel and the text.
//!
//! Env: `SLACK_API_URL` (default `https://slack.com/api`), `SLACK_CHANNEL`. Data: any JSON with
//! an optional `text`; without one, the message summarizes the event's `type` and `id`.

use serde::Deserialize;
use serde_json::{Value, json};
use wasmhook_sdk::{Context, Error, http, log};

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    text: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    id: Option<String>,
}

#[wasmhook_sdk::block]
fn run(ctx: Context) -> Result<Value, Error> {
    let event: Event = ctx.data()?;
    let api = ctx.env("SLACK_API_URL").unwrap_or_else(|| "https://slack.com/api".to_owned());
    let channel = ctx.env("SLACK_CHANNEL").ok_or_else(|| Error::with_code("config", "SLACK_CHANNEL is not set"))?;
    let text = event.text.unwrap_or_else(|| {
        format!(
            "New {} event {}",
            event.kind.as_deref().unwrap_or("webhook"),
            event.id.as_deref().unwrap_or("(no id)")
        )
    });
    let response = http::post_json(&format!("{}/chat.postMessage", api.trim_end_matches('/')), &json!({ "channel": channel, "text": text }))?;
    let answer: Value = response.json().unwrap_or(Value::Null);
    // Slack answers 200 with `ok: false` for API errors (a bad token, an unknown channel).
    if !response.is_success() || answer["ok"] != true {
        let reason = answer["error"].as_str().unwrap_or("unexpected answer").to_owned();
        return Err(Error::with_code("slack_error", format!("Slack refused the message: {reason}")));
    }
    log::info!("posted to {channel}");
    Ok(json!({ "posted": true, "channel": channel, "ts": answer["ts"] }))
}
