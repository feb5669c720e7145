//! The management API, tenancy, keys, persistence across restarts and graceful shutdown.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::json;
use support::server::TestServer;

#[tokio::test]
async fn bad_uploads_are_400_with_the_reason_and_store_nothing() {
    let server = TestServer::start().await;
    let key = server.key();
    let created = server.post("/v1/blocks", key, json!({ "name": "broken" })).await;
    let id = created.body["id"].as_str().expect("id");
    let path = format!("/v1/blocks/{id}/versions");

    let garbage =
        server.raw(&path, Some(key), Some("application/wasm"), b"MZ\x90\x00 definitely not wasm".to_vec()).await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert_eq!(garbage.body["error_code"], "INVALID_BLOCK");
    assert!(garbage.body["error"].as_str().expect("msg").contains("not a WebAssembly binary"));

    let core = wat::parse_str("(module)").expect("wat");
    let core = server.raw(&path, Some(key), Some("application/wasm"), core).await;
    assert_eq!(core.status, StatusCode::BAD_REQUEST);
    assert!(core.body["error"].as_str().expect("msg").contains("core WebAssembly module"));

    let json_body = server.raw(&path, Some(key), Some("application/json"), b"{}".to_vec()).await;
    assert_eq!(json_body.status, StatusCode::BAD_REQUEST);

    assert_eq!(server.get(&path, key).await.body, json!([]), "no version was stored");
    let run = server.post(&format!("/v2/webhook/blocks/{id}/execute"), key, json!({})).await;
    assert_eq!(run.status, StatusCode::CONFLICT, "{}", run.body);
    assert_eq!(run.body["error_code"], "NO_ACTIVE_VERSION");
}

