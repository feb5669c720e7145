//! Spans exported over OTLP/HTTP to a receiver this test runs, configured only by the standard
//! `OTEL_*` variables: a `request` span per request and a `run` span per run, carrying ids and
//! figures, never the payload.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::binary::{Binary, block_with, post_json};
use support::upstream::Upstream;

/// A marker in the payload: it must not reach any exported span.
const PAYLOAD_MARKER: &str = "card-4242-payload-marker";

/// Every span in the OTLP/JSON export requests the receiver got.
fn exported_spans(upstream: &Upstream) -> (Vec<Value>, String) {
    let mut spans = Vec::new();
    let mut raw = String::new();
    for request in upstream.received().into_iter().filter(|r| r.path == "/v1/traces") {
        let text = String::from_utf8_lossy(&request.body).into_owned();
        let export: Value = serde_json::from_str(&text).expect("an OTLP/JSON export");
        for resource in export["resourceSpans"].as_array().into_iter().flatten() {
            for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                spans.extend(scope["spans"].as_array().into_iter().flatten().cloned());
            }
        }
        raw.push_str(&text);
    }
    (spans, raw)
}

/// A span attribute's value as text (OTLP/JSON writes `stringValue` or `intValue`).
fn attribute(span: &Value, key: &str) -> Option<String> {
    let value = &span["attributes"].as_array()?.iter().find(|a| a["key"] == key)?["value"];
    value["stringValue"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| value["intValue"].as_str().map(str::to_owned))
        .or_else(|| value["intValue"].as_i64().map(|n| n.to_string()))
}

#[tokio::test]
async fn request_and_run_spans_reach_an_otlp_receiver_without_payloads() {
    let receiver = Upstream::start().await;
    let dir = tempfile::tempdir().expect("tmp");
    support::server::share_artifacts(dir.path());
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.origin()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json".to_owned()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
        ("OTEL_SERVICE_NAME", "wasmhook-under-test".to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (server, key) = Binary::start(dir.path(), &env, Stdio::inherit()).await;
    let key = key.expect("bootstrap key");
    let client = reqwest::Client::new();
    let block = block_with(&client, &server.base, &key, "echo", json!({ "name": "echo" })).await;
    let url = format!("{}/v2/webhook/blocks/{block}/execute", server.base);
    let answer = post_json(&client, &url, &key, &json!({ "data": { "card": PAYLOAD_MARKER } })).await;
    assert_eq!(answer["success"], true, "{answer}");
    let execution_id = answer["execution_id"].as_str().expect("id").to_owned();

    let deadline = Instant::now() + Duration::from_secs(20);
    let (spans, raw) = loop {
        let (spans, raw) = exported_spans(&receiver);
        let ran =
            spans.iter().any(|s| s["name"] == "run" && attribute(s, "execution_id").as_ref() == Some(&execution_id));
        if ran {
            break (spans, raw);
        }
        assert!(Instant::now() < deadline, "no run span for {execution_id} arrived; got {spans:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let run = spans.iter().find(|s| s["name"] == "run").expect("run span");
    assert_eq!(attribute(run, "block_id").as_deref(), Some(block.as_str()));
    assert_eq!(attribute(run, "outcome").as_deref(), Some("succeeded"));
    let team = attribute(run, "team_id").expect("team id");
    assert!(attribute(run, "fuel_consumed").and_then(|f| f.parse::<u64>().ok()).expect("fuel") > 0);

    let request = spans
        .iter()
        .find(|s| {
            s["name"] == "request" && attribute(s, "route").as_deref() == Some("/v2/webhook/blocks/{block_id}/execute")
        })
        .expect("the request span of the execute call");
    assert_eq!(attribute(request, "status").as_deref(), Some("200"));
    assert_eq!(attribute(request, "team_id"), Some(team), "the authenticated caller's team");
    assert_eq!(run["traceId"], request["traceId"], "the run is part of the request's trace");
    assert!(raw.contains("wasmhook-under-test"), "OTEL_SERVICE_NAME names the service");
    assert!(!raw.contains(PAYLOAD_MARKER), "no payload in any span");
    assert!(!raw.contains(&key), "no key in any span");
    drop(server);
}

/// Without `OTEL_EXPORTER_OTLP_PROTOCOL`, export is OTLP's default, `http/protobuf`.
#[tokio::test]
async fn the_default_protocol_is_http_protobuf() {
    let receiver = Upstream::start().await;
    let dir = tempfile::tempdir().expect("tmp");
    support::server::share_artifacts(dir.path());
    let origin = receiver.origin();
    let env = [("OTEL_EXPORTER_OTLP_ENDPOINT", origin.as_str()), ("OTEL_BSP_SCHEDULE_DELAY", "100")];
    let (server, key) = Binary::start(dir.path(), &env, Stdio::inherit()).await;
    let client = reqwest::Client::new();
    let key = key.expect("bootstrap key");
    client.get(format!("{}/v1/blocks", server.base)).bearer_auth(&key).send().await.expect("a traced request");
    let deadline = Instant::now() + Duration::from_secs(20);
    let exported = loop {
        if let Some(export) = receiver.received().into_iter().find(|r| r.path == "/v1/traces") {
            break export;
        }
        assert!(Instant::now() < deadline, "nothing exported");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(exported.headers.get("content-type").map(String::as_str), Some("application/x-protobuf"));
    drop(server);
}

/// `grpc`, which this build does not speak, stops the start with a message that says so.
#[test]
fn an_unsupported_protocol_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("tmp");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_wasmhook-node"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("\"grpc\" is not supported"), "{stderr}");
}
