//! A block's `network` policy through the API: set, validated, enforced, and each run's calls in
//! `GET /v1/executions/{id}`; the order-enricher example against a local CRM.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::metrics::{count, scrape};
use support::server::TestServer;
use support::upstream::Upstream;

/// A server whose blocks may reach loopback (where the test's upstream listens).
async fn server_reaching_loopback() -> TestServer {
    TestServer::start_configured(|config| config.outbound_allow_private = true).await
}

#[tokio::test]
async fn the_order_enricher_fetches_the_customer_and_the_execution_records_the_call() {
    let crm = Upstream::start().await;
    let server = server_reaching_loopback().await;
    let key = server.key();
    let block = server
        .block(
            key,
            "order-enricher",
            json!({ "env": { "CRM_BASE_URL": crm.origin() }, "network": { "allowedHosts": [crm.origin()] } }),
        )
        .await;
    let shown = server.get(&format!("/v1/blocks/{block}"), key).await;
    assert_eq!(shown.body["network"]["allowedHosts"], json!([crm.origin()]));

    let path = format!("/v2/webhook/blocks/{block}/execute");
    let order = json!({ "data": { "id": "o-1", "customer_id": "c1", "amount_cents": 12000 } });
    let ran = server.post(&path, key, order).await;
    assert_eq!(ran.status, StatusCode::OK, "{}", ran.body);
    assert_eq!(
        ran.body["output"],
        json!({ "order": "o-1", "customer": "Ada Lovelace", "tier": "gold", "amount_cents": 12000, "discount_cents": 1200 })
    );
    let id = ran.body["execution_id"].as_str().expect("id");
    let execution = server.get(&format!("/v1/executions/{id}"), key).await;
    let calls = execution.body["outbound"].as_array().expect("outbound record");
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["method"], "GET");
    assert_eq!(calls[0]["url"], format!("{}/customers/c1", crm.origin()));
    assert_eq!(calls[0]["status"], 200);
    assert!(calls[0]["bytesIn"].as_u64().expect("bytesIn") > 0);
    assert!(calls[0]["durationMs"].is_u64());

    let unknown =
        server.post(&path, key, json!({ "data": { "id": "o-2", "customer_id": "c9", "amount_cents": 1 } })).await;
    assert_eq!(unknown.body["success"], false);
    assert_eq!(unknown.body["error"]["code"], "unknown_customer", "{}", unknown.body);

    let (_, metrics) = scrape(&server.client, &server.base, None).await;
    assert_eq!(count(&metrics, "wasmhook_outbound_requests_total{result=\"2xx\"}"), 1.0, "{metrics}");
    assert_eq!(count(&metrics, "wasmhook_outbound_requests_total{result=\"4xx\"}"), 1.0, "c9 is a 404");
}

#[tokio::test]
async fn a_block_without_network_settings_is_denied_and_the_refusal_is_recorded() {
    let crm = Upstream::start().await;
    let server = server_reaching_loopback().await;
    let key = server.key();
    let block = server.block(key, "order-enricher", json!({ "env": { "CRM_BASE_URL": crm.origin() } })).await;
    let ran = server
        .post(
            &format!("/v2/webhook/blocks/{block}/execute"),
            key,
            json!({ "data": { "id": "o-1", "customer_id": "c1", "amount_cents": 1 } }),
        )
        .await;
    assert_eq!(ran.body["success"], false, "{}", ran.body);
    assert!(crm.received().is_empty());
    let id = ran.body["execution_id"].as_str().expect("id");
    let execution = server.get(&format!("/v1/executions/{id}"), key).await;
    let error = execution.body["outbound"][0]["error"].as_str().expect("refusal recorded");
    assert!(error.contains("not in the block's network.allowedHosts"), "{error}");
    let (_, metrics) = scrape(&server.client, &server.base, None).await;
    assert_eq!(count(&metrics, "wasmhook_outbound_requests_total{result=\"refused\"}"), 1.0, "{metrics}");

    // Listings stay light: no per-call records.
    let listed = server.get("/v1/executions", key).await;
    assert_eq!(listed.body[0]["outbound"], json!([]), "{}", listed.body);
    assert!(
        ran.body["error"]["message"].as_str().is_some_and(|m| m.contains("network.allowedHosts")),
        "the SDK's error says why: {}",
        ran.body
    );
}

#[tokio::test]
async fn network_settings_are_validated_with_a_422_naming_the_entry() {
    let server = TestServer::start().await;
    let key = server.key();
    for (network, expected) in [
        (json!({ "allowedHosts": ["api.stripe.com"] }), "must start with http:// or https://"),
        (json!({ "allowedHosts": ["https://api.stripe.com/v1"] }), "no path or query"),
        (json!({ "allowedHosts": ["ftp://files.example.com"] }), "the scheme must be http or https"),
        (json!({ "allowedHosts": ["https://*"] }), "the host must be"),
        (json!({ "maxRequests": 100000 }), "network.maxRequests"),
        (json!({ "maxResponseBytes": 0 }), "network.maxResponseBytes"),
        (json!({ "allowedHosts": [], "followRedirects": true }), "unknown field"),
    ] {
        let created = server.post("/v1/blocks", key, json!({ "name": "n", "network": network })).await;
        assert_eq!(created.status, StatusCode::UNPROCESSABLE_ENTITY, "{network}: {}", created.body);
        let message = created.body.to_string();
        assert!(message.contains(expected), "{network}: {message}");
    }
    let listed = server.get("/v1/blocks", key).await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(0), "nothing was stored: {}", listed.body);

    let block = server.post("/v1/blocks", key, json!({ "name": "n" })).await;
    let id = block.body["id"].as_str().expect("id");
    assert_eq!(block.body["network"], json!({ "allowedHosts": [] }));
    let patched = server
        .request(
            reqwest::Method::PATCH,
            &format!("/v1/blocks/{id}"),
            Some(key),
            Some(json!({ "network": { "allowedHosts": ["https://*.slack.com"], "maxRequests": 4 } })),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.body["network"], json!({ "allowedHosts": ["https://*.slack.com"], "maxRequests": 4 }));
}
