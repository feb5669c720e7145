//! The real server binary (`wasmhook-node`, built from `host/src/main.rs`) as a child
//! process, for tests that kill it, signal it or read its logs.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

/// The real `wasmhook` binary, killed when dropped.
pub struct Binary {
    pub child: Child,
    pub base: String,
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

impl Binary {
    /// Starts the binary on a free port with `env`, its stderr going to `stderr`; returns it and
    /// the bootstrap key when this start created one.
    pub async fn start(data_dir: &Path, env: &[(&str, &str)], stderr: Stdio) -> (Self, Option<String>) {
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_wasmhook-node"))
            .envs(super::postgres::process_env(data_dir))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(data_dir)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("server starts");
        let stdout = child.stdout.take().expect("stdout");
        let (lines, key) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines_seen = BufReader::new(stdout).lines();
            while let Some(Ok(line)) = lines_seen.next() {
                if line.starts_with("Created the first admin API key") {
                    let _ = lines.send(lines_seen.next().and_then(Result::ok));
                    return;
                }
            }
        });
        let server = Self { child, base: format!("http://127.0.0.1:{port}") };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while client.get(format!("{}/healthz", server.base)).send().await.is_err() {
            assert!(Instant::now() < deadline, "server did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (server, key.recv_timeout(Duration::from_millis(200)).ok().flatten())
    }
}

/// POSTs JSON with an API key; returns the JSON answer.
pub async fn post_json(client: &reqwest::Client, url: &str, key: &str, body: &Value) -> Value {
    client.post(url).bearer_auth(key).json(body).send().await.expect("sent").json().await.expect("json")
}

/// Creates a block and uploads `module` as its active version; returns the block id.
pub async fn block_with(client: &reqwest::Client, base: &str, key: &str, module: &str, config: Value) -> String {
    let created = post_json(client, &format!("{base}/v1/blocks"), key, &config).await;
    let block = created["id"].as_str().expect("id").to_owned();
    let uploaded = client
        .post(format!("{base}/v1/blocks/{block}/versions"))
        .bearer_auth(key)
        .header("content-type", "application/wasm")
        .body(wasmhook_tests::module(module))
        .send()
        .await
        .expect("upload");
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    block
}
