//! `wasi:filesystem` (`types` and `preopens`, every 0.2.x) over a run's [`WebhookDir`].
//!
//! Linked over `wasmtime-wasi`'s own filesystem (the linker shadows it), so the guest's one
//! preopen is `/webhook` from memory. Streams are `wasmtime-wasi`'s in-memory pipes over the
//! file's `Bytes`, so `wasi:io` (reads, polls) is unchanged.

use wasmtime::component::{HasSelf, Linker, Resource};
use wasmtime_wasi::p2::bindings::clocks::wall_clock::Datetime;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi_io::streams::{DynInputStream, DynOutputStream};

use super::{Node, PathError};
use crate::host_state::RunState;

mod bindings {
    #![allow(missing_docs, missing_debug_implementations, clippy::all)]
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "wasi:filesystem/imports@0.2.12",
        require_store_data_send: true,
        with: {
            "wasi:io/poll": wasmtime_wasi_io::bindings::wasi::io::poll,
            "wasi:io/streams": wasmtime_wasi_io::bindings::wasi::io::streams,
            "wasi:io/error": wasmtime_wasi_io::bindings::wasi::io::error,
            "wasi:clocks/wall-clock": wasmtime_wasi::p2::bindings::clocks::wall_clock,
            "wasi:filesystem/types.descriptor": super::Descriptor,
            "wasi:filesystem/types.directory-entry-stream": super::Entries,
        },
    });
}

use bindings::wasi::filesystem::{preopens, types};
use types::{
    Advice, DescriptorFlags, DescriptorStat, DescriptorType, DirectoryEntry, ErrorCode, Filesize, MetadataHashValue,
    NewTimestamp, OpenFlags, PathFlags,
};

/// An open `/webhook` or file of it.
#[derive(Debug)]
pub struct Descriptor(Node);

/// A listing of `/webhook` in progress: the index of the next name.
#[derive(Debug)]
pub struct Entries(usize);

/// The guest's name for the directory.
const PREOPEN: &str = wasmhook_abi::files::GUEST_DIR;

/// Replaces `wasmtime-wasi`'s filesystem in `linker` (added before this) with [`WebhookDir`].
pub(crate) fn add_to_linker(linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let added = types::add_to_linker::<RunState, HasSelf<RunState>>(linker, |state| state)
        .and_then(|()| preopens::add_to_linker::<RunState, HasSelf<RunState>>(linker, |state| state));
    linker.allow_shadowing(false);
    added
}

impl From<PathError> for ErrorCode {
    fn from(error: PathError) -> Self {
        match error {
            PathError::NoEntry => Self::NoEntry,
            PathError::NotDirectory => Self::NotDirectory,
            PathError::Escapes => Self::NotPermitted,
        }
    }
}

impl RunState {
    fn node(&self, fd: &Resource<Descriptor>) -> Result<Node, ErrorCode> {
        self.table.get(fd).map(|d| d.0).map_err(|_| ErrorCode::BadDescriptor)
    }

    /// The file behind `fd`: `is-directory` for `/webhook` itself.
    fn file(&self, fd: &Resource<Descriptor>) -> Result<bytes::Bytes, ErrorCode> {
        match self.node(fd)? {
            Node::Dir => Err(ErrorCode::IsDirectory),
            Node::File(index) => self.webhook.bytes(index).cloned().ok_or(ErrorCode::BadDescriptor),
        }
    }

    fn at(&self, fd: &Resource<Descriptor>, path: &str) -> Result<Node, ErrorCode> {
        Ok(self.webhook.resolve(self.node(fd)?, path)?)
    }

    fn stat_of(&self, node: Node) -> DescriptorStat {
        let (type_, size) = match node {
            Node::Dir => (DescriptorType::Directory, 0),
            Node::File(index) => (DescriptorType::RegularFile, self.webhook.bytes(index).map_or(0, |b| b.len() as u64)),
        };
        // wasmtime-wasi's own conversion; a clock before 1970 shows as 1970.
        let at = Datetime::try_from(self.webhook.created()).unwrap_or(Datetime { seconds: 0, nanoseconds: 0 });
        DescriptorStat {
            type_,
            link_count: 1,
            size,
            data_access_timestamp: Some(at),
            data_modification_timestamp: Some(at),
            status_change_timestamp: Some(at),
        }
    }
}

