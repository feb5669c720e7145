//! Completion callbacks (#15): a block's, doc's or trigger webhook's URL gets a POST signed
//! per Standard Webhooks when a delivery succeeds, fails or dies. The signatures are checked
//! with the Python `standardwebhooks` package, as a receiver would; a receiver answering 500
//! is tried again on the schedule with the same `webhook-id`; the secret is shown once and
//! rotates; the URL obeys the outbound rules (no private address unless allowed).

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::server::TestServer;
use support::signers::verify_standard_webhook;
use support::upstream::{Received, Upstream};

/// Receivers listen on loopback; callbacks are retried after 200 and 400 ms.
async fn server_with(configure: impl FnOnce(&mut wasmhook_server::Config)) -> TestServer {
    TestServer::start_configured(|config| {
        config.outbound_allow_private = true;
        config.callback_retry_schedule = vec![Duration::from_millis(200), Duration::from_millis(400)];
        configure(config);
    })
    .await
}

/// Waits until the upstream got `n` requests on `path`.
async fn received(upstream: &Upstream, path: &str, n: usize) -> Vec<Received> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got: Vec<Received> = upstream.received().into_iter().filter(|r| r.path == path).collect();
        if got.len() >= n {
            return got;
        }
        assert!(Instant::now() < deadline, "{path}: {} of {n} requests arrived", got.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn verify(secret: &str, request: &Received) -> Result<Value, String> {
    let header = |name: &str| request.headers.get(name).map(String::as_str).unwrap_or_default();
    let headers = [
        ("webhook-id", header("webhook-id")),
        ("webhook-timestamp", header("webhook-timestamp")),
        ("webhook-signature", header("webhook-signature")),
    ];
    verify_standard_webhook(secret, &request.body, &headers)
}

async fn set_callback(server: &TestServer, target: &str, body: Value) -> (StatusCode, Value) {
    let put = server.request(reqwest::Method::PUT, &format!("{target}/callback"), Some(server.key()), Some(body)).await;
    (put.status, put.body)
}

#[tokio::test]
async fn a_signed_report_is_retried_after_500s_with_one_id_and_verifies_with_the_official_library() {
    let server = server_with(|_| {}).await;
    let upstream = Upstream::start().await;
    let key = server.key().to_owned();
    let block = server.block(&key, "echo", json!({})).await;
    let path = "/fail-first/2/echo";
    let (status, created) =
        set_callback(&server, &format!("/v1/blocks/{block}"), json!({ "url": format!("{}{path}", upstream.origin()) }))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().expect("the secret, shown once").to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(created["events"], json!(["succeeded", "failed", "dead"]), "all events by default");
    let shown = server.get(&format!("/v1/blocks/{block}/callback"), &key).await;
    assert!(shown.body.get("secret").is_none(), "never shown again: {}", shown.body);
    assert!(secret.starts_with(shown.body["secretHint"].as_str().expect("hint").trim_end_matches('…')));

    let ran =
        server.post(&format!("/v2/webhook/blocks/{block}/execute"), &key, json!({ "data": { "order": 7 } })).await;
    assert_eq!(ran.body["success"], true, "{}", ran.body);
    let execution = ran.body["executionId"].as_str().or(ran.body["execution_id"].as_str()).expect("id").to_owned();

    let tries = received(&upstream, path, 3).await;
    let id = &tries[0].headers["webhook-id"];
    assert!(id.starts_with("msg_"));
    assert!(tries.iter().all(|t| &t.headers["webhook-id"] == id), "one message id on every try");
    for t in &tries {
        let payload = verify(&secret, t).expect("each try is signed");
        assert_eq!(payload["type"], "execution.succeeded");
        assert_eq!(payload["data"]["execution_id"], execution.as_str());
        assert_eq!(payload["data"]["status"], "succeeded");
        assert_eq!(payload["data"]["output"]["data"]["order"], 7, "{payload}");
        assert_eq!(t.headers["content-type"], "application/json");
    }
    let mut tampered = tries[2].clone();
    tampered.body = String::from_utf8_lossy(&tampered.body).replace("succeeded", "failed").into_bytes();
    assert!(verify(&secret, &tampered).is_err(), "a changed body does not verify");
    let mut other_secret = secret.clone();
    other_secret.replace_range(10..14, "AAAA");
    assert!(verify(&other_secret, &tries[2]).is_err(), "another secret does not verify");

    // The execution shows how its callback went.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let shown = server.get(&format!("/v1/executions/{execution}"), &key).await;
        let message = &shown.body["callbacks"][0];
        if message["status"] == "delivered" {
            assert_eq!((message["attempts"].as_u64(), message["lastStatus"].as_u64()), (Some(3), Some(204)));
            assert_eq!(message["id"].as_str(), Some(id.as_str()));
            break;
        }
        assert!(Instant::now() < deadline, "never delivered: {}", shown.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_dead_letter_is_reported_to_the_event_subscribers_only_and_rotation_changes_the_secret() {
    let server = server_with(|_| {}).await;
    let upstream = Upstream::start().await;
    let key = server.key().to_owned();
    let retry = json!({ "maxAttempts": 2, "initialDelayMs": 50, "jitter": false });
    let block = server.block(&key, "flaky", json!({ "keyValue": { "buckets": ["flaky"] }, "retry": retry })).await;
    let url = format!("{}/fail-first/0/dead", upstream.origin());
    let (status, created) =
        set_callback(&server, &format!("/v1/blocks/{block}"), json!({ "url": url, "events": ["dead"] })).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let old = created["secret"].as_str().expect("secret").to_owned();
    let rotated = server.post(&format!("/v1/blocks/{block}/callback/rotate-secret"), &key, json!({})).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let secret = rotated.body["secret"].as_str().expect("the new secret").to_owned();
    assert_ne!(secret, old);

    // A success of the same block is not reported (only `dead` was asked for).
    let ok = server
        .post(
            &format!("/v2/webhook/blocks/{block}/execute"),
            &key,
            json!({ "data": { "key": "fine", "failTimes": 0 } }),
        )
        .await;
    assert_eq!(ok.body["success"], true, "{}", ok.body);
    let accepted = server
        .post(
            &format!("/v2/webhook/blocks/{block}/execute?wait=false"),
            &key,
            json!({ "data": { "key": "dies", "failTimes": 9 } }),
        )
        .await;
    let delivery = accepted.body["execution_id"].as_str().expect("id").to_owned();
    let got = received(&upstream, "/fail-first/0/dead", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(upstream.received().len(), 1, "one report: the dead letter, not the success or the first failure");
    let payload = verify(&secret, &got[0]).expect("signed with the rotated secret");
    assert!(verify(&old, &got[0]).is_err(), "the old secret no longer signs");
    assert_eq!(payload["type"], "execution.dead");
    assert_eq!(payload["data"]["delivery_id"], delivery.as_str());
    assert_eq!(payload["data"]["attempt"], 2);
    assert_eq!(payload["data"]["error"]["code"], "retryable:flaky");
    // The first attempt's view (the id the sender holds) shows the delivery's report.
    let shown = server.get(&format!("/v1/executions/{delivery}"), &key).await;
    assert_eq!(shown.body["callbacks"][0]["event"], "dead", "{}", shown.body);
    assert_eq!(shown.body["callbacks"][0]["executionId"], payload["data"]["execution_id"]);
}

#[tokio::test]
async fn doc_and_trigger_webhook_callbacks_report_their_runs() {
    let server = server_with(|_| {}).await;
    let upstream = Upstream::start().await;
    let key = server.key().to_owned();
    let block = server.block(&key, "echo", json!({})).await;
    let doc = server.doc(&key, json!([{ "key": "a", "block": block }])).await;
    let (status, body) = set_callback(
        &server,
        &format!("/v1/docs/{doc}"),
        json!({ "url": format!("{}/fail-first/0/doc", upstream.origin()) }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ran = server.post(&format!("/v4/webhook/docs/{doc}/execute"), &key, json!({ "data": {} })).await;
    assert_eq!(ran.status, StatusCode::OK, "{}", ran.body);
    let report = &received(&upstream, "/fail-first/0/doc", 1).await[0];
    let payload: Value = serde_json::from_slice(&report.body).expect("json");
    assert_eq!(
        (payload["data"]["doc_id"].as_str(), payload["data"]["dataset_key"].as_str()),
        (Some(doc.as_str()), Some("a"))
    );

    let webhook = server.webhook(&key, json!({ "name": "hook", "target": { "type": "block", "id": block } })).await;
    let webhook_id = webhook["id"].as_str().expect("webhook id");
    let url = format!("{}/fail-first/0/hook", upstream.origin());
    let (status, body) = set_callback(&server, &format!("/v1/webhooks/{webhook_id}"), json!({ "url": url })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let path =
        webhook["url"].as_str().expect("url").split_once("/api/").map(|(_, p)| format!("/api/{p}")).expect("path");
    let bearer = format!("Bearer {}", webhook["secret"].as_str().expect("webhook secret"));
    let headers = [("authorization", bearer.as_str()), ("content-type", "application/json")];
    let triggered = server.trigger(&path, &headers, r#"{"hello":1}"#).await;
    assert!(triggered.status.is_success(), "{:?} {}", triggered.status, triggered.body);
    let report = &received(&upstream, "/fail-first/0/hook", 1).await[0];
    let payload: Value = serde_json::from_slice(&report.body).expect("json");
    assert_eq!(payload["data"]["webhook_id"], webhook_id);

    // A regenerated URL is a new webhook id: its callback moves with it, secret and all.
    let moved = server.post(&format!("/v1/webhooks/{webhook_id}/regenerate-url"), &key, json!({})).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    let new_id = moved.body["id"].as_str().expect("new id");
    assert_eq!(server.get(&format!("/v1/webhooks/{new_id}/callback"), &key).await.status, StatusCode::OK);
    let path =
        moved.body["url"].as_str().expect("url").split_once("/api/").map(|(_, p)| format!("/api/{p}")).expect("path");
    let triggered = server.trigger(&path, &headers, r#"{"hello":2}"#).await;
    assert!(triggered.status.is_success(), "{:?} {}", triggered.status, triggered.body);
    let reports = received(&upstream, "/fail-first/0/hook", 2).await;
    let payload: Value = serde_json::from_slice(&reports[1].body).expect("json");
    assert_eq!(payload["data"]["webhook_id"], new_id);
    let secret = body["secret"].as_str().expect("the callback secret");
    verify(secret, &reports[1]).expect("still signed with the callback's secret");
}

#[tokio::test]
async fn callback_urls_are_checked_scoped_to_the_team_and_held_to_the_outbound_rules() {
    let server = server_with(|config| {
        config.outbound_allow_private = false;
        config.callback_retry_schedule = Vec::new();
    })
    .await;
    let upstream = Upstream::start().await;
    let key = server.key().to_owned();
    let block = server.block(&key, "echo", json!({})).await;
    for url in ["ftp://example.com/x", "https://user:pw@example.com/x", "not a url", "/relative"] {
        let (status, body) = set_callback(&server, &format!("/v1/blocks/{block}"), json!({ "url": url })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
    }
    let (status, _) =
        set_callback(&server, &format!("/v1/blocks/{block}"), json!({ "url": "https://example.com/", "events": [] }))
            .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let other = server.other_team().await;
    let put = server
        .request(
            reqwest::Method::PUT,
            &format!("/v1/blocks/{block}/callback"),
            Some(&other),
            Some(json!({ "url": "https://example.com/" })),
        )
        .await;
    assert_eq!(put.status, StatusCode::NOT_FOUND, "another team's block: {}", put.body);

    // Loopback is a private address: refused when the message is sent, recorded, not retried
    // past the (empty) schedule.
    let (status, _) =
        set_callback(&server, &format!("/v1/blocks/{block}"), json!({ "url": format!("{}/echo", upstream.origin()) }))
            .await;
    assert_eq!(status, StatusCode::CREATED);
    let ran = server.post(&format!("/v2/webhook/blocks/{block}/execute"), &key, json!({ "data": {} })).await;
    let execution = ran.body["executionId"].as_str().or(ran.body["execution_id"].as_str()).expect("id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let shown = server.get(&format!("/v1/executions/{execution}"), &key).await;
        let message = &shown.body["callbacks"][0];
        if message["status"] == "failed" {
            assert!(message["lastError"].as_str().expect("why").contains("refused"), "{message}");
            break;
        }
        assert!(Instant::now() < deadline, "{}", shown.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(upstream.received().is_empty(), "nothing reached the loopback receiver");

    let listed = server.get("/v1/callbacks", &key).await;
    assert_eq!(listed.body.as_array().expect("list").len(), 1);
    let deleted =
        server.request(reqwest::Method::DELETE, &format!("/v1/blocks/{block}/callback"), Some(&key), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(server.get(&format!("/v1/blocks/{block}/callback"), &key).await.status, StatusCode::NOT_FOUND);
}
