//! wasmhook: a self-hosted engine that turns webhooks into sandboxed runs of user-uploaded
//! WebAssembly components.
//!
//! Data flows one way: api → auth → executor → sandbox → store. This crate is the server;
//! [`sandbox`] is the wasmtime core and knows nothing of HTTP.

pub mod sandbox;
