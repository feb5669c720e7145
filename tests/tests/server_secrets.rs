//! Team secrets: the write-only API, env references resolved per run, host-injected
//! credentials, redaction, encryption at rest (grep the SQLite files) and master-key rotation.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::rows;
use support::server::{TestServer, test_config};
use support::upstream::Upstream;
use wasmhook_server::secrets::KeyText;

const STRIPE_KEY: &str = "sk_live_51HxQ9dGfT0pS3cr3tV4lu3";
const SLACK_TOKEN: &str = "xoxb-1234-5678-s3cr3t-t0k3n";

/// A server on `dir` (artifacts shared) whose blocks may reach loopback.
async fn server_in(dir: &std::path::Path, key: Option<&str>, previous: Option<&str>) -> TestServer {
    support::server::share_artifacts(dir);
    let mut config = test_config(dir);
    config.outbound_allow_private = true;
    config.master_key = key.map(KeyText::new);
    config.master_key_previous = previous.map(KeyText::new);
    TestServer::start_with(config).await
}

async fn put_secret(server: &TestServer, key: &str, name: &str, value: &str) -> support::server::Response {
    server.request(Method::PUT, &format!("/v1/secrets/{name}"), Some(key), Some(json!({ "value": value }))).await
}

/// Every file of the data dir's SQLite database (main file, WAL, shared memory), concatenated.
fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn secrets_are_write_only_team_scoped_and_validated() {
    let server = TestServer::start().await;
    let key = server.key();
    let created = server.post("/v1/secrets", key, json!({ "name": "stripe", "value": STRIPE_KEY })).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert!(!created.body.to_string().contains(STRIPE_KEY));
    assert_eq!(created.body["name"], "stripe");

    let again = server.post("/v1/secrets", key, json!({ "name": "stripe", "value": STRIPE_KEY })).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(put_secret(&server, key, "stripe", "sk_live_rotated_value").await.status, StatusCode::OK);
    assert_eq!(put_secret(&server, key, "slack", SLACK_TOKEN).await.status, StatusCode::CREATED);

    let listed = server.get("/v1/secrets", key).await;
    let names: Vec<&str> = listed.body.as_array().expect("list").iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["slack", "stripe"]);
    assert!(!listed.body.to_string().contains("sk_live"), "values never come back");
    assert_eq!(server.get("/v1/secrets/slack", key).await.status, StatusCode::OK);

    for (body, status) in [
        (json!({ "name": "short", "value": "1234567" }), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({ "name": "bad name", "value": STRIPE_KEY }), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({ "name": "x", "value": STRIPE_KEY, "extra": 1 }), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let refused = server.post("/v1/secrets", key, body.clone()).await;
        assert_eq!(refused.status, status, "{body}: {}", refused.body);
    }

    let other = server.other_team().await;
    assert_eq!(server.get("/v1/secrets", &other).await.body, json!([]), "another team sees none");
    assert_eq!(server.get("/v1/secrets/stripe", &other).await.status, StatusCode::NOT_FOUND);
    let execute = server.post("/v1/keys", key, json!({ "scope": "execute" })).await;
    let execute_key = execute.body["apiKey"].as_str().expect("key");
    assert_eq!(server.get("/v1/secrets", execute_key).await.status, StatusCode::FORBIDDEN, "admin only");

    let deleted = server.request(Method::DELETE, "/v1/secrets/slack", Some(key), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(server.get("/v1/secrets/slack", key).await.status, StatusCode::NOT_FOUND);
}

/// The guest gets an env secret's value; the execution's output, logs and input never hold it,
/// and neither does any byte of the SQLite files.
#[tokio::test]
async fn an_env_secret_reaches_the_guest_and_nowhere_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = server_in(dir.path(), None, None).await;
    let key = server.key();
    assert_eq!(put_secret(&server, key, "slack", SLACK_TOKEN).await.status, StatusCode::CREATED);
    let block = server
        .block(
            key,
            "http-probe",
            json!({ "env": { "SLACK_TOKEN": { "secret": "slack" }, "PROBE_ENV": "SLACK_TOKEN" } }),
        )
        .await;
    let shown = server.get(&format!("/v1/blocks/{block}"), key).await;
    assert_eq!(shown.body["env"]["SLACK_TOKEN"], json!({ "secret": "slack" }));

    let ran =
        server.post(&format!("/v2/webhook/blocks/{block}/execute"), key, json!({ "data": { "requests": [] } })).await;
    assert_eq!(ran.status, StatusCode::OK, "{}", ran.body);
    // The guest read the real value (its output would not be redacted otherwise).
    assert_eq!(ran.body["output"]["env"]["SLACK_TOKEN"], "[secret:slack]");
    let id = ran.body["execution_id"].as_str().expect("id");
    let execution = server.get(&format!("/v1/executions/{id}"), key).await;
    let text = execution.body.to_string();
    assert!(!text.contains(SLACK_TOKEN), "{text}");
    assert!(execution.body["logs"].to_string().contains("[secret:slack]"), "the log line was redacted: {text}");
    assert!(!execution.body["input"].to_string().contains("SLACK_TOKEN"), "block env is not part of the input");

    server.stop().await;
    let stored = rows::stored_bytes(dir.path());
    // The search sees into the stored output and logs (packed when long): their redacted form is there.
    assert!(contains(&stored, "[secret:slack]"), "the stored output and logs are searched");
    assert!(!contains(&stored, SLACK_TOKEN), "the secret is in the database in plain text");
}

