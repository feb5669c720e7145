//! Turning bytes into a runnable block: header check, compile (or load the artifact), shape
//! detection and `InstancePre` — all done once per block version, never per run.

use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker};
use wasmtime_wasi::p2::bindings::CommandPre;

use super::SandboxError;
use super::bindings::BlockPre;
use super::footprint::Footprint;
use super::host_state::RunState;
use wasmhook_domain::{BlockDigest, BlockShape};

/// A validated, compiled and pre-linked block version, ready to instantiate in microseconds.
pub struct PreparedBlock {
    digest: BlockDigest,
    footprint: Footprint,
    pub(crate) pre: PreparedPre,
}

pub(crate) enum PreparedPre {
    Block(BlockPre<RunState>),
    Command(CommandPre<RunState>),
}

impl PreparedBlock {
    /// The sha256 of the block's wasm bytes.
    pub fn digest(&self) -> BlockDigest {
        self.digest
    }

    /// What one run takes from the pooling allocator.
    pub fn footprint(&self) -> Footprint {
        self.footprint
    }

    /// Whether this is a typed block or a command.
    pub fn shape(&self) -> BlockShape {
        match self.pre {
            PreparedPre::Block(_) => BlockShape::Block,
            PreparedPre::Command(_) => BlockShape::Command,
        }
    }

    pub(crate) fn link(
        engine: &Engine,
        linker: &Linker<RunState>,
        component: &Component,
        digest: BlockDigest,
        footprint: Footprint,
    ) -> Result<Self, SandboxError> {
        let shape = detect_shape(engine, component)?;
        let instance_pre = linker.instantiate_pre(component).map_err(|e| {
            SandboxError::WrongWorld(format!(
                "it imports something wasmhook does not provide (blocks get WASI preview 2 \
                 0.2.x with sockets denied, wasi:http with outbound requests under the block's \
                 network.allowedHosts, and wasmhook:block/logging): {e:#}"
            ))
        })?;
        let pre = match shape {
            BlockShape::Block => PreparedPre::Block(BlockPre::new(instance_pre).map_err(|e| {
                SandboxError::WrongWorld(format!("its `run` export does not match wit/block.wit: {e:#}"))
            })?),
            BlockShape::Command => PreparedPre::Command(CommandPre::new(instance_pre).map_err(|e| {
                SandboxError::WrongWorld(format!("its `wasi:cli/run` export is not the WASI p2 one: {e:#}"))
            })?),
        };
        Ok(Self { digest, footprint, pre })
    }
}

impl std::fmt::Debug for PreparedBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedBlock")
            .field("digest", &self.digest)
            .field("shape", &self.shape())
            .field("footprint", &self.footprint)
            .finish()
    }
}

/// Rejects what is not a component before handing bytes to the compiler, with a message that
/// says what the bytes are instead.
pub(crate) fn check_header(bytes: &[u8]) -> Result<(), SandboxError> {
    const MAGIC: &[u8] = b"\0asm";
    const CORE_VERSION: [u8; 4] = [1, 0, 0, 0];
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Err(SandboxError::NotWasm(format!(
            "{} bytes without the `\\0asm` magic number (was the upload a .wasm file?)",
            bytes.len()
        )));
    }
    if bytes[4..8] == CORE_VERSION {
        return Err(SandboxError::CoreModule);
    }
    Ok(())
}

fn detect_shape(engine: &Engine, component: &Component) -> Result<BlockShape, SandboxError> {
    let ty = component.component_type();
    let mut names = Vec::new();
    for (name, item) in ty.exports(engine) {
        if name == "run" && matches!(item.ty, ComponentItem::ComponentFunc(_)) {
            return Ok(BlockShape::Block);
        }
        if name.starts_with("wasi:cli/run@0.2.") {
            return Ok(BlockShape::Command);
        }
        names.push(name.to_owned());
    }
    Err(SandboxError::WrongWorld(format!(
        "it exports neither `run` (the wasmhook:block world) nor `wasi:cli/run` (a command); \
         its exports are [{}]",
        names.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_check_names_what_the_bytes_are() {
        assert!(matches!(check_header(b"hello world"), Err(SandboxError::NotWasm(_))));
        assert!(matches!(check_header(b"\0asm\x01\0\0\0"), Err(SandboxError::CoreModule)));
        assert!(check_header(b"\0asm\x0d\0\x01\0").is_ok());
    }
}
