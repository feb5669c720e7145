//! Write [wasmhook](https://example.invalid/wasmhook) blocks in Rust.
//!
//! A block is a WASI preview-2 component that wasmhook runs once per webhook delivery. This
//! crate is all a block depends on: it hides the `wit-bindgen` glue for the
//! `wasmhook:block` world and gives you typed access to the delivery.
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//! use wasmhook_sdk::{Context, Error, log};
//!
//! #[derive(Deserialize)]
//! struct Order { id: String, amount_cents: u64 }
//!
//! #[derive(Serialize)]
//! struct Decision { order: String, approved: bool }
//!
//! #[wasmhook_sdk::block]
//! fn run(ctx: Context) -> Result<Decision, Error> {
//!     let order: Order = ctx.data()?;
//!     log::info!("checking order {}", order.id);
//!     if order.amount_cents == 0 {
//!         return Err(Error::with_code("empty_order", "an order must have an amount"));
//!     }
//!     Ok(Decision { order: order.id, approved: order.amount_cents < 100_000 })
//! }
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2` (crate type `cdylib`) and upload
//! the `.wasm` file.
//!
//! What the attribute does for you:
//! - routes [`log`] macros to the host's leveled log (level from the `LOG_LEVEL` env var,
//!   default `info`);
//! - turns every `Err` into a structured failure (message + optional code) instead of a trap;
//! - reports a panic's message to the host before the guest aborts, so the execution shows
//!   *why* it panicked;
//! - serializes your `Ok` value to the JSON output.
//!
//! The crate also compiles for the host target so that tests and doc examples build; only the
//! `wasm32-wasip2` build talks to a real host.

// The generated bindings name their own paths as `::wasmhook_sdk::…`, as a block would see them.
extern crate self as wasmhook_sdk;

pub mod api;
mod context;
mod entry;
mod error;
pub mod http;
pub mod kv;
mod logger;

pub use context::{Context, RequestInfo};
pub use error::Error;
pub use http::HttpResponse;
/// Marks the function that runs once per delivery: `fn(Context) -> Result<T, E>` where
/// `T: Serialize` and `E: Into<Error>`. See the crate docs for an example.
pub use wasmhook_sdk_macros::block;

pub use log;
pub use serde;
pub use serde_json;

/// Glue used by the `#[block]` expansion. Not a public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::entry::run_block;
    pub use wit_bindgen;

    /// Bindings generated from `wit/block.wit`, the one source of truth for the guest ABI.
    #[allow(missing_docs, missing_debug_implementations, unsafe_code, clippy::all)]
    pub mod bindings {
        wit_bindgen::generate!({
            path: "../wit",
            world: "block",
            pub_export_macro: true,
            export_macro_name: "export_block",
            default_bindings_module: "::wasmhook_sdk::__private::bindings",
            runtime_path: "::wasmhook_sdk::__private::wit_bindgen::rt",
        });
    }

    /// Bindings of `wasi:keyvalue` (the `kv` module's backend); only what a block calls is
    /// imported by its component.
    #[allow(missing_docs, missing_debug_implementations, unsafe_code, clippy::all)]
    pub mod keyvalue {
        wit_bindgen::generate!({
            path: "../wit",
            world: "wasi:keyvalue/imports@0.2.0-draft2",
            runtime_path: "::wasmhook_sdk::__private::wit_bindgen::rt",
        });
    }

    pub use bindings::Guest;
    pub use bindings::wasmhook::block::types::Failure;
}
