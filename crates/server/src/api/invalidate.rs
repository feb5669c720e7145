//! Writes that make a cached entry stale (until the repositories own their caches, #16 item 3).

use std::future::Future;

use super::error::ApiError;
use wasmhook_store::StoreError;

/// Runs a store write, then `invalidate` if it succeeded, in a task of its own: a handler
/// cancelled between the two (its client gone) must not leave a revoked key, an old secret
/// or a disabled webhook in the cache. The cache is least-recently-used, so an entry that
/// keeps being used would never be evicted.
pub(crate) async fn write_then_invalidate<R: Send + 'static>(
    write: impl Future<Output = Result<R, StoreError>> + Send + 'static,
    invalidate: impl FnOnce() + Send + 'static,
) -> Result<R, ApiError> {
    tokio::spawn(async move {
        let written = write.await;
        if written.is_ok() {
            invalidate();
        }
        written
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
    .map_err(ApiError::from)
}
