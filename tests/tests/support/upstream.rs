//! A real HTTP/1.1 server on 127.0.0.1:0 for blocks to call: it records every request it gets
//! and answers by path.
//!
//! - `/echo…`: 200, the request as JSON (`method`, `path`, `headers`, `body`), `x-echo` set to
//!   the request's `x-echo` header;
//! - `/big/{n}`: 200 with `n` bytes and a `content-length`;
//! - `/stream/{n}`: 200 with `n` bytes, chunked (no length announced);
//! - `/redirect`: 302 to the cloud metadata address;
//! - `/hang`: reads the request and never answers;
//! - `/customers/{id}`: a CRM record for `c1` (gold) and `c2` (silver), else 404;
//! - `/fail-first/{n}/…`: 500 to the first `n` requests to that exact path, then 204;
//! - `/api/chat.postMessage`: Slack's answer — `ok` with the token `xoxb-test-token`,
//!   `invalid_auth` without it.

use std::collections::BTreeMap;
use std::sync::Arc;

use std::sync::Mutex;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the upstream received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Lowercase names.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

pub struct Upstream {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind upstream");
        let port = listener.local_addr().expect("addr").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&log)));
            }
        });
        Self { port, received, task }
    }

    /// `http://127.0.0.1:{port}`.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("upstream log").clone()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: TcpStream, log: Arc<Mutex<Vec<Received>>>) {
    loop {
        let Some(request) = read_request(&mut stream).await else { return };
        let seen = {
            let mut log = log.lock().expect("upstream log");
            log.push(request.clone());
            log.iter().filter(|r| r.path == request.path).count()
        };
        let (status, headers, body, chunked) = answer(&request, seen);
        if status == 0 {
            // `/hang`: hold the connection open without a word.
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            return;
        }
        let mut head = format!("HTTP/1.1 {status} X\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if chunked {
            head.push_str("transfer-encoding: chunked\r\n\r\n");
            let mut bytes = head.into_bytes();
            for chunk in body.chunks(1024) {
                bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                bytes.extend_from_slice(chunk);
                bytes.extend_from_slice(b"\r\n");
            }
            bytes.extend_from_slice(b"0\r\n\r\n");
            if stream.write_all(&bytes).await.is_err() {
                return;
            }
        } else {
            head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
            let mut bytes = head.into_bytes();
            bytes.extend_from_slice(&body);
            if stream.write_all(&bytes).await.is_err() {
                return;
            }
        }
    }
}

type Answer = (u16, Vec<(&'static str, String)>, Vec<u8>, bool);

fn answer(request: &Received, seen: usize) -> Answer {
    let path = request.path.split('?').next().unwrap_or("");
    if let Some(n) = path.strip_prefix("/fail-first/").and_then(|rest| rest.split('/').next()?.parse::<usize>().ok()) {
        let status = if seen <= n { 500 } else { 204 };
        return (status, vec![], Vec::new(), false);
    }
    let json_answer = |status, value: Value| {
        (status, vec![("content-type", "application/json".to_owned())], value.to_string().into_bytes(), false)
    };
    if path.starts_with("/echo") {
        let echo = request.headers.get("x-echo").cloned().unwrap_or_default();
        let (status, mut headers, body, chunked) = json_answer(
            200,
            json!({
                "method": request.method,
                "path": request.path,
                "headers": request.headers,
                "body": String::from_utf8_lossy(&request.body),
            }),
        );
        headers.push(("x-echo", echo));
        return (status, headers, body, chunked);
    }
    if let Some(n) = path.strip_prefix("/big/").and_then(|n| n.parse::<usize>().ok()) {
        return (200, vec![], vec![b'x'; n], false);
    }
    if let Some(n) = path.strip_prefix("/stream/").and_then(|n| n.parse::<usize>().ok()) {
        return (200, vec![], vec![b'y'; n], true);
    }
    if path == "/redirect" {
        return (302, vec![("location", "http://169.254.169.254/latest/meta-data/".to_owned())], Vec::new(), false);
    }
    if path == "/hang" {
        return (0, vec![], vec![], false);
    }
    if path == "/api/chat.postMessage" {
        let authorized = request.headers.get("authorization").map(String::as_str) == Some("Bearer xoxb-test-token");
        let answer = if authorized {
            json!({ "ok": true, "ts": "1700000000.000100" })
        } else {
            json!({ "ok": false, "error": "invalid_auth" })
        };
        return json_answer(200, answer);
    }
    match path {
        "/customers/c1" => json_answer(200, json!({"name": "Ada Lovelace", "tier": "gold"})),
        "/customers/c2" => json_answer(200, json!({"name": "Grace Hopper", "tier": "silver"})),
        _ => json_answer(404, json!({"error": "not found"})),
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Received> {
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let mut body = buffer[head_end + 4..].to_vec();
    if let Some(length) = headers.get("content-length").and_then(|l| l.parse::<usize>().ok()) {
        while body.len() < length {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if headers.get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        body = read_chunked(stream, body).await?;
    }
    Some(Received { method, path, headers, body })
}

/// De-chunks a request body (what hyper sends for a body without a length).
async fn read_chunked(stream: &mut TcpStream, mut raw: Vec<u8>) -> Option<Vec<u8>> {
    loop {
        if raw.windows(5).any(|w| w == b"0\r\n\r\n") {
            break;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&chunk[..n]);
    }
    let mut body = Vec::new();
    let mut rest = &raw[..];
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).ok()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(body);
        }
        let start = line_end + 2;
        body.extend_from_slice(rest.get(start..start + size)?);
        rest = rest.get(start + size + 2..)?;
    }
}
