//! What trigger webhooks run and answer, against a real server and real blocks: any body
//! reaching the block byte-exact, captured requests, sync answers (200/500/504 and the block's
//! own `$http` response), async 201 with sender-side polling, idempotent retries.

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::rows;
use support::server::TestServer;

fn path_of(webhook: &Value) -> String {
    format!("/api/webhooks/{}", webhook["id"].as_str().expect("id"))
}

async fn open_webhook(server: &TestServer, module: &str, block_config: Value, settings: Value) -> String {
    let key = server.key();
    let block = server.block(key, module, block_config).await;
    let body = json!({ "target": { "type": "block", "id": block }, "auth": "none", "settings": settings });
    path_of(&server.webhook(key, body).await)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn any_body_reaches_the_block_byte_exact() {
    let server = TestServer::start().await;
    let path = open_webhook(&server, "request-inspector", json!({}), json!({})).await;

    let xml = b"<?xml version=\"1.0\"?>\n<order id=\"7\">caf\xc3\xa9 &amp; \x00\xff</order>\r\n".to_vec();
    let seen = server.trigger(&path, &[("content-type", "application/xml; charset=utf-8")], xml.clone()).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    let output = &seen.body["output"];
    assert_eq!(output["bodyHex"], hex(&xml), "byte-exact");
    assert_eq!(output["contentType"], "application/xml; charset=utf-8");
    assert_eq!(output["data"], json!({}));
    assert_eq!(output["env"]["WEBHOOK_BODY_FILE"], "/webhook/body");

    let binary: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let seen = server.trigger(&path, &[("content-type", "application/octet-stream")], binary.clone()).await;
    assert_eq!(seen.body["output"]["bodyHex"], hex(&binary));

    let text = server.trigger(&path, &[("content-type", "text/plain")], "hello\nworld").await;
    assert_eq!(text.body["output"]["bodyHex"], hex(b"hello\nworld"));

    let form = server
        .trigger(&path, &[("content-type", "application/x-www-form-urlencoded")], "name=Ada+Lovelace&tag=a&tag=b")
        .await;
    assert_eq!(form.body["output"]["data"], json!({ "name": "Ada Lovelace", "tag": ["a", "b"] }));
    assert_eq!(form.body["output"]["bodyHex"], hex(b"name=Ada+Lovelace&tag=a&tag=b"));

    let json_body = br#"{ "b": 2,   "a": [1, 2] }"#;
    let seen = server.trigger(&path, &[("content-type", "application/json")], json_body.to_vec()).await;
    assert_eq!(seen.body["output"]["bodyHex"], hex(json_body), "JSON kept as sent, not re-serialized");
    assert_eq!(seen.body["output"]["data"], json!({ "a": [1, 2], "b": 2 }));
    assert_eq!(seen.body["output"]["env"]["WEBHOOK_BODY_FILE"], "/webhook/data.json");

    let broken = server.trigger(&path, &[("content-type", "application/json")], "{not json").await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST, "{}", broken.body);
    assert!(broken.body["error"].as_str().expect("msg").contains("not valid JSON"));

    // #13 item 7: declared JSON with a non-UTF-8 byte inside a string is refused; undeclared,
    // it is not JSON and is handed over byte-exact.
    let latin1 = b"{\"name\": \"caf\xe9\"}".to_vec();
    let refused = server.trigger(&path, &[("content-type", "application/json")], latin1.clone()).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body["error"].as_str().expect("msg").contains("UTF-8"), "{}", refused.body);
    let raw = server.trigger(&path, &[], latin1.clone()).await;
    assert_eq!(raw.status, StatusCode::OK, "{}", raw.body);
    assert_eq!(raw.body["output"]["bodyHex"], hex(&latin1), "kept byte-exact");
    assert_eq!(raw.body["output"]["env"]["WEBHOOK_BODY_FILE"], "/webhook/body");
}

/// #13 item 7 on the durable path: the 201 used to be followed by a run with `null` data.
#[tokio::test]
async fn async_json_with_invalid_utf8_is_refused_before_anything_is_stored() {
    let server = TestServer::start().await;
    let path = open_webhook(&server, "request-inspector", json!({}), json!({ "responseMode": "async" })).await;
    let latin1 = b"{\"name\": \"caf\xe9\"}".to_vec();
    let refused = server.trigger(&path, &[("content-type", "application/json")], latin1).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    server.state.store.executions().flush().await.expect("flush");
    let stored = rows::number(&server.state.config.data_dir, "SELECT COUNT(*) FROM executions", &[]).expect("count");
    assert_eq!(stored, 0, "nothing was accepted");
}

