//! The one `Engine` of a sandbox and its one epoch ticker thread.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

use super::footprint::{CORE_INSTANCES_PER_SLOT, MAX, MEMORIES_PER_SLOT, TABLES_PER_SLOT};
use super::{SandboxConfig, SandboxError};

/// Bytes of each pooled table reset in place rather than decommitted (see `build_engine`).
const KEEP_RESIDENT_TABLE_BYTES: usize = 64 << 10;
/// Deallocated slots whose decommits are batched into one flush.
const DECOMMIT_BATCH: usize = 16;

/// Builds the engine: pooling allocator (slots reused, copy-on-write memory images), epoch
/// interruption for deadlines, and fuel metering when configured.
///
/// The pool holds `max_concurrent_runs` run slots (see `footprint`); a run takes as many slots
/// as its component's footprint needs, so the totals below are never exceeded.
pub(crate) fn build_engine(config: &SandboxConfig) -> Result<Engine, SandboxError> {
    let runs = config.max_concurrent_runs.max(1);
    let max_memory = usize::try_from(config.max_memory_bytes)
        .map_err(|_| SandboxError::Engine("max_memory_bytes does not fit in usize".into()))?;
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(runs)
        .total_core_instances(runs.saturating_mul(CORE_INSTANCES_PER_SLOT))
        .total_memories(runs.saturating_mul(MEMORIES_PER_SLOT))
        .total_tables(runs.saturating_mul(TABLES_PER_SLOT))
        .max_core_instances_per_component(MAX.core_instances)
        .max_memories_per_component(MAX.memories)
        .max_tables_per_component(MAX.tables)
        .total_stacks(runs)
        .max_memory_size(max_memory)
        // Measured on this machine class (echo, 1 KiB): resetting tables in place is cheaper
        // than madvise. Linear memory is kept resident only up to `memory_keep_resident_bytes`
        // (see there: with the kernel's dirty-page scan; a blind memset made the Store drop 2×
        // slower). Batching decommits amortizes the remaining syscalls over several runs.
        .table_keep_resident(KEEP_RESIDENT_TABLE_BYTES)
        .linear_memory_keep_resident(config.memory_keep_resident_bytes)
        .decommit_batch_size(DECOMMIT_BATCH);
    if config.memory_keep_resident_bytes > 0 {
        // Only the pages a run dirtied are restored (Linux ≥ 6.7; else a memset of the size).
        pool.pagemap_scan(Enabled::Auto);
    }

    let mut cfg = Config::new();
    cfg.wasm_component_model(true)
        .epoch_interruption(config.epoch_interruption)
        .consume_fuel(config.fuel_metering)
        .memory_init_cow(config.memory_init_cow)
        .cranelift_opt_level(OptLevel::Speed)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&cfg).map_err(|e| SandboxError::Engine(format!("{e:#}")))
}

/// Increments the engine's epoch every tick on a dedicated thread: one per engine, never one
/// per run. Stopped and joined on drop.
#[derive(Debug)]
pub(crate) struct EpochTicker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    pub(crate) fn start(engine: Engine, tick: Duration) -> Result<Self, SandboxError> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("wasmhook-epoch".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(tick) {
                    engine.increment_epoch();
                }
            })
            .map_err(|e| SandboxError::Internal(format!("cannot start the epoch thread: {e}")))?;
        Ok(Self { stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
