//! The wasmtime sandbox: everything needed to run an untrusted block safely and fast.
//!
//! A [`Sandbox`] is built once per process. It owns the `Engine` (pooling allocator,
//! copy-on-write memory, epoch interruption, fuel), its single epoch ticker thread, one
//! `Linker` (all of WASI p2 with sockets denied per run, `wasi:http` outbound under the block's
//! allowlist, plus `wasmhook:block/logging`), the on-disk cache of
//! compiled artifacts and an LRU cache of prepared blocks (`InstancePre`). A run only creates
//! a `Store`, its in-memory `/webhook` directory and a WASI context.
//!
//! The sandbox knows nothing of HTTP, auth or persistence.

#![warn(missing_docs)]

mod artifacts;
mod bindings;
mod capture;
mod classify;
mod config;
mod engine;
mod error;
mod footprint;
mod host_state;
pub mod keyvalue;
mod linker;
mod logs;
mod outbound;
mod prepare;
mod run;
mod webhook_dir;

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lru::LruCache;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::Semaphore;
use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

pub use config::{
    DEFAULT_FUEL_PER_MS, DEFAULT_KEEP_RESIDENT_BYTES, DEFAULT_MEMORY_BYTES, DEFAULT_TIMEOUT, RunLimits, SandboxConfig,
    default_memory_budget,
};
pub use error::SandboxError;
pub use footprint::Footprint;
pub use logs::{LOG_LINE_COST, MAX_LOG_LINES};
pub use outbound::{
    AllowedHost, AllowedHostError, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_REQUESTS, HostClient,
    HostResponse, InjectedHeader, NetworkPolicy, OutboundCall, Target, is_public_address,
};
pub use prepare::PreparedBlock;
pub use run::{MAX_HOST_RESOURCES, RunInput};
pub use wasmhook_domain::{BlockDigest, BlockShape};
pub use wasmhook_domain::{Failure, FailureKind, LogLevel, LogLine, LogStream, Logs, Outcome, RunStatus};

use artifacts::ArtifactCache;
use engine::EpochTicker;
use host_state::RunState;
use wasmhook_domain::priority;

/// Lowers the priority of the threads Cranelift compiles on (rayon's global pool, which
/// wasmtime's parallel compilation uses) to [`priority::COMPILE_NICE`]. The pool is
/// built once per process; a second sandbox finds it built and keeps it.
fn lower_compiler_threads() {
    let built = rayon::ThreadPoolBuilder::new()
        .thread_name(|n| format!("wasmhook-cranelift-{n}"))
        .start_handler(|_| priority::lower_current_thread(priority::COMPILE_NICE))
        .build_global();
    if built.is_err() {
        tracing::debug!("rayon's global pool was already built: compile threads keep its priority");
    }
}

/// Where prepared blocks came from since the sandbox started: proof that a restart does not
/// recompile, and a view of cache efficiency.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SandboxStats {
    /// Blocks compiled by Cranelift.
    pub compiled: u64,
    /// Blocks loaded from a compiled artifact on disk.
    pub loaded_from_disk: u64,
    /// Lookups answered from the in-memory prepared cache.
    pub memory_hits: u64,
}

/// What the sandbox's limits hold right now, for gauges: run slots of the pooling allocator,
/// the guest-memory budget, and compiles in progress.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SandboxLoad {
    /// Run slots in all (`max_concurrent_runs`).
    pub run_slots: u64,
    /// Run slots held by runs now (a run holds its block's footprint's worth).
    pub run_slots_in_use: u64,
    /// The guest-memory budget in MiB.
    pub memory_budget_mib: u64,
    /// MiB of that budget held by runs now (each holds its memory cap's worth).
    pub memory_budget_mib_in_use: u64,
    /// Compiles running now, at most `max_concurrent_compiles`.
    pub compiles_in_progress: u64,
}

#[derive(Debug, Default)]
struct Counters {
    compiled: AtomicU64,
    loaded_from_disk: AtomicU64,
    memory_hits: AtomicU64,
}

/// The sandbox. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct Sandbox {
    engine: Engine,
    linker: Linker<RunState>,
    artifacts: ArtifactCache,
    prepared: Mutex<LruCache<BlockDigest, Arc<PreparedBlock>>>,
    /// Run slots of the pooling allocator; a run takes its block's `Footprint::slots`.
    permits: Semaphore,
    /// The guest-memory budget in MiB; a run takes its memory cap's worth.
    memory: Semaphore,
    /// Compiles in progress, at most `max_concurrent_compiles`. A permit is held by the compile
    /// thread itself: a caller that goes away (a client disconnecting mid-upload) must not free
    /// it while Cranelift still runs.
    compiles: Arc<Semaphore>,
    counters: Counters,
    /// Server-wide outbound settings shared by every run's HTTP hooks.
    network: Arc<outbound::Network>,
    config: SandboxConfig,
    _ticker: EpochTicker,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("config", &self.config).field("stats", &self.stats()).finish()
    }
}

