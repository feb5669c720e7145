//! The read-only directory a run sees, and the files in it.

/// Where the run directory is mounted in the guest.
pub const GUEST_DIR: &str = "/webhook";
/// The data file (JSON), always present.
pub const DATA_FILE_NAME: &str = "data.json";
/// The raw request body, when it is not JSON.
pub const BODY_FILE_NAME: &str = "body";
/// The captured request headers (with `captureRequest`).
pub const HEADERS_FILE_NAME: &str = "headers.json";
/// The captured request line, query and headers (with `captureRequest`).
pub const REQUEST_FILE_NAME: &str = "request.json";
