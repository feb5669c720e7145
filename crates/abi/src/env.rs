//! Environment variables the host sets for a run.

/// The data file's path inside the guest (always set).
pub const DATA_FILE: &str = "WEBHOOK_DATA_FILE";
/// The data as JSON text (v2 blocks, which read their input from the environment).
pub const DATA: &str = "WEBHOOK_DATA";
/// The raw body's path (trigger webhooks).
pub const BODY_FILE: &str = "WEBHOOK_BODY_FILE";
/// The request's `Content-Type` as sent, empty when none (trigger webhooks).
pub const CONTENT_TYPE: &str = "WEBHOOK_CONTENT_TYPE";
/// The trigger webhook's id.
pub const WEBHOOK_ID: &str = "WEBHOOK_ID";
/// The signature scheme that verified the request (`stripe`, `github`, …).
pub const VERIFIED: &str = "WEBHOOK_VERIFIED";
/// The captured headers' path (with `captureRequest`).
pub const HEADERS_FILE: &str = "WEBHOOK_HEADERS_FILE";
/// The captured request's path (with `captureRequest`).
pub const REQUEST_FILE: &str = "WEBHOOK_REQUEST_FILE";
/// The run's execution id.
pub const EXECUTION_ID: &str = "EXECUTION_ID";
/// The block's id.
pub const BLOCK_ID: &str = "BLOCK_ID";
/// The dataset's key (doc runs).
pub const DATASET_KEY: &str = "DATASET_KEY";
/// The URL of the server's API, for the run to call back.
pub const API_BASE_URL: &str = "WASMHOOK_API_BASE_URL";
/// The run's own API key: its team's, execute and key-value only, valid while it runs.
pub const API_KEY: &str = "WASMHOOK_API_KEY";

/// Every variable the host sets itself (every run, or trigger calls). Neither a caller's
/// `environment_variables` nor a block's saved `env` may set one: a guest must be able to
/// trust `WEBHOOK_VERIFIED`, `EXECUTION_ID` and the file paths.
pub const HOST_SET: [&str; 12] = [
    EXECUTION_ID,
    API_BASE_URL,
    API_KEY,
    BLOCK_ID,
    DATASET_KEY,
    DATA_FILE,
    BODY_FILE,
    CONTENT_TYPE,
    WEBHOOK_ID,
    VERIFIED,
    HEADERS_FILE,
    REQUEST_FILE,
];
