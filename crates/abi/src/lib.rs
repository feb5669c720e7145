//! The contract between the wasmhook host and a block, spelled once: what the guest finds in
//! its environment and under `/webhook`, and the conventions its output and errors follow.
//!
//! The host (`wasmhook-sandbox`, `wasmhook-server`) writes by these names and the Rust guest
//! SDK (`wasmhook-sdk`) reads by them, so the two cannot drift apart. The Python and
//! JavaScript SDKs spell the same names; README's "Guest contract" lists them for every
//! language.

#![no_std]
#![warn(missing_docs)]

pub mod env;
pub mod files;
pub mod output;
