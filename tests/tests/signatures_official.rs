//! Senders' signatures, made by the senders' own libraries — Python `standardwebhooks` and
//! `slack_sdk`, Node `stripe` (`webhooks.generateTestHeaderString`) and
//! `@octokit/webhooks-methods` (`sign`), Python's `hmac` for the generic scheme — and checked
//! by a real server: valid, tampered, wrong secret, rotated secrets, old timestamps, missing
//! headers, and a replayed Standard Webhooks message answered without a second run.
//!
//! The libraries are pinned in `tests/signers/` and installed into `target/signers` by
//! `tests/signers/install.sh` (from PyPI and npm; `.ci/run` runs it, and so does this test
//! when they are missing).

mod support;

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::rows;
use support::server::{TestServer, Triggered};
use support::signers::{ensure_signers, signers_home, signers_source};

/// Headers signed by an official library: `tool` is `python` or `node`.
fn sign(tool: &str, scheme: &str, secret: &str, body: &str, timestamp: i64, message_id: &str) -> Vec<(String, String)> {
    ensure_signers();
    let dir = tempfile::tempdir().expect("tempdir");
    let body_file = dir.path().join("body");
    std::fs::write(&body_file, body).expect("body file");
    let mut command = match tool {
        "python" => {
            let mut command = Command::new(signers_home().join("venv/bin/python"));
            command.arg(signers_source().join("sign.py"));
            command
        }
        _ => {
            let mut command = Command::new("node");
            command.arg(signers_home().join("sign.mjs"));
            command
        }
    };
    let output = command
        .args([scheme, secret])
        .arg(&body_file)
        .arg(timestamp.to_string())
        .arg(message_id)
        .output()
        .expect("signer runs");
    assert!(output.status.success(), "{tool} {scheme}: {}", String::from_utf8_lossy(&output.stderr));
    let headers: serde_json::Map<String, Value> = serde_json::from_slice(&output.stdout).expect("headers as JSON");
    headers.into_iter().map(|(k, v)| (k, v.as_str().expect("string").to_owned())).collect()
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).expect("clock")
}

struct Hook<'a> {
    server: &'a TestServer,
    path: String,
    id: String,
}

impl Hook<'_> {
    async fn create<'a>(server: &'a TestServer, signature: Value, auth: &str) -> (Hook<'a>, Value) {
        let key = server.key();
        let block = server.block(key, "request-inspector", json!({})).await;
        let body = json!({
            "target": { "type": "block", "id": block },
            "auth": auth,
            "signature": signature,
            "allowMultiple": true,
        });
        let created = server.webhook(key, body).await;
        let id = created["id"].as_str().expect("id").to_owned();
        (Hook { server, path: format!("/api/webhooks/{id}"), id }, created)
    }

    async fn send(&self, headers: &[(String, String)], body: &str) -> Triggered {
        let mut all: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        all.push(("content-type", "application/json"));
        self.server.trigger(&self.path, &all, body.to_owned()).await
    }

    async fn runs(&self) -> i64 {
        self.server.state.store.executions().flush().await.expect("flush");
        rows::number(
            &self.server.state.config.data_dir,
            "SELECT COUNT(*) FROM executions WHERE webhook_id = $1",
            &[&self.id],
        )
        .expect("count")
    }
}

fn refused(answer: &Triggered, code: &str) {
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert_eq!(answer.body["error_code"], code, "{}", answer.body);
}

fn verified(answer: &Triggered, scheme: &str) {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["output"]["env"]["WEBHOOK_VERIFIED"], scheme, "{}", answer.body);
}

