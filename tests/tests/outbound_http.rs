//! Outbound HTTP from blocks (`wasi:http/outgoing-handler`): the allowlist, SSRF refusals,
//! limits, the deadline and the execution's record — real guests (`http-probe`) calling a real
//! HTTP server on 127.0.0.1.

mod support;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::sandbox::{input, output_json, sandbox, shared_cache_dir, with_timeout};
use support::upstream::Upstream;
use wasmhook_sandbox::{FailureKind, NetworkPolicy, Outcome, RunInput, Sandbox, SandboxConfig};

/// A sandbox that may reach loopback (the upstream lives there); the shared one may not.
fn private_ok() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let mut config = SandboxConfig::new(shared_cache_dir());
        config.max_concurrent_runs = 64;
        config.outbound_allow_private = true;
        Sandbox::new(config).expect("sandbox builds")
    })
}

fn policy(hosts: &[String]) -> NetworkPolicy {
    NetworkPolicy {
        allowed_hosts: hosts.iter().map(|h| h.parse().expect("allowed host")).collect(),
        ..NetworkPolicy::default()
    }
}

fn probe(requests: Value, network: Option<NetworkPolicy>) -> RunInput {
    let mut run = input(json!({ "requests": requests }));
    run.network = network.map(Arc::new);
    run
}

async fn run_in(sandbox: &Sandbox, run: RunInput) -> Outcome {
    let block = sandbox.prepare(&wasmhook_tests::module("http-probe")).await.expect("prepare");
    sandbox.run(&block, run).await.expect("run")
}

fn answers(outcome: &Outcome) -> Vec<Value> {
    output_json(outcome)["answers"].as_array().expect("answers").clone()
}

fn code(answer: &Value) -> &str {
    answer["code"].as_str().unwrap_or_else(|| panic!("expected a failure, got {answer}"))
}

#[tokio::test]
async fn the_allowlist_matches_scheme_host_glob_and_port() {
    let upstream = Upstream::start().await;
    let other = Upstream::start().await;
    let p = upstream.port;
    let allowed = policy(&[format!("http://127.0.0.1:{p}"), format!("http://*.example.invalid:{p}")]);
    let outcome = run_in(
        private_ok(),
        probe(
            json!([
                { "url": format!("http://127.0.0.1:{p}/echo") },
                { "url": format!("https://127.0.0.1:{p}/echo") },
                { "url": format!("http://127.0.0.1:{}/echo", other.port) },
                { "url": format!("http://localhost:{p}/echo") },
                { "url": format!("http://api.example.invalid:{p}/echo") },
                { "url": format!("http://example.invalid:{p}/echo") },
            ]),
            Some(allowed),
        ),
    )
    .await;
    let answers = answers(&outcome);
    assert_eq!(answers[0]["status"], 200, "{answers:?}");
    assert_eq!(code(&answers[1]), "HTTP-request-denied", "another scheme");
    assert_eq!(code(&answers[2]), "HTTP-request-denied", "another port");
    assert_eq!(code(&answers[3]), "HTTP-request-denied", "another name for the same address");
    // The glob lets it through to DNS, which has no such name: not a policy refusal.
    assert_eq!(code(&answers[4]), "DNS-error", "a subdomain of the glob: {}", answers[4]);
    assert_eq!(code(&answers[5]), "HTTP-request-denied", "the glob's apex");
    assert_eq!(upstream.received().len(), 1);
    assert!(other.received().is_empty());
}

#[tokio::test]
async fn without_a_policy_every_request_is_denied_and_recorded() {
    let upstream = Upstream::start().await;
    let url = format!("{}/echo?token=s3cret", upstream.origin());
    let outcome = run_in(private_ok(), probe(json!([{ "method": "POST", "url": url, "body": "hi" }]), None)).await;
    assert_eq!(code(&answers(&outcome)[0]), "HTTP-request-denied");
    assert!(upstream.received().is_empty());
    assert_eq!(outcome.outbound.len(), 1);
    let call = &outcome.outbound[0];
    assert_eq!(call.method, "POST");
    assert_eq!(call.url, format!("{}/echo", upstream.origin()), "recorded without its query string");
    assert!(call.error.as_deref().is_some_and(|e| e.contains("not in the block's network.allowedHosts")), "{call:?}");
}

/// With `outbound_allow_private` off, every spelling of a private address is refused before
/// a connection is made, even when the block lists it.
#[tokio::test]
async fn private_addresses_are_refused_in_every_spelling() {
    let upstream = Upstream::start().await;
    let p = upstream.port;
    let targets = [
        format!("http://127.0.0.1:{p}"),
        format!("http://localhost:{p}"),
        "http://169.254.169.254:80".to_owned(),
        format!("http://[::1]:{p}"),
        format!("http://[::ffff:127.0.0.1]:{p}"),
        // 2130706433 = 0x7f000001: the resolver reads a bare number as an IPv4 address.
        format!("http://2130706433:{p}"),
        "http://10.0.0.1:80".to_owned(),
        "http://100.64.0.1:80".to_owned(),
        "http://[fd00::1]:80".to_owned(),
    ];
    let requests: Vec<Value> = targets.iter().map(|t| json!({ "url": format!("{t}/latest/meta-data/") })).collect();
    let outcome = run_in(sandbox(), probe(json!(requests), Some(policy(&targets)))).await;
    for (target, answer) in targets.iter().zip(answers(&outcome)) {
        assert_eq!(code(&answer), "destination-IP-prohibited", "{target}: {answer}");
    }
    assert!(upstream.received().is_empty(), "no request reached the upstream");
    assert!(
        outcome.outbound.iter().all(|c| c.error.as_deref().is_some_and(|e| e.contains("address"))),
        "{:?}",
        outcome.outbound
    );
}

