//! Bulk replay (#15): a filter picks each matching delivery's outcome (never an attempt that
//! was retried), the job re-runs their stored inputs as new executions linked by `replayOf`,
//! its progress can be polled and it can be cancelled; bad filters are refused.

mod support;

use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::server::TestServer;

/// `n` async deliveries of `flaky` that fail once (`failTimes: 1`, plain: not retried), with
/// keys `{prefix}-{i}`; waits until every one has failed.
async fn failures(server: &TestServer, block: &str, prefix: &str, n: usize) {
    let path = format!("/v2/webhook/blocks/{block}/execute?wait=false");
    let sends = (0..n).map(|i| {
        let data = json!({ "data": { "key": format!("{prefix}-{i}"), "failTimes": 1, "how": "plain" } });
        server.post(&path, server.key(), data)
    });
    for sent in join_all(sends).await {
        assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let failed = server.get(&format!("/v1/executions?block={block}&status=failed&limit=500"), server.key()).await;
        if failed.body.as_array().expect("list").len() >= n {
            return;
        }
        assert!(Instant::now() < deadline, "the failures never all ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn finished(server: &TestServer, job: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let shown = server.get(&format!("/v1/executions/replay/{job}"), server.key()).await;
        assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
        if shown.body["finished"] == true {
            return shown.body;
        }
        assert!(Instant::now() < deadline, "the replay never finished: {}", shown.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_bulk_replay_reruns_each_failed_delivery_once_and_reports_its_progress() {
    let server = TestServer::start_configured(|_| {}).await;
    let key = server.key().to_owned();
    let kv = json!({ "keyValue": { "buckets": ["flaky"] } });
    let failing = server.block(&key, "flaky", kv.clone()).await;
    failures(&server, &failing, "a", 40).await;

    // A delivery retried to success: its failed first attempt is not a failed delivery.
    let mut retried = kv.clone();
    retried["retry"] = json!({ "maxAttempts": 2, "initialDelayMs": 10, "retryableCodes": ["flaky"] });
    let recovering = server.block(&key, "flaky", retried).await;
    let sent = server
        .post(
            &format!("/v2/webhook/blocks/{recovering}/execute?wait=false"),
            &key,
            json!({ "data": { "key": "r", "failTimes": 1, "how": "plain" } }),
        )
        .await;
    let first = sent.body["execution_id"].as_str().expect("id").to_owned();
    // A failure whose input was not kept cannot be replayed.
    let mut unkept = kv.clone();
    unkept["storePayload"] = json!(false);
    let forgetful = server.block(&key, "flaky", unkept).await;
    failures(&server, &forgetful, "u", 1).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.get(&format!("/v1/executions/{first}"), &key).await.body["delivery"]["status"] != "succeeded" {
        assert!(Instant::now() < deadline, "the retried delivery never succeeded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let started = server.post("/v1/executions/replay", &key, json!({ "status": "failed" })).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
    assert_eq!(started.body["matched"], 40, "only final failures with an input: {}", started.body);
    assert_eq!(started.body["withoutInput"], 1);
    let job = started.body["jobId"].as_str().expect("job id").to_owned();
    let done = finished(&server, &job).await;
    assert_eq!((done["state"].as_str(), done["submitted"].as_u64()), (Some("submitted"), Some(40)), "{done}");
    // Each key's second run passes `failTimes: 1`: every replay succeeded.
    assert_eq!(done["executions"], json!({ "succeeded": 40 }), "{done}");

    let replays = server.get(&format!("/v1/executions?block={failing}&status=succeeded&limit=500"), &key).await;
    let replays = replays.body.as_array().expect("list").clone();
    assert_eq!(replays.len(), 40);
    let mut originals: Vec<&str> = replays.iter().map(|r| r["replayOf"].as_str().expect("replayOf")).collect();
    originals.sort_unstable();
    originals.dedup();
    assert_eq!(originals.len(), 40, "each failure replayed exactly once");
    assert!(replays.iter().all(|r| r["trigger"] == "replay" && r["replayJob"] == job.as_str()));

    // The same filter again matches the replays' originals again (they are still failures),
    // but never the replays themselves (they succeeded).
    let again = server.post("/v1/executions/replay", &key, json!({ "status": "succeeded", "block": failing })).await;
    assert_eq!(again.body["matched"], 40, "{}", again.body);
}

#[tokio::test]
async fn a_cancelled_replay_stops_submitting_and_bad_requests_are_refused() {
    let server = TestServer::start_configured(|config| config.replay_rate_per_second = 5).await;
    let key = server.key().to_owned();
    let block = server.block(&key, "flaky", json!({ "keyValue": { "buckets": ["flaky"] } })).await;
    failures(&server, &block, "c", 30).await;
    let started = server.post("/v1/executions/replay", &key, json!({ "block": block, "max": 30 })).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
    let job = started.body["jobId"].as_str().expect("job").to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cancelled = server.post(&format!("/v1/executions/replay/{job}/cancel"), &key, json!({})).await;
    assert_eq!(cancelled.body["state"], "cancelled", "{}", cancelled.body);
    let done = finished(&server, &job).await;
    let ran: u64 = done["executions"].as_object().expect("counts").values().filter_map(Value::as_u64).sum();
    assert!(ran < 30, "stopped early: {done}");

    let other = server.other_team().await;
    assert_eq!(server.get(&format!("/v1/executions/replay/{job}"), &other).await.status, StatusCode::NOT_FOUND);
    assert_eq!(server.get("/v1/executions/replay/not-a-uuid", &key).await.status, StatusCode::BAD_REQUEST);
    for (body, says) in [
        (json!({ "status": "queued" }), "only finished deliveries"),
        (json!({ "status": "bogus" }), "unknown status"),
        (json!({ "max": 0 }), "`max` must be 1 to 10000"),
        (json!({ "version": 1 }), "`version` needs `block`"),
        (json!({ "since": "yesterday" }), "since must be RFC 3339"),
        (json!({ "limit": 5 }), "unknown field `limit`"),
    ] {
        let refused = server.post("/v1/executions/replay", &key, body.clone()).await;
        assert!(refused.status.is_client_error(), "{body}: {:?} {}", refused.status, refused.body);
        assert!(refused.body["error"].as_str().expect("message").contains(says), "{body}: {}", refused.body);
    }
    let execute = server.post("/v1/keys", &key, json!({ "scope": "execute", "label": "sender" })).await;
    let execute_key = execute.body["apiKey"].as_str().expect("key");
    let denied = server.post("/v1/executions/replay", execute_key, json!({})).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "an execute key cannot replay: {}", denied.body);
}
