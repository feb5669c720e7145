//! Sandbox-wide settings (fixed when the `Sandbox` is built) and per-run limits.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Wall-clock limit of a run when neither the block nor the dataset sets `timeoutMs`
/// (Definite's documented default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(6000);

/// Memory cap of a run when the block does not set one.
pub const DEFAULT_MEMORY_BYTES: u64 = 128 << 20;

/// Fuel granted per millisecond of `timeoutMs` when the block sets no fuel budget.
///
/// A tight wasm loop burns about 7×10⁹ fuel/s on this machine class (7×10⁶ per ms). Granting
/// 2×10⁷ per ms — about 3× the fastest burn measured — means the default fuel budget can never
/// cut ordinary CPU work before its deadline: the epoch deadline is the real limit, and fuel
/// is there for blocks whose owner sets an explicit (deterministic) CPU budget.
pub const DEFAULT_FUEL_PER_MS: u64 = 20_000_000;

/// [`SandboxConfig::memory_keep_resident_bytes`] on a kernel with `PAGEMAP_SCAN` (Linux ≥ 6.7).
///
/// Measured (`sandbox_run`, 2-core VM, kernel 6.18): echo p50 30.7 → 19.5 µs at 1 MiB and
/// 20.0 µs at 4 MiB; 2 threads 24.3k → 56.9k runs/s at 1 MiB, 61.2k at 4 MiB (1.51× of one
/// thread, from 0.92×); a Python run 2.25 → 1.83 ms at 4 MiB, 2.03 ms at 16 MiB. Only pages a
/// run dirtied stay resident, so the cost is at most this much RSS per pooled memory a run
/// has used (256 slots: ≤ 1 GiB after a burst of 256 runs that each dirtied ≥ 4 MiB).
pub const DEFAULT_KEEP_RESIDENT_BYTES: usize = 4 << 20;

/// How the engine and its pools are sized. Built once; see [`crate::Sandbox::new`].
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where compiled artifacts (`.cwasm`) are kept so a restart does not recompile.
    pub cache_dir: PathBuf,
    /// Runs that may execute at once; also sizes the pooling allocator. Further runs wait.
    pub max_concurrent_runs: u32,
    /// The largest memory cap any run may ask for (the size of a pooled memory slot).
    pub max_memory_bytes: u64,
    /// Guest memory all runs together may reserve. Each run reserves its memory cap before it
    /// starts and waits while the budget is spent, so the sum of the caps of the runs in flight
    /// — the most their guests can touch — stays within it.
    pub memory_budget_bytes: u64,
    /// Components compiled at once; further compiles wait. Each compile already uses every
    /// core (Cranelift compiles functions in parallel), so more at once only adds memory.
    pub max_concurrent_compiles: usize,
    /// Period of the engine's single epoch ticker thread; deadlines are precise to one tick.
    pub epoch_tick: Duration,
    /// Prepared blocks (`InstancePre`) kept in memory, least recently used evicted first.
    /// Each holds its compiled code (a few hundred KiB for a small Rust block); evicted ones
    /// come back from their artifact on disk (mmapped, ≈ 1 ms) on their next run.
    pub prepared_cache_capacity: usize,
    /// Largest output (typed `run` result, or a command's stdout) accepted from a block.
    pub max_output_bytes: usize,
    /// Log bytes (log lines + stdout/stderr) kept per run; the rest is dropped and counted.
    pub max_log_bytes: usize,
    /// Instrument compiled code with fuel metering (off only for benchmarks).
    pub fuel_metering: bool,
    /// Map memory images copy-on-write. Off, data segments are copied in instead. With memory
    /// kept resident ([`Self::memory_keep_resident_bytes`]) the CoW pages a run dirtied stay
    /// private copies reset in place, so CoW no longer costs a TLB shootdown per run: measured
    /// (#20) echo 35.2k / 58.3k runs/s on 1 / 2 threads with CoW, 33.7k / 59.7k without.
    pub memory_init_cow: bool,
    /// Bytes at the start of each pooled linear memory that are reset in place when a run ends
    /// instead of being handed back to the kernel (`madvise`). On Linux ≥ 6.7 the pool asks
    /// the kernel which pages the run dirtied (`PAGEMAP_SCAN`) and restores only those, so a
    /// run that touched little costs little, the pages stay mapped for the next run (no page
    /// faults), and — the point — no `madvise`, whose TLB shootdown interrupts every other
    /// core running the process. Memory above this is still returned with `madvise`. 0: all
    /// of it is (the kernel older than 6.7 gets a full `memset` of this size instead).
    pub memory_keep_resident_bytes: usize,
    /// Check the epoch deadline in compiled code (off only for benchmarks: a looping guest
    /// then holds its thread until the outer deadline).
    pub epoch_interruption: bool,
    /// Let blocks connect to loopback, private, link-local, … addresses (never on a server
    /// reachable from a network you do not trust: it opens the cloud metadata endpoint and
    /// internal services to every block with an `allowedHosts` entry).
    pub outbound_allow_private: bool,
    /// The server's own API (`http(s)://host[:port]`): runs may call it without an allowlist
    /// entry, even at a private address (their `WASMHOOK_API_KEY` is for it).
    pub api_origin: Option<String>,
}

