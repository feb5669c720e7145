//! #15: a bulk replay of 500 failures runs to the end while live sync traffic keeps its p99
//! within 2× of its p99 without the replay, each measured over a window as long as the replay
//! (the quiet one before and after it, the slower taken).
//! Alone in its test binary: nothing else runs beside the measurement.

mod support;

use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::json;
use support::server::TestServer;

const FAILURES: usize = 500;
/// The fewest sync calls a measurement may have.
const SAMPLES: usize = 400;

fn p99(samples: &[Duration]) -> Duration {
    let mut samples = samples.to_vec();
    samples.sort_unstable();
    samples[(samples.len() * 99 / 100).min(samples.len() - 1)]
}

/// Sequential sync calls to `block` until `samples` are taken and, if given, `until` holds.
async fn sync_latencies(server: &TestServer, block: &str, samples: usize) -> Vec<Duration> {
    let path = format!("/v2/webhook/blocks/{block}/execute");
    let mut taken = Vec::with_capacity(samples);
    for n in 0..samples {
        let started = Instant::now();
        let ran = server.post(&path, server.key(), json!({ "data": { "n": n } })).await;
        taken.push(started.elapsed());
        assert_eq!(ran.body["success"], true, "{}", ran.body);
    }
    taken
}

/// Sync calls to `block` for `window`, in rounds of 50, with no replay running.
async fn quiet_latencies(server: &TestServer, block: &str, window: Duration) -> Vec<Duration> {
    let started = Instant::now();
    let mut samples = Vec::new();
    while started.elapsed() < window {
        samples.extend(sync_latencies(server, block, 50).await);
    }
    samples
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_replay_of_500_failures_completes_while_live_sync_p99_stays_within_2x() {
    let server = TestServer::start().await;
    let key = server.key().to_owned();
    let failing = server.block(&key, "flaky", json!({ "keyValue": { "buckets": ["flaky"] } })).await;
    let live = server.block(&key, "echo", json!({})).await;

    let path = format!("/v2/webhook/blocks/{failing}/execute?wait=false");
    let sent: Vec<StatusCode> = futures::stream::iter(0..FAILURES)
        .map(|i| {
            let data = json!({ "data": { "key": format!("k{i}"), "failTimes": 1, "how": "plain" } });
            let (server, path) = (&server, &path);
            async move { server.post(path, server.key(), data).await.status }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(sent.iter().all(|s| *s == StatusCode::ACCEPTED));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let failed = server.get(&format!("/v1/executions?block={failing}&status=failed&limit=500"), &key).await;
        if failed.body.as_array().expect("list").len() == FAILURES {
            break;
        }
        assert!(Instant::now() < deadline, "the failures never all ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    sync_latencies(&server, &live, 50).await; // warm-up
    // The quiet window is as long as the replay will take (500 at 50/s): a p99 over a short
    // window misses what a long one meets anyway (WAL checkpoints after thousands of records).
    let window = Duration::from_secs_f64(FAILURES as f64 / f64::from(server.state.config.replay_rate_per_second));
    let before = quiet_latencies(&server, &live, window).await;

    let started = server.post("/v1/executions/replay", &key, json!({ "block": failing, "status": "failed" })).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
    assert_eq!(started.body["matched"], FAILURES);
    let job = started.body["jobId"].as_str().expect("job").to_owned();
    let replay_started = Instant::now();
    let mut during = Vec::new();
    let finished = loop {
        during.extend(sync_latencies(&server, &live, 50).await);
        let shown = server.get(&format!("/v1/executions/replay/{job}"), &key).await;
        if shown.body["finished"] == true {
            break shown.body;
        }
        assert!(replay_started.elapsed() < Duration::from_secs(120), "the replay never finished: {}", shown.body);
    };
    let took = replay_started.elapsed();
    assert_eq!(finished["executions"], json!({ "succeeded": FAILURES }), "{finished}");
    // A second quiet window after the replay: the baseline is the slower of the two, so a VM
    // that slows down for a while (CI's shared cores) is not blamed on the replay.
    let after = quiet_latencies(&server, &live, window).await;
    let (quiet_before, quiet_after, busy) = (p99(&before), p99(&after), p99(&during));
    let quiet = quiet_before.max(quiet_after);
    eprintln!(
        "bulk replay of {FAILURES}: {:.1} s; live sync p99 quiet {:?} / {:?} ({} / {} samples), during {:?} ({} samples)",
        took.as_secs_f64(),
        quiet_before,
        quiet_after,
        before.len(),
        after.len(),
        busy,
        during.len()
    );
    assert!(during.len() >= SAMPLES, "enough samples during the replay: {}", during.len());
    assert!(busy <= quiet * 2, "live sync p99 {busy:?} during the replay, {quiet:?} quiet");
}
