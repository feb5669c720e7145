//! Trigger webhooks against a real server: the `/v1/webhooks` resource, auth modes, states
//! (including the armed race), rotation, removed URLs and every error row of the trigger route.

mod support;

use std::time::Duration;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::rows;
use support::server::{TestServer, test_config};
use wasmhook_server::Config;

fn path_of(webhook: &Value) -> String {
    format!("/api/webhooks/{}", webhook["id"].as_str().expect("id"))
}

fn bearer(secret: &str) -> String {
    format!("Bearer {secret}")
}

/// Executions recorded for a webhook, read from the SQLite file (after the writer flushed).
async fn executions_of(server: &TestServer, webhook_id: &str) -> i64 {
    server.state.store.executions().flush().await.expect("flush");
    rows::number(&server.state.config.data_dir, "SELECT COUNT(*) FROM executions WHERE webhook_id = $1", &[webhook_id])
        .expect("count")
}

#[tokio::test]
async fn create_shows_the_secret_once_and_listings_never() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let created = server.webhook(key, json!({ "name": "stripe", "target": { "type": "block", "id": echo } })).await;
    let id = created["id"].as_str().expect("id");
    let secret = created["secret"].as_str().expect("secret shown on create");
    assert!(secret.starts_with("whk_") && secret.len() == 44, "{secret}");
    assert_eq!(created["url"], format!("{}/api/webhooks/{id}", server.base));
    assert_eq!(created["state"], "deployed");
    assert_eq!(created["secretHint"], secret[secret.len() - 4..]);
    assert_eq!(created["settings"]["maxBodyBytes"], 1 << 20, "default body limit 1 MiB");

    let shown = server.get(&format!("/v1/webhooks/{id}"), key).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.get("secret").is_none(), "{}", shown.body);
    let listed = server.get("/v1/webhooks", key).await;
    assert_eq!(listed.body.as_array().expect("list").len(), 1);
    assert!(!listed.body.to_string().contains(secret));

    let other = server.other_team().await;
    assert_eq!(server.get(&format!("/v1/webhooks/{id}"), &other).await.status, StatusCode::NOT_FOUND);
    assert_eq!(server.get("/v1/webhooks", &other).await.body, json!([]));
    let foreign = server.post("/v1/webhooks", &other, json!({ "target": { "type": "block", "id": echo } })).await;
    assert_eq!(foreign.status, StatusCode::UNPROCESSABLE_ENTITY, "another team's block: {}", foreign.body);

    let second = server.post("/v1/webhooks", key, json!({ "target": { "type": "block", "id": echo } })).await;
    assert_eq!(second.status, StatusCode::CONFLICT, "one active webhook per target: {}", second.body);
    let allowed = json!({ "target": { "type": "block", "id": echo }, "allowMultiple": true });
    assert_eq!(server.post("/v1/webhooks", key, allowed).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn secret_auth_takes_bearer_token_or_key_and_answers_plain_401s() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let created = server.webhook(key, json!({ "target": { "type": "block", "id": echo } })).await;
    let (path, secret) = (path_of(&created), created["secret"].as_str().expect("secret"));
    let json = ("content-type", "application/json");

    let ok = server.trigger(&path, &[json, ("authorization", &bearer(secret))], r#"{"n": 1}"#).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["status"], "completed");
    assert_eq!(ok.body["output"]["data"], json!({ "n": 1 }));
    assert!(ok.body["execution_id"].is_string());
    for param in ["token", "key"] {
        let by_query = server.trigger(&format!("{path}?{param}={secret}"), &[json], "{}").await;
        assert_eq!(by_query.status, StatusCode::OK, "?{param}=: {}", by_query.body);
    }
    for headers in [vec![json], vec![json, ("authorization", "Bearer whk_wrong")]] {
        let refused = server.trigger(&path, &headers, "{}").await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert_eq!(refused.body, json!({ "error": "Unauthorized" }), "no error_code on 401");
    }
    let wrong_query = server.trigger(&format!("{path}?token=nope"), &[json], "{}").await;
    assert_eq!(wrong_query.status, StatusCode::UNAUTHORIZED);
    assert_eq!(executions_of(&server, created["id"].as_str().expect("id")).await, 3);

    // auth "none": the URL is the capability.
    let doc = server.doc(key, json!([{ "key": "a", "block": echo }, { "key": "b", "block": echo }])).await;
    let open = server.webhook(key, json!({ "target": { "type": "doc", "id": doc }, "auth": "none" })).await;
    assert!(open.get("secret").is_none());
    let ran = server.trigger(&path_of(&open), &[json], r#"{"x": true}"#).await;
    assert_eq!(ran.status, StatusCode::OK, "{}", ran.body);
    assert_eq!(ran.body["execution_ids"].as_array().expect("ids").len(), 2);
    assert_eq!(ran.body["output"]["b"]["datasetKey"], "b");
}

#[tokio::test]
async fn bad_ids_unknown_ids_and_removed_urls() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let bad = server.trigger("/api/webhooks/not-a-uuid", &[], "{}").await;
    assert_eq!((bad.status, bad.body["error_code"].as_str()), (StatusCode::BAD_REQUEST, Some("VALIDATION_ERROR")));
    let missing = server.trigger(&format!("/api/webhooks/{}", uuid::Uuid::new_v4()), &[], "{}").await;
    assert_eq!(
        (missing.status, missing.body["error_code"].as_str()),
        (StatusCode::NOT_FOUND, Some("WORKFLOW_NOT_FOUND"))
    );

    let created = server.webhook(key, json!({ "target": { "type": "block", "id": echo }, "auth": "none" })).await;
    let old_path = path_of(&created);
    let id = created["id"].as_str().expect("id");
    let first = server.trigger(&old_path, &[], "{}").await;
    assert_eq!(first.status, StatusCode::OK);
    let first_execution = first.body["execution_id"].as_str().expect("id").to_owned();

    let regenerated = server.post(&format!("/v1/webhooks/{id}/regenerate-url"), key, json!({})).await;
    assert_eq!(regenerated.status, StatusCode::OK, "{}", regenerated.body);
    let new_id = regenerated.body["id"].as_str().expect("new id");
    assert_ne!(new_id, id);
    let gone = server.trigger(&old_path, &[], "{}").await;
    assert_eq!((gone.status, gone.body["error_code"].as_str()), (StatusCode::GONE, Some("WEBHOOK_REMOVED")));
    let new_path = path_of(&regenerated.body);
    assert_eq!(server.trigger(&new_path, &[], "{}").await.status, StatusCode::OK);
    let polled = server.client.get(format!("{}{new_path}/executions/{first_execution}", server.base)).send().await;
    assert_eq!(polled.expect("poll").status(), StatusCode::OK, "executions follow the new URL");

    let deleted = server.request(reqwest::Method::DELETE, &format!("/v1/webhooks/{new_id}"), Some(key), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(server.trigger(&new_path, &[], "{}").await.status, StatusCode::GONE);
    assert_eq!(server.get(&format!("/v1/webhooks/{new_id}"), key).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_armed_webhook_takes_exactly_one_of_100_concurrent_calls() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let created = server.webhook(key, json!({ "target": { "type": "block", "id": echo }, "auth": "none" })).await;
    let (path, id) = (path_of(&created), created["id"].as_str().expect("id").to_owned());
    let armed = server.post(&format!("/v1/webhooks/{id}/arm"), key, json!({ "ttlSeconds": 60 })).await;
    assert_eq!((armed.body["state"].as_str(), armed.body["accepting"].as_bool()), (Some("armed"), Some(true)));

    let calls = (0..100).map(|n| {
        let path = path.clone();
        let server = &server;
        async move { server.trigger(&path, &[("content-type", "application/json")], format!("{{\"n\": {n}}}")).await }
    });
    let answers = join_all(calls).await;
    let ran: Vec<_> = answers.iter().filter(|a| a.status == StatusCode::OK).collect();
    let refused = answers.iter().filter(|a| a.status == StatusCode::FORBIDDEN).count();
    assert_eq!((ran.len(), refused), (1, 99), "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    assert!(
        answers
            .iter()
            .filter(|a| a.status == StatusCode::FORBIDDEN)
            .all(|a| a.body["error_code"] == "WEBHOOK_INACTIVE")
    );
    assert_eq!(executions_of(&server, &id).await, 1, "exactly one run");

    let spent = server.get(&format!("/v1/webhooks/{id}"), key).await;
    assert_eq!((spent.body["accepting"].as_bool(), spent.body["armedUntil"].as_i64()), (Some(false), None));
    assert_eq!(server.trigger(&path, &[], "{}").await.status, StatusCode::FORBIDDEN, "needs re-arming");
    server.post(&format!("/v1/webhooks/{id}/arm"), key, json!({ "ttlSeconds": 1 })).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(server.trigger(&path, &[], "{}").await.status, StatusCode::FORBIDDEN, "the arm window passed");
    server.post(&format!("/v1/webhooks/{id}/arm"), key, json!({})).await;
    assert_eq!(server.trigger(&path, &[], "{}").await.status, StatusCode::OK, "re-armed");
    assert_eq!(executions_of(&server, &id).await, 2);
}

#[tokio::test]
async fn disabled_webhooks_refuse_and_enabled_ones_deploy() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let created = server.webhook(key, json!({ "target": { "type": "block", "id": echo }, "auth": "none" })).await;
    let (path, id) = (path_of(&created), created["id"].as_str().expect("id"));
    for _ in 0..3 {
        assert_eq!(server.trigger(&path, &[], "{}").await.status, StatusCode::OK, "deployed: any number of calls");
    }
    let disabled = server.post(&format!("/v1/webhooks/{id}/disable"), key, json!({})).await;
    assert_eq!(disabled.body["state"], "disabled");
    let refused = server.trigger(&path, &[], "{}").await;
    assert_eq!(
        (refused.status, refused.body["error_code"].as_str()),
        (StatusCode::FORBIDDEN, Some("WEBHOOK_INACTIVE"))
    );
    server.post(&format!("/v1/webhooks/{id}/enable"), key, json!({})).await;
    assert_eq!(server.trigger(&path, &[], "{}").await.status, StatusCode::OK);
}

#[tokio::test]
async fn rotation_revokes_the_old_secret_at_once_or_after_its_grace() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let created = server.webhook(key, json!({ "target": { "type": "block", "id": echo } })).await;
    let (path, id) = (path_of(&created), created["id"].as_str().expect("id"));
    let first = created["secret"].as_str().expect("secret").to_owned();
    let call = |secret: String| {
        let path = path.clone();
        let server = &server;
        async move { server.trigger(&path, &[("authorization", &bearer(&secret))], "{}").await.status }
    };

    let rotated = server.post(&format!("/v1/webhooks/{id}/rotate-secret"), key, json!({})).await;
    let second = rotated.body["secret"].as_str().expect("new secret shown once").to_owned();
    assert_ne!(first, second);
    assert_eq!(call(first.clone()).await, StatusCode::UNAUTHORIZED, "no grace: revoked at once");
    assert_eq!(call(second.clone()).await, StatusCode::OK);

    let graced = server.post(&format!("/v1/webhooks/{id}/rotate-secret"), key, json!({ "graceSeconds": 1 })).await;
    let third = graced.body["secret"].as_str().expect("secret").to_owned();
    assert!(graced.body["previousSecretExpiresAt"].is_i64(), "{}", graced.body);
    assert_eq!(call(second.clone()).await, StatusCode::OK, "old secret valid during the grace period");
    assert_eq!(call(third.clone()).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(call(second).await, StatusCode::UNAUTHORIZED, "grace over");
    assert_eq!(call(third).await, StatusCode::OK);
    let too_long =
        server.post(&format!("/v1/webhooks/{id}/rotate-secret"), key, json!({ "graceSeconds": 99_999_999 })).await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn rate_limits_answer_429_with_a_sane_retry_after() {
    let server = TestServer::start().await;
    let key = server.key();
    let noop = server.block(key, "noop", json!({})).await;
    let settings = json!({ "rateLimit": { "perSecond": 0.5, "burst": 3 } });
    let created = server
        .webhook(key, json!({ "target": { "type": "block", "id": noop }, "auth": "none", "settings": settings }))
        .await;
    let path = path_of(&created);
    for n in 0..3 {
        assert_eq!(server.trigger(&path, &[], "{}").await.status, StatusCode::OK, "call {n} within the burst");
    }
    let limited = server.trigger(&path, &[], "{}").await;
    assert_eq!(
        (limited.status, limited.body["error_code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("RATE_LIMITED"))
    );
    let retry_after: u64 = limited.headers["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=2).contains(&retry_after), "one token per 2 s: Retry-After {retry_after}");
    let invalid = json!({ "settings": { "rateLimit": { "perSecond": 0, "burst": 1 } } });
    let id = created["id"].as_str().expect("id");
    let refused = server.request(reqwest::Method::PATCH, &format!("/v1/webhooks/{id}"), Some(key), Some(invalid)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    // #13 item 11: another team's regenerate-url is a 404 with no side effect (it used to
    // reset this webhook's bucket before checking the team).
    let other = server.other_team().await;
    let foreign = server.post(&format!("/v1/webhooks/{id}/regenerate-url"), &other, json!({})).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{}", foreign.body);
    assert_eq!(server.trigger(&path, &[], "{}").await.status, StatusCode::TOO_MANY_REQUESTS, "bucket kept");
    let lifted = json!({ "settings": { "rateLimit": null } });
    let patched = server.request(reqwest::Method::PATCH, &format!("/v1/webhooks/{id}"), Some(key), Some(lifted)).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(server.trigger(&path, &[], "{}").await.status, StatusCode::OK, "limit lifted");
}

#[tokio::test]
async fn content_types_and_body_sizes_are_enforced_per_webhook() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let settings = json!({ "contentTypes": ["application/json"], "maxBodyBytes": 1024 });
    let created = server
        .webhook(key, json!({ "target": { "type": "block", "id": echo }, "auth": "none", "settings": settings }))
        .await;
    let path = path_of(&created);
    let xml = server.trigger(&path, &[("content-type", "application/xml")], "<a/>").await;
    assert_eq!(
        (xml.status, xml.body["error_code"].as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("UNSUPPORTED_MEDIA_TYPE"))
    );
    let json_type = ("content-type", "application/json");
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(2000));
    let too_large = server.trigger(&path, &[json_type], big).await;
    assert_eq!(
        (too_large.status, too_large.body["error_code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("PAYLOAD_TOO_LARGE"))
    );

    // Declared too large: refused from the header, before any of the body is read.
    let declared = streamed_413(&server, &path, "Content-Length: 10485760\r\n", false).await;
    assert_eq!(declared, 0, "refused on Content-Length alone");
    // Chunked, no length: refused as soon as the stream passes the limit, while the sender
    // still has most of its 512 KiB to send.
    let chunks = streamed_413(&server, &path, "Transfer-Encoding: chunked\r\n", true).await;
    assert!(chunks < 100, "refused after {chunks} of 1024 chunks of 512 bytes");

    let over_server = json!({ "settings": { "maxBodyBytes": 1u64 << 40 } });
    let id = created["id"].as_str().expect("id");
    let refused =
        server.request(reqwest::Method::PATCH, &format!("/v1/webhooks/{id}"), Some(key), Some(over_server)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "over the server max: {}", refused.body);
}

/// Sends a body in 512-byte pieces (as chunks, or raw after a declared length) on a raw
/// socket until the server answers; checks the answer is a 413 and returns how many pieces
/// went out before it arrived.
async fn streamed_413(server: &TestServer, path: &str, framing: &str, chunked: bool) -> usize {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = server.base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address).await.expect("connect");
    let head = format!("POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n{framing}\r\n");
    socket.write_all(head.as_bytes()).await.expect("head");
    let piece = if chunked { format!("200\r\n{}\r\n", " ".repeat(512)) } else { " ".repeat(512) };
    let mut sent = 0;
    while sent < 1024 {
        let mut probe = [0u8; 1];
        if let Ok(read) = tokio::time::timeout(Duration::from_millis(5), socket.peek(&mut probe)).await {
            assert!(read.expect("peek") > 0, "the server closed without answering");
            break;
        }
        if socket.write_all(piece.as_bytes()).await.is_err() {
            break;
        }
        sent += 1;
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), socket.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 413"), "after {sent} pieces: {text}");
    sent
}

#[tokio::test]
async fn async_triggers_answer_503_when_the_queue_is_full() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config { workers: 1, queue_depth: 1, ..test_config(dir.path()) };
    let server = TestServer::start_with(config).await;
    let key = server.key();
    let slow = server.block(key, "loop-forever", json!({ "timeoutMs": 1000 })).await;
    let settings = json!({ "responseMode": "async" });
    let created = server
        .webhook(key, json!({ "target": { "type": "block", "id": slow }, "auth": "none", "settings": settings }))
        .await;
    let path = path_of(&created);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(server.trigger(&path, &[], "{}").await.status);
    }
    assert_eq!(statuses[0], StatusCode::CREATED);
    let full = statuses.iter().filter(|s| **s == StatusCode::SERVICE_UNAVAILABLE).count();
    assert!(full >= 1, "a queue of depth 1 behind one busy worker: {statuses:?}");
}
