//! Compiled components on disk, so a restart deserializes (≈ ms) instead of recompiling
//! (≈ 100 ms–1 s per block).
//!
//! File name: `{sha256 of the wasm}-{engine key}.cwasm`, where the engine key hashes
//! `Engine::precompile_compatibility_hash` (wasmtime version + every setting that changes
//! generated code, e.g. fuel metering). A file for another engine is simply never looked up.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::Engine;
use wasmtime::component::Component;

use super::SandboxError;
use super::footprint::Footprint;
use wasmhook_domain::BlockDigest;

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

    /// The component's pool footprint, kept beside its artifact (counted from the bytes, which a
    /// restart does not have).
    fn footprint_path(&self, digest: &BlockDigest) -> PathBuf {
        self.dir.join(format!("{digest}.footprint.json"))
    }

    /// The compiled component for `digest` and its footprint, if this engine compiled it
    /// before.
    ///
    /// An unreadable or incompatible file, or a missing footprint (an artifact of an older
    /// version), is ignored (and the caller recompiles) rather than failing the run.
    pub(crate) fn load(&self, engine: &Engine, digest: &BlockDigest) -> Option<(Component, Footprint)> {
        let path = self.path(digest);
        if !path.exists() {
            return None;
        }
        let footprint_path = self.footprint_path(digest);
        let footprint = std::fs::read(&footprint_path).ok().and_then(|b| serde_json::from_slice(&b).ok());
        let Some(footprint) = footprint else {
            tracing::warn!(path = %footprint_path.display(), "artifact without a readable footprint: recompiling");
            return None;
        };
        match deserialize(engine, &path) {
            Ok(component) => Some((component, footprint)),
            Err(err) => {
                tracing::warn!(path = %path.display(), error = %err, "ignoring unusable compiled artifact");
                None
            }
        }
    }

    /// Stores a compiled component and its footprint, each atomically (write to a temp file,
    /// then rename; the footprint first), so a crash never leaves a truncated file under a
    /// final name nor an artifact without its footprint.
    pub(crate) fn store(
        &self,
        digest: &BlockDigest,
        component: &Component,
        footprint: &Footprint,
    ) -> Result<(), SandboxError> {
        let bytes = component
            .serialize()
            .map_err(|e| SandboxError::Internal(format!("cannot serialize a component: {e:#}")))?;
        let counts = serde_json::to_vec(footprint)
            .map_err(|e| SandboxError::Internal(format!("cannot encode a footprint: {e}")))?;
        write_atomically(&self.footprint_path(digest), &counts)?;
        write_atomically(&self.path(digest), &bytes)
    }
}

/// Writes `bytes` to a temp file unique to this write, then renames it into place: two uploads
/// of the same bytes at once (same digest, same process) must not write into one temp file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), SandboxError> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| SandboxError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| SandboxError::io(path, e))
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
