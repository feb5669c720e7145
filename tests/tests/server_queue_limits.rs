//! The durable queue's failures and limits, against a real server: retention, the shutdown
//! drain, runs the host cannot start, sync overload and fairness between teams.

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use support::queue::{executions_in, post_with, wait_terminal};
use support::rows;
use support::server::{TestServer, test_config};
use wasmhook_server::Config;

#[tokio::test]
async fn retention_purges_old_executions_in_the_background() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = Config {
        retention: Duration::from_secs(1),
        retention_interval: Duration::from_millis(100),
        ..test_config(dir.path())
    };
    let server = TestServer::start_with(config).await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let run = server.post(&format!("/v2/webhook/blocks/{echo}/execute"), key, json!({})).await;
    let id = run.body["execution_id"].as_str().expect("id");
    assert_eq!(server.get(&format!("/v1/executions/{id}"), key).await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(server.get(&format!("/v1/executions/{id}"), key).await.status, StatusCode::NOT_FOUND, "purged");
    assert_eq!(executions_in(&server).await, 0);
}

#[tokio::test]
async fn shutdown_finishes_running_work_and_keeps_queued_work_for_the_next_start() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = Config { workers: 1, ..test_config(dir.path()) };
    let server = TestServer::start_with(config.clone()).await;
    let key = server.key().to_owned();
    let burner = server.block(&key, "fuel-burner", json!({})).await;
    let path = format!("/v2/webhook/blocks/{burner}/execute?wait=false");
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (_, _, body) =
            post_with(&server, &path, &key, &[], json!({ "data": { "iterations": 60_000_000u64 } })).await;
        ids.push(body["execution_id"].as_str().expect("id").to_owned());
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let data = server.state.config.data_dir.clone();
    server.stop().await;
    let statuses: Vec<String> = ids
        .iter()
        .map(|id| rows::text(&data, "SELECT status FROM executions WHERE id = $1", &[id]).expect("row"))
        .collect();
    assert_eq!(statuses[0], "succeeded", "the running one finished during the grace period");
    assert_eq!(&statuses[1..], ["queued", "queued"], "queued work stays queued");

    let restarted = TestServer::start_with(config).await;
    for id in &ids[1..] {
        assert_eq!(wait_terminal(&restarted, &key, id).await["status"], "succeeded", "run after the restart");
    }
    restarted.stop().await;
}

/// #13 item 15: a queued run whose block cannot be loaded is failed with the reason, not left
/// `running` forever. The block's row is made unreadable while the server is down; the
/// restarted server's recovery queues the run again and its worker cannot load the block.
#[tokio::test]
async fn a_queued_run_whose_block_cannot_load_fails_instead_of_staying_running() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start_in(dir.path()).await;
    let key = server.key().to_owned();
    let echo = server.block(&key, "echo", json!({})).await;
    let ran = server.post(&format!("/v2/webhook/blocks/{echo}/execute"), &key, json!({ "data": {} })).await;
    assert_eq!(ran.status, StatusCode::OK, "{}", ran.body);
    let id = ran.body["execution_id"].as_str().expect("id").to_owned();
    server.state.store.executions().flush().await.expect("flush");
    let data = server.state.config.data_dir.clone();
    server.stop().await;

    rows::execute(&data, "UPDATE executions SET status = 'queued' WHERE id = $1", &[&id]);
    rows::execute(&data, "UPDATE blocks SET env = 'not json' WHERE id = $1", &[&echo]);

    let restarted = TestServer::start_in(dir.path()).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let (status, message) = loop {
        restarted.state.store.executions().flush().await.expect("flush");
        let found = rows::query(&data, "SELECT status, error_message FROM executions WHERE id = $1", &[&id]);
        let row = (found[0][0].clone().expect("status"), found[0][1].clone());
        if row.0 != "queued" && row.0 != "running" {
            break row;
        }
        assert!(Instant::now() < deadline, "still {}", row.0);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status, "failed");
    let message = message.expect("a reason");
    assert!(message.contains("cannot load its block") && message.contains("block env"), "{message}");
    restarted.stop().await;
}

