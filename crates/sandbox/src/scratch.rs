//! Per-run `/webhook` directories, pooled.
//!
//! Each run borrows a slot: a directory on tmpfs (when available) with an open `data.json`.
//! Setting a run up is one `pwrite`; after the run the data file is truncated to nothing, any
//! extra files are unlinked, and the slot goes back to the pool, so no payload outlives its
//! run (a block with `storePayload: false` must leave none behind). Measured on this machine
//! class, creating and removing a fresh directory per run cost ≈ 20 µs (mkdir, create,
//! unlink, rmdir), a fresh disk-backed temp dir ≈ 150 µs. The guest sees the directory
//! read-only, so it cannot leave anything behind for the next run; the pool holds at most one
//! slot per concurrent run.
//!
//! **Leftovers.** Each root holds a `.lock` file its process keeps locked (`flock`) for its
//! lifetime. A process killed with `kill -9` cannot remove its root, but the kernel releases
//! its lock, so the next sandbox created on the same base finds the root unlocked and removes
//! it — with the payloads of the killed process's last runs.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::SandboxError;

/// The root under which this sandbox creates run slots; removed when dropped.
#[derive(Debug)]
pub(crate) struct ScratchRoot {
    root: PathBuf,
    next: AtomicU64,
    idle: Mutex<Vec<Slot>>,
    /// Locked for this root's lifetime: proves to other processes that its owner is alive.
    _lock: File,
}

/// Name prefix of every root, so leftovers can be recognized.
const ROOT_PREFIX: &str = "wasmhook-";
/// The lock file in each root.
const LOCK_FILE: &str = ".lock";
/// A root without a lock file (made before roots had locks) is removed once older than this.
const UNLOCKED_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// A reusable run directory and its open data file.
#[derive(Debug)]
struct Slot {
    dir: PathBuf,
    data: File,
    /// Current length of the data file.
    len: u64,
}

/// One run's directory, returned to the pool (emptied) when dropped.
#[derive(Debug)]
pub(crate) struct RunDir<'a> {
    root: &'a ScratchRoot,
    slot: Option<Slot>,
    extra: Vec<PathBuf>,
}

/// Attempts at a fresh root name before giving up (a clash needs a 64-bit random collision).
const ROOT_ATTEMPTS: usize = 8;

impl ScratchRoot {
    pub(crate) fn create(base: Option<&Path>) -> Result<Self, SandboxError> {
        let base = match base {
            Some(base) => base.to_path_buf(),
            None => default_base(),
        };
        std::fs::create_dir_all(&base).map_err(|e| SandboxError::io(&base, e))?;
        let removed = remove_leftovers(&base);
        if removed > 0 {
            tracing::info!(removed, base = %base.display(), "removed scratch roots left by killed processes");
        }
        let (root, lock) = fresh_root(&base)?;
        Ok(Self { root, next: AtomicU64::new(0), idle: Mutex::new(Vec::new()), _lock: lock })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.root
    }

    /// A run directory holding `data_file_name` with `data`, plus `extra` files (name →
    /// contents). Names are host-chosen, checked by the caller to be plain file names.
    pub(crate) fn run_dir(
        &self,
        data_file_name: &str,
        data: &[u8],
        extra: &[(&str, &[u8])],
    ) -> Result<RunDir<'_>, SandboxError> {
        let pooled = self.idle.lock().pop();
        let slot = match pooled {
            Some(slot) => slot,
            None => self.new_slot(data_file_name)?,
        };
        let mut run = RunDir { root: self, slot: None, extra: Vec::with_capacity(extra.len()) };
        let mut slot = slot;
        let dir = slot.dir.clone();
        let len = data.len() as u64;
        // Slots are emptied after each run, so this only shrinks after a failed cleanup.
        let shrinks = len < slot.len;
        let write =
            slot.data.write_all_at(data, 0).and_then(|()| if shrinks { slot.data.set_len(len) } else { Ok(()) });
        slot.len = if write.is_ok() { len } else { u64::MAX };
        run.slot = Some(slot);
        write.map_err(|e| SandboxError::io(dir.join(data_file_name), e))?;
        for (name, contents) in extra {
            let file = dir.join(name);
            std::fs::write(&file, contents).map_err(|e| SandboxError::io(&file, e))?;
            run.extra.push(file);
        }
        Ok(run)
    }

    fn new_slot(&self, data_file_name: &str) -> Result<Slot, SandboxError> {
        let dir = self.root.join(self.next.fetch_add(1, Ordering::Relaxed).to_string());
        std::fs::create_dir(&dir).map_err(|e| SandboxError::io(&dir, e))?;
        let path = dir.join(data_file_name);
        let data = File::options()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)
            .map_err(|e| SandboxError::io(&path, e))?;
        Ok(Slot { dir, data, len: 0 })
    }
}

