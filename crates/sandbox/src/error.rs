//! Errors of the sandbox layer. Guest misbehaviour is never an error here: it is an
//! [`Outcome`](super::Outcome) with a failure kind. These are the host's own failures.

use std::path::PathBuf;

/// Why a block could not be prepared, or why the sandbox could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The bytes are not a WebAssembly binary at all.
    #[error("not a WebAssembly binary: {0}")]
    NotWasm(String),
    /// A core module was uploaded where a component is needed.
    #[error(
        "this is a core WebAssembly module, not a component: build with `--target wasm32-wasip2` \
         (or wrap it with `wasm-tools component new`)"
    )]
    CoreModule,
    /// The component failed to parse, validate or compile.
    #[error("invalid component: {0}")]
    InvalidComponent(String),
    /// The component is valid but is neither a `wasmhook:block` block nor a `wasi:cli/command`.
    #[error("unsupported component: {0}")]
    WrongWorld(String),
    /// The component is valid but would take more of the pooling allocator than any block may
    /// (see `Footprint`).
    #[error("component too large for the sandbox: {0}")]
    TooLarge(String),
    /// A run asked for more memory than the sandbox's pool slots hold.
    #[error("memory cap {requested} bytes is over the sandbox maximum of {max} bytes")]
    MemoryCapTooLarge {
        /// What the run asked for.
        requested: u64,
        /// `SandboxConfig::max_memory_bytes`.
        max: u64,
    },
    /// A run's memory cap is larger than the whole server's guest-memory budget.
    #[error(
        "memory cap {requested} bytes is over the server's guest-memory budget of {budget} bytes \
         (memory_budget_bytes); lower the block's memoryBytes"
    )]
    OverMemoryBudget {
        /// What the run asked for.
        requested: u64,
        /// `SandboxConfig::memory_budget_bytes`, whole MiB.
        budget: u64,
    },
    /// The run's input was malformed (e.g. an extra file name with a path separator).
    #[error("invalid run input: {0}")]
    InvalidInput(String),
    /// The engine could not be configured (invalid pool sizes, platform limits).
    #[error("cannot build the wasm engine: {0}")]
    Engine(String),
    /// The artifact cache could not be used.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A run could not be set up or torn down for a host-side reason (not the guest's fault).
    #[error("sandbox internal error: {0}")]
    Internal(String),
}

impl SandboxError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    /// True when the error is the uploader's fault (bad bytes or wrong world), as opposed to a
    /// host problem; the API maps these to 400.
    pub fn is_invalid_block(&self) -> bool {
        matches!(
            self,
            Self::NotWasm(_) | Self::CoreModule | Self::InvalidComponent(_) | Self::WrongWorld(_) | Self::TooLarge(_)
        )
    }
}
