//! Key-value state through `wasi:keyvalue` (real guests: `kv-probe`, `dedupe-forward`) and the
//! operator's `/v1/kv`: atomic increments and compare-and-swap under concurrency, team
//! isolation, bucket grants, limits, expiry.

mod support;

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::server::TestServer;
use support::upstream::Upstream;

async fn probe(server: &TestServer, key: &str, block: &str, ops: Value) -> Vec<Value> {
    let ran = server.post(&format!("/v2/webhook/blocks/{block}/execute"), key, json!({ "data": { "ops": ops } })).await;
    assert_eq!(ran.status, StatusCode::OK, "{}", ran.body);
    assert_eq!(ran.body["success"], true, "{}", ran.body);
    ran.body["output"].as_array().expect("results").clone()
}

async fn raw_get(server: &TestServer, key: &str, path: &str) -> (StatusCode, Vec<u8>) {
    let response =
        server.client.get(format!("{}{path}", server.base)).bearer_auth(key).send().await.expect("request sent");
    let status = response.status();
    (status, response.bytes().await.expect("body").to_vec())
}

#[tokio::test]
async fn fifty_concurrent_increments_end_at_exactly_fifty_and_another_team_sees_none() {
    let server = TestServer::start_configured(|_| {}).await;
    let key = server.key().to_owned();
    let block = server.block(&key, "kv-probe", json!({ "keyValue": { "buckets": ["counters"] } })).await;
    let op = json!([{ "op": "increment", "bucket": "counters", "key": "hits" }]);
    let runs = (0..50).map(|_| probe(&server, &key, &block, op.clone()));
    let mut seen: Vec<i64> = join_all(runs).await.iter().map(|r| r[0]["ok"].as_i64().expect("count")).collect();
    seen.sort_unstable();
    assert_eq!(seen, (1..=50).collect::<Vec<_>>(), "each run saw its own increment");
    assert_eq!(raw_get(&server, &key, "/v1/kv/counters/hits").await, (StatusCode::OK, b"50".to_vec()));

    let other = server.other_team().await;
    let theirs = server.block(&other, "kv-probe", json!({ "keyValue": { "buckets": ["counters"] } })).await;
    let read = probe(&server, &other, &theirs, json!([{ "op": "get", "bucket": "counters", "key": "hits" }])).await;
    assert_eq!(read[0]["ok"], Value::Null, "same bucket name, another team: nothing");
    assert_eq!(raw_get(&server, &other, "/v1/kv/counters/hits").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn compare_and_swap_loses_no_update_under_concurrency() {
    let server = TestServer::start_configured(|_| {}).await;
    let key = server.key().to_owned();
    let block = server.block(&key, "kv-probe", json!({ "keyValue": { "buckets": ["*"] } })).await;
    let op = json!([{ "op": "append", "bucket": "log", "key": "line", "value": "x" }]);
    join_all((0..20).map(|_| probe(&server, &key, &block, op.clone()))).await;
    let (_, line) = raw_get(&server, &key, "/v1/kv/log/line").await;
    assert_eq!(line, vec![b'x'; 20]);

    let first =
        probe(&server, &key, &block, json!([{ "op": "setIfAbsent", "bucket": "log", "key": "once", "value": "a" }]))
            .await;
    let again =
        probe(&server, &key, &block, json!([{ "op": "setIfAbsent", "bucket": "log", "key": "once", "value": "b" }]))
            .await;
    assert_eq!((first[0]["ok"].clone(), again[0]["ok"].clone()), (json!(true), json!(false)));
    assert_eq!(raw_get(&server, &key, "/v1/kv/log/once").await.1, b"a");
}

#[tokio::test]
async fn buckets_open_only_as_granted_and_limits_are_enforced() {
    let server = TestServer::start_configured(|config| config.kv_team_max_bytes = 2048).await;
    let key = server.key().to_owned();
    let none = server.block(&key, "kv-probe", json!({})).await;
    let counters = server.block(&key, "kv-probe", json!({ "keyValue": { "buckets": ["counters"] } })).await;
    let denied = probe(&server, &key, &none, json!([{ "op": "get", "bucket": "counters", "key": "k" }])).await;
    assert_eq!(denied[0]["denied"], true, "{denied:?}");
    let elsewhere = probe(&server, &key, &counters, json!([{ "op": "get", "bucket": "secrets", "key": "k" }])).await;
    assert_eq!(elsewhere[0]["denied"], true, "{elsewhere:?}");

    let results = probe(
        &server,
        &key,
        &counters,
        json!([
            { "op": "set", "bucket": "counters", "key": "k".repeat(257), "value": "v" },
            { "op": "set", "bucket": "counters", "key": "a", "value": "x".repeat(1500) },
            { "op": "set", "bucket": "counters", "key": "b", "value": "x".repeat(1500) },
            { "op": "set", "bucket": "counters", "key": "a", "value": "short" },
            { "op": "set", "bucket": "counters", "key": "b", "value": "x".repeat(1500) },
            { "op": "set", "bucket": "counters", "key": "a", "value": "not a number" },
            { "op": "increment", "bucket": "counters", "key": "a" },
        ]),
    )
    .await;
    assert!(results[0]["error"].as_str().is_some_and(|e| e.contains("1 to 256 bytes")), "{results:?}");
    assert_eq!(results[1]["ok"], Value::Null, "1501 bytes fit the 2048-byte quota");
    assert!(results[2]["error"].as_str().is_some_and(|e| e.contains("quota")), "{results:?}");
    assert_eq!(results[3]["ok"], Value::Null, "shrinking a value frees its bytes");
    assert_eq!(results[4]["ok"], Value::Null, "so the second value now fits");
    assert!(results[6]["error"].as_str().is_some_and(|e| e.contains("not an integer")), "{results:?}");

    let refused =
        server.post("/v1/blocks", &key, json!({ "name": "b", "keyValue": { "buckets": ["bad name"] } })).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
}

#[tokio::test]
async fn values_expire_after_the_block_ttl_and_the_operator_api_reads_and_writes() {
    let server = TestServer::start_configured(|_| {}).await;
    let key = server.key().to_owned();
    let block = server.block(&key, "kv-probe", json!({ "keyValue": { "buckets": ["cache"], "ttlSeconds": 1 } })).await;
    let set = json!([{ "op": "set", "bucket": "cache", "key": "token", "value": "abc" },
                     { "op": "get", "bucket": "cache", "key": "token" }]);
    assert_eq!(probe(&server, &key, &block, set).await[1]["ok"], "abc");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let later = probe(&server, &key, &block, json!([{ "op": "get", "bucket": "cache", "key": "token" }])).await;
    assert_eq!(later[0]["ok"], Value::Null, "expired after ttlSeconds");

    let put = server
        .client
        .put(format!("{}/v1/kv/cursors/github", server.base))
        .bearer_auth(&key)
        .body("page-7")
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), StatusCode::NO_CONTENT);
    let read = probe(
        &server,
        &key,
        &server.block(&key, "kv-probe", json!({ "keyValue": { "buckets": ["cursors"] } })).await,
        json!([{ "op": "get", "bucket": "cursors", "key": "github" }]),
    )
    .await;
    assert_eq!(read[0]["ok"], "page-7", "a block reads what the operator wrote");
    let listed = server.get("/v1/kv/cursors", &key).await;
    assert_eq!(listed.body["keys"][0]["key"], "github", "{}", listed.body);
    assert_eq!(listed.body["keys"][0]["size"], 6);
    let buckets = server.get("/v1/kv", &key).await;
    assert!(buckets.body["buckets"].as_array().expect("buckets").contains(&json!("cursors")), "{}", buckets.body);
    assert_eq!(
        server.request(Method::DELETE, "/v1/kv/cursors/github", Some(&key), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(raw_get(&server, &key, "/v1/kv/cursors/github").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        server.request(Method::GET, "/v1/kv/bad%20name", Some(&key), None).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

/// The dedupe-then-forward example: the first delivery of an event id is forwarded, its
/// repeats (sequential or concurrent) are not.
#[tokio::test]
async fn dedupe_forward_forwards_each_event_once() {
    let downstream = Upstream::start().await;
    let server = TestServer::start_configured(|config| config.outbound_allow_private = true).await;
    let key = server.key().to_owned();
    let block = server
        .block(
            &key,
            "dedupe-forward",
            json!({
                "env": { "FORWARD_URL": format!("{}/echo", downstream.origin()) },
                "network": { "allowedHosts": [downstream.origin()] },
                "keyValue": { "buckets": ["seen"] },
            }),
        )
        .await;
    let path = format!("/v2/webhook/blocks/{block}/execute");
    let send = |id: &'static str| {
        let (server, key, path) = (&server, key.clone(), path.clone());
        async move { server.post(&path, &key, json!({ "data": { "id": id, "amount": 5 } })).await }
    };
    let first = send("evt_1").await;
    assert_eq!(first.body["output"], json!({ "id": "evt_1", "duplicate": false, "status": 200 }), "{}", first.body);
    let repeats = join_all((0..5).map(|_| send("evt_1"))).await;
    assert!(
        repeats.iter().all(|r| r.body["output"]["duplicate"] == true),
        "{:?}",
        repeats.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    let racing = join_all((0..5).map(|_| send("evt_2"))).await;
    let forwarded = racing.iter().filter(|r| r.body["output"]["duplicate"] == false).count();
    assert_eq!(forwarded, 1, "concurrent first deliveries: exactly one forwards");
    assert_eq!(downstream.received().len(), 2, "one call per event id");
}

/// Every run gets `WASMHOOK_API_BASE_URL` and its own `WASMHOOK_API_KEY`: the key works during
/// the run (key-value, execute) for its own team only, is refused by admin routes, needs no
/// allowlist entry even on loopback with private addresses refused, and dies with the run.
#[tokio::test]
async fn a_run_calls_the_api_with_its_own_key_which_dies_with_the_run() {
    // Private addresses stay refused (the server listens on loopback): its own API is exempt.
    let server = TestServer::start_configured(|_| {}).await;
    let key = server.key().to_owned();
    let echo = server.block(&key, "echo", json!({})).await;
    let caller = server.block(&key, "api-caller", json!({})).await;
    let other = server.other_team().await;
    let foreign = server.block(&other, "echo", json!({})).await;

    let path = format!("/v2/webhook/blocks/{caller}/execute");
    let ran = server.post(&path, &key, json!({ "data": { "block": echo, "data": { "hello": "from a run" } } })).await;
    assert_eq!(ran.body["success"], true, "{}", ran.body);
    let output = &ran.body["output"];
    assert_eq!(output["note"], "written by a run");
    assert_eq!(output["block"]["output"]["data"], json!({ "hello": "from a run" }), "{output}");
    assert_eq!(output["adminOnlyStatus"], 403, "a run key is not an admin key");
    assert_eq!(raw_get(&server, &key, "/v1/kv/notes/from-run").await.1, b"written by a run", "the team's own state");
    assert_eq!(raw_get(&server, &other, "/v1/kv/notes/from-run").await.0, StatusCode::NOT_FOUND);

    let denied = server.post(&path, &key, json!({ "data": { "block": foreign } })).await;
    let answer = denied.body["output"]["block"]["error"].as_str().expect("refused");
    assert!(answer.contains("403"), "another team's block: {answer}");

    // The key, handed out during a run, is refused once the run is over.
    let reported = server.post(&path, &key, json!({ "data": { "block": echo, "keep_key": true } })).await;
    assert_eq!(reported.body["success"], true, "{}", reported.body);
    let run_key = String::from_utf8(raw_get(&server, &key, "/v1/kv/notes/run-key").await.1).expect("utf-8");
    assert!(run_key.starts_with("whrun_"), "{run_key}");
    let after = server.get("/v1/kv/notes/from-run", &run_key).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "{}", after.body);
    let execution =
        server.get(&format!("/v1/executions/{}", reported.body["execution_id"].as_str().expect("id")), &key).await;
    assert!(!execution.body.to_string().contains(&run_key), "the key is not in the execution record");
}