impl Drop for ScratchRoot {
    fn drop(&mut self) {
        self.idle.get_mut().clear();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

impl RunDir<'_> {
    pub(crate) fn path(&self) -> &Path {
        self.slot.as_ref().map_or(self.root.path(), |slot| slot.dir.as_path())
    }
}

impl Drop for RunDir<'_> {
    /// Empties the data file, removes the extra files and returns the slot to the pool; a
    /// slot that cannot be cleaned (or whose data write failed) is removed instead.
    fn drop(&mut self) {
        let Some(mut slot) = self.slot.take() else { return };
        let mut clean = slot.len != u64::MAX && slot.data.set_len(0).is_ok();
        slot.len = 0;
        for file in &self.extra {
            clean &= std::fs::remove_file(file).is_ok();
        }
        if clean {
            self.root.idle.lock().push(slot);
        } else {
            let _ = std::fs::remove_dir_all(&slot.dir);
        }
    }
}

fn default_base() -> PathBuf {
    let shm = Path::new("/dev/shm");
    let writable = shm.is_dir() && std::fs::metadata(shm).map(|m| !m.permissions().readonly()).unwrap_or(false);
    if writable { shm.to_path_buf() } else { std::env::temp_dir() }
}

/// Removes the roots under `base` whose owner is gone: their lock file is not locked (the
/// kernel released a dead process's lock), or they have none and are older than
/// [`UNLOCKED_GRACE`] (roots made before locks existed). Returns how many were removed.
fn remove_leftovers(base: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(base) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let is_root = entry.file_name().to_str().is_some_and(|name| name.starts_with(ROOT_PREFIX));
        if !is_root || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let root = entry.path();
        let abandoned = match File::open(root.join(LOCK_FILE)) {
            // Locked by its owner: alive. Our lock is dropped with `lock` at the end of the arm.
            Ok(lock) => lock.try_lock().is_ok(),
            Err(_) => entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|at| at.elapsed().is_ok_and(|age| age > UNLOCKED_GRACE)),
        };
        if abandoned && std::fs::remove_dir_all(&root).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Creates a new, empty root under `base`, private to this process's user (`/dev/shm` is