#[tokio::test]
async fn versions_can_be_activated_for_rollback() {
    let server = TestServer::start().await;
    let key = server.key();
    let id = server.block(key, "echo", json!({})).await;
    let v2 = server.upload(key, &id, "hello-command").await;
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["shape"], "command");
    let path = format!("/v2/webhook/blocks/{id}/execute");
    let newest = server.post(&path, key, json!({ "data": { "name": "Grace" } })).await;
    assert_eq!(newest.body["output"], json!({ "greeting": "hello, Grace" }));

    let rolled_back = server.post(&format!("/v1/blocks/{id}/activate"), key, json!({ "version": 1 })).await;
    assert_eq!(rolled_back.body["activeVersion"], 1);
    let old = server.post(&path, key, json!({ "data": { "name": "Grace" } })).await;
    assert_eq!(old.body["output"]["data"], json!({ "name": "Grace" }));
    assert_eq!(old.body["block_version"], 1);

    let missing = server.post(&format!("/v1/blocks/{id}/activate"), key, json!({ "version": 9 })).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let versions = server.get(&format!("/v1/blocks/{id}/versions"), key).await;
    assert_eq!(versions.body.as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn block_settings_are_validated_and_applied() {
    let server = TestServer::start().await;
    let key = server.key();
    let too_long = server.post("/v1/blocks", key, json!({ "name": "x", "timeoutMs": 10_000_000 })).await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_long.body["error"].as_str().expect("msg").contains("timeoutMs"));
    let unknown_field = server.post("/v1/blocks", key, json!({ "name": "x", "timeout": 5 })).await;
    assert_eq!(unknown_field.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Over i64::MAX once passed validation and failed in SQLite with a 500.
    let huge_fuel = server.post("/v1/blocks", key, json!({ "name": "x", "fuel": u64::MAX })).await;
    assert_eq!(huge_fuel.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", huge_fuel.body);
    assert!(huge_fuel.body["error"].as_str().expect("msg").contains("fuel"));
    let plain = server.post("/v1/blocks", key, json!({ "name": "plain" })).await;
    let plain_id = plain.body["id"].as_str().expect("id");
    let patched_fuel = server
        .request(
            reqwest::Method::PATCH,
            &format!("/v1/blocks/{plain_id}"),
            Some(key),
            Some(json!({ "fuel": u64::MAX })),
        )
        .await;
    assert_eq!(
        patched_fuel.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "checked before it is written: {}",
        patched_fuel.body
    );

    let id = server.block(key, "memory-bomb", json!({ "memoryBytes": 16 << 20 })).await;
    let run = server.post(&format!("/v2/webhook/blocks/{id}/execute"), key, json!({})).await;
    assert_eq!(run.body["error"]["kind"], "memory_limit", "{}", run.body);
    assert!(run.body["peak_memory_bytes"].as_u64().expect("peak") <= 16 << 20);

    let patched =
        server.request(Method::PATCH, &format!("/v1/blocks/{id}"), Some(key), Some(json!({ "fuel": 1000 }))).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let run = server.post(&format!("/v2/webhook/blocks/{id}/execute"), key, json!({})).await;
    assert_eq!(run.body["error"]["kind"], "out_of_fuel", "{}", run.body);
    let cleared =
        server.request(Method::PATCH, &format!("/v1/blocks/{id}"), Some(key), Some(json!({ "fuel": null }))).await;
    assert_eq!(cleared.body["fuel"], serde_json::Value::Null);
}

#[tokio::test]
async fn executions_are_listed_with_filters() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let failing = server.block(key, "panic-block", json!({})).await;
    let doc = server.doc(key, json!([{ "key": "a", "block": echo }])).await;
    for _ in 0..3 {
        server.post(&format!("/v2/webhook/blocks/{echo}/execute"), key, json!({})).await;
    }
    server.post(&format!("/v2/webhook/blocks/{failing}/execute"), key, json!({})).await;
    server.post(&format!("/v4/webhook/docs/{doc}/execute"), key, json!({})).await;

    let count = |path: String| {
        let server = &server;
        async move { server.get(&path, key).await.body.as_array().map_or(0, Vec::len) }
    };
    assert_eq!(count("/v1/executions".into()).await, 5);
    assert_eq!(count(format!("/v1/executions?block={echo}")).await, 4);
    assert_eq!(count(format!("/v1/executions?doc={doc}")).await, 1);
    assert_eq!(count("/v1/executions?status=failed".into()).await, 1);
    assert_eq!(count("/v1/executions?status=succeeded&limit=2".into()).await, 2);
    assert_eq!(count("/v1/executions?since=2999-01-01T00:00:00Z".into()).await, 0);
    assert_eq!(count("/v1/executions?until=2000-01-01T00:00:00Z".into()).await, 0);
    let listed = server.get("/v1/executions?limit=1", key).await;
    assert!(listed.body[0].get("input").is_none() && listed.body[0]["logs"] == json!([]), "listings are summaries");

    for bad in ["status=nope", "block=xyz", "since=yesterday", "limit=0"] {
        let response = server.get(&format!("/v1/executions?{bad}"), key).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{bad}: {}", response.body);
    }
    // Every route id is typed (`PathId<BlockId>`, …): a non-UUID is our 400 naming the parameter.
    for (path, name) in [
        ("/v1/executions/not-a-uuid", "execution_id"),
        ("/v1/blocks/not-a-uuid", "block_id"),
        ("/v1/blocks/not-a-uuid/versions", "block_id"),
        ("/v1/docs/not-a-uuid", "doc_id"),
        ("/v1/webhooks/not-a-uuid", "webhook_id"),
        ("/v1/executions/replay/not-a-uuid", "job_id"),
    ] {
        let response = server.get(path, key).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(
            response.body,
            json!({ "error": format!("{name} must be a UUID, got \"not-a-uuid\""), "error_code": "BAD_REQUEST" }),
            "{path}"
        );
    }
}

#[tokio::test]
async fn teams_cannot_see_each_other() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let run = server.post(&format!("/v2/webhook/blocks/{echo}/execute"), key, json!({})).await;
    let execution = run.body["execution_id"].as_str().expect("id");
    let other = server.other_team().await;

    assert_eq!(server.get("/v1/blocks", &other).await.body, json!([]));
    assert_eq!(server.get("/v1/executions", &other).await.body, json!([]));
    assert_eq!(server.get(&format!("/v1/blocks/{echo}"), &other).await.status, StatusCode::NOT_FOUND);
    assert_eq!(server.get(&format!("/v1/executions/{execution}"), &other).await.status, StatusCode::NOT_FOUND);
    let steal =
        server.post("/v1/docs", &other, json!({ "name": "x", "datasets": [{ "key": "a", "block": echo }] })).await;
    assert_eq!(steal.status, StatusCode::UNPROCESSABLE_ENTITY, "a doc cannot use another team's block");
    let nested = server.post("/v1/teams", &other, json!({ "name": "third" })).await;
    assert_eq!(nested.status, StatusCode::FORBIDDEN, "only the operator team creates teams");
}