#[tokio::test]
async fn standard_webhooks_from_the_official_library_with_rotation_and_replay_protection() {
    let server = TestServer::start().await;
    let (old, new, other) = (
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_c2VjcmV0LWZvci10ZXN0aW5nLXJvdGF0aW9uLTEy",
        "whsec_b3RoZXItc2VjcmV0LW5vdC1jb25maWd1cmVkIQ==",
    );
    let config = json!({ "scheme": "standard_webhooks", "secrets": [old, new] });
    let (hook, created) = Hook::create(&server, config, "none").await;
    assert!(!created.to_string().contains(old), "signing secrets are write-only: {created}");
    assert_eq!(created["signature"]["secretHints"], json!(["LaSw", "LTEy"]));
    let body = r#"{"type": "invoice.paid", "amount": 4900}"#;

    let signed = sign("python", "standard_webhooks", new, body, now(), "msg_1");
    let first = hook.send(&signed, body).await;
    verified(&first, "standard_webhooks");
    let replayed = hook.send(&signed, body).await;
    assert_eq!(replayed.status, StatusCode::OK);
    assert_eq!(replayed.headers["idempotent-replayed"], "true", "a replayed message id is not run again");
    assert_eq!(replayed.body["execution_id"], first.body["execution_id"]);

    verified(
        &hook.send(&sign("python", "standard_webhooks", old, body, now(), "msg_2"), body).await,
        "standard_webhooks",
    );
    refused(
        &hook.send(&sign("python", "standard_webhooks", other, body, now(), "msg_3"), body).await,
        "SIGNATURE_INVALID",
    );
    let tampered = body.replace("4900", "1");
    refused(
        &hook.send(&sign("python", "standard_webhooks", new, body, now(), "msg_4"), &tampered).await,
        "SIGNATURE_INVALID",
    );
    let stale = sign("python", "standard_webhooks", new, body, now() - 600, "msg_5");
    refused(&hook.send(&stale, body).await, "TIMESTAMP_OUT_OF_TOLERANCE");
    let future = sign("python", "standard_webhooks", new, body, now() + 600, "msg_6");
    refused(&hook.send(&future, body).await, "TIMESTAMP_OUT_OF_TOLERANCE");
    let unsigned: Vec<_> = signed.iter().filter(|(k, _)| k != "webhook-signature").cloned().collect();
    refused(&hook.send(&unsigned, body).await, "SIGNATURE_INVALID");
    assert_eq!(hook.runs().await, 2, "refused deliveries run nothing");
}

#[tokio::test]
async fn stripe_signatures_from_the_official_node_library() {
    let server = TestServer::start().await;
    let secret = "whsec_test_5f0c3c9a3b6e4d1f8a2b7c6d5e4f3a2b";
    let (hook, _) = Hook::create(&server, json!({ "scheme": "stripe", "secrets": [secret] }), "none").await;
    let body = r#"{"id": "evt_1", "type": "payment_intent.succeeded"}"#;
    verified(&hook.send(&sign("node", "stripe", secret, body, now(), ""), body).await, "stripe");
    refused(
        &hook.send(&sign("node", "stripe", secret, body, now(), ""), &body.replace("evt_1", "evt_2")).await,
        "SIGNATURE_INVALID",
    );
    refused(&hook.send(&sign("node", "stripe", "whsec_wrong", body, now(), ""), body).await, "SIGNATURE_INVALID");
    refused(
        &hook.send(&sign("node", "stripe", secret, body, now() - 301, ""), body).await,
        "TIMESTAMP_OUT_OF_TOLERANCE",
    );
    refused(&hook.send(&[], body).await, "SIGNATURE_INVALID");
    assert_eq!(hook.runs().await, 1);
}

#[tokio::test]
async fn github_signatures_from_octokit_and_secret_plus_signature() {
    let server = TestServer::start().await;
    let secret = "It's a Secret to Everybody";
    let (hook, created) = Hook::create(&server, json!({ "scheme": "github", "secrets": [secret] }), "none").await;
    assert!(created.get("secret").is_none());
    let body = r#"{"action": "opened", "number": 1}"#;
    verified(&hook.send(&sign("node", "github", secret, body, 0, ""), body).await, "github");
    refused(
        &hook.send(&sign("node", "github", secret, body, 0, ""), &body.replace('1', "2")).await,
        "SIGNATURE_INVALID",
    );
    refused(&hook.send(&sign("node", "github", "another secret", body, 0, ""), body).await, "SIGNATURE_INVALID");
    refused(&hook.send(&[], body).await, "SIGNATURE_INVALID");
    assert_eq!(hook.runs().await, 1);

    // Both a bearer secret and a signature: either alone is refused.
    let (both, created) = Hook::create(&server, json!({ "scheme": "github", "secrets": [secret] }), "secret").await;
    let bearer = ("authorization".to_owned(), format!("Bearer {}", created["secret"].as_str().expect("secret")));
    let signed = sign("node", "github", secret, body, 0, "");
    assert_eq!(both.send(&signed, body).await.status, StatusCode::UNAUTHORIZED);
    refused(&both.send(std::slice::from_ref(&bearer), body).await, "SIGNATURE_INVALID");
    let mut all = signed;
    all.push(bearer);
    verified(&both.send(&all, body).await, "github");
}

#[tokio::test]
async fn slack_signatures_from_slack_sdk() {
    let server = TestServer::start().await;
    let secret = "8f742231b10e8888abcd99yyyzzz85a5";
    let (hook, _) = Hook::create(&server, json!({ "scheme": "slack", "secrets": [secret] }), "none").await;
    let body = r#"{"type": "event_callback", "event": {"type": "app_mention"}}"#;
    verified(&hook.send(&sign("python", "slack", secret, body, now(), ""), body).await, "slack");
    refused(
        &hook.send(&sign("python", "slack", secret, body, now() - 3600, ""), body).await,
        "TIMESTAMP_OUT_OF_TOLERANCE",
    );
    refused(&hook.send(&sign("python", "slack", "not-the-secret", body, now(), ""), body).await, "SIGNATURE_INVALID");
    refused(&hook.send(&sign("python", "slack", secret, body, now(), ""), "{}").await, "SIGNATURE_INVALID");
    assert_eq!(hook.runs().await, 1);
}

