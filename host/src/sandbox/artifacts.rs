//! Compiled components on disk, so a restart deserializes (≈ ms) instead of recompiling
//! (≈ 100 ms–1 s per block).
//!
//! File name: `{sha256 of the wasm}-{engine key}.cwasm`, where the engine key hashes
//! `Engine::precompile_compatibility_hash` (wasmtime version + every setting that changes
//! generated code, e.g. fuel metering). A file for another engine is simply never looked up.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use super::SandboxError;
use super::digest::BlockDigest;

#[derive(Debug)]
pub(crate) struct ArtifactCache {
    dir: PathBuf,
    engine_key: String,
}

impl ArtifactCache {
    pub(crate) fn open(dir: &Path, engine: &Engine) -> Result<Self, SandboxError> {
        std::fs::create_dir_all(dir).map_err(|e| SandboxError::io(dir, e))?;
        // SipHash with fixed keys: stable for a given toolchain, which is pinned; a change
        // only costs one recompile per block.
        let mut hasher = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(Self { dir: dir.to_path_buf(), engine_key: format!("{:016x}", hasher.finish()) })
    }

    fn path(&self, digest: &BlockDigest) -> PathBuf {
        self.dir.join(format!("{digest}-{}.cwasm", self.engine_key))
    }

    /// The compiled component for `digest`, if this engine compiled it before.
    ///
    /// An unreadable or incompatible file is ignored (and the caller recompiles) rather than
    /// failing the run.
    pub(crate) fn load(&self, engine: &Engine, digest: &BlockDigest) -> Option<Component> {
        let path = self.path(digest);
        if !path.exists() {
            return None;
        }
        match deserialize(engine, &path) {
            Ok(component) => Some(component),
            Err(err) => {
                tracing::warn!(path = %path.display(), error = %err, "ignoring unusable compiled artifact");
                None
            }
        }
    }

    /// Stores a compiled component atomically (write to a temp file, then rename), so a crash
    /// never leaves a truncated artifact under the final name.
    pub(crate) fn store(&self, digest: &BlockDigest, component: &Component) -> Result<(), SandboxError> {
        let bytes = component
            .serialize()
            .map_err(|e| SandboxError::Internal(format!("cannot serialize a component: {e:#}")))?;
        let path = self.path(digest);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, &bytes).map_err(|e| SandboxError::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| SandboxError::io(&path, e))
    }
}

/// Maps a compiled artifact into memory.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: `Component::deserialize_file` trusts the file to be wasmtime's own output. Files
    // under the cache dir are written only by `ArtifactCache::store` (atomically renamed into
    // place) from components this process compiled, and are named after this engine's
    // compatibility hash; wasmtime still checks the header and engine settings on load. The
    // cache dir must not be writable by anyone who may not run native code as this user.
    unsafe { Component::deserialize_file(engine, path) }
}
