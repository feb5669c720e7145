//! What a `Store` holds for one run: the WASI context, its `/webhook` files, the resource
//! table, the memory limiter, the log sink and the deadline bookkeeping.

use std::time::Instant;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};
use wasmtime_wasi_io::IoView;

use super::bindings::{Level, wasmhook::block::logging};
use super::logs::LogSink;
use super::outbound::Outbound;
use wasmhook_domain::LogLevel;

pub(crate) struct RunState {
    pub(crate) wasi: WasiCtx,
    /// The run's `/webhook`, served from memory (see [`super::webhook_dir`]).
    pub(crate) webhook: super::webhook_dir::WebhookDir,
    pub(crate) table: ResourceTable,
    /// `wasi:http` state (field size limits).
    pub(crate) http: WasiHttpCtx,
    /// What the run may send, and the record of what it sent.
    pub(crate) http_hooks: Outbound,
    /// The key-value state it may use; `None`: none.
    pub(crate) kv: Option<super::keyvalue::KvAccess>,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) logs: LogSink,
    /// When the epoch callback must stop the guest.
    pub(crate) deadline: Instant,
    /// Set by the epoch callback when it stopped the guest for the deadline.
    pub(crate) timed_out: bool,
}

impl WasiView for RunState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for RunState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.http_hooks }
    }
}

impl IoView for RunState {
    fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

impl logging::Host for RunState {
    fn emit(&mut self, level: Level, message: String) {
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        self.logs.log(level, message);
    }
}

/// `wasmhook:block/types` defines only types; there is nothing to implement.
impl super::bindings::wasmhook::block::types::Host for RunState {}

/// Caps the run's total linear memory and remembers the peak and whether the cap was hit.
///
/// A denied growth makes `memory.grow` return -1 instead of trapping, as the spec says; a Rust
/// guest then aborts in its allocation-error handler, and the `denied` flag lets us report that
/// abort as `memory_limit` rather than a generic trap.
pub(crate) struct MemoryLimiter {
    cap: usize,
    total: usize,
    pub(crate) peak: usize,
    pub(crate) denied: bool,
}

/// Table elements a run may hold; generous for real guests, fatal for table bombs.
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl MemoryLimiter {
    pub(crate) fn new(cap_bytes: u64) -> Self {
        Self { cap: usize::try_from(cap_bytes).unwrap_or(usize::MAX), total: 0, peak: 0, denied: false }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.total.saturating_sub(current).saturating_add(desired);
        if total > self.cap {
            self.denied = true;
            return Ok(false);
        }
        self.total = total;
        self.peak = self.peak.max(total);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_tracks_peak_and_denies_over_cap() {
        let mut limiter = MemoryLimiter::new(100);
        assert!(limiter.memory_growing(0, 60, None).expect("grow"));
        assert!(limiter.memory_growing(60, 90, None).expect("grow"));
        assert!(!limiter.memory_growing(90, 120, None).expect("grow"));
        assert!(limiter.denied);
        assert_eq!(limiter.peak, 90);
    }
}
