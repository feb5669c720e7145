//! Trigger webhooks' answers (Powabase's envelope for sync, Fleet's for async), and the
//! output convention by which a block shapes the HTTP response itself.
//!
//! **`$http` convention.** If a sync run's output is a JSON object with a `"$http"` member,
//! that member is the response: `{"status": 200, "headers": {…}, "contentType": "…",
//! "body": <string or any JSON>}` or `"bodyBase64": "…"` for bytes. A string body defaults to
//! `text/plain; charset=utf-8`, other JSON to `application/json`, base64 to
//! `application/octet-stream`. Needed for e.g. Slack's `url_verification` challenge.

use std::collections::BTreeMap;
use wasmhook_domain::ids::{ExecutionId, WebhookId};

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::api::delivery::mark_replayed;
use crate::api::error::ApiError;
use crate::executor::RunSummary;
use wasmhook_sandbox::{Failure, FailureKind};
use wasmhook_store::executions::ExecutionStatus;
use wasmhook_store::webhooks::Target;

/// Header naming the (first) execution on every trigger answer that has one.
pub const EXECUTION_ID_HEADER: &str = "x-wasmhook-execution-id";
/// Headers a block may not set: framing and connection management belong to the server.
const RESERVED_HEADERS: [&str; 8] =
    ["content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer", "host"];

/// The poll URL of an execution accepted by a trigger webhook.
pub fn poll_path(webhook_id: WebhookId, execution_id: ExecutionId) -> String {
    format!("/api/webhooks/{webhook_id}/executions/{execution_id}")
}

/// The status word of the Powabase envelope.
pub fn status_word(status: ExecutionStatus) -> &'static str {
    match status {
        ExecutionStatus::Succeeded => "completed",
        other => other.as_str(),
    }
}

fn with_execution_header(mut response: Response, id: ExecutionId) -> Response {
    if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
        response.headers_mut().insert(EXECUTION_ID_HEADER, value);
    }
    response
}

fn output_value(run: &RunSummary) -> Option<&RawValue> {
    run.output.as_deref().and_then(|text| serde_json::from_str::<&RawValue>(text).ok())
}

/// Powabase's sync answer for one run. Structs rather than `json!`, which re-parses a raw
/// output: an output such as `1e400` (valid JSON, no `f64`) made it panic (found by `fuzz/`).
#[derive(utoipa::ToSchema, Serialize)]
pub(super) struct Completed<'a> {
    pub(super) execution_id: ExecutionId,
    pub(super) status: &'static str,
    #[schema(value_type = Option<serde_json::Value>)]
    pub(super) output: Option<&'a RawValue>,
}

/// The sync answer for a doc: every dataset's output by key.
#[derive(utoipa::ToSchema, Serialize)]
pub(super) struct CompletedDoc<'a> {
    execution_id: ExecutionId,
    execution_ids: Vec<ExecutionId>,
    status: &'static str,
    #[schema(value_type = std::collections::BTreeMap<String, Option<serde_json::Value>>)]
    output: BTreeMap<&'a str, Option<&'a RawValue>>,
}

/// A sync delivery whose runs all finished: 200 with the output, or the block's own response;
/// 500/504 naming the execution when a run failed or timed out.
pub fn finished(runs: &[RunSummary], keys: Option<&[String]>, replayed: bool) -> Result<Response, ApiError> {
    let first = runs.first().ok_or_else(|| ApiError::internal(&"a delivery finished without runs"))?;
    if let Some(failed) = runs.iter().find(|run| run.status != ExecutionStatus::Succeeded) {
        return Err(failure(failed));
    }
    let response = match (runs, keys) {
        ([run], None) => match shaped(run) {
            Some(shaped) => shaped.map_err(|message| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "EXECUTION_FAILED", message)
                    .with_field("execution_id", run.execution_id.to_string())
            })?,
            None => Json(Completed { execution_id: run.execution_id, status: "completed", output: output_value(run) })
                .into_response(),
        },
        (runs, keys) => {
            let keys = keys.unwrap_or_default();
            let output: BTreeMap<&str, Option<&RawValue>> =
                keys.iter().zip(runs).map(|(key, run)| (key.as_str(), output_value(run))).collect();
            let ids: Vec<ExecutionId> = runs.iter().map(|run| run.execution_id).collect();
            Json(CompletedDoc { execution_id: first.execution_id, execution_ids: ids, status: "completed", output })
                .into_response()
        }
    };
    Ok(mark_replayed(with_execution_header(response, first.execution_id), replayed))
}

