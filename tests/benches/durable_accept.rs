//! Durable async accepts per second, and the per-execution cost of recording.
//!
//! `cargo bench -p wasmhook-tests --bench durable_accept`. A real server on 127.0.0.1:0 (one
//! worker running the queued echo runs), SENDERS concurrent keep-alive clients posting
//! `?wait=false` with 1 KiB of data for SECONDS; every 202 means the delivery was committed to
//! SQLite first. Then RECORDS finished-execution rows written concurrently through the store's
//! group commit. Environment: SECONDS (5), SENDERS (32), RECORDS (20000).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wasmhook_domain::{BlockId, TeamId};
use wasmhook_sandbox::{Logs, Outcome};
use wasmhook_server::{AppState, Config};
use wasmhook_store::executions::{ExecutionSpec, ExecutionStatus, NewExecution, Trigger};
use wasmhook_store::repo::{Finished, FollowUp};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(bench())
}

async fn bench() -> anyhow::Result<()> {
    let seconds = env_or("SECONDS", 5);
    let senders = env_or("SENDERS", 32) as usize;
    let records = env_or("RECORDS", 20_000) as usize;
    let dir = tempfile::tempdir()?;
    let config =
        Config { data_dir: dir.path().to_path_buf(), workers: 1, queue_depth: 50_000_000, ..Config::default() };
    let (state, key) = AppState::open(config).await?;
    let key = key.ok_or_else(|| anyhow::anyhow!("no bootstrap key"))?.0;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(wasmhook_server::run(listener, state.clone(), std::future::pending()));

    let client = reqwest::Client::new();
    let block: Value = client
        .post(format!("{base}/v1/blocks"))
        .bearer_auth(&key)
        .json(&json!({"name": "echo"}))
        .send()
        .await?
        .json()
        .await?;
    let block = block["id"].as_str().unwrap_or_default().to_owned();
    client
        .post(format!("{base}/v1/blocks/{block}/versions"))
        .bearer_auth(&key)
        .header("content-type", "application/wasm")
        .body(wasmhook_tests::module("echo"))
        .send()
        .await?
        .error_for_status()?;
    let body = serde_json::to_vec(&json!({"data": {"event": "order.created", "pad": "x".repeat(990)}}))?;
    let url = format!("{base}/v2/webhook/blocks/{block}/execute?wait=false");

    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..senders)
        .map(|_| {
            let (client, url, key, body, stop) = (client.clone(), url.clone(), key.clone(), body.clone(), stop.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    let response = client
                        .post(&url)
                        .bearer_auth(&key)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await;
                    if response.is_ok_and(|r| r.status() == reqwest::StatusCode::ACCEPTED) {
                        latencies.push(sent.elapsed());
                    }
                }
                latencies
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| latencies.get(((latencies.len() as f64) * p) as usize).copied().unwrap_or_default();
    println!(
        "durable async accepts: {} in {elapsed:.1}s = {:.0}/s with {senders} senders (p50 {:.2} ms, p99 {:.2} ms); {} still queued",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        state.executor.queued(),
    );

    // Recording cost: finished rows through the group-committing writer, all in flight at once.
    let outcome = Arc::new(Outcome {
        result: Ok(r#"{"ok":true}"#.to_owned()),
        logs: Logs::default(),
        fuel_consumed: 1,
        duration: Duration::from_micros(50),
        peak_memory_bytes: 1 << 20,
        outbound: Vec::new(),
    });
    let team = TeamId::new_v4();
    let block_id: BlockId = block.parse()?;
    let started = Instant::now();
    let writes: Vec<_> = (0..records)
        .map(|_| {
            let (store, outcome) = (state.store.clone(), outcome.clone());
            tokio::spawn(async move {
                let record = NewExecution {
                    spec: ExecutionSpec::first_attempt(team, block_id, 1, Trigger::V2, true),
                    input: r#"{"data":{},"env":{}}"#.to_owned(),
                    retry: None,
                };
                let finished = Finished {
                    record,
                    outcome: (*outcome).clone(),
                    status: ExecutionStatus::Succeeded,
                    now: 0,
                    follow_up: FollowUp::Complete(None),
                };
                store.executions().record(finished).await
            })
        })
        .collect();
    for write in writes {
        write.await??;
    }
    let per_record = started.elapsed().as_secs_f64() * 1e6 / records as f64;
    println!(
        "recording: {records} execution rows in {:.2}s = {per_record:.1} µs/row ({:.0} rows/s)",
        started.elapsed().as_secs_f64(),
        1e6 / per_record
    );
    Ok(())
}