/// #13 item 8: sync runs waiting or running are bounded (`max_sync_runs`), including those
/// still running past the sync wait; beyond it a sync call is a 503 with `Retry-After` and
/// stores nothing. A slot frees when its run is recorded.
#[tokio::test]
async fn sync_overload_is_a_503_with_retry_after_and_slots_free_when_runs_end() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = Config { max_sync_runs: Some(2), sync_wait: Duration::from_millis(200), ..test_config(dir.path()) };
    let server = TestServer::start_with(config).await;
    let key = server.key();
    let slow = server.block(key, "loop-forever", json!({ "timeoutMs": 1200 })).await;
    let path = format!("/v2/webhook/blocks/{slow}/execute");
    // Two sync calls outlive the 200 ms sync wait (202) but keep running, holding their slots.
    for _ in 0..2 {
        let (status, _, body) = post_with(&server, &path, key, &[], json!({})).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    let before = executions_in(&server).await;
    let (status, headers, body) = post_with(&server, &path, key, &[], json!({})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error_code"], "OVERLOADED");
    assert_eq!(headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    assert_eq!(executions_in(&server).await, before, "a refused call stores nothing");
    // Async calls are bounded by the queue, not by sync slots.
    let (status, _, _) = post_with(&server, &format!("{path}?wait=false"), key, &[], json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // Once the two runs time out and are recorded, sync calls are taken again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let echo = server.block(key, "echo", json!({})).await;
    let (status, _, body) =
        post_with(&server, &format!("/v2/webhook/blocks/{echo}/execute"), key, &[], json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// #13 item 10: one team flooding the queue neither delays another team's delivery behind its
/// backlog (teams take turns) nor takes the whole queue (a per-team share).
#[tokio::test]
async fn a_flooding_team_neither_delays_nor_locks_out_another() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = Config { workers: 1, queue_depth: 100, team_queue_depth: Some(30), ..test_config(dir.path()) };
    let server = TestServer::start_with(config).await;
    let flooder = server.key().to_owned();
    let other = server.other_team().await;
    // Each flood run lasts 200 ms: long enough that the 35 calls below are all answered
    // while at most one run has left the queue, short enough that the other team's turn comes
    // well inside the bound below (a FIFO queue would make it wait ~30 runs, 6 s).
    let slow = server.block(&flooder, "loop-forever", json!({ "timeoutMs": 200 })).await;
    let echo = server.block(&other, "echo", json!({})).await;
    let flood_path = format!("/v2/webhook/blocks/{slow}/execute?wait=false");
    let mut statuses = Vec::new();
    for _ in 0..35 {
        let (status, _, body) = post_with(&server, &flood_path, &flooder, &[], json!({})).await;
        statuses.push((status, body["error_code"].as_str().map(str::to_owned)));
    }
    let accepted = statuses.iter().filter(|(s, _)| *s == StatusCode::ACCEPTED).count();
    assert!(accepted >= 30, "the flooder gets its share (30 queued + 1 running): {accepted}");
    // Runs that finished during the flood freed places, so `accepted` alone may exceed 31 on a
    // slow machine (CI saw 32 with 60 ms runs); what never may is the flood's queued count.
    let queued = server.get("/v1/executions?status=queued&limit=100", &flooder).await;
    let queued = queued.body.as_array().map_or(0, Vec::len);
    assert!(
        queued <= 31,
        "at most its share queued (30, + 1 a worker popped and has not yet marked running): {queued} of {accepted}"
    );
    assert!(
        statuses
            .iter()
            .any(|(s, code)| *s == StatusCode::SERVICE_UNAVAILABLE && code.as_deref() == Some("TEAM_QUEUE_FULL"))
    );

    // The other team is still accepted, and its delivery runs on its first turn: after at most
    // about two of the flooder's 200 ms runs, not after its ~30 queued ones (6 s).
    let sent = Instant::now();
    let (status, _, body) =
        post_with(&server, &format!("/v2/webhook/blocks/{echo}/execute?wait=false"), &other, &[], json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["execution_id"].as_str().expect("id").to_owned();
    let done = wait_terminal(&server, &other, &id).await;
    let waited = sent.elapsed();
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(waited < Duration::from_millis(1000), "the other team waited {waited:?} behind the flood");
    let executions = server.get("/v1/executions?status=queued", &flooder).await;
    let still_queued = executions.body.as_array().map_or(0, Vec::len);
    assert!(still_queued >= 20, "most of the flood was still queued: {still_queued}");
}

/// A keyed sync delivery whose run the host cannot start (here: the component's artifact is
/// gone and its stored bytes lost a chunk) is recorded as failed, so a retry of the key is a
/// replay of that failure, not "still running" for the whole idempotency window.
#[tokio::test]
async fn a_keyed_sync_run_the_host_cannot_start_is_recorded_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start_in(dir.path()).await;
    let key = server.key().to_owned();
    let echo = server.block(&key, "echo", json!({})).await;
    let data = server.state.config.data_dir.clone();
    let artifacts = server.state.config.artifacts_dir();
    server.stop().await;
    for entry in std::fs::read_dir(&artifacts).expect("artifacts").flatten() {
        std::fs::remove_file(entry.path()).expect("remove artifact");
    }
    rows::execute(&data, "DELETE FROM wasm_blob_chunks WHERE seq = 0", &[]);

    let restarted = TestServer::start_in(dir.path()).await;
    let path = format!("/v2/webhook/blocks/{echo}/execute");
    let (status, _, first) = post_with(&restarted, &path, &key, &[("idempotency-key", "k1")], json!({})).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["success"], false);
    assert_eq!(first["error"]["kind"], "internal", "{first}");
    assert!(first["error"]["message"].as_str().expect("msg").contains("0 of 1 chunks"), "{first}");
    let started = Instant::now();
    let (status, headers, again) = post_with(&restarted, &path, &key, &[("idempotency-key", "k1")], json!({})).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(headers.get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    assert_eq!(again["execution_id"], first["execution_id"]);
    assert!(started.elapsed() < Duration::from_secs(2), "answered from the record, not after the sync wait");
    restarted.stop().await;
}
