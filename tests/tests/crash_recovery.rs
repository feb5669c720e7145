//! The real server binary is `kill -9`ed in the middle of 2,000 async deliveries, restarted on
//! the same data dir, and the senders retry what failed (same idempotency keys). Every delivery
//! that got a 2xx reaches a terminal state, and every delivery has exactly one execution record:
//! at-least-once running plus idempotent recording makes the effect exactly-once.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::binary::{Binary, block_with};
use support::rows;
use tokio::sync::Semaphore;

const DELIVERIES: usize = 2000;
const KILL_AFTER: usize = 1000;
const SENDERS: usize = 16;

async fn start(data_dir: &Path) -> (Binary, Option<String>) {
    let env = [("WASMHOOK_WORKERS", "2"), ("WASMHOOK_QUEUE_DEPTH", "100000"), ("WASMHOOK_LOG", "warn")];
    Binary::start(data_dir, &env, Stdio::inherit()).await
}

async fn deliver(client: &reqwest::Client, base: &str, block: &str, key: &str, n: usize) -> Option<String> {
    let response = client
        .post(format!("{base}/v2/webhook/blocks/{block}/execute?wait=false"))
        .bearer_auth(key)
        .header("idempotency-key", format!("delivery-{n}"))
        .json(&json!({ "data": { "n": n } }))
        .send()
        .await
        .ok()?;
    if response.status() != StatusCode::ACCEPTED {
        return None;
    }
    let body: Value = response.json().await.ok()?;
    body["execution_id"].as_str().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_burst_loses_nothing_accepted_and_runs_nothing_twice() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut first, key) = start(dir.path()).await;
    let key = key.expect("bootstrap key on first start");
    let client = reqwest::Client::new();
    let block = block_with(&client, &first.base, &key, "echo", json!({ "name": "echo" })).await;

    // The burst: SENDERS concurrent senders; the process is killed once KILL_AFTER answers came.
    let answered = Arc::new(AtomicUsize::new(0));
    let limit = Arc::new(Semaphore::new(SENDERS));
    let base = first.base.clone();
    let mut sends = Vec::with_capacity(DELIVERIES);
    for n in 0..DELIVERIES {
        let permit = limit.clone().acquire_owned().await.expect("permit");
        let (client, base, block, key, count) =
            (client.clone(), base.clone(), block.clone(), key.clone(), answered.clone());
        sends.push(tokio::spawn(async move {
            let accepted = deliver(&client, &base, &block, &key, n).await;
            count.fetch_add(1, Ordering::SeqCst);
            drop(permit);
            accepted
        }));
        if n == KILL_AFTER {
            while answered.load(Ordering::SeqCst) < KILL_AFTER {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            first.child.kill().expect("kill -9");
            first.child.wait().expect("reaped");
        }
    }
    let mut accepted_before = Vec::new();
    let mut failed = Vec::new();
    for (n, send) in sends.into_iter().enumerate() {
        match send.await.expect("task") {
            Some(id) => accepted_before.push((n, id)),
            None => failed.push(n),
        }
    }
    assert!(accepted_before.len() >= KILL_AFTER - SENDERS, "accepted before the kill: {}", accepted_before.len());
    assert!(!failed.is_empty(), "the kill happened mid-burst");

    // Restart on the same data dir; senders retry what failed with the same keys.
    let (second, no_key) = start(dir.path()).await;
    assert!(no_key.is_none());
    let mut replayed = 0;
    for &n in &failed {
        let id = deliver(&client, &second.base, &block, &key, n).await;
        assert!(id.is_some(), "retry of delivery {n} accepted");
        replayed += 1;
    }

    let data = dir.path();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let unfinished =
            rows::number(data, "SELECT COUNT(*) FROM executions WHERE status IN ('queued', 'running')", &[])
                .expect("count");
        if unfinished == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{unfinished} executions never finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let total = rows::number(data, "SELECT COUNT(*) FROM executions", &[]).expect("total");
    assert_eq!(total, DELIVERIES as i64, "exactly one execution per delivery");
    let n = rows::json_field(data, "output", &["data", "n"]);
    let distinct =
        rows::number(data, &format!("SELECT COUNT(DISTINCT {n}) FROM executions WHERE status = 'succeeded'"), &[])
            .expect("distinct");
    assert_eq!(distinct, DELIVERIES as i64, "every delivery succeeded once, with its own data");
    for (n_sent, id) in &accepted_before {
        let row = rows::query(data, &format!("SELECT status, {n} FROM executions WHERE id = $1"), &[id]);
        let row = row.first().expect("an accepted delivery has its record");
        assert_eq!((row[0].as_deref(), row[1].as_deref()), (Some("succeeded"), Some(n_sent.to_string().as_str())));
    }
    let rerun = rows::number(data, "SELECT COUNT(*) FROM executions WHERE attempts > 1", &[]).expect("rerun");
    eprintln!(
        "crash recovery: {} accepted before kill -9, {} failed and retried ({replayed} accepted after restart), \
         {rerun} interrupted runs re-run, {total} records",
        accepted_before.len(),
        failed.len()
    );
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_in_flight_run_finish_then_exits_cleanly() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut server, key) = start(dir.path()).await;
    let key = key.expect("bootstrap key");
    let client = reqwest::Client::new();
    let block =
        block_with(&client, &server.base, &key, "fuel-burner", json!({ "name": "burner", "timeoutMs": 10000 })).await;

    let url = format!("{}/v2/webhook/blocks/{block}/execute", server.base);
    let request = tokio::spawn({
        let (client, key) = (client.clone(), key.clone());
        async move {
            client.post(url).bearer_auth(key).json(&json!({ "data": { "iterations": 400_000_000u64 } })).send().await
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs").success());

    let response = request.await.expect("task").expect("the in-flight request was answered");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["success"], true, "{body}");
    let status = server.child.wait().expect("exits");
    assert!(status.success(), "clean exit after SIGTERM: {status}");
}

/// #15: the next attempt of a failed delivery is in the store before the process can die;
/// after a `kill -9` between two attempts, the restarted server runs it once, at its time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_between_attempts_still_runs_the_next_attempt_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut first, key) = start(dir.path()).await;
    let key = key.expect("bootstrap key");
    let client = reqwest::Client::new();
    let retry = json!({ "maxAttempts": 3, "initialDelayMs": 2500, "jitter": false });
    let config = json!({ "name": "flaky", "keyValue": { "buckets": ["flaky"] }, "retry": retry });
    let block = block_with(&client, &first.base, &key, "flaky", config).await;
    let accepted = client
        .post(format!("{}/v2/webhook/blocks/{block}/execute?wait=false", first.base))
        .bearer_auth(&key)
        .json(&json!({ "data": { "key": "crash", "failTimes": 1 } }))
        .send()
        .await
        .expect("sent");
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let body: Value = accepted.json().await.expect("json");
    let delivery = body["execution_id"].as_str().expect("id").to_owned();

    // Wait for the first attempt's failure and the scheduled second attempt, then kill.
    let data = dir.path();
    let deadline = Instant::now() + Duration::from_secs(30);
    let not_before = loop {
        let scheduled = rows::number(
            data,
            "SELECT not_before FROM executions WHERE retry_of = $1 AND status = 'scheduled'",
            &[&delivery],
        );
        if let Some(at) = scheduled {
            break at;
        }
        assert!(Instant::now() < deadline, "the second attempt was never scheduled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    first.child.kill().expect("kill -9");
    first.child.wait().expect("reaped");

    let (second, _) = start(dir.path()).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let settled = rows::number(
            data,
            "SELECT COUNT(*) FROM executions WHERE retry_of = $1 AND status = 'succeeded'",
            &[&delivery],
        )
        .expect("count");
        if settled == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the second attempt never ran after the restart");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Another scheduler round must not run it again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let attempts = rows::query(
        data,
        "SELECT attempt, status, attempts, COALESCE(started_at, 0) FROM executions
         WHERE id = $1 OR retry_of = $1 ORDER BY attempt",
        &[&delivery],
    );
    let field = |row: usize, col: usize| attempts[row][col].clone().expect("not null");
    let started: i64 = field(1, 3).parse().expect("started_at");
    assert_eq!(attempts.len(), 2, "two attempts, no third: {attempts:?}");
    assert_eq!((field(0, 0), field(0, 1)), ("1".into(), "failed".into()));
    assert_eq!((field(1, 0), field(1, 1), field(1, 2)), ("2".into(), "succeeded".into(), "1".into()), "run once");
    assert!(started >= not_before, "not before its time: started {started} < {not_before}");
    drop(second);
}
