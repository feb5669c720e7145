//! How the API shows a webhook: its URL, state and settings, never a secret (only the answer
//! that mints one carries it).

use axum::http::{HeaderMap, header};
use serde::Serialize;
use wasmhook_domain::ids::WebhookId;

use crate::signatures::{HmacConfig, Scheme, SignatureConfig};
use crate::state::AppState;
use wasmhook_store::now_ms;
use wasmhook_store::webhooks::{AuthMode, Target, Webhook, WebhookSettings, WebhookState};

/// A webhook as the API shows it; `secret` only in the answer that minted it.
#[derive(utoipa::ToSchema, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WebhookView {
    id: WebhookId,
    name: String,
    url: String,
    target: Target,
    auth: AuthMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    secret_hint: Option<String>,
    previous_secret_expires_at: Option<i64>,
    state: WebhookState,
    armed_until: Option<i64>,
    /// Whether a call now would be taken (deployed, or armed with a live arm).
    accepting: bool,
    settings: WebhookSettings,
    signature: Option<SignatureView>,
    created_at: i64,
    updated_at: i64,
}

/// A signature check without its secrets.
#[derive(utoipa::ToSchema, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SignatureView {
    scheme: Scheme,
    secret_hints: Vec<String>,
    tolerance_seconds: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    hmac: Option<HmacConfig>,
}

impl From<SignatureConfig> for SignatureView {
    fn from(config: SignatureConfig) -> Self {
        Self {
            secret_hints: config.secret_hints(),
            scheme: config.scheme,
            tolerance_seconds: config.tolerance_seconds,
            hmac: config.hmac,
        }
    }
}

/// The base of webhook URLs: the configured public URL, else `http://{Host}`.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.clone();
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).filter(|h| !h.is_empty());
    format!("http://{}", host.map_or_else(|| state.config.listen.to_string(), str::to_owned))
}

pub(super) fn view(state: &AppState, headers: &HeaderMap, webhook: Webhook, secret: Option<String>) -> WebhookView {
    let now = now_ms();
    let previous_live = webhook.previous_secret_expires_at.filter(|until| *until > now);
    WebhookView {
        url: format!("{}/api/webhooks/{}", base_url(state, headers), webhook.id),
        accepting: webhook.accepting(now),
        id: webhook.id,
        name: webhook.name,
        target: webhook.target,
        auth: webhook.auth_mode,
        secret,
        secret_hint: webhook.secret_hint,
        previous_secret_expires_at: previous_live,
        state: webhook.state,
        armed_until: webhook.armed_until,
        settings: webhook.settings,
        signature: webhook.signature.map(SignatureView::from),
        created_at: webhook.created_at,
        updated_at: webhook.updated_at,
    }
}

impl WebhookView {
    /// The webhook's id (after a regenerated URL, the new one).
    pub(super) fn id(&self) -> WebhookId {
        self.id
    }
}