#[tokio::test]
async fn generic_hmac_with_template_timestamp_prefix_and_encodings() {
    let server = TestServer::start().await;
    let secret = "generic-shared-secret";
    let sha256 = json!({
        "scheme": "hmac",
        "secrets": [secret],
        "toleranceSeconds": 60,
        "hmac": { "algorithm": "sha256", "header": "x-signature", "encoding": "hex",
                  "content": "{timestamp}.{body}", "timestampHeader": "x-timestamp" },
    });
    let (hook, _) = Hook::create(&server, sha256, "none").await;
    let body = r#"{"reading": 21.5}"#;
    verified(&hook.send(&sign("python", "hmac-sha256-hex", secret, body, now(), ""), body).await, "hmac");
    refused(
        &hook.send(&sign("python", "hmac-sha256-hex", secret, body, now() - 120, ""), body).await,
        "TIMESTAMP_OUT_OF_TOLERANCE",
    );
    refused(&hook.send(&sign("python", "hmac-sha256-hex", "nope", body, now(), ""), body).await, "SIGNATURE_INVALID");

    let sha1 = json!({
        "scheme": "hmac",
        "secrets": ["legacy-shared-secret"],
        "hmac": { "algorithm": "sha1", "header": "x-signature", "encoding": "base64", "prefix": "sha1=" },
    });
    let (legacy, _) = Hook::create(&server, sha1, "none").await;
    verified(
        &legacy.send(&sign("python", "hmac-sha1-base64", "legacy-shared-secret", body, 0, ""), body).await,
        "hmac",
    );
    refused(
        &legacy.send(&sign("python", "hmac-sha1-base64", "legacy-shared-secret", body, 0, ""), "{}").await,
        "SIGNATURE_INVALID",
    );

    let invalid = json!({ "scheme": "hmac", "secrets": [secret] });
    let key = server.key();
    let block = server.block(key, "noop", json!({})).await;
    let refused_config = server
        .post("/v1/webhooks", key, json!({ "target": { "type": "block", "id": block }, "signature": invalid }))
        .await;
    assert_eq!(refused_config.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused_config.body);
    let bad_whsec = json!({ "scheme": "standard_webhooks", "secrets": ["whsec_***"] });
    let refused_secret = server
        .post("/v1/webhooks", key, json!({ "target": { "type": "block", "id": block }, "signature": bad_whsec }))
        .await;
    assert_eq!(refused_secret.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused_secret.body);
}

/// A non-ASCII signing secret once panicked the listing (a byte slice for its hint).
#[tokio::test]
async fn a_non_ascii_signing_secret_is_shown_by_its_last_four_characters() {
    let server = TestServer::start().await;
    let config = json!({ "scheme": "stripe", "secrets": ["€€€€€€€€€€€€€€€€"] });
    let (hook, created) = Hook::create(&server, config, "none").await;
    assert_eq!(created["signature"]["secretHints"], json!(["€€€€"]));
    let listed = server.get("/v1/webhooks", server.key()).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let shown = server.get(&format!("/v1/webhooks/{}", hook.id), server.key()).await;
    assert_eq!(shown.body["signature"]["secretHints"], json!(["€€€€"]));
}

fn replayed(answer: &Triggered, first: &Triggered) {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.headers["idempotent-replayed"], "true", "{:?}", answer.headers);
    assert_eq!(answer.body["execution_id"], first.body["execution_id"]);
}

fn with(headers: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut all = headers.to_vec();
    all.push((name.to_owned(), value.to_owned()));
    all
}

