//! The run's `/webhook` directory, served from host memory.
//!
//! A guest sees one read-only, flat directory: the data file and the run's extra files (a raw
//! body, the captured request). They were once files on tmpfs, in pooled per-run slots: a
//! `pwrite`, a `ftruncate` and an unlink per run on the host, plus the guest's own `openat`,
//! `statx`, reads and `close` through `cap-std`, ≈ 10 syscalls and 8 % of the kernel's time in
//! the #20 profile. Here the files are the request's own `Bytes` (no copy), the directory is a
//! list, and `wasi:filesystem` for it is a few lookups (`host.rs`). Nothing of a payload
//! touches the host filesystem, so nothing can outlive its run or be left by a killed process.
//!
//! Only `/webhook` exists: the guest has no other preopen, so no other path resolves, and
//! `..` out of `/webhook` is `not-permitted` (as `cap-std` answered). Every change — create,
//! write, truncate, rename, remove, links, times — is `read-only` (`EROFS`).

mod host;

use bytes::Bytes;

pub(crate) use host::add_to_linker;

/// One run's files, by plain name; the first is the data file.
#[derive(Debug, Clone)]
pub(crate) struct WebhookDir {
    files: Vec<(String, Bytes)>,
    /// Every timestamp the guest sees (the run's start, wall clock).
    created: std::time::SystemTime,
}

/// What a descriptor or a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Node {
    /// `/webhook` itself.
    Dir,
    /// A file, by its index in [`WebhookDir::files`].
    File(usize),
}

/// Why a path does not name a node (mapped to WASI's error codes in `host.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathError {
    /// No such name.
    NoEntry,
    /// A file used as a directory (`data.json/x`).
    NotDirectory,
    /// Absolute, or `..` out of `/webhook`.
    Escapes,
}

impl WebhookDir {
    /// The directory of one run: `data` under `data_name`, then `extra` (plain names, checked
    /// by the caller).
    pub(crate) fn new(data_name: &str, data: Bytes, extra: Vec<(String, Bytes)>) -> Self {
        let mut files = Vec::with_capacity(extra.len() + 1);
        files.push((data_name.to_owned(), data));
        files.extend(extra);
        Self { files, created: std::time::SystemTime::now() }
    }

    /// The node `path` names, relative to `from` (WASI paths are always relative to a
    /// descriptor; an absolute one is an escape).
    pub(crate) fn resolve(&self, from: Node, path: &str) -> Result<Node, PathError> {
        if path.is_empty() {
            return Err(PathError::NoEntry);
        }
        if path.starts_with('/') {
            return Err(PathError::Escapes);
        }
        let mut at = from;
        for part in path.split('/') {
            if matches!(at, Node::File(_)) {
                return Err(PathError::NotDirectory);
            }
            at = match part {
                "" | "." => at,
                ".." => return Err(PathError::Escapes),
                name => self.lookup(name).ok_or(PathError::NoEntry)?,
            };
        }
        Ok(at)
    }

    fn lookup(&self, name: &str) -> Option<Node> {
        self.files.iter().position(|(file, _)| file == name).map(Node::File)
    }

    /// A file's bytes.
    pub(crate) fn bytes(&self, index: usize) -> Option<&Bytes> {
        self.files.get(index).map(|(_, bytes)| bytes)
    }

    /// Names in directory order.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|(name, _)| name.as_str())
    }

    pub(crate) fn created(&self) -> std::time::SystemTime {
        self.created
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> WebhookDir {
        WebhookDir::new("data.json", Bytes::from_static(b"{}"), vec![("body.raw".into(), Bytes::from_static(b"x"))])
    }

    #[test]
    fn paths_resolve_inside_the_directory_only() {
        let dir = dir();
        assert_eq!(dir.resolve(Node::Dir, "data.json"), Ok(Node::File(0)));
        assert_eq!(dir.resolve(Node::Dir, "./body.raw"), Ok(Node::File(1)));
        assert_eq!(dir.resolve(Node::Dir, "."), Ok(Node::Dir));
        assert_eq!(dir.resolve(Node::Dir, ".//data.json"), Ok(Node::File(0)));
        assert_eq!(dir.resolve(Node::Dir, "missing"), Err(PathError::NoEntry));
        assert_eq!(dir.resolve(Node::Dir, ""), Err(PathError::NoEntry));
        assert_eq!(dir.resolve(Node::Dir, "data.json/"), Err(PathError::NotDirectory));
        assert_eq!(dir.resolve(Node::Dir, "data.json/.."), Err(PathError::NotDirectory));
        assert_eq!(dir.resolve(Node::File(0), "x"), Err(PathError::NotDirectory));
        for escape in ["..", "../etc/passwd", "./../x", "/etc/passwd", "/"] {
            assert_eq!(dir.resolve(Node::Dir, escape), Err(PathError::Escapes), "{escape}");
        }
    }

    #[test]
    fn the_data_file_comes_first_and_bytes_are_shared() {
        let data = Bytes::from(vec![7u8; 1 << 20]);
        let dir = WebhookDir::new("data.json", data.clone(), Vec::new());
        assert_eq!(dir.names().collect::<Vec<_>>(), ["data.json"]);
        assert_eq!(dir.bytes(0).map(|b| b.as_ptr()), Some(data.as_ptr()), "no copy of the payload");
        assert!(dir.bytes(1).is_none());
    }
}
