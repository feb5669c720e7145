//! A real wasmhook server on 127.0.0.1:0 with its own data dir, and a small HTTP client.

use std::path::{Path, PathBuf};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wasmhook_server::secrets::KeyText;
use wasmhook_server::{AppState, Config};

pub struct TestServer {
    pub base: String,
    /// The bootstrap admin key (None after a restart on an existing data dir).
    pub admin_key: Option<String>,
    pub state: AppState,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for TestServer {
    /// A server on a data dir of its own also had a database of its own on PostgreSQL.
    fn drop(&mut self) {
        if let Some(dir) = &self._dir {
            super::postgres::drop_database(dir.path());
        }
    }
}

pub struct Response {
    pub status: StatusCode,
    pub body: Value,
}

impl TestServer {
    /// A server on a fresh data dir (removed when dropped). Its compiled artifacts go to the
    /// cache the tests share (a symlink), so a 14–19 MB Python or JavaScript component is
    /// compiled once per machine, not once per test; restart tests use `start_in`.
    pub async fn start() -> Self {
        Self::start_configured(|_| {}).await
    }

    /// [`TestServer::start`] with `configure` applied to its config first.
    pub async fn start_configured(configure: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        share_artifacts(dir.path());
        let mut config = test_config(dir.path());
        configure(&mut config);
        let mut server = Self::start_with(config).await;
        server._dir = Some(dir);
        server
    }

    /// A server on `data_dir`, which may hold a previous server's data.
    pub async fn start_in(data_dir: &Path) -> Self {
        Self::start_with(test_config(data_dir)).await
    }

    pub async fn start_with(mut config: Config) -> Self {
        // Bound first, so runs get the real address as their `WASMHOOK_API_BASE_URL`.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        config.api_base_url.get_or_insert_with(|| base.clone());
        let (state, bootstrap) = AppState::open(config).await.expect("server state opens");
        let (shutdown, signal) = oneshot::channel::<()>();
        let handle = tokio::spawn(wasmhook_server::run(listener, state.clone(), async move {
            let _ = signal.await;
        }));
        Self {
            base,
            admin_key: bootstrap.map(|k| k.0),
            state,
            client: reqwest::Client::new(),
            shutdown: Some(shutdown),
            handle: Some(handle),
            _dir: None,
        }
    }

    /// Graceful stop: waits for in-flight requests.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.expect("server task").expect("server ran");
        }
    }

    pub fn key(&self) -> &str {
        self.admin_key.as_deref().expect("bootstrap key")
    }

    pub async fn request(&self, method: Method, path: &str, key: Option<&str>, body: Option<Value>) -> Response {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.expect("request sent")).await
    }

    pub async fn raw(&self, path: &str, key: Option<&str>, content_type: Option<&str>, body: Vec<u8>) -> Response {
        let mut request = self.client.post(format!("{}{path}", self.base)).body(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        read(request.send().await.expect("request sent")).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> Response {
        self.request(Method::POST, path, Some(key), Some(body)).await
    }

    pub async fn get(&self, path: &str, key: &str) -> Response {
        self.request(Method::GET, path, Some(key), None).await
    }

    /// Creates a block and uploads `module` as its first version; returns the block id.
    pub async fn block(&self, key: &str, module: &str, config: Value) -> String {
        let mut body = json!({ "name": module });
        if let (Some(target), Some(extra)) = (body.as_object_mut(), config.as_object()) {
            target.extend(extra.clone());
        }
        let created = self.post("/v1/blocks", key, body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let id = created.body["id"].as_str().expect("id").to_owned();
        self.upload(key, &id, module).await;
        id
    }

    pub async fn upload(&self, key: &str, block_id: &str, module: &str) -> Value {
        let path = format!("/v1/blocks/{block_id}/versions");
        let uploaded = self.raw(&path, Some(key), Some("application/wasm"), wasmhook_tests::module(module)).await;
        assert_eq!(uploaded.status, StatusCode::CREATED, "{}", uploaded.body);
        uploaded.body
    }

    /// Creates a doc; returns its id.
    pub async fn doc(&self, key: &str, datasets: Value) -> String {
        let created = self.post("/v1/docs", key, json!({ "name": "pipeline", "datasets": datasets })).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        created.body["id"].as_str().expect("id").to_owned()
    }

    /// Creates a trigger webhook (`body` as for `POST /v1/webhooks`); returns the full answer,
    /// secret included.
    pub async fn webhook(&self, key: &str, body: Value) -> Value {
        let created = self.post("/v1/webhooks", key, body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        created.body
    }

    /// A POST to a trigger webhook's URL path (`/api/webhooks/{id}?…`) with these headers.
    pub async fn trigger(&self, path: &str, headers: &[(&str, &str)], body: impl Into<reqwest::Body>) -> Triggered {
        let mut request = self.client.post(format!("{}{path}", self.base)).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request sent");
        let headers = response.headers().clone();
        let status = response.status();
        let bytes = response.bytes().await.expect("body").to_vec();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Triggered { status, headers, bytes, body }
    }

    /// A second tenant: returns its admin key.
    pub async fn other_team(&self) -> String {
        let created = self.post("/v1/teams", self.key(), json!({ "name": "other" })).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        created.body["apiKey"].as_str().expect("key").to_owned()
    }
}

/// A trigger webhook's answer: status, headers, raw bytes and (if JSON) the parsed body.
pub struct Triggered {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
    pub body: Value,
}

pub async fn read(response: reqwest::Response) -> Response {
    let status = response.status();
    let text = response.text().await.expect("body");
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    Response { status, body }
}

/// Links `data_dir/artifacts` to the artifact cache the tests share (unless it exists).
pub fn share_artifacts(data_dir: &Path) {
    let artifacts = data_dir.join("artifacts");
    if artifacts.exists() {
        return;
    }
    let shared = wasmhook_tests::shared_artifact_cache();
    std::fs::create_dir_all(&shared).expect("shared artifact cache");
    std::os::unix::fs::symlink(&shared, artifacts).expect("link the artifact cache");
}

pub fn test_config(data_dir: &Path) -> Config {
    let mut config = Config { data_dir: PathBuf::from(data_dir), max_concurrent_runs: 32, ..Config::default() };
    if let Some(url) = super::postgres::database_url(data_dir) {
        config.database_url = Some(KeyText::new(url));
        config.master_key = Some(KeyText::new(super::postgres::MASTER_KEY));
        config.lease = super::postgres::LEASE;
    }
    config
}