fn failure(run: &RunSummary) -> ApiError {
    let message = run.error.as_ref().map_or_else(|| "the execution failed".to_owned(), public_message);
    let timed_out =
        run.status == ExecutionStatus::TimedOut || run.error.as_ref().is_some_and(|f| f.kind == FailureKind::Timeout);
    let error = if timed_out {
        ApiError::new(StatusCode::GATEWAY_TIMEOUT, "EXECUTION_TIMEOUT", message)
    } else {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "EXECUTION_FAILED", message)
    };
    error.with_field("execution_id", run.execution_id.to_string())
}

/// What a sender (who may be anyone holding the URL) is told about a failed run. The block's
/// own error is its answer to the sender and is passed on; a trap, panic, exit or host failure
/// can carry internals (backtraces, paths, values a panic formatted), so the sender gets its
/// kind only, and the owner reads the details in `GET /v1/executions/{id}`.
pub(super) fn public_message(failure: &Failure) -> String {
    match failure.kind {
        FailureKind::GuestError => failure.message.clone(),
        FailureKind::Timeout => "the execution timed out".into(),
        FailureKind::OutOfFuel => "the execution ran out of fuel".into(),
        FailureKind::MemoryLimit => "the execution went over its memory limit".into(),
        FailureKind::InvalidOutput => "the block's output was invalid".into(),
        FailureKind::Trap | FailureKind::Panic | FailureKind::Exit => {
            "the block crashed; its owner can see the details in the execution record".into()
        }
        FailureKind::Internal => "the host could not run the block; its owner can see the details".into(),
    }
}

/// A sync delivery still running past the sync wait: 504, but it goes on; poll the id.
pub fn still_running(webhook_id: WebhookId, id: ExecutionId) -> ApiError {
    ApiError::new(
        StatusCode::GATEWAY_TIMEOUT,
        "EXECUTION_TIMEOUT",
        format!("the execution is still running after the synchronous limit; poll {}", poll_path(webhook_id, id)),
    )
    .with_field("execution_id", id.to_string())
}

/// Fleet's 201 envelope of an async delivery.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct FleetAccepted {
    request: FleetRequest,
    data: FleetData,
}

/// The request's own id.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct FleetRequest {
    id: Uuid,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct FleetData {
    webhook_id: WebhookId,
    target: Target,
    /// One per run, in doc order for a doc.
    execution_ids: Vec<ExecutionId>,
}