#[tokio::test]
async fn keys_are_shown_once_scoped_and_revocable() {
    let server = TestServer::start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let created = server.post("/v1/keys", key, json!({ "scope": "execute", "label": "stripe sender" })).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let execute_key = created.body["apiKey"].as_str().expect("key").to_owned();
    let key_id = created.body["key"]["id"].as_str().expect("id").to_owned();

    let listed = server.get("/v1/keys", key).await;
    let text = listed.body.to_string();
    assert!(!text.contains(execute_key.rsplit_once('-').expect("key").1), "listings never show secrets");
    assert!(!text.contains("secretHash"));

    let run = server.post(&format!("/v2/webhook/blocks/{echo}/execute"), &execute_key, json!({})).await;
    assert_eq!(run.status, StatusCode::OK, "execute keys fire webhooks");
    let manage = server.post("/v1/blocks", &execute_key, json!({ "name": "nope" })).await;
    assert_eq!(manage.status, StatusCode::FORBIDDEN, "execute keys cannot manage");

    let revoked = server.request(Method::DELETE, &format!("/v1/keys/{key_id}"), Some(key), None).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let after = server.post(&format!("/v2/webhook/blocks/{echo}/execute"), &execute_key, json!({})).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_restart_keeps_everything_and_does_not_recompile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = TestServer::start_in(dir.path()).await;
    let key = first.key().to_owned();
    let echo = first.block(&key, "echo", json!({})).await;
    let doc = first.doc(&key, json!([{ "key": "a", "block": echo }])).await;
    let before = first.post(&format!("/v4/webhook/docs/{doc}/execute"), &key, json!({ "data": { "n": 1 } })).await;
    let execution = before.body["data"]["results"][0]["executionId"].as_str().expect("id").to_owned();
    first.stop().await;

    let second = TestServer::start_in(dir.path()).await;
    assert!(second.admin_key.is_none(), "no second bootstrap key");
    assert_eq!(second.get(&format!("/v1/executions/{execution}"), &key).await.status, StatusCode::OK);
    assert_eq!(second.get(&format!("/v1/docs/{doc}"), &key).await.status, StatusCode::OK);
    let after = second.post(&format!("/v4/webhook/docs/{doc}/execute"), &key, json!({ "data": { "n": 2 } })).await;
    assert_eq!(after.body["success"], true, "{}", after.body);
    let stats = second.state.sandbox.stats();
    assert_eq!(stats.compiled, 0, "the first run after a restart loads the artifact: {stats:?}");
    assert_eq!(stats.loaded_from_disk, 1, "{stats:?}");
    second.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_lets_an_in_flight_run_finish() {
    let server = TestServer::start().await;
    let key = server.key().to_owned();
    let slow = server.block(&key, "fuel-burner", json!({ "timeoutMs": 5000 })).await;
    let url = format!("{}/v2/webhook/blocks/{slow}/execute", server.base);
    let client = server.client.clone();
    let request = tokio::spawn(async move {
        client.post(url).bearer_auth(key).json(&json!({ "data": { "iterations": 150_000_000u64 } })).send().await
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    server.stop().await;
    let response = request.await.expect("task").expect("the in-flight request was answered");
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["success"], true, "{body}");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let server = TestServer::start().await;
    let missing = server.get("/v9/nothing", server.key()).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["error_code"], "NOT_FOUND");
    let method = server.request(Method::DELETE, "/v1/executions", Some(server.key()), None).await;
    assert_eq!(method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(server.request(Method::GET, "/healthz", None, None).await.body["status"], "ok");
    let ready = server.request(Method::GET, "/readyz", None, None).await;
    assert_eq!((ready.status, ready.body["status"].as_str()), (StatusCode::OK, Some("ready")), "{}", ready.body);
    // A node shutting down leaves the balancer's rotation while it drains.
    server.state.executor.shutdown(std::time::Duration::ZERO).await;
    let draining = server.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        (draining.status, draining.body["error_code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("NOT_READY"))
    );
}