/// world-readable and payloads are private), with its lock file already locked.
///
/// The root is built under a staging name and renamed into place, so no other process ever
/// sees a `wasmhook-*` root whose lock is not yet held (it would take it for a dead one).
/// The name is random: it was once `wasmhook-{pid}-{n}`, and a process that got the pid of a
/// `kill -9`ed one found slot `0` already there and failed its runs (`File exists`).
fn fresh_root(base: &Path) -> Result<(PathBuf, File), SandboxError> {
    use std::os::unix::fs::DirBuilderExt;
    for _ in 0..ROOT_ATTEMPTS {
        let id = format!("{}-{:016x}", std::process::id(), rand::random::<u64>());
        let (staging, root) = (base.join(format!(".staging-{id}")), base.join(format!("{ROOT_PREFIX}{id}")));
        match std::fs::DirBuilder::new().mode(0o700).create(&staging) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(SandboxError::io(&staging, e)),
        }
        let lock_path = staging.join(LOCK_FILE);
        let lock = File::create(&lock_path).map_err(|e| SandboxError::io(&lock_path, e))?;
        lock.try_lock().map_err(|e| SandboxError::io(&lock_path, std::io::Error::other(e.to_string())))?;
        if root.exists() {
            let _ = std::fs::remove_dir_all(&staging);
            continue;
        }
        std::fs::rename(&staging, &root).map_err(|e| SandboxError::io(&root, e))?;
        return Ok((root, lock));
    }
    Err(SandboxError::Internal(format!(
        "no fresh scratch directory name under {} after {ROOT_ATTEMPTS} tries",
        base.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// #13 item 18: a killed process's root (its lock released by the kernel) is removed by
    /// the next sandbox on the same base; a live one's is kept, as is a young root without a
    /// lock file (only roots from before locks lack one).
    #[test]
    fn roots_of_dead_processes_are_removed_and_live_ones_kept() {
        let base = tempfile::tempdir().expect("tempdir");
        let live = ScratchRoot::create(Some(base.path())).expect("live root");
        let dead = base.path().join(format!("{ROOT_PREFIX}1-dead"));
        std::fs::create_dir_all(dead.join("0")).expect("dead root");
        std::fs::write(dead.join(LOCK_FILE), b"").expect("its lock file, unlocked");
        std::fs::write(dead.join("0/data.json"), b"{\"card\": \"4242\"}").expect("its last payload");
        let fresh_unlocked = base.path().join(format!("{ROOT_PREFIX}2-young"));
        std::fs::create_dir(&fresh_unlocked).expect("a young root without a lock file");
        let other = base.path().join("not-ours");
        std::fs::create_dir(&other).expect("someone else's dir");

        let next = ScratchRoot::create(Some(base.path())).expect("next root");
        assert!(!dead.exists(), "the dead process's root and payload are gone");
        assert!(live.path().exists(), "a live process's root is kept");
        assert!(fresh_unlocked.exists(), "a young root without a lock file is kept");
        assert!(other.exists(), "only our roots are touched");
        drop(next);
    }

    #[test]
    fn a_run_leaves_no_payload_in_its_slot() {
        let root = ScratchRoot::create(Some(&std::env::temp_dir())).expect("scratch root");
        let run = root.run_dir("data.json", b"{\"secret\": \"payload\"}", &[]).expect("run dir");
        let path = run.path().join("data.json");
        drop(run);
        assert_eq!(std::fs::read(&path).expect("read"), b"", "emptied when the run ends");
    }

    #[test]
    fn a_root_left_by_a_killed_process_with_our_pid_does_not_break_runs() {
        let base = tempfile::tempdir().expect("tempdir");
        // What a `kill -9`ed process with this pid left behind under the old naming scheme.
        for n in 0..256 {
            let stale = base.path().join(format!("wasmhook-{}-{n}", std::process::id())).join("0");
            std::fs::create_dir_all(&stale).expect("stale slot");
        }
        let root = ScratchRoot::create(Some(base.path())).expect("scratch root");
        let run = root.run_dir("data.json", b"{}", &[]).expect("a run dir despite the leftovers");
        assert_eq!(std::fs::read(run.path().join("data.json")).expect("read"), b"{}");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(root.path()).expect("root").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "payloads stay private to this user");
    }

    #[test]
    fn slots_are_reused_emptied_and_removed_with_the_root() {
        let root = ScratchRoot::create(Some(&std::env::temp_dir())).expect("scratch root");
        let first = root.run_dir("data.json", b"{\"long\": \"payload\"}", &[("body", b"raw")]).expect("run dir");
        let path = first.path().to_path_buf();
        assert_eq!(std::fs::read(path.join("data.json")).expect("read"), b"{\"long\": \"payload\"}");
        assert_eq!(std::fs::read(path.join("body")).expect("read"), b"raw");
        drop(first);
        assert!(!path.join("body").exists(), "extra files are removed");

        let second = root.run_dir("data.json", b"{}", &[]).expect("run dir");
        assert_eq!(second.path(), path, "the slot is reused");
        assert_eq!(std::fs::read(path.join("data.json")).expect("read"), b"{}", "shorter data leaves no tail");
        drop(second);
        let root_path = root.path().to_path_buf();
        drop(root);
        assert!(!root_path.exists());
    }
}
