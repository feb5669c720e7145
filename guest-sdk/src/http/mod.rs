//! HTTP for blocks: call out to the hosts the block's `network.allowedHosts` lists
//! ([`get`], [`post_json`], [`Request`]), and shape the answer of a synchronous trigger webhook
//! ([`HttpResponse`]).
//!
//! Calls are blocking from the block's point of view (the host runs them asynchronously), go
//! through `wasi:http/outgoing-handler`, and are recorded in the execution's `outbound` list.
//! A host the block may not call fails with [`HttpError::is_denied`]; a private address with
//! [`HttpError::is_prohibited`]. Redirects are returned, not followed.

mod client;
mod response;

pub use client::{HttpError, Request, Response, get, post_json};
pub use response::HttpResponse;