#[tokio::test]
async fn redirects_are_returned_not_followed() {
    let upstream = Upstream::start().await;
    let outcome = run_in(
        private_ok(),
        probe(json!([{ "url": format!("{}/redirect", upstream.origin()) }]), Some(policy(&[upstream.origin()]))),
    )
    .await;
    assert_eq!(answers(&outcome)[0]["status"], 302);
    assert_eq!(upstream.received().len(), 1);
}

#[tokio::test]
async fn response_and_request_bodies_are_capped() {
    let upstream = Upstream::start().await;
    let origin = upstream.origin();
    let mut limits = policy(std::slice::from_ref(&origin));
    limits.max_response_bytes = 4000;
    limits.max_request_bytes = 1000;
    let outcome = run_in(
        private_ok(),
        probe(
            json!([
                { "url": format!("{origin}/big/3999") },
                { "url": format!("{origin}/big/5000") },
                { "url": format!("{origin}/stream/9000") },
                { "method": "POST", "url": format!("{origin}/echo"), "body": "x".repeat(1001) },
                { "method": "POST", "url": format!("{origin}/echo"), "body": "x".repeat(1000) },
            ]),
            Some(limits),
        ),
    )
    .await;
    let answers = answers(&outcome);
    assert_eq!(answers[0]["status"], 200);
    assert_eq!(answers[0]["body"].as_str().map(str::len), Some(3999));
    assert_eq!(code(&answers[1]), "HTTP-response-body-size", "announced too large");
    // wasmtime-wasi-http 48 hands a body error to the guest as an opaque stream error, not an
    // `error-code`: the guest sees the read fail, with the reason in the message.
    assert_eq!(code(&answers[2]), "io", "streamed past the cap: {}", answers[2]);
    assert!(answers[2]["error"].as_str().is_some_and(|e| e.contains("body size exceeds limit")), "{}", answers[2]);
    assert_eq!(code(&answers[3]), "HTTP-request-body-size");
    assert_eq!(answers[4]["status"], 200);
    let bodies: Vec<usize> = upstream.received().iter().filter(|r| r.method == "POST").map(|r| r.body.len()).collect();
    assert_eq!(bodies, [1000], "the oversized body never went out");
    assert_eq!(outcome.outbound[0].bytes_in, 3999);
    assert!(outcome.outbound[2].bytes_in <= 4000, "{:?}", outcome.outbound[2]);
}

#[tokio::test]
async fn the_request_budget_is_counted_per_run() {
    let upstream = Upstream::start().await;
    let origin = upstream.origin();
    let mut limits = policy(std::slice::from_ref(&origin));
    limits.max_requests = 2;
    let requests: Vec<Value> = (0..5).map(|i| json!({ "url": format!("{origin}/echo/{i}") })).collect();
    let outcome = run_in(private_ok(), probe(json!(requests), Some(limits))).await;
    let answers = answers(&outcome);
    assert_eq!(answers[0]["status"], 200);
    assert_eq!(answers[1]["status"], 200);
    for answer in &answers[2..] {
        assert_eq!(code(answer), "connection-limit-reached");
    }
    assert_eq!(upstream.received().len(), 2);
    // Two calls and the first refusal are recorded; a loop of refusals does not grow the record.
    assert_eq!(outcome.outbound.len(), 3, "{:?}", outcome.outbound);
    assert!(outcome.outbound[2].error.as_deref().is_some_and(|e| e.contains("maxRequests")));
}

/// A server that never answers holds the guest in a host call: the run's deadline ends it as
/// `timeout`, on time.
#[tokio::test]
async fn a_server_that_never_answers_ends_the_run_at_its_deadline() {
    let upstream = Upstream::start().await;
    let block = private_ok().prepare(&wasmhook_tests::module("http-probe")).await.expect("prepare");
    let run = with_timeout(
        probe(json!([{ "url": format!("{}/hang", upstream.origin()) }]), Some(policy(&[upstream.origin()]))),
        700,
    );
    let started = Instant::now();
    let outcome = private_ok().run(&block, run).await.expect("run");
    let took = started.elapsed();
    assert_eq!(outcome.failure().map(|f| f.kind), Some(FailureKind::Timeout), "{:?}", outcome.result);
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    assert_eq!(upstream.received().len(), 1);
    assert_eq!(outcome.outbound.len(), 1);
    assert_eq!(outcome.outbound[0].status, None);
}

#[tokio::test]
async fn the_record_has_method_url_status_bytes_and_duration() {
    let upstream = Upstream::start().await;
    let origin = upstream.origin();
    let outcome = run_in(
        private_ok(),
        probe(
            json!([
                { "method": "POST", "url": format!("{origin}/echo?api_key=hidden"), "body": "{\"a\":1}",
                  "headers": { "x-echo": "seen", "content-type": "application/json" } },
                { "url": format!("{origin}/missing") },
            ]),
            Some(policy(std::slice::from_ref(&origin))),
        ),
    )
    .await;
    let answers = answers(&outcome);
    assert_eq!(answers[0]["echo"], "seen");
    let received = upstream.received();
    assert_eq!(
        received[0].headers.get("host").map(String::as_str),
        Some(format!("127.0.0.1:{}", upstream.port).as_str())
    );
    let calls = &outcome.outbound;
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].method, "POST");
    assert_eq!(calls[0].url, format!("{origin}/echo"));
    assert_eq!(calls[0].status, Some(200));
    assert_eq!(calls[0].bytes_out, 7);
    assert_eq!(calls[0].bytes_in, answers[0]["body"].as_str().expect("body").len() as u64);
    assert!(calls[0].error.is_none());
    assert_eq!(calls[1].status, Some(404));
    assert!(calls.iter().all(|c| c.duration_ms < 5000));
}