impl Sandbox {
    /// Builds the engine, linker, caches and the epoch ticker. Do this once per process.
    pub fn new(config: SandboxConfig) -> Result<Self, SandboxError> {
        if config.epoch_tick.is_zero() {
            return Err(SandboxError::Engine("epoch_tick must be greater than zero".into()));
        }
        let engine = engine::build_engine(&config)?;
        let linker = linker::build_linker(&engine)?;
        let artifacts = ArtifactCache::open(&config.cache_dir, &engine)?;
        let capacity = NonZeroUsize::new(config.prepared_cache_capacity).unwrap_or(NonZeroUsize::MIN);
        let ticker = EpochTicker::start(engine.clone(), config.epoch_tick)?;
        lower_compiler_threads();
        let network = Arc::new(
            outbound::Network::new(config.outbound_allow_private, config.api_origin.as_deref())
                .map_err(SandboxError::Engine)?,
        );
        Ok(Self {
            network,
            permits: Semaphore::new(config.max_concurrent_runs.max(1) as usize),
            compiles: Arc::new(Semaphore::new(config.max_concurrent_compiles.max(1))),
            memory: Semaphore::new(
                usize::try_from(config.memory_budget_bytes >> 20)
                    .unwrap_or(Semaphore::MAX_PERMITS)
                    .min(Semaphore::MAX_PERMITS),
            ),
            prepared: Mutex::new(LruCache::new(capacity)),
            counters: Counters::default(),
            engine,
            linker,
            artifacts,
            config,
            _ticker: ticker,
        })
    }

    /// Validates, compiles (or loads the compiled artifact of) and pre-links a block.
    ///
    /// Rejects garbage bytes, core modules and components of another world with a
    /// [`SandboxError`] whose [`is_invalid_block`](SandboxError::is_invalid_block) is true.
    pub async fn prepare(&self, wasm: &[u8]) -> Result<Arc<PreparedBlock>, SandboxError> {
        let digest = BlockDigest::of(wasm);
        if let Some(prepared) = self.cached(&digest)? {
            return Ok(prepared);
        }
        prepare::check_header(wasm)?;
        let compiling = Arc::clone(&self.compiles)
            .acquire_owned()
            .await
            .map_err(|_| SandboxError::Internal("the sandbox is shutting down".into()))?;
        let engine = self.engine.clone();
        let bytes = wasm.to_vec();
        let pool_slots = self.config.max_concurrent_runs.max(1);
        let (done, compiled) = tokio::sync::oneshot::channel();
        // Its own thread at a low priority (not a pooled blocking thread, which would keep the
        // priority for the store's reads later): runs preempt a compile, not the reverse.
        std::thread::Builder::new()
            .name("wasmhook-compile".into())
            .spawn(move || {
                priority::lower_current_thread(priority::COMPILE_NICE);
                let result = (|| {
                    // Counted before compiling: an oversized component is refused without the cost.
                    let footprint = Footprint::of(&bytes)?;
                    footprint.check(pool_slots)?;
                    let component = Component::new(&engine, &bytes)
                        .map_err(|e| SandboxError::InvalidComponent(format!("{e:#}")))?;
                    Ok::<_, SandboxError>((component, footprint))
                })();
                let _ = done.send(result);
                drop(compiling);
            })
            .map_err(|e| SandboxError::Internal(format!("cannot start a compile thread: {e}")))?;
        let (component, footprint) =
            compiled.await.map_err(|_| SandboxError::Internal("the compile thread panicked".into()))??;
        let prepared = Arc::new(PreparedBlock::link(&self.engine, &self.linker, &component, digest, footprint)?);
        self.artifacts.store(&digest, &component, &footprint)?;
        self.counters.compiled.fetch_add(1, Ordering::Relaxed);
        self.prepared.lock().put(digest, Arc::clone(&prepared));
        Ok(prepared)
    }

    /// The prepared block for `digest` from memory or from its compiled artifact on disk;
    /// `None` when it was never compiled by this engine (call [`Sandbox::prepare`] with the
    /// bytes). Never compiles.
    pub fn cached(&self, digest: &BlockDigest) -> Result<Option<Arc<PreparedBlock>>, SandboxError> {
        if let Some(prepared) = self.prepared.lock().get(digest) {
            self.counters.memory_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Some(Arc::clone(prepared)));
        }
        let Some((component, footprint)) = self.artifacts.load(&self.engine, digest) else {
            return Ok(None);
        };
        let prepared = Arc::new(PreparedBlock::link(&self.engine, &self.linker, &component, *digest, footprint)?);
        self.counters.loaded_from_disk.fetch_add(1, Ordering::Relaxed);
        self.prepared.lock().put(*digest, Arc::clone(&prepared));
        Ok(Some(prepared))
    }

    /// Compile and cache counters since this sandbox was built.
    pub fn stats(&self) -> SandboxStats {
        SandboxStats {
            compiled: self.counters.compiled.load(Ordering::Relaxed),
            loaded_from_disk: self.counters.loaded_from_disk.load(Ordering::Relaxed),
            memory_hits: self.counters.memory_hits.load(Ordering::Relaxed),
        }
    }

    /// What the run slots, memory budget and compile slots hold right now.
    pub fn load(&self) -> SandboxLoad {
        let held = |total: u64, free: usize| total.saturating_sub(free as u64);
        let run_slots = u64::from(self.config.max_concurrent_runs.max(1));
        let memory_budget_mib = (self.config.memory_budget_bytes >> 20).min(Semaphore::MAX_PERMITS as u64);
        let compiles = self.config.max_concurrent_compiles.max(1) as u64;
        SandboxLoad {
            run_slots,
            run_slots_in_use: held(run_slots, self.permits.available_permits()),
            memory_budget_mib,
            memory_budget_mib_in_use: held(memory_budget_mib, self.memory.available_permits()),
            compiles_in_progress: held(compiles, self.compiles.available_permits()),
        }
    }

    /// The settings this sandbox was built with.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }
}
