//! Helpers of the durable-queue tests: polling an execution, posting with headers, counting
//! rows in the SQLite file.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use super::server::TestServer;

/// Polls an execution until it is terminal.
pub async fn wait_terminal(server: &TestServer, key: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let execution = server.get(&format!("/v1/executions/{id}"), key).await;
        let status = execution.body["status"].as_str().unwrap_or_default().to_owned();
        if !matches!(status.as_str(), "queued" | "running" | "") {
            return execution.body;
        }
        assert!(Instant::now() < deadline, "execution {id} still {status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn post_with(
    server: &TestServer,
    path: &str,
    key: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = server.client.post(format!("{}{path}", server.base)).bearer_auth(key).json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("sent");
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.json().await.unwrap_or(Value::Null))
}

/// Executions in the database (after pending records were written).
pub async fn executions_in(server: &TestServer) -> i64 {
    server.state.store.executions().flush().await.expect("flush");
    super::rows::number(&server.state.config.data_dir, "SELECT COUNT(*) FROM executions", &[]).expect("count")
}
