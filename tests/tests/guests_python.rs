//! Python blocks through every route a sender uses, against a real server: v2 (with the
//! `python.environment_variables` layer), v4 docs, and trigger webhooks; output and logs read
//! back from the execution record.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::server::TestServer;

fn log_messages(execution: &Value) -> Vec<(String, String)> {
    execution["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .map(|l| {
            (l["level"].as_str().unwrap_or_default().to_owned(), l["message"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn a_python_block_through_v2_with_its_language_env_and_logs() {
    let server = TestServer::start().await;
    let key = server.key();
    let block = server
        .block(
            key,
            "python/stripe_event",
            json!({ "language": "python", "env": { "REVIEW_THRESHOLD_CENTS": "100000" } }),
        )
        .await;
    let path = format!("/v2/webhook/blocks/{block}/execute");
    let event = json!({ "id": "evt_42", "type": "payment_intent.succeeded",
                        "data": { "object": { "amount": 5000, "currency": "USD", "customer": null } } });
    let response = server
        .post(
            &path,
            key,
            json!({
                "data": event,
                "environment_variables": { "REVIEW_THRESHOLD_CENTS": "1000" },
                "python": { "environment_variables": { "REVIEW_THRESHOLD_CENTS": "9000" } },
                "rust": { "environment_variables": { "REVIEW_THRESHOLD_CENTS": "1" } },
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.body["success"], true, "{}", response.body);
    // 5000 < 9000 (the python layer wins; the rust one is ignored), no customer: review.
    assert_eq!(response.body["output"]["decision"], "review", "{}", response.body);
    assert_eq!(response.body["output"]["reasons"], json!(["guest checkout"]));

    let id = response.body["execution_id"].as_str().expect("id");
    let execution = server.get(&format!("/v1/executions/{id}"), key).await;
    let logs = log_messages(&execution.body);
    assert!(logs.contains(&("info".into(), "evt_42: review 5000 usd".into())), "{logs:?}");
    assert!(
        logs.contains(&("warn".into(), "evt_42 needs attention: guest checkout".into())),
        "stdlib logging: {logs:?}"
    );

    let unsupported = server
        .post(&path, key, json!({ "data": { "id": "evt_9", "type": "invoice.paid", "data": { "object": { "amount": 1, "currency": "usd" } } } }))
        .await;
    assert_eq!(unsupported.body["success"], false);
    assert_eq!(unsupported.body["error"]["kind"], "guest_error");
    assert_eq!(unsupported.body["error"]["code"], "unsupported_event");
}

#[tokio::test]
async fn a_python_command_through_v2_sees_the_python_env_layer() {
    let server = TestServer::start().await;
    let key = server.key();
    let block = server.block(key, "python/report_command", json!({ "language": "python" })).await;
    let response = server
        .post(
            &format!("/v2/webhook/blocks/{block}/execute"),
            key,
            json!({ "data": { "name": "Grace" },
                    "python": { "environment_variables": { "LANG_SPECIFIC": "python layer" } },
                    "javascript": { "environment_variables": { "LANG_SPECIFIC": "ignored" } } }),
        )
        .await;
    assert_eq!(response.body["success"], true, "{}", response.body);
    assert_eq!(response.body["output"]["greeting"], "hello, Grace");
    assert_eq!(response.body["output"]["language_env"], "python layer");
}

#[tokio::test]
async fn the_meeting_transcript_dataset_through_v4() {
    let server = TestServer::start().await;
    let key = server.key();
    let block = server.block(key, "python/meeting_transcript", json!({ "language": "python" })).await;
    let doc = server.doc(key, json!([{ "key": "process_webhook", "block": block, "timeoutMs": 10000 }])).await;
    let (mut data, words) = wasmhook_tests::transcript(256 << 10);
    data["transcript"].as_array_mut().expect("turns").push(json!({ "speaker": "Ada", "text": "I will ship it today" }));
    let response = server
        .post(
            &format!("/v4/webhook/docs/{doc}/execute"),
            key,
            json!({ "data": data, "datasetKeys": ["process_webhook"] }),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    assert_eq!(response.body["success"], true, "{}", response.body);
    let result = &response.body["data"]["results"][0];
    assert_eq!(result["datasetKey"], "process_webhook");
    let id = result["executionId"].as_str().expect("id");

    let execution = server.get(&format!("/v1/executions/{id}"), key).await;
    let output = &execution.body["output"];
    assert_eq!(output["event_type"], "meeting_end");
    assert_eq!(output["dataset_key"], "process_webhook");
    assert_eq!(output["execution_id"], id);
    for (speaker, count) in &words {
        let extra = if speaker == "Ada" { 5 } else { 0 };
        assert_eq!(output["speakers"][speaker]["words"], count + extra, "{speaker}");
    }
    let top = words.iter().map(|(s, w)| (s, w + if s == "Ada" { 5 } else { 0 })).max_by_key(|(_, w)| *w);
    assert_eq!(output["top_speaker"], top.expect("speakers").0.as_str());
    assert!(output["action_items"].as_array().expect("actions").iter().any(|a| a["text"] == "I will ship it today"));
    let logs = log_messages(&execution.body);
    assert!(logs.iter().any(|(level, m)| level == "info" && m.contains("action items")), "{logs:?}");
}

#[tokio::test]
async fn a_python_block_behind_a_trigger_webhook() {
    let server = TestServer::start().await;
    let key = server.key();
    let block = server.block(key, "python/stripe_event", json!({ "language": "python" })).await;
    let hook = server.webhook(key, json!({ "target": { "type": "block", "id": block }, "auth": "none" })).await;
    let path = format!("/api/webhooks/{}", hook["id"].as_str().expect("id"));
    let event =
        json!({ "id": "evt_7", "type": "charge.failed", "data": { "object": { "amount": 100, "currency": "eur" } } });
    let answered = server.trigger(&path, &[("content-type", "application/json")], event.to_string()).await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.body);
    assert_eq!(answered.body["output"]["decision"], "reject", "{}", answered.body);

    let bad = server.trigger(&path, &[("content-type", "application/json")], r#"{"id": "nope"}"#).await;
    assert_eq!(bad.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", bad.body);
    assert_eq!(bad.body["error_code"], "EXECUTION_FAILED", "{}", bad.body);
}

#[tokio::test]
async fn the_python_context_sees_the_raw_body_headers_and_request_and_can_answer_itself() {
    use sha2::Digest;
    let server = TestServer::start().await;
    let key = server.key();
    let block =
        server.block(key, "python/inspector", json!({ "language": "python", "env": { "LOG_LEVEL": "debug" } })).await;
    let hook = server
        .webhook(key, json!({ "target": { "type": "block", "id": block }, "auth": "none", "settings": { "captureRequest": true } }))
        .await;
    let path = format!("/api/webhooks/{}", hook["id"].as_str().expect("id"));
    let xml = b"<?xml version=\"1.0\"?>\n<order id=\"7\">caf\xc3\xa9</order>".to_vec();
    let headers = [("content-type", "application/xml"), ("x-request-source", "erp")];
    let seen = server.trigger(&format!("{path}?region=eu"), &headers, xml.clone()).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    let output = &seen.body["output"];
    assert_eq!(output["body_sha256"], hex::encode(sha2::Sha256::digest(&xml)), "byte-exact: {output}");
    assert_eq!(output["body_len"], xml.len());
    assert_eq!(output["data"], json!({}));
    assert_eq!(output["content_type"], "application/xml");
    assert_eq!(output["headers"]["x-request-source"], "erp");
    assert_eq!(output["request"]["method"], "POST");
    assert_eq!(output["request"]["query"], json!({ "region": "eu" }));
    assert_eq!(output["webhook_id"], hook["id"]);
    assert_eq!(output["block_id"], block);
    let execution =
        server.get(&format!("/v1/executions/{}", seen.body["execution_id"].as_str().expect("id")), key).await;
    let logs = log_messages(&execution.body);
    assert!(logs.contains(&("debug".into(), format!("{} body bytes", xml.len()))), "LOG_LEVEL=debug: {logs:?}");

    let replied = server.trigger(&path, &[("content-type", "application/json")], r#"{"reply": "challenge-42"}"#).await;
    assert_eq!(replied.status, StatusCode::ACCEPTED, "{:?}", String::from_utf8_lossy(&replied.bytes));
    assert_eq!(replied.bytes, b"challenge-42");
    assert_eq!(replied.headers["x-handled-by"], "wasmhook-python");
    assert!(replied.headers["content-type"].to_str().expect("ascii").starts_with("text/plain"));
}

/// The Python SDK's `http_client` and `kv`: a real CRM server on loopback, the block's
/// allowlist, a dedupe key and a counter in the team's bucket.
#[tokio::test]
async fn a_python_block_calls_out_and_keeps_state() {
    let crm = support::upstream::Upstream::start().await;
    let server = TestServer::start_configured(|config| config.outbound_allow_private = true).await;
    let key = server.key();
    let settings = json!({ "language": "python", "env": { "CRM_BASE_URL": crm.origin() },
                           "network": { "allowedHosts": [crm.origin()] }, "keyValue": { "buckets": ["stats"] } });
    let block = server.block(key, "python/enrich_and_count", settings).await;
    let path = format!("/v2/webhook/blocks/{block}/execute");
    let first = server.post(&path, key, json!({ "data": { "id": "o-1", "customer_id": "c1" } })).await;
    assert_eq!(
        first.body["output"],
        json!({ "order": "o-1", "customer": "Ada Lovelace", "tier": "gold", "tierCount": 1 }),
        "{}",
        first.body
    );
    let second = server.post(&path, key, json!({ "data": { "id": "o-2", "customer_id": "c1" } })).await;
    assert_eq!(second.body["output"]["tierCount"], 2, "{}", second.body);
    let repeat = server.post(&path, key, json!({ "data": { "id": "o-1", "customer_id": "c1" } })).await;
    assert_eq!(repeat.body["output"], json!({ "order": "o-1", "duplicate": true }));
    assert_eq!(crm.received().len(), 2, "the repeat did not call out");

    let unlisted = server
        .block(
            key,
            "python/enrich_and_count",
            json!({ "language": "python", "env": { "CRM_BASE_URL": crm.origin() },
                                                       "keyValue": { "buckets": ["stats"] } }),
        )
        .await;
    let denied = server
        .post(
            &format!("/v2/webhook/blocks/{unlisted}/execute"),
            key,
            json!({ "data": { "id": "o-3", "customer_id": "c1" } }),
        )
        .await;
    assert_eq!(denied.body["error"]["code"], "denied", "{}", denied.body);
    assert!(
        denied.body["error"]["message"].as_str().is_some_and(|m| m.contains("HTTP-request-denied")),
        "{}",
        denied.body
    );
}
