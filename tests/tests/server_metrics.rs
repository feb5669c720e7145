//! `GET /metrics` after known traffic: requests by route template and status, runs by
//! outcome with their histograms, the queue gauges while a worker is busy, store commits,
//! sandbox gauges; the token; and metrics off.

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use support::metrics::{count, sample, scrape};
use support::queue::{post_with, wait_terminal};
use support::server::TestServer;
use wasmhook_server::secrets::KeyText;

const V2_ROUTE: &str = "/v2/webhook/blocks/{block_id}/execute";

#[tokio::test]
async fn known_traffic_is_counted_by_route_status_and_outcome() {
    let server = TestServer::start_configured(|config| config.max_concurrent_runs = 7).await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let panicking = server.block(key, "panic-block", json!({})).await;
    for n in 0..3 {
        let ok = server.post(&format!("/v2/webhook/blocks/{echo}/execute"), key, json!({ "data": { "n": n } })).await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    }
    let failed = server.post(&format!("/v2/webhook/blocks/{panicking}/execute"), key, json!({})).await;
    assert_eq!(failed.body["error"]["kind"], "panic");
    let unauthorized = server.post(&format!("/v2/webhook/blocks/{echo}/execute"), "wrong", json!({})).await;
    assert_eq!(unauthorized.status, StatusCode::UNAUTHORIZED);
    let missing = server.get("/no/such/route/9f1c", key).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let (status, text) = scrape(&server.client, &server.base, None).await;
    assert_eq!(status, StatusCode::OK);
    let requests = |method: &str, route: &str, status: u16| {
        count(
            &text,
            &format!("wasmhook_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}}"),
        )
    };
    assert_eq!(requests("POST", V2_ROUTE, 200), 4.0, "three successes and a failed run are 200s\n{text}");
    assert_eq!(requests("POST", V2_ROUTE, 401), 1.0);
    assert_eq!(requests("GET", "unmatched", 404), 1.0, "an unknown path is one `unmatched` series");
    assert!(!text.contains("9f1c"), "no URI reaches a label");
    assert!(!text.contains(&echo), "no block id reaches a label");
    let latency = format!("wasmhook_http_request_duration_seconds_count{{method=\"POST\",route=\"{V2_ROUTE}\"}}");
    assert_eq!(count(&text, &latency), 5.0);

    assert_eq!(count(&text, "wasmhook_runs_total{outcome=\"succeeded\"}"), 3.0, "{text}");
    assert_eq!(count(&text, "wasmhook_runs_total{outcome=\"panic\"}"), 1.0);
    assert_eq!(count(&text, "wasmhook_run_duration_seconds_count"), 4.0);
    assert!(count(&text, "wasmhook_run_duration_seconds_sum") > 0.0);
    assert_eq!(count(&text, "wasmhook_run_fuel_consumed_count"), 4.0);
    assert!(count(&text, "wasmhook_run_fuel_consumed_sum") > 0.0, "fuel is observed, not zero");
    assert!(count(&text, "wasmhook_run_peak_memory_bytes_sum") >= 65_536.0, "at least a page per run");

    // The writes of the block uploads and the runs' records were committed and observed.
    assert!(count(&text, "wasmhook_store_commit_writes_count") >= 1.0, "{text}");
    assert!(count(&text, "wasmhook_store_commit_writes_sum") >= count(&text, "wasmhook_store_commit_writes_count"));
    assert!(count(&text, "wasmhook_store_commit_duration_seconds_sum") > 0.0);

    assert_eq!(sample(&text, "wasmhook_sandbox_run_slots"), Some(7.0), "the configured slots");
    assert_eq!(sample(&text, "wasmhook_sandbox_run_slots_in_use"), Some(0.0));
    assert_eq!(sample(&text, "wasmhook_queue_depth"), Some(0.0));
    assert!(text.ends_with("# EOF\n"), "OpenMetrics text ends with # EOF");
}

/// One worker busy with a looping run: the deliveries behind it are the queue's depth, and the
/// oldest one's wait grows; when they have run, the depth is back to zero.
#[tokio::test]
async fn queue_gauges_follow_a_busy_worker() {
    let server = TestServer::start_configured(|config| config.workers = 1).await;
    let key = server.key();
    let looping = server.block(key, "loop-forever", json!({ "timeoutMs": 1500 })).await;
    let path = format!("/v2/webhook/blocks/{looping}/execute");
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (status, _, body) = post_with(&server, &path, key, &[("prefer", "respond-async")], json!({})).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        ids.push(body["execution_id"].as_str().expect("id").to_owned());
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let (_, text) = scrape(&server.client, &server.base, None).await;
        if sample(&text, "wasmhook_sandbox_run_slots_in_use").unwrap_or(0.0) >= 1.0 {
            break text;
        }
        assert!(Instant::now() < deadline, "the first run never started\n{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(sample(&text, "wasmhook_queue_depth"), Some(2.0), "two wait behind the running one\n{text}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, later) = scrape(&server.client, &server.base, None).await;
    let waited = sample(&later, "wasmhook_queue_oldest_age_seconds").expect("age gauge");
    assert!(waited >= 0.3, "the oldest has waited at least since the first scrape: {waited}");
    assert!(sample(&later, "wasmhook_sandbox_memory_budget_in_use_bytes").expect("memory gauge") > 0.0);

    for id in &ids {
        assert_eq!(wait_terminal(&server, key, id).await["status"], "timed_out");
    }
    let (_, done) = scrape(&server.client, &server.base, None).await;
    assert_eq!(sample(&done, "wasmhook_queue_depth"), Some(0.0));
    assert_eq!(sample(&done, "wasmhook_queue_oldest_age_seconds"), Some(0.0));
    assert_eq!(count(&done, "wasmhook_runs_total{outcome=\"timeout\"}"), 3.0);
}

#[tokio::test]
async fn a_metrics_token_is_required_when_configured() {
    let server = TestServer::start_configured(|config| config.metrics_token = Some(KeyText::new("scrape-me"))).await;
    let (status, body) = scrape(&server.client, &server.base, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(!body.contains("wasmhook_"), "nothing of the metrics without the token");
    let (status, _) = scrape(&server.client, &server.base, Some("scrape-mf")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, text) = scrape(&server.client, &server.base, Some("scrape-me")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("wasmhook_http_requests_total"), "{text}");
}

#[tokio::test]
async fn metrics_off_serves_no_route_and_counts_nothing() {
    let server = TestServer::start_configured(|config| config.metrics = false).await;
    let (status, body) = scrape(&server.client, &server.base, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(server.state.telemetry.is_none());
}