/// A sync trigger's 200 (unless the block shaped its own HTTP answer, which is whatever it
/// says).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // a schema only: the handler writes one of the two
pub(super) enum SyncAnswer<'a> {
    /// A block's run.
    Block(Completed<'a>),
    /// A doc's runs, outputs by dataset key.
    Doc(CompletedDoc<'a>),
}

/// An async delivery: 201 with Fleet's envelope and `Location` to poll the first execution.
pub fn accepted(webhook_id: WebhookId, target: Target, ids: &[ExecutionId], replayed: bool) -> Response {
    let body = FleetAccepted {
        request: FleetRequest { id: Uuid::now_v7() },
        data: FleetData { webhook_id, target, execution_ids: ids.to_vec() },
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Some(first) = ids.first() {
        if let Ok(location) = HeaderValue::from_str(&poll_path(webhook_id, *first)) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response = with_execution_header(response, *first);
    }
    mark_replayed(response, replayed)
}

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HttpShape {
    #[serde(default = "ok_status")]
    status: u16,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    body: Option<Value>,
    #[serde(default)]
    body_base64: Option<String>,
}

fn ok_status() -> u16 {
    200
}

/// The block's own response, if its output asks for one (`Err`: it asked, but wrongly).
fn shaped(run: &RunSummary) -> Option<Result<Response, String>> {
    let text = run.output.as_deref()?;
    if !text.trim_start().starts_with('{') || !text.contains("\"$http\"") {
        return None;
    }
    #[derive(utoipa::ToSchema, Deserialize)]
    struct Envelope {
        #[serde(rename = "$http")]
        http: Option<Value>,
    }
    let shape = serde_json::from_str::<Envelope>(text).ok()?.http?;
    Some(
        serde_json::from_value::<HttpShape>(shape)
            .map_err(|e| format!("the block's $http response is invalid: {e}"))
            .and_then(build),
    )
}

fn build(shape: HttpShape) -> Result<Response, String> {
    let status = StatusCode::from_u16(shape.status)
        .ok()
        .filter(|s| (200..=599).contains(&s.as_u16()))
        .ok_or_else(|| format!("the block's $http.status {} must be between 200 and 599", shape.status))?;
    let (bytes, default_type) = match (shape.body, shape.body_base64) {
        (Some(_), Some(_)) => return Err("the block's $http response sets both body and bodyBase64".into()),
        (Some(Value::String(text)), None) => (text.into_bytes(), "text/plain; charset=utf-8"),
        (Some(value), None) => (value.to_string().into_bytes(), "application/json"),
        (None, Some(encoded)) => (
            BASE64.decode(encoded).map_err(|e| format!("the block's $http.bodyBase64 is not base64: {e}"))?,
            "application/octet-stream",
        ),
        (None, None) => (Vec::new(), "text/plain; charset=utf-8"),
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    let content_type = shape.content_type.as_deref().unwrap_or(default_type);
    let content_type = HeaderValue::from_str(content_type)
        .map_err(|_| format!("the block's $http.contentType {content_type:?} is invalid"))?;
    response.headers_mut().insert(header::CONTENT_TYPE, content_type);
    for (name, value) in shape.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("the block's $http header name {name:?} is invalid"))?;
        if RESERVED_HEADERS.contains(&name.as_str()) {
            return Err(format!("the block may not set the {name} header"));
        }
        let value = HeaderValue::from_str(&value)
            .map_err(|_| format!("the block's $http header {name} has an invalid value"))?;
        response.headers_mut().append(name, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmhook_domain::ids::BlockId;

    fn run(output: &str) -> RunSummary {
        RunSummary {
            execution_id: ExecutionId::nil(),
            block_id: BlockId::nil(),
            block_version: 1,
            status: ExecutionStatus::Succeeded,
            error: None,
            output: Some(output.to_owned()),
            duration_us: 0,
            fuel_consumed: 0,
            peak_memory_bytes: 0,
        }
    }

    #[test]
    fn plain_outputs_are_not_shaped() {
        assert!(shaped(&run(r#"{"ok": true}"#)).is_none());
        assert!(shaped(&run(r#""$http""#)).is_none());
    }

    /// The member name is the guest contract's (the SDKs serialize to it).
    #[test]
    fn the_member_is_the_abi_one() {
        let output = format!(r#"{{"{}": {{"status": 204}}}}"#, wasmhook_abi::output::HTTP_RESPONSE_MEMBER);
        assert!(shaped(&run(&output)).expect("shaped").is_ok());
    }

    #[test]
    fn the_http_member_shapes_the_response() {
        let response = shaped(&run(r#"{"$http": {"status": 202, "body": "abc", "headers": {"x-a": "1"}}}"#))
            .expect("shaped")
            .expect("valid");
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert_eq!(response.headers()["content-type"], "text/plain; charset=utf-8");
        assert_eq!(response.headers()["x-a"], "1");
        let json = shaped(&run(r#"{"$http": {"body": {"challenge": "c"}}}"#)).expect("shaped").expect("valid");
        assert_eq!(json.headers()["content-type"], "application/json");
    }

    #[test]
    fn bad_shapes_are_errors_naming_the_problem() {
        for bad in [
            r#"{"$http": {"status": 99}}"#,
            r#"{"$http": {"headers": {"content-length": "5"}}}"#,
            r#"{"$http": {"body": "a", "bodyBase64": "YQ=="}}"#,
            r#"{"$http": {"bodyBase64": "%%%"}}"#,
            r#"{"$http": {"stauts": 200}}"#,
        ] {
            let error = shaped(&run(bad)).expect("shaped").expect_err(bad);
            assert!(error.contains("$http") || error.contains("header"), "{bad}: {error}");
        }
    }
}
