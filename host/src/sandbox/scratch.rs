//! Per-run `/webhook` directories.
//!
//! Each run gets a fresh directory holding `data.json` (and any extra files), pre-opened
//! read-only in the guest. It lives on tmpfs when available: a create+write+unlink there costs
//! ≈ 8 µs, where a disk-backed temp dir with `remove_dir_all` costs ≈ 150 µs.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::SandboxError;

/// The root under which this sandbox creates run directories; removed when dropped.
#[derive(Debug)]
pub(crate) struct ScratchRoot {
    root: PathBuf,
    next: AtomicU64,
}

/// One run's directory; removed (with its files) when dropped.
#[derive(Debug)]
pub(crate) struct RunDir {
    path: PathBuf,
    files: Vec<PathBuf>,
}

static INSTANCE: AtomicU64 = AtomicU64::new(0);

impl ScratchRoot {
    pub(crate) fn create(base: Option<&Path>) -> Result<Self, SandboxError> {
        let base = match base {
            Some(base) => base.to_path_buf(),
            None => default_base(),
        };
        let unique = format!("wasmhook-{}-{}", std::process::id(), INSTANCE.fetch_add(1, Ordering::Relaxed));
        let root = base.join(unique);
        std::fs::create_dir_all(&root).map_err(|e| SandboxError::io(&root, e))?;
        Ok(Self { root, next: AtomicU64::new(0) })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.root
    }

    /// Creates a run directory holding `files` (name → contents). Names are host-chosen
    /// constants such as `data.json`, never user input.
    pub(crate) fn run_dir(&self, files: &[(&str, &[u8])]) -> Result<RunDir, SandboxError> {
        let path = self.root.join(self.next.fetch_add(1, Ordering::Relaxed).to_string());
        std::fs::create_dir(&path).map_err(|e| SandboxError::io(&path, e))?;
        let mut dir = RunDir { path, files: Vec::with_capacity(files.len()) };
        for (name, contents) in files {
            let file = dir.path.join(name);
            std::fs::write(&file, contents).map_err(|e| SandboxError::io(&file, e))?;
            dir.files.push(file);
        }
        Ok(dir)
    }
}

impl Drop for ScratchRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

impl RunDir {
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunDir {
    /// Unlinks the known files then the directory: cheaper than `remove_dir_all`, which reads
    /// the directory back. The guest cannot add files (the pre-open is read-only).
    fn drop(&mut self) {
        for file in &self.files {
            let _ = std::fs::remove_file(file);
        }
        if std::fs::remove_dir(&self.path).is_err() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn default_base() -> PathBuf {
    let shm = Path::new("/dev/shm");
    let writable = shm.is_dir() && std::fs::metadata(shm).map(|m| !m.permissions().readonly()).unwrap_or(false);
    if writable { shm.to_path_buf() } else { std::env::temp_dir() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_dirs_are_created_and_removed() {
        let root = ScratchRoot::create(Some(&std::env::temp_dir())).expect("scratch root");
        let dir = root.run_dir(&[("data.json", b"{}")]).expect("run dir");
        let path = dir.path().to_path_buf();
        assert_eq!(std::fs::read(path.join("data.json")).expect("read"), b"{}");
        drop(dir);
        assert!(!path.exists());
        let root_path = root.path().to_path_buf();
        drop(root);
        assert!(!root_path.exists());
    }
}