#[tokio::test]
async fn references_to_missing_secrets_are_refused_at_save_and_fail_the_run() {
    let server = TestServer::start().await;
    let key = server.key();
    let refused = server.post("/v1/blocks", key, json!({ "name": "b", "env": { "T": { "secret": "nope" } } })).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.to_string().contains("\\\"nope\\\""), "{}", refused.body);

    put_secret(&server, key, "temp", STRIPE_KEY).await;
    let block = server.block(key, "echo", json!({ "env": { "T": { "secret": "temp" } } })).await;
    server.request(Method::DELETE, "/v1/secrets/temp", Some(key), None).await;
    let ran = server.post(&format!("/v2/webhook/blocks/{block}/execute"), key, json!({ "data": {} })).await;
    // The run is recorded as failed, saying which secret is missing.
    assert_eq!(ran.body["success"], false, "{}", ran.body);
    let message = ran.body["error"]["message"].as_str().expect("message");
    assert!(message.contains("secret \"temp\"") && message.contains("PUT /v1/secrets/temp"), "{message}");
}

/// A credential is added by the host to requests for its host only; the guest's env and its
/// own request never hold it, and an upstream that echoes it back is redacted.
#[tokio::test]
async fn an_injected_credential_reaches_its_host_only_and_the_guest_never_holds_it() {
    let stripe = Upstream::start().await;
    let elsewhere = Upstream::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = server_in(dir.path(), None, None).await;
    let key = server.key();
    put_secret(&server, key, "stripe", STRIPE_KEY).await;
    let network = json!({
        "allowedHosts": [elsewhere.origin()],
        "credentials": [{ "secret": "stripe",
                          "inject": { "host": stripe.origin(), "header": "Authorization", "value": "Bearer {secret}" } }],
    });
    let block = server
        .block(key, "http-probe", json!({ "network": network, "env": { "PROBE_ENV": "STRIPE,AUTHORIZATION" } }))
        .await;
    let requests = json!([
        { "url": format!("{}/echo", stripe.origin()), "headers": { "authorization": "Bearer guest-chosen" } },
        { "url": format!("{}/echo", elsewhere.origin()) },
    ]);
    let ran = server
        .post(&format!("/v2/webhook/blocks/{block}/execute"), key, json!({ "data": { "requests": requests } }))
        .await;
    assert_eq!(ran.status, StatusCode::OK, "{}", ran.body);

    let at_stripe = stripe.received();
    assert_eq!(
        at_stripe[0].headers.get("authorization").map(String::as_str),
        Some(format!("Bearer {STRIPE_KEY}").as_str())
    );
    assert_eq!(elsewhere.received()[0].headers.get("authorization"), None, "only its own host gets it");
    let output = &ran.body["output"];
    assert_eq!(output["env"], json!({ "STRIPE": null, "AUTHORIZATION": null }), "not in the guest's env");
    // Stripe's upstream echoed the header back: the execution shows the marker, not the value.
    let echoed: Value = serde_json::from_str(output["answers"][0]["body"].as_str().expect("body")).expect("echo");
    assert_eq!(echoed["headers"]["authorization"], "Bearer [secret:stripe]");
    assert!(!ran.body.to_string().contains(STRIPE_KEY));
}

#[tokio::test]
async fn a_master_key_rotation_reseals_every_secret_and_a_wrong_key_stops_the_boot() {
    let old = "a".repeat(64);
    let new = "b".repeat(64);
    let dir = tempfile::tempdir().expect("tempdir");
    let server = server_in(dir.path(), Some(&old), None).await;
    let key = server.key().to_owned();
    put_secret(&server, &key, "slack", SLACK_TOKEN).await;
    let block =
        server.block(&key, "http-probe", json!({ "env": { "T": { "secret": "slack" }, "PROBE_ENV": "T" } })).await;
    server.stop().await;

    let run = |server: TestServer| {
        let (key, block) = (key.clone(), block.clone());
        async move {
            let ran = server
                .post(&format!("/v2/webhook/blocks/{block}/execute"), &key, json!({ "data": { "requests": [] } }))
                .await;
            server.stop().await;
            ran
        }
    };
    let rotating = run(server_in(dir.path(), Some(&new), Some(&old)).await).await;
    assert_eq!(rotating.body["output"]["env"]["T"], "[secret:slack]", "{}", rotating.body);
    let rotated = run(server_in(dir.path(), Some(&new), None).await).await;
    assert_eq!(rotated.body["output"]["env"]["T"], "[secret:slack]", "resealed under the new key: {}", rotated.body);

    let mut config = test_config(dir.path());
    config.master_key = Some(KeyText::new("c".repeat(64)));
    let refused = wasmhook_server::AppState::open(config).await.expect_err("a wrong master key stops the boot");
    assert!(refused.to_string().contains("master key"), "{refused}");
}

