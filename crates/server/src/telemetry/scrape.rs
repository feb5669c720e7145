//! `GET /metrics`: the registry in the OpenMetrics text format Prometheus scrapes, with the
//! gauges read from the executor and sandbox at that moment. Open unless `metrics_token` is
//! set; then it needs `Authorization: Bearer <token>`, compared in constant time.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::api::error::ApiError;
use crate::auth::bearer;
use crate::state::AppState;

/// The OpenMetrics text format's media type.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Encodes every metric; 401 without the configured token, 404 when metrics are off.
#[utoipa::path(
    get, operation_id = "metrics",
    path = "/metrics",
    tag = "operations",
    security((), ("metricsToken" = [])),
    responses(
        (status = 200, description = "Prometheus metrics, OpenMetrics text", content_type = "application/openmetrics-text"),
        (status = 401, description = "`metrics_token` is set and was not sent", body = crate::api::openapi::ErrorBody),
        (status = 404, description = "`metrics = false`", body = crate::api::openapi::ErrorBody),
    ),
)]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let Some(telemetry) = &state.telemetry else {
        return Err(ApiError::not_found("route"));
    };
    if let Some(token) = &state.config.metrics_token {
        // Digests compared, not the texts: `ct_eq` on slices of different lengths returns at
        // once, which would tell a prober the token's length.
        let given = Sha256::digest(bearer(&headers).unwrap_or_default().as_bytes());
        if !bool::from(given.ct_eq(&Sha256::digest(token.reveal().as_bytes()))) {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "a valid metrics token is required"));
        }
    }
    let gauges = &telemetry.metrics.gauges;
    let load = state.sandbox.load();
    let gauge = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
    gauges.queue_depth.set(gauge(state.executor.queued() as u64));
    gauges.queue_oldest_age.set(state.executor.oldest_queued_wait().as_secs_f64());
    gauges.sync_runs_in_flight.set(gauge(state.executor.sync_runs_in_flight() as u64));
    gauges.run_slots.set(gauge(load.run_slots));
    gauges.run_slots_in_use.set(gauge(load.run_slots_in_use));
    gauges.memory_budget.set(gauge(load.memory_budget_mib << 20));
    gauges.memory_budget_in_use.set(gauge(load.memory_budget_mib_in_use << 20));
    gauges.compiles_in_progress.set(gauge(load.compiles_in_progress));
    let mut text = String::with_capacity(16 << 10);
    prometheus_client::encoding::text::encode(&mut text, telemetry.registry())
        .map_err(|_| ApiError::internal(&"cannot encode the metrics"))?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response())
}
