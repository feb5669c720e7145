//! Host bindings for `wit/block.wit`, generated in this one place.

#![allow(missing_docs, missing_debug_implementations, clippy::all)]

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "block",
    exports: { default: async },
});

pub(crate) use self::wasmhook::block::logging::Level;
pub(crate) use self::wasmhook::block::types::Failure as GuestFailure;
