//! Two nodes on one PostgreSQL database (the `TEST_BACKEND=postgres` run; on SQLite these skip,
//! one process owns a SQLite file): a change made through one node is acted on by the other
//! within the bound the README states (`PROBE_EVERY` + `PROBE_TIMEOUT`, 2 s), even after the
//! other node's invalidation feed was cut.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use support::server::TestServer;
use wasmhook_store_pg::{LISTENER_NAME, PROBE_EVERY, PROBE_TIMEOUT};

/// The staleness bound, with room for a loaded CI machine.
fn bound() -> Duration {
    PROBE_EVERY + PROBE_TIMEOUT + Duration::from_secs(1)
}

/// Two nodes on the database of `dir`, the first bootstrapped; its admin key.
async fn two_nodes(dir: &Path) -> (TestServer, TestServer, String) {
    let a = TestServer::start_in(dir).await;
    let b = TestServer::start_in(dir).await;
    assert!(b.admin_key.is_none(), "the second node joins, it does not bootstrap again");
    let key = a.key().to_owned();
    (a, b, key)
}

/// Polls `check` until it holds; how long that took.
async fn within(what: &str, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < bound(), "{what}: not within {:?}", bound());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

async fn new_key(node: &TestServer, admin: &str) -> (String, String) {
    let created = node.post("/v1/keys", admin, json!({ "scope": "execute" })).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    (created.body["apiKey"].as_str().expect("key").to_owned(), created.body["key"]["id"].as_str().expect("id").into())
}

#[tokio::test]
async fn a_revoked_key_and_a_deleted_webhook_stop_working_on_the_other_node() {
    if !support::postgres::enabled() {
        eprintln!("skipped: two nodes need a shared database (TEST_BACKEND=postgres)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b, admin) = two_nodes(dir.path()).await;

    let (key, key_id) = new_key(&a, &admin).await;
    assert_eq!(b.get("/v1/executions", &key).await.status, StatusCode::OK, "b caches the key");
    let revoked = a.request(Method::DELETE, &format!("/v1/keys/{key_id}"), Some(&admin), None).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let took =
        within("a key revoked on a", async || b.get("/v1/executions", &key).await.status == StatusCode::UNAUTHORIZED)
            .await;
    eprintln!("revocation on a refused by b after {took:?}");

    let echo = a.block(&admin, "echo", json!({})).await;
    let created = a.webhook(&admin, json!({ "target": { "type": "block", "id": echo }, "auth": "none" })).await;
    let path = format!("/api/webhooks/{}", created["id"].as_str().expect("id"));
    assert_eq!(b.trigger(&path, &[("content-type", "application/json")], "{}").await.status, StatusCode::OK);
    let deleted = a
        .request(Method::DELETE, &format!("/v1/webhooks/{}", created["id"].as_str().expect("id")), Some(&admin), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let took = within("a webhook deleted on a", async || {
        b.trigger(&path, &[("content-type", "application/json")], "{}").await.status != StatusCode::OK
    })
    .await;
    eprintln!("deletion on a refused by b after {took:?}");

    // Cut b's (and a's) feed: changes made before it listens again must still reach b.
    let url = std::fs::read_to_string(dir.path().join("postgres-url")).expect("url");
    support::rows::execute(
        dir.path(),
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        &[LISTENER_NAME],
    );
    let (key, key_id) = new_key(&a, &admin).await;
    assert_eq!(b.get("/v1/executions", &key).await.status, StatusCode::OK);
    a.request(Method::DELETE, &format!("/v1/keys/{key_id}"), Some(&admin), None).await;
    within("a key revoked while the feed was cut", async || {
        b.get("/v1/executions", &key).await.status == StatusCode::UNAUTHORIZED
    })
    .await;
    // The probe can bring b up to date before its feed reconnects (the reconnect backs off),
    // so the feed is waited for, within the same bound, not read once.
    within(&format!("both nodes listen again ({url})"), async || {
        support::rows::number(
            dir.path(),
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
            &[LISTENER_NAME],
        ) == Some(2)
    })
    .await;
    a.stop().await;
    b.stop().await;
    support::postgres::drop_database(dir.path());
}

/// Rate limits are counted per node (README "Running several nodes"): each node's bucket is
/// its own, so a sender spread over N nodes gets up to N × the burst.
#[tokio::test]
async fn a_rate_limit_is_counted_per_node() {
    if !support::postgres::enabled() {
        eprintln!("skipped: two nodes need a shared database (TEST_BACKEND=postgres)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b, admin) = two_nodes(dir.path()).await;
    let echo = a.block(&admin, "echo", json!({})).await;
    let settings = json!({ "rateLimit": { "perSecond": 0.01, "burst": 2 } });
    let created = a
        .webhook(&admin, json!({ "target": { "type": "block", "id": echo }, "auth": "none", "settings": settings }))
        .await;
    let path = format!("/api/webhooks/{}", created["id"].as_str().expect("id"));
    let json = [("content-type", "application/json")];
    for node in [&a, &b] {
        for call in 1..=2 {
            assert_eq!(node.trigger(&path, &json, "{}").await.status, StatusCode::OK, "call {call} within the burst");
        }
        assert_eq!(node.trigger(&path, &json, "{}").await.status, StatusCode::TOO_MANY_REQUESTS, "over this node's");
    }
    a.stop().await;
    b.stop().await;
    support::postgres::drop_database(dir.path());
}