/// #13 item 5: a verified signature's own delivery id (or, without one, the signed content) is
/// the idempotency key. A replayer's `Idempotency-Key`, a changed `X-GitHub-Delivery`, and a
/// sender's retry re-signed with a new timestamp are all the same delivery, run once.
#[tokio::test]
async fn a_signed_delivery_runs_once_whatever_unsigned_headers_a_replayer_adds() {
    let server = TestServer::start().await;

    let standard = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let (hook, _) =
        Hook::create(&server, json!({ "scheme": "standard_webhooks", "secrets": [standard] }), "none").await;
    let body = r#"{"type": "invoice.paid"}"#;
    let signed = sign("python", "standard_webhooks", standard, body, now(), "msg_replayed");
    let first = hook.send(&with(&signed, "idempotency-key", "sender-1"), body).await;
    verified(&first, "standard_webhooks");
    replayed(&hook.send(&with(&signed, "idempotency-key", "replayer-2"), body).await, &first);
    replayed(&hook.send(&signed, body).await, &first);
    // The signed id vouches for the delivery: re-sent with other bytes under the same id it
    // is a replay, not a 409 (Stripe re-renders `pending_webhooks` between attempts).
    let changed = r#"{"type": "invoice.paid", "pending_webhooks": 2}"#;
    let resigned = sign("python", "standard_webhooks", standard, changed, now(), "msg_replayed");
    replayed(&hook.send(&resigned, changed).await, &first);
    assert_eq!(hook.runs().await, 1);
    // A tolerance past the idempotency window (24 h) would let late replays run again.
    let id = &hook.id;
    let too_tolerant = json!({ "scheme": "standard_webhooks", "secrets": [standard], "toleranceSeconds": 86_401 });
    let refused = server
        .request(reqwest::Method::PUT, &format!("/v1/webhooks/{id}/signature"), Some(server.key()), Some(too_tolerant))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);

    let secret = "whsec_test_5f0c3c9a3b6e4d1f8a2b7c6d5e4f3a2b";
    let (hook, _) = Hook::create(&server, json!({ "scheme": "stripe", "secrets": [secret] }), "none").await;
    let event = r#"{"id": "evt_retried", "type": "charge.succeeded"}"#;
    let first = hook.send(&sign("node", "stripe", secret, event, now() - 30, ""), event).await;
    verified(&first, "stripe");
    let retry = sign("node", "stripe", secret, event, now(), "");
    replayed(&hook.send(&with(&retry, "idempotency-key", "another"), event).await, &first);
    let next = r#"{"id": "evt_next", "type": "charge.succeeded"}"#;
    verified(&hook.send(&sign("node", "stripe", secret, next, now(), ""), next).await, "stripe");
    assert_eq!(hook.runs().await, 2, "a Stripe retry (new t, same evt id) runs once");

    let secret = "It's a Secret to Everybody";
    let (hook, _) = Hook::create(&server, json!({ "scheme": "github", "secrets": [secret] }), "none").await;
    let push = r#"{"ref": "refs/heads/main", "after": "9f1c"}"#;
    let signed = sign("node", "github", secret, push, 0, "");
    let first = hook.send(&with(&signed, "x-github-delivery", "72d3162e-cc78"), push).await;
    verified(&first, "github");
    replayed(&hook.send(&with(&signed, "x-github-delivery", "72d3162e-cc78"), push).await, &first);
    replayed(&hook.send(&with(&signed, "x-github-delivery", "forged-delivery"), push).await, &first);
    assert_eq!(hook.runs().await, 1, "a GitHub redelivery runs once");

    let secret = "8f742231b10e8888abcd99yyyzzz85a5";
    let (hook, _) = Hook::create(&server, json!({ "scheme": "slack", "secrets": [secret] }), "none").await;
    let signed = sign("python", "slack", secret, body, now(), "");
    let first = hook.send(&signed, body).await;
    verified(&first, "slack");
    replayed(&hook.send(&with(&signed, "idempotency-key", "fresh"), body).await, &first);
    assert_eq!(hook.runs().await, 1, "a captured Slack request replayed within the tolerance runs once");
}

/// #13 item 12: a webhook authenticated only by its signature is rate-limited after the
/// signature verifies, so unsigned calls from anyone with the URL cannot drain the bucket.
#[tokio::test]
async fn strangers_cannot_drain_a_signed_webhooks_rate_limit() {
    let server = TestServer::start().await;
    let key = server.key();
    let block = server.block(key, "request-inspector", json!({})).await;
    let secret = "It's a Secret to Everybody";
    let created = server
        .webhook(
            key,
            json!({
                "target": { "type": "block", "id": block },
                "auth": "none",
                "signature": { "scheme": "github", "secrets": [secret] },
                "settings": { "rateLimit": { "perSecond": 0.01, "burst": 1 } },
            }),
        )
        .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let hook = Hook { server: &server, path: format!("/api/webhooks/{id}"), id };
    for _ in 0..5 {
        refused(&hook.send(&[], "{}").await, "SIGNATURE_INVALID");
    }
    let body = r#"{"zen": "genuine"}"#;
    verified(&hook.send(&sign("node", "github", secret, body, 0, ""), body).await, "github");
    let again = r#"{"zen": "genuine, again"}"#;
    let limited = hook.send(&sign("node", "github", secret, again, 0, ""), again).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "the genuine sender's bucket is still enforced");
}
