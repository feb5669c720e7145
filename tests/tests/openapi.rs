//! `GET /openapi.json`: the served OpenAPI 3.1 description is the committed `openapi.json`
//! (so every change to the contract is reviewed as a diff), it is well formed for client
//! generators (unique operation ids, an error response everywhere, the bearer scheme), and
//! every operation it describes is a route the server really has.
//!
//! After a deliberate change to the API: `UPDATE_OPENAPI=1 cargo test -p wasmhook-tests --test
//! openapi`, and commit `openapi.json`.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use support::server::TestServer;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi.json")
}

async fn served(server: &TestServer) -> Value {
    let response = server.client.get(format!("{}/openapi.json", server.base)).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.expect("JSON")
}

#[tokio::test]
async fn the_served_description_is_the_committed_one() {
    let server = TestServer::start().await;
    let spec = served(&server).await;
    let path = committed_path();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        let text = serde_json::to_string_pretty(&spec).expect("JSON") + "\n";
        std::fs::write(&path, text).expect("write openapi.json");
    }
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("openapi.json is committed")).expect("JSON");
    assert!(
        spec == committed,
        "the API description changed: review it with `UPDATE_OPENAPI=1 cargo test -p wasmhook-tests --test openapi` \
         and `git diff openapi.json`, then commit it"
    );
}

/// Every (method, path) of the description, in order.
fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                found.push((method.clone(), path.clone(), operation.clone()));
            }
        }
    }
    found
}

#[tokio::test]
async fn the_description_is_complete_enough_to_generate_a_client_from() {
    let server = TestServer::start().await;
    let spec = served(&server).await;
    assert_eq!(spec["openapi"], "3.1.0");
    assert_eq!(spec["components"]["securitySchemes"]["apiKey"]["scheme"], "bearer");
    assert!(spec["components"]["schemas"]["ErrorBody"]["properties"]["error_code"].is_object());
    let operations = operations(&spec);
    assert!(operations.len() >= 60, "every route is described: {}", operations.len());
    let mut ids = BTreeSet::new();
    for (method, path, operation) in &operations {
        let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
        assert!(operation["responses"]["default"].is_object(), "{method} {path} has no error response");
        assert!(operation["tags"].as_array().is_some_and(|t| !t.is_empty()), "{method} {path} has no tag");
        let documented: Vec<&String> = operation["responses"].as_object().expect("responses").keys().collect();
        assert!(documented.iter().any(|code| code.starts_with('2')), "{method} {path} documents no success");
    }
    for schema in ["Block", "Doc", "Execution", "WebhookView", "Callback", "ReplayJob", "V2Answer", "Envelope"] {
        assert!(spec["components"]["schemas"][schema].is_object(), "schema {schema} is described");
    }
}

/// Each described operation reaches a handler: without a key it is refused by the handler's
/// own checks (400, 401, 404 of a resource, …), never by the router's fallbacks.
#[tokio::test]
async fn every_described_operation_is_a_route_of_the_server() {
    let server = TestServer::start().await;
    let spec = served(&server).await;
    for (method, path, _) in operations(&spec) {
        let concrete: String = path
            .split('/')
            .map(|segment| if segment.starts_with('{') { "00000000-0000-0000-0000-000000000000" } else { segment })
            .collect::<Vec<_>>()
            .join("/");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let response = server.client.request(method.clone(), format!("{}{concrete}", server.base)).send().await;
        let response = response.expect("sent");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is not routed: {body}");
        assert_ne!(body["error"], "route not found", "{method} {path} is not routed");
    }
}

/// The `wasmhook` client names, in each subcommand's doc, the operation it calls
/// (`(`createBlock`)`); every name must be an operation of the description, and every
/// operation must be the client's or listed here as deliberately not (the senders' webhook
/// calls, probes, and what the client does not cover yet).
#[tokio::test]
async fn the_client_calls_described_operations_and_covers_the_admin_ones() {
    const NOT_IN_THE_CLIENT: &[&str] = &[
        // Called by webhook senders, not operators.
        "executeBlock",
        "executeDoc",
        "triggerWebhook",
        "pollWebhookExecution",
        // Probes and documents.
        "healthz",
        "readyz",
        "openapi",
        "metrics",
        // Not in the client yet (README "CLI"): use the API.
        "updateBlock",
        "updateWebhook",
        "replaceDoc",
        "deleteDoc",
        "createSecret",
        "startBulkReplay",
        "getBulkReplay",
        "cancelBulkReplay",
        "listCallbacks",
        "getBlockCallback",
        "putBlockCallback",
        "deleteBlockCallback",
        "rotateBlockCallbackSecret",
        "getDocCallback",
        "putDocCallback",
        "deleteDocCallback",
        "rotateDocCallbackSecret",
        "getWebhookCallback",
        "putWebhookCallback",
        "deleteWebhookCallback",
        "rotateWebhookCallbackSecret",
    ];
    let server = TestServer::start().await;
    let spec = served(&server).await;
    let described: BTreeSet<String> =
        operations(&spec).iter().filter_map(|(_, _, op)| op["operationId"].as_str().map(str::to_owned)).collect();
    let sources = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crates/cli/src/commands");
    let mut named = BTreeSet::new();
    for entry in std::fs::read_dir(&sources).expect("client sources") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("source");
        for part in text.split("(`").skip(1) {
            if let Some((name, _)) = part.split_once("`)")
                && name.starts_with(|c: char| c.is_ascii_lowercase())
                && name.chars().all(|c| c.is_ascii_alphanumeric())
            {
                named.insert(name.to_owned());
            }
        }
    }
    for name in &named {
        assert!(described.contains(name), "the client names {name}, which the description does not have");
    }
    for id in &described {
        assert!(
            named.contains(id) || NOT_IN_THE_CLIENT.contains(&id.as_str()),
            "{id} is neither a client command nor listed as deliberately not one"
        );
    }
}