#[tokio::test]
async fn captured_requests_carry_headers_query_and_source_but_no_credentials() {
    let server = TestServer::start().await;
    let key = server.key();
    let block = server.block(key, "request-inspector", json!({})).await;
    let body = json!({ "target": { "type": "block", "id": block }, "settings": { "captureRequest": true } });
    let created = server.webhook(key, body).await;
    let secret = created["secret"].as_str().expect("secret");
    let path = format!("{}?token={secret}&source=github&tag=1&tag=2", path_of(&created));
    let headers = [
        ("content-type", "application/json"),
        ("x-github-event", "push"),
        ("cookie", "session=abc"),
        ("user-agent", "GitHub-Hookshot/1"),
    ];
    let seen = server.trigger(&path, &headers, r#"{"ref": "main"}"#).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    let output = &seen.body["output"];
    assert_eq!(output["headers"]["x-github-event"], "push");
    assert_eq!(output["headers"]["user-agent"], "GitHub-Hookshot/1");
    assert!(output["headers"].get("cookie").is_none());
    assert_eq!(output["request"]["method"], "POST");
    assert_eq!(output["request"]["query"], json!({ "source": "github", "tag": ["1", "2"] }));
    assert_eq!(output["request"]["sourceIp"], "127.0.0.1");
    assert_eq!(output["webhookId"], created["id"]);
    assert!(!output.to_string().contains(secret), "the secret never reaches the block");

    let by_header = server.trigger(&path_of(&created), &[("authorization", &format!("Bearer {secret}"))], "{}").await;
    assert!(by_header.body["output"]["headers"].get("authorization").is_none());
    assert!(!by_header.body.to_string().contains(secret));
}

#[tokio::test]
async fn sync_failures_are_500_and_timeouts_504_with_the_execution_id() {
    let server = TestServer::start().await;
    let panics = open_webhook(&server, "panic-block", json!({ "env": { "PANIC_REASON": "boom" } }), json!({})).await;
    let failed = server.trigger(&panics, &[], "{}").await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(failed.body["error_code"], "EXECUTION_FAILED");
    // #13 item 17: a panic's text (and a trap's backtrace) stays out of the public answer;
    // the owner reads it in the execution record.
    let public = failed.body["error"].as_str().expect("msg");
    assert!(!public.contains("boom") && public.contains("crashed"), "{}", failed.body);
    let id = failed.body["execution_id"].as_str().expect("execution id for debugging");
    let recorded = server.get(&format!("/v1/executions/{id}"), server.key()).await;
    assert_eq!(
        (recorded.body["status"].as_str(), recorded.body["trigger"].as_str()),
        (Some("failed"), Some("webhook"))
    );
    assert!(recorded.body["error"]["message"].as_str().expect("msg").contains("boom"), "{}", recorded.body);
    let polled = server.get(&format!("{panics}/executions/{id}"), server.key()).await;
    assert_eq!(polled.status, StatusCode::OK, "{}", polled.body);
    assert!(!polled.body["error"].as_str().expect("msg").contains("boom"), "{}", polled.body);

    let looping = open_webhook(&server, "loop-forever", json!({ "timeoutMs": 200 }), json!({})).await;
    let started = Instant::now();
    let timed_out = server.trigger(&looping, &[], "{}").await;
    assert_eq!(timed_out.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(timed_out.body["error_code"], "EXECUTION_TIMEOUT");
    assert!(timed_out.body["execution_id"].is_string());
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_block_can_shape_the_http_response_for_slack_url_verification() {
    let server = TestServer::start().await;
    let path = open_webhook(&server, "slack-events", json!({}), json!({})).await;
    let challenge = r#"{"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}"#;
    let answer = server.trigger(&path, &[("content-type", "application/json")], challenge).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["content-type"], "text/plain");
    assert_eq!(answer.bytes, b"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
    assert!(answer.headers.contains_key("x-wasmhook-execution-id"));

    let event = r#"{"type": "event_callback", "event": {"type": "app_mention"}}"#;
    let acked = server.trigger(&path, &[("content-type", "application/json")], event).await;
    assert_eq!(acked.body["output"], json!({ "ok": true, "type": "event_callback", "eventType": "app_mention" }));
}

#[tokio::test]
async fn async_triggers_answer_201_and_the_sender_polls_with_its_secret() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let body = json!({ "target": { "type": "block", "id": echo }, "settings": { "responseMode": "async" } });
    let created = server.webhook(key, body).await;
    let secret = created["secret"].as_str().expect("secret");
    let auth = format!("Bearer {secret}");
    let accepted = server
        .trigger(&path_of(&created), &[("authorization", &auth), ("content-type", "application/json")], r#"{"n": 5}"#)
        .await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.body);
    assert!(accepted.body["request"]["id"].is_string());
    assert_eq!(accepted.body["data"]["webhook_id"], created["id"]);
    assert_eq!(accepted.body["data"]["target"], json!({ "type": "block", "id": echo }));
    let id = accepted.body["data"]["execution_ids"][0].as_str().expect("execution id");
    let location = accepted.headers["location"].to_str().expect("location").to_owned();
    assert_eq!(location, format!("{}/executions/{id}", path_of(&created)));

    let deadline = Instant::now() + Duration::from_secs(20);
    let polled = loop {
        let response = server.client.get(format!("{}{location}", server.base)).bearer_auth(secret).send().await;
        let body: Value = response.expect("poll").json().await.expect("json");
        if body["status"] == "completed" {
            break body;
        }
        assert!(Instant::now() < deadline, "still {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(polled["output"]["data"], json!({ "n": 5 }));
    let unauthorized = server.client.get(format!("{}{location}", server.base)).send().await.expect("poll");
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn retries_with_the_same_delivery_id_run_once() {
    let server = TestServer::start().await;
    let path = open_webhook(&server, "echo", json!({}), json!({})).await;
    let headers = [("content-type", "application/json"), ("webhook-id", "msg_2Lh9")];
    let first = server.trigger(&path, &headers, r#"{"n": 1}"#).await;
    let retry = server.trigger(&path, &headers, r#"{"n": 1}"#).await;
    assert_eq!((first.status, retry.status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(first.body["execution_id"], retry.body["execution_id"]);
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    let reused = server.trigger(&path, &headers, r#"{"n": 2}"#).await;
    assert_eq!(reused.status, StatusCode::CONFLICT, "same id, different body: {}", reused.body);
}

/// Found by `fuzz/` (http_output): an output that is valid JSON but holds a number no `f64`
/// can hold (`1e400`) panicked the answer of a sync trigger call, of v2 and of the poll route,
/// which re-parsed it. Each now passes the output on exactly as the block wrote it.
#[tokio::test]
async fn an_output_with_a_number_beyond_f64_is_passed_on_as_written() {
    let server = TestServer::start().await;
    let key = server.key();
    let raw = r#"{"big": 1e400, "exact": 0.10000000000000000000000001}"#;
    let data = json!({ "raw_output": raw });
    let block = server.block(key, "hello-command", json!({})).await;
    let v2 = server
        .client
        .post(format!("{}/v2/webhook/blocks/{block}/execute", server.base))
        .bearer_auth(key)
        .json(&json!({ "data": data }))
        .send()
        .await
        .expect("sent");
    assert_eq!(v2.status(), StatusCode::OK);
    let text = v2.text().await.expect("body");
    assert!(text.contains(r#""output":{"big": 1e400, "exact": 0.10000000000000000000000001}"#), "{text}");

    let body = json!({ "target": { "type": "block", "id": block }, "auth": "none" });
    let path = path_of(&server.webhook(key, body).await);
    let answer = server.trigger(&path, &[("content-type", "application/json")], data.to_string()).await;
    assert_eq!(answer.status, StatusCode::OK);
    let text = String::from_utf8(answer.bytes.clone()).expect("utf-8");
    assert!(text.contains(raw), "{text}");
    let id = answer.headers["x-wasmhook-execution-id"].to_str().expect("id");
    let polled = server.client.get(format!("{}{path}/executions/{id}", server.base)).send().await.expect("sent");
    assert_eq!(polled.status(), StatusCode::OK);
    assert!(polled.text().await.expect("body").contains(raw));
}
