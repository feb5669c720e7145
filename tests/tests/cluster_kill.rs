//! Three real server processes on one PostgreSQL database (the `TEST_BACKEND=postgres` run; on
//! SQLite this skips: one process owns a SQLite file). 3,000 async deliveries with idempotency
//! keys are spread over them; one node is `kill -9`ed mid-burst and nothing is restarted. The
//! senders fail over to the other nodes with the same keys, the survivors take the dead node's
//! runs over once its leases expire, and every delivery ends exactly once: one execution per
//! key, succeeded, with its own data.

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::binary::{Binary, block_with};
use support::rows;
use tokio::sync::Semaphore;

const NODES: usize = 3;
const DELIVERIES: usize = 3000;
const KILL_AFTER: usize = 1200;
const SENDERS: usize = 24;
/// Short leases, so the takeover happens within the test: a dead node's runs restart this
/// long after its last renewal (plus up to a third of it until the next sweep).
const LEASE_MS: &str = "1500";

async fn start(data_dir: &std::path::Path) -> (Binary, Option<String>) {
    let env = [
        ("WASMHOOK_WORKERS", "2"),
        ("WASMHOOK_QUEUE_DEPTH", "100000"),
        ("WASMHOOK_LEASE_MS", LEASE_MS),
        ("WASMHOOK_LOG", "warn"),
    ];
    Binary::start(data_dir, &env, Stdio::inherit()).await
}

/// Sends delivery `n` to its node, failing over to the next ones (as a load balancer would)
/// while a node refuses; the execution id it was given.
async fn deliver(client: &reqwest::Client, bases: &[String], block: &str, key: &str, n: usize) -> String {
    for attempt in 0..(NODES * 20) {
        let base = &bases[(n + attempt) % NODES];
        let sent = client
            .post(format!("{base}/v2/webhook/blocks/{block}/execute?wait=false"))
            .bearer_auth(key)
            .header("idempotency-key", format!("delivery-{n}"))
            .json(&json!({ "data": { "n": n } }))
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        if let Ok(response) = sent
            && matches!(response.status(), StatusCode::ACCEPTED | StatusCode::OK)
            && let Ok(body) = response.json::<Value>().await
            && let Some(id) = body["execution_id"].as_str()
        {
            return id.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("delivery {n} was never accepted by any node");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_lose_nothing_when_one_is_killed_mid_burst() {
    if !support::postgres::enabled() {
        eprintln!("skipped: several nodes need a shared database (TEST_BACKEND=postgres)");
        return;
    }
    let dirs: Vec<tempfile::TempDir> = (0..NODES).map(|_| tempfile::tempdir().expect("tmp")).collect();
    let paths: Vec<PathBuf> = dirs.iter().map(|d| d.path().to_path_buf()).collect();
    for path in &paths[1..] {
        support::postgres::share_database(&paths[0], path);
    }
    let (first, key) = start(&paths[0]).await;
    let key = key.expect("the first node bootstraps");
    let mut nodes = vec![first];
    for path in &paths[1..] {
        let (node, no_key) = start(path).await;
        assert!(no_key.is_none(), "later nodes join");
        nodes.push(node);
    }
    let bases: Arc<Vec<String>> = Arc::new(nodes.iter().map(|n| n.base.clone()).collect());
    let client = reqwest::Client::new();
    let block = block_with(&client, &bases[1], &key, "echo", json!({ "name": "echo" })).await;

    let answered = Arc::new(AtomicUsize::new(0));
    let limit = Arc::new(Semaphore::new(SENDERS));
    let mut sends = Vec::with_capacity(DELIVERIES);
    let mut killed_at = None;
    for n in 0..DELIVERIES {
        let permit = limit.clone().acquire_owned().await.expect("permit");
        let (client, bases, block, key, count) =
            (client.clone(), bases.clone(), block.clone(), key.clone(), answered.clone());
        sends.push(tokio::spawn(async move {
            let id = deliver(&client, &bases, &block, &key, n).await;
            count.fetch_add(1, Ordering::SeqCst);
            drop(permit);
            id
        }));
        if n == KILL_AFTER {
            while answered.load(Ordering::SeqCst) < KILL_AFTER {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            nodes[0].child.kill().expect("kill -9");
            nodes[0].child.wait().expect("reaped");
            killed_at = Some(Instant::now());
        }
    }
    let mut ids = Vec::with_capacity(DELIVERIES);
    for send in sends {
        ids.push(send.await.expect("sender"));
    }
    let killed_at = killed_at.expect("killed");
    let data = &paths[1];
    let held_by_the_dead = rows::number(
        data,
        "SELECT count(*) FROM executions WHERE status IN ('queued', 'running')
         AND lease_owner NOT IN (SELECT DISTINCT lease_owner FROM executions
            WHERE lease_owner IS NOT NULL AND lease_until > (extract(epoch FROM now()) * 1000)::bigint)",
        &[],
    );
    eprintln!("after the kill, rows held by no live node: {held_by_the_dead:?}");

    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let unfinished =
            rows::number(data, "SELECT count(*) FROM executions WHERE status IN ('queued', 'running')", &[])
                .expect("count");
        if unfinished == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{unfinished} executions never finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("every delivery finished {:?} after the kill", killed_at.elapsed());

    let total = rows::number(data, "SELECT count(*) FROM executions", &[]).expect("total");
    assert_eq!(total, DELIVERIES as i64, "exactly one execution per delivery");
    let keys = rows::number(data, "SELECT count(*) FROM deliveries", &[]).expect("keys");
    assert_eq!(keys, DELIVERIES as i64, "one idempotency record per key");
    let data_n = rows::json_field(data, "output", &["data", "n"]);
    let distinct =
        rows::number(data, &format!("SELECT count(DISTINCT {data_n}) FROM executions WHERE status = 'succeeded'"), &[])
            .expect("distinct");
    assert_eq!(distinct, DELIVERIES as i64, "every delivery succeeded once, with its own data");
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), DELIVERIES, "every sender was told its own execution");
    for (n, id) in ids.iter().enumerate().step_by(97) {
        let seen = rows::text(data, &format!("SELECT {data_n} FROM executions WHERE id = $1"), &[id]);
        assert_eq!(seen, Some(n.to_string()), "delivery {n}'s execution {id} ran its data");
    }
    let taken_over = rows::number(data, "SELECT count(*) FROM executions WHERE attempts > 1", &[]);
    eprintln!("runs claimed more than once (a run in flight on the dead node): {taken_over:?}");
    drop(nodes);
    support::postgres::drop_database(&paths[0]);
}
