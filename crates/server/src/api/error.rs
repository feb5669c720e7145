//! The one error type of the HTTP edge. Every error body is JSON:
//! `{"error": "<what to fix>", "error_code": "<UPPER_SNAKE>"}`, sometimes with more fields
//! (`execution_id` on a trigger webhook's failed run). The one exception is the trigger
//! webhooks' 401, a plain `{"error": "Unauthorized"}` as Powabase answers it.
//! Client errors say what was wrong; internal errors are logged and answered with a bare 500.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::auth::AuthError;
use crate::executor::ExecError;
use wasmhook_sandbox::SandboxError;
use wasmhook_store::StoreError;

/// An HTTP error with a status, a stable code and a message a user can act on.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: Option<&'static str>,
    message: String,
    retry_after_secs: Option<u64>,
    fields: Map<String, Value>,
}

impl ApiError {
    /// An error with an explicit status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code: Some(code), message: message.into(), retry_after_secs: None, fields: Map::new() }
    }

    /// The trigger webhooks' 401: `{"error": "Unauthorized"}` and nothing else, so that a
    /// prober learns nothing about why.
    pub fn unauthorized_plain() -> Self {
        Self { code: None, ..Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "Unauthorized") }
    }

    /// Adds `Retry-After: secs`.
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// Adds a field to the body (e.g. `execution_id`).
    pub fn with_field(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(name.to_owned(), value.into());
        self
    }

    /// 503 with `Retry-After: 1`: the caller should come back shortly.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message).with_retry_after(1)
    }

    /// 400: the request itself is malformed (syntax, content type, ids).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    /// 422: well-formed, but a field is wrong; the message names the field.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR", message)
    }

    /// 404 for `what`.
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", format!("{what} not found"))
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "FORBIDDEN", message)
    }

    /// 413.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("the request body is over the {limit}-byte limit"),
        )
    }

    /// 500: logged in full here, answered without details.
    pub fn internal(error: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %error, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "internal error")
    }

    /// The message shown to the client.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = self.fields;
        body.insert("error".into(), Value::String(self.message));
        if let Some(code) = self.code {
            body.insert("error_code".into(), Value::String(code.into()));
        }
        let mut response = (self.status, Json(Value::Object(body))).into_response();
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Forbidden(_) => Self::forbidden(error.to_string()),
            AuthError::Store(e) => e.into(),
            AuthError::Missing
            | AuthError::Malformed
            | AuthError::Invalid
            | AuthError::Session(_)
            | AuthError::SessionKeyRevoked
            | AuthError::SignedOut => Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", error.to_string()),
            AuthError::Csrf => Self::new(StatusCode::FORBIDDEN, "CSRF", error.to_string()),
        }
    }
}

/// The auth extractors' rejection, answered in the one error shape.
impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => Self::not_found(what),
            StoreError::Invalid(message) => Self::unprocessable(message),
            StoreError::Conflict(message) => Self::new(StatusCode::CONFLICT, "CONFLICT", message),
            StoreError::NotArmed => Self::new(StatusCode::FORBIDDEN, "WEBHOOK_INACTIVE", error.to_string()),
            other => Self::internal(&other),
        }
    }
}

impl From<SandboxError> for ApiError {
    fn from(error: SandboxError) -> Self {
        if error.is_invalid_block() {
            Self::new(StatusCode::BAD_REQUEST, "INVALID_BLOCK", error.to_string())
        } else if let SandboxError::MemoryCapTooLarge { .. } | SandboxError::OverMemoryBudget { .. } = error {
            Self::unprocessable(error.to_string())
        } else {
            Self::internal(&error)
        }
    }
}

impl From<ExecError> for ApiError {
    fn from(error: ExecError) -> Self {
        match error {
            ExecError::NoActiveVersion(_) => Self::new(StatusCode::CONFLICT, "NO_ACTIVE_VERSION", error.to_string()),
            ExecError::KeyReused(_) => Self::new(StatusCode::CONFLICT, "IDEMPOTENCY_KEY_REUSED", error.to_string()),
            ExecError::QueueFull => Self::unavailable("QUEUE_FULL", error.to_string()),
            ExecError::TooManyRuns { .. } => Self::unprocessable(error.to_string()),
            ExecError::TeamQueueFull(_) => Self::unavailable("TEAM_QUEUE_FULL", error.to_string()),
            ExecError::SyncOverloaded(_) => Self::unavailable("OVERLOADED", error.to_string()),
            ExecError::ShuttingDown => Self::unavailable("SHUTTING_DOWN", error.to_string()),
            ExecError::MissingSecret(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "MISSING_SECRET", error.to_string())
            }
            ExecError::InvalidCredential(_) => Self::unprocessable(error.to_string()),
            ExecError::Secret(_) => Self::internal(&error),
            ExecError::Store(e) => e.into(),
            ExecError::Sandbox(e) => e.into(),
            ExecError::Workers(_) | ExecError::Task(_) => Self::internal(&error),
        }
    }
}
