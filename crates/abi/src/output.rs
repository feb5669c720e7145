//! Conventions in what a block returns.

/// The output member by which a sync trigger run shapes its HTTP answer:
/// `{"$http": {"status", "headers", "contentType", "body" | "bodyBase64"}}`.
pub const HTTP_RESPONSE_MEMBER: &str = "$http";

/// The error code (or code prefix, [`RETRYABLE_CODE_PREFIX`]) by which a block marks its own
/// failure as worth another attempt; the SDKs' `retryable` flag sets it.
pub const RETRYABLE_CODE: &str = "retryable";

/// `retryable:<code>`: a retryable failure that keeps the block's own code.
pub const RETRYABLE_CODE_PREFIX: &str = "retryable:";

/// Whether `code` marks a failure as retryable: [`RETRYABLE_CODE`] itself, or
/// [`RETRYABLE_CODE_PREFIX`] followed by the block's own code.
pub fn is_retryable_code(code: &str) -> bool {
    code == RETRYABLE_CODE || code.starts_with(RETRYABLE_CODE_PREFIX)
}
