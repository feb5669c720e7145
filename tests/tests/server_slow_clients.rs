//! #13 item 9: slow clients cannot hold connections, tasks or shutdown. A real server with
//! short timeouts and raw TCP clients that stall in the request line, in the body, and
//! between kept-alive requests.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::server::{TestServer, test_config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wasmhook_server::Config;

fn slow_config(dir: &std::path::Path) -> Config {
    Config {
        header_timeout: Duration::from_millis(500),
        body_timeout: Duration::from_millis(700),
        shutdown_grace: Duration::from_secs(2),
        ..test_config(dir)
    }
}

async fn start() -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start_with(slow_config(dir.path())).await;
    (dir, server)
}

fn addr(server: &TestServer) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// Reads until the peer closes (or `within` passes); returns what was read and whether it
/// closed.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (Vec<u8>, bool) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (seen, true),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => return (seen, false),
        }
    }
}

#[tokio::test]
async fn half_sent_request_lines_are_closed_after_the_header_timeout() {
    let (_dir, server) = start().await;
    let mut stalled = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(addr(&server)).await.expect("connect");
        stream.write_all(b"POST /api/webhooks/").await.expect("half a request line");
        stalled.push(stream);
    }
    let started = Instant::now();
    for stream in &mut stalled {
        let (_, closed) = read_until_closed(stream, Duration::from_secs(5)).await;
        assert!(closed, "a stalled client is disconnected");
    }
    assert!(started.elapsed() < Duration::from_secs(3), "all 200 closed in {:?}", started.elapsed());
    // The server still answers others.
    let health = server.client.get(format!("{}/healthz", server.base)).send().await.expect("sent");
    assert!(health.status().is_success(), "{}", health.status());
    let stop = Instant::now();
    server.stop().await;
    assert!(stop.elapsed() < Duration::from_secs(2), "shutdown waited {:?}", stop.elapsed());
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let (_dir, server) = start().await;
    let mut stream = TcpStream::connect(addr(&server)).await.expect("connect");
    stream.write_all(b"GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("request");
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.expect("answer");
    assert!(buf[..n].starts_with(b"HTTP/1.1 404"), "{}", String::from_utf8_lossy(&buf[..n]));
    let (_, closed) = read_until_closed(&mut stream, Duration::from_secs(3)).await;
    assert!(closed, "an idle keep-alive connection is closed after the header timeout");
}

#[tokio::test]
async fn a_trickled_body_is_a_408_at_the_body_deadline() {
    let (_dir, server) = start().await;
    let key = server.key();
    let noop = server.block(key, "noop", json!({})).await;
    let created = server.webhook(key, json!({ "target": { "type": "block", "id": noop }, "auth": "none" })).await;
    let id = created["id"].as_str().expect("id");
    let mut stream = TcpStream::connect(addr(&server)).await.expect("connect");
    let head = format!(
        "POST /api/webhooks/{id} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let started = Instant::now();
    // One byte every 200 ms: each chunk arrives well inside any per-chunk timeout.
    let trickle = async {
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if stream.write_all(b" ").await.is_err() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(1200), trickle).await;
    let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(3)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("REQUEST_TIMEOUT"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// v2 with a bearer key checks it before reading the body: a wrong key on a request whose
/// 10 MB body never comes is answered at once.
#[tokio::test]
async fn v2_authenticates_a_header_key_before_reading_the_body() {
    let (_dir, server) = start().await;
    let key = server.key();
    let echo = server.block(key, "echo", json!({})).await;
    let mut stream = TcpStream::connect(addr(&server)).await.expect("connect");
    let head = format!(
        "POST /v2/webhook/blocks/{echo}/execute HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer not-a-key\r\n\
         Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let started = Instant::now();
    let mut buf = [0u8; 2048];
    let n = tokio::time::timeout(Duration::from_millis(400), stream.read(&mut buf))
        .await
        .expect("answered before any body timeout")
        .expect("read");
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 401"), "{text}");
    assert!(started.elapsed() < Duration::from_millis(400));
}

/// #13 item 4: uploads past the admission limit (4 per compile slot) are refused before their
/// body is read; the stalled ones time out and free their places.
#[tokio::test]
async fn uploads_past_the_admission_limit_are_a_503_before_their_body_is_read() {
    let (_dir, server) = start().await;
    let key = server.key().to_owned();
    let created = server.post("/v1/blocks", &key, json!({ "name": "big" })).await;
    let block = created.body["id"].as_str().expect("id").to_owned();
    let head = format!(
        "POST /v1/blocks/{block}/versions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/wasm\r\nContent-Length: 50000000\r\n\r\n\0asm"
    );
    let mut stalled = Vec::new();
    for _ in 0..server.state.config.upload_limit() {
        let mut stream = TcpStream::connect(addr(&server)).await.expect("connect");
        stream.write_all(head.as_bytes()).await.expect("head and 4 bytes of a 50 MB body");
        stalled.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let refused = server
        .client
        .post(format!("{}/v1/blocks/{block}/versions", server.base))
        .bearer_auth(&key)
        .header("content-type", "application/wasm")
        .body(wasmhook_tests::module("noop"))
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status().as_u16(), 503);
    assert_eq!(refused.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("5"));
    let body: serde_json::Value = refused.json().await.expect("json");
    assert_eq!(body["error_code"], "UPLOADS_BUSY");
    // The stalled uploads hit the body deadline (408) and free their places.
    for stream in &mut stalled {
        let (answer, _) = read_until_closed(stream, Duration::from_secs(3)).await;
        assert!(answer.starts_with(b"HTTP/1.1 408"), "{}", String::from_utf8_lossy(&answer));
    }
    let uploaded = server.upload(&key, &block, "noop").await;
    assert_eq!(uploaded["version"], 1, "{uploaded}");
}

/// A client that hangs up mid-run drops its request's future (hyper cancels it), and must not
/// take the run with it: the run goes on in a task of its own and is recorded. (#20 tried
/// polling sync runs in the request's task; this test is what such a change must keep.)
#[tokio::test]
async fn a_sync_run_whose_client_hangs_up_still_finishes_and_is_recorded() {
    let (_dir, server) = start().await;
    let key = server.key();
    let burner = server.block(key, "fuel-burner", json!({ "timeoutMs": 10000 })).await;
    let body = json!({ "data": { "iterations": 1_000_000_000u64 } }).to_string();
    let request = format!(
        "POST /v2/webhook/blocks/{burner}/execute HTTP/1.1\r\nHost: wasmhook\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(addr(&server)).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("request");
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(stream);

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let listed = server.get(&format!("/v1/executions?block={burner}"), key).await;
        let first = listed.body.as_array().and_then(|runs| runs.first().cloned());
        if let Some(run) = first.filter(|run| run["status"] != "running") {
            assert_eq!(run["status"], "succeeded", "{run}");
            assert!(run["durationUs"].as_u64().unwrap_or(0) > 300_000, "it was still running at the hang-up: {run}");
            break;
        }
        assert!(Instant::now() < deadline, "the run of a client that hung up was never recorded: {}", listed.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