#[tokio::test]
async fn without_a_configured_key_a_private_key_file_is_created_in_the_data_dir() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = server_in(dir.path(), None, None).await;
    let key = server.key().to_owned();
    put_secret(&server, &key, "slack", SLACK_TOKEN).await;
    server.stop().await;
    let file = dir.path().join("master.key");
    assert_eq!(std::fs::metadata(&file).expect("key file").permissions().mode() & 0o777, 0o600);
    let again = server_in(dir.path(), None, None).await;
    let block =
        again.block(&key, "http-probe", json!({ "env": { "T": { "secret": "slack" }, "PROBE_ENV": "T" } })).await;
    let ran =
        again.post(&format!("/v2/webhook/blocks/{block}/execute"), &key, json!({ "data": { "requests": [] } })).await;
    assert_eq!(ran.body["output"]["env"]["T"], "[secret:slack]", "the same key is read back: {}", ran.body);
}

/// Webhook signing secrets are sealed too: absent from the SQLite files, and a check stored in
/// plain text by an earlier version is sealed at the next boot and still works.
#[tokio::test]
async fn signing_secrets_are_sealed_at_rest_and_plain_ones_are_sealed_at_boot() {
    let signing = "whsec_plain_text_never_on_disk_4f1e2d3c";
    let dir = tempfile::tempdir().expect("tempdir");
    let server = server_in(dir.path(), None, None).await;
    let key = server.key().to_owned();
    let block = server.block(&key, "echo", json!({})).await;
    let created = server
        .webhook(
            &key,
            json!({ "target": { "type": "block", "id": block }, "auth": "none",
                    "signature": { "scheme": "stripe", "secrets": [signing] } }),
        )
        .await;
    let id = created["id"].as_str().expect("id").to_owned();
    server.stop().await;
    assert!(!contains(&rows::stored_bytes(dir.path()), signing), "the signing secret is stored in plain text");

    // What an earlier version wrote: the check as plain JSON.
    let plain = json!({ "scheme": "stripe", "secrets": [signing] }).to_string();
    rows::execute(dir.path(), "UPDATE webhooks SET signature = $1 WHERE id = $2", &[&plain, &id]);

    let again = server_in(dir.path(), None, None).await;
    let shown = again.get(&format!("/v1/webhooks/{id}"), &key).await;
    assert_eq!(shown.body["signature"]["scheme"], "stripe", "{}", shown.body);
    again.stop().await;
    let stored = rows::text(dir.path(), "SELECT signature FROM webhooks WHERE id = $1", &[&id]).expect("row");
    assert!(stored.starts_with("v1:") && !stored.contains(signing), "sealed at boot: {stored}");
}

/// The Slack notifier example: the token is a team secret the host injects; the block posts with
/// no token of its own, and without the credential Slack refuses it.
#[tokio::test]
async fn the_slack_notifier_posts_with_an_injected_token() {
    let slack = Upstream::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = server_in(dir.path(), None, None).await;
    let key = server.key().to_owned();
    put_secret(&server, &key, "slack", "xoxb-test-token").await;
    let env = json!({ "SLACK_API_URL": format!("{}/api", slack.origin()), "SLACK_CHANNEL": "#orders" });
    let credential = json!({ "secret": "slack",
        "inject": { "host": slack.origin(), "header": "Authorization", "value": "Bearer {secret}" } });
    let notifier =
        server.block(&key, "slack-notifier", json!({ "env": env, "network": { "credentials": [credential] } })).await;
    let ran = server
        .post(
            &format!("/v2/webhook/blocks/{notifier}/execute"),
            &key,
            json!({ "data": { "type": "order.paid", "id": "o-9" } }),
        )
        .await;
    assert_eq!(
        ran.body["output"],
        json!({ "posted": true, "channel": "#orders", "ts": "1700000000.000100" }),
        "{}",
        ran.body
    );
    let posted: Value = serde_json::from_slice(&slack.received()[0].body).expect("json");
    assert_eq!(posted, json!({ "channel": "#orders", "text": "New order.paid event o-9" }));

    let bare = server
        .block(&key, "slack-notifier", json!({ "env": env, "network": { "allowedHosts": [slack.origin()] } }))
        .await;
    let refused = server.post(&format!("/v2/webhook/blocks/{bare}/execute"), &key, json!({ "data": {} })).await;
    assert_eq!(refused.body["error"]["code"], "slack_error", "{}", refused.body);
    assert!(refused.body["error"]["message"].as_str().is_some_and(|m| m.contains("invalid_auth")));
}