/// Distinct per node, the same for every descriptor of it (what `is-same-object` compares).
fn hash_of(node: Node) -> MetadataHashValue {
    let lower = match node {
        Node::Dir => 0,
        Node::File(index) => index as u64 + 1,
    };
    MetadataHashValue { lower, upper: 0x7765_6268_6f6f_6b00 }
}

fn offset(value: Filesize, len: usize) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX).min(len)
}

impl types::Host for RunState {
    fn filesystem_error_code(&mut self, _err: Resource<wasmtime::Error>) -> Option<ErrorCode> {
        None // in-memory streams never fail
    }
}

impl preopens::Host for RunState {
    fn get_directories(&mut self) -> Vec<(Resource<Descriptor>, String)> {
        // A full table traps on the guest's next push; an empty list here is the same answer.
        self.table.push(Descriptor(Node::Dir)).map(|dir| vec![(dir, PREOPEN.to_owned())]).unwrap_or_default()
    }
}

impl types::HostDescriptor for RunState {
    fn read_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
        at: Filesize,
    ) -> Result<Resource<DynInputStream>, ErrorCode> {
        let bytes = self.file(&fd)?;
        let rest = bytes.slice(offset(at, bytes.len())..);
        let stream: DynInputStream = Box::new(MemoryInputPipe::new(rest));
        self.table.push(stream).map_err(|_| ErrorCode::InsufficientMemory)
    }

    fn write_via_stream(
        &mut self,
        _: Resource<Descriptor>,
        _: Filesize,
    ) -> Result<Resource<DynOutputStream>, ErrorCode> {
        Err(ErrorCode::ReadOnly)
    }

    fn append_via_stream(&mut self, _: Resource<Descriptor>) -> Result<Resource<DynOutputStream>, ErrorCode> {
        Err(ErrorCode::ReadOnly)
    }

    fn advise(&mut self, fd: Resource<Descriptor>, _: Filesize, _: Filesize, _: Advice) -> Result<(), ErrorCode> {
        self.file(&fd).map(drop)
    }

    fn sync_data(&mut self, fd: Resource<Descriptor>) -> Result<(), ErrorCode> {
        self.node(&fd).map(drop)
    }

    fn get_flags(&mut self, fd: Resource<Descriptor>) -> Result<DescriptorFlags, ErrorCode> {
        self.node(&fd).map(|_| DescriptorFlags::READ)
    }

    fn get_type(&mut self, fd: Resource<Descriptor>) -> Result<DescriptorType, ErrorCode> {
        self.node(&fd).map(|node| self.stat_of(node).type_)
    }

    fn set_size(&mut self, _: Resource<Descriptor>, _: Filesize) -> Result<(), ErrorCode> {
        Err(ErrorCode::ReadOnly)
    }

    fn set_times(&mut self, _: Resource<Descriptor>, _: NewTimestamp, _: NewTimestamp) -> Result<(), ErrorCode> {
        Err(ErrorCode::ReadOnly)
    }

    fn read(&mut self, fd: Resource<Descriptor>, length: Filesize, at: Filesize) -> Result<(Vec<u8>, bool), ErrorCode> {
        let bytes = self.file(&fd)?;
        let start = offset(at, bytes.len());
        let end = start.saturating_add(offset(length, bytes.len())).min(bytes.len());
        Ok((bytes[start..end].to_vec(), end == bytes.len()))
    }

    fn write(&mut self, _: Resource<Descriptor>, _: Vec<u8>, _: Filesize) -> Result<Filesize, ErrorCode> {
        Err(ErrorCode::ReadOnly)
    }

    fn read_directory(&mut self, fd: Resource<Descriptor>) -> Result<Resource<Entries>, ErrorCode> {
        match self.node(&fd)? {
            Node::Dir => self.table.push(Entries(0)).map_err(|_| ErrorCode::InsufficientMemory),
            Node::File(_) => Err(ErrorCode::NotDirectory),
        }
    }

    fn sync(&mut self, fd: Resource<Descriptor>) -> Result<(), ErrorCode> {
        self.node(&fd).map(drop)
    }

    fn create_directory_at(&mut self, _: Resource<Descriptor>, _: String) -> Result<(), ErrorCode> {
        Err(ErrorCode::ReadOnly)
    }

    fn stat(&mut self, fd: Resource<Descriptor>) -> Result<DescriptorStat, ErrorCode> {
        self.node(&fd).map(|node| self.stat_of(node))
    }

    fn stat_at(&mut self, fd: Resource<Descriptor>, _: PathFlags, path: String) -> Result<DescriptorStat, ErrorCode> {
        self.at(&fd, &path).map(|node| self.stat_of(node))
    }

    fn set_times_at(
        &mut self,
        _: Resource<Descriptor>,
        _: PathFlags,
        _: String,
        _: NewTimestamp,
        _: NewTimestamp,
    ) -> Result<(), ErrorCode> {
        Err(ErrorCode::ReadOnly)
    }

    fn link_at(
        &mut self,
        _: Resource<Descriptor>,
        _: PathFlags,
        _: String,
        _: Resource<Descriptor>,
        _: String,
    ) -> Result<(), ErrorCode> {
        Err(ErrorCode::ReadOnly)
    }

    fn open_at(
        &mut self,
        fd: Resource<Descriptor>,
        _: PathFlags,
        path: String,
        open: OpenFlags,
        flags: DescriptorFlags,
    ) -> Result<Resource<Descriptor>, ErrorCode> {
        let node = self.at(&fd, &path);
        if open.contains(OpenFlags::CREATE) && open.contains(OpenFlags::EXCLUSIVE) && node.is_ok() {
            return Err(ErrorCode::Exist);
        }
        if open.intersects(OpenFlags::CREATE | OpenFlags::TRUNCATE)
            || flags.intersects(DescriptorFlags::WRITE | DescriptorFlags::MUTATE_DIRECTORY)
        {
            return Err(ErrorCode::ReadOnly);
        }
        let node = node?;
        if open.contains(OpenFlags::DIRECTORY) && node != Node::Dir {
            return Err(ErrorCode::NotDirectory);
        }
        self.table.push(Descriptor(node)).map_err(|_| ErrorCode::InsufficientMemory)
    }

    fn readlink_at(&mut self, fd: Resource<Descriptor>, path: String) -> Result<String, ErrorCode> {
        self.at(&fd, &path).and(Err(ErrorCode::Invalid)) // nothing here is a symbolic link
    }

    fn remove_directory_at(&mut self, _: Resource<Descriptor>, _: String) -> Result<(), ErrorCode> {
        Err(ErrorCode::ReadOnly)
    }

    fn rename_at(
        &mut self,
        _: Resource<Descriptor>,
        _: String,
        _: Resource<Descriptor>,
        _: String,
    ) -> Result<(), ErrorCode> {
        Err(ErrorCode::ReadOnly)
    }

    fn symlink_at(&mut self, _: Resource<Descriptor>, _: String, _: String) -> Result<(), ErrorCode> {
        Err(ErrorCode::ReadOnly)
    }

    fn unlink_file_at(&mut self, _: Resource<Descriptor>, _: String) -> Result<(), ErrorCode> {
        Err(ErrorCode::ReadOnly)
    }

    fn is_same_object(&mut self, fd: Resource<Descriptor>, other: Resource<Descriptor>) -> bool {
        matches!((self.node(&fd), self.node(&other)), (Ok(a), Ok(b)) if a == b)
    }

    fn metadata_hash(&mut self, fd: Resource<Descriptor>) -> Result<MetadataHashValue, ErrorCode> {
        self.node(&fd).map(hash_of)
    }

    fn metadata_hash_at(
        &mut self,
        fd: Resource<Descriptor>,
        _: PathFlags,
        path: String,
    ) -> Result<MetadataHashValue, ErrorCode> {
        self.at(&fd, &path).map(hash_of)
    }

    fn drop(&mut self, fd: Resource<Descriptor>) -> wasmtime::Result<()> {
        self.table.delete(fd)?;
        Ok(())
    }
}

impl types::HostDirectoryEntryStream for RunState {
    fn read_directory_entry(&mut self, entries: Resource<Entries>) -> Result<Option<DirectoryEntry>, ErrorCode> {
        let next = self.table.get_mut(&entries).map_err(|_| ErrorCode::BadDescriptor)?;
        let index = next.0;
        next.0 += 1;
        Ok(self
            .webhook
            .names()
            .nth(index)
            .map(|name| DirectoryEntry { type_: DescriptorType::RegularFile, name: name.to_owned() }))
    }

    fn drop(&mut self, entries: Resource<Entries>) -> wasmtime::Result<()> {
        self.table.delete(entries)?;
        Ok(())
    }
}