impl SandboxConfig {
    /// Defaults suited to a server, with artifacts cached under `cache_dir`.
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            cache_dir: cache_dir.into(),
            max_concurrent_runs: 256,
            max_memory_bytes: 1 << 30,
            memory_budget_bytes: default_memory_budget(),
            max_concurrent_compiles: 1,
            epoch_tick: Duration::from_millis(5),
            prepared_cache_capacity: 128,
            max_output_bytes: 1 << 20,
            max_log_bytes: 256 << 10,
            fuel_metering: true,
            memory_init_cow: true,
            epoch_interruption: true,
            memory_keep_resident_bytes: default_keep_resident(),
            outbound_allow_private: false,
            api_origin: None,
        }
    }
}

/// The guest-memory budget when the machine's memory cannot be read.
const FALLBACK_MEMORY_BUDGET: u64 = 4 << 30;

/// The default guest-memory budget: three quarters of the memory this process may use (the
/// cgroup's `memory.max` when set, else `MemTotal`), leaving a quarter for the host itself
/// (compiled code, caches, request bodies). 4 GiB when neither can be read.
pub fn default_memory_budget() -> u64 {
    // Read once: block writes check caps against it, and the machine does not change.
    static BUDGET: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *BUDGET.get_or_init(read_memory_budget)
}

fn read_memory_budget() -> u64 {
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok().and_then(|t| t.trim().parse::<u64>().ok());
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|text| {
        let line = text.lines().find(|line| line.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        kib.checked_mul(1024)
    });
    let available = match (cgroup, total) {
        (Some(cgroup), Some(total)) => cgroup.min(total),
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => return FALLBACK_MEMORY_BUDGET,
    };
    available / 4 * 3
}

/// [`DEFAULT_KEEP_RESIDENT_BYTES`] where the kernel can tell which pages a run dirtied, else 0:
/// without `PAGEMAP_SCAN` wasmtime would `memset` the whole size after every run, which made
/// a small guest's run slower than `madvise` (measured before: the Store drop 2× slower).
fn default_keep_resident() -> usize {
    // Read once, like the memory budget: the kernel does not change under a running process.
    static KEEP: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *KEEP.get_or_init(|| {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        if has_pagemap_scan(&release) { DEFAULT_KEEP_RESIDENT_BYTES } else { 0 }
    })
}

/// Whether a kernel release string (`6.18.44-…`) is Linux 6.7 or newer.
fn has_pagemap_scan(release: &str) -> bool {
    let mut parts = release.trim().split(['.', '-']).map(|part| part.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    cfg!(target_os = "linux") && (major, minor) >= (6, 7)
}

/// Hard limits of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunLimits {
    /// Wall-clock deadline, enforced by the epoch deadline (wasm code) and an outer tokio
    /// deadline (time spent blocked in host calls).
    pub timeout: Duration,
    /// Fuel budget; `None` derives it from the timeout (see [`DEFAULT_FUEL_PER_MS`]).
    pub fuel: Option<u64>,
    /// Cap on the run's linear memory, in bytes.
    pub memory_bytes: u64,
}

impl Default for RunLimits {
    fn default() -> Self {
        Self { timeout: DEFAULT_TIMEOUT, fuel: None, memory_bytes: DEFAULT_MEMORY_BYTES }
    }
}

impl RunLimits {
    /// The fuel this run starts with.
    pub fn fuel_budget(&self) -> u64 {
        self.fuel.unwrap_or_else(|| {
            let ms = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX);
            ms.saturating_mul(DEFAULT_FUEL_PER_MS)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_fuel_outlasts_a_tight_loop_for_the_whole_timeout() {
        let limits = RunLimits { timeout: Duration::from_millis(6000), ..RunLimits::default() };
        // 7×10⁹ fuel/s is the measured burn rate of a tight loop.
        assert!(limits.fuel_budget() > 6 * 7_000_000_000);
    }

    #[test]
    fn keep_resident_only_where_the_kernel_has_pagemap_scan() {
        assert!(has_pagemap_scan("6.18.44-fc-v1098\n"));
        assert!(has_pagemap_scan("6.7.0"));
        assert!(has_pagemap_scan("7.0.1-arch1"));
        assert!(!has_pagemap_scan("6.6.87-generic"));
        assert!(!has_pagemap_scan("5.15.0-105-generic"));
        assert!(!has_pagemap_scan(""));
    }

    #[test]
    fn explicit_fuel_wins() {
        let limits = RunLimits { fuel: Some(42), ..RunLimits::default() };
        assert_eq!(limits.fuel_budget(), 42);
    }
}
