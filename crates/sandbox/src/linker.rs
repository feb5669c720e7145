//! The one `Linker` of a sandbox: every interface of `wasi:cli/imports` (WASI preview 2, every
//! 0.2.x version: the linker matches semver-compatible imports), `wasi:sockets` included,
//! `wasi:filesystem` replaced by the run's in-memory `/webhook` ([`super::webhook_dir`]),
//! `wasi:http/types` and `wasi:http/outgoing-handler` (every request goes through the run's
//! policy, see [`super::outbound`]), plus the `wasmhook:block/logging` import. A block importing
//! anything else fails to prepare.
//!
//! Why sockets are linked although blocks get no network: every standard toolchain
//! (componentize-py, componentize-js, Rust `std` with networking, Go) imports the whole
//! `wasi:cli/imports` set whether the program opens a socket or not, so refusing the import
//! would refuse the language. The network is denied at run time instead, per store, by the
//! WASI context that [`super::run`] builds (see [`deny_network`]).

use wasmtime::Engine;
use wasmtime::component::{HasSelf, Linker};
use wasmtime_wasi::WasiCtxBuilder;

use super::SandboxError;
use super::bindings::Block;
use super::host_state::RunState;

pub(crate) fn build_linker(engine: &Engine) -> Result<Linker<RunState>, SandboxError> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)
        .and_then(|()| super::webhook_dir::add_to_linker(&mut linker))
        .and_then(|()| wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker))
        .and_then(|()| Block::add_to_linker::<RunState, HasSelf<RunState>>(&mut linker, |state| state))
        .and_then(|()| super::keyvalue::add_to_linker(&mut linker))
        .map_err(|e| SandboxError::Engine(format!("cannot build the linker: {e:#}")))?;
    Ok(linker)
}

/// The socket policy of every run: nothing (HTTP goes through `wasi:http` and its allowlist
/// instead). TCP and UDP sockets cannot be created (so a guest
/// never holds a host file descriptor), no address passes the address check (defence in
/// depth, should socket creation ever be allowed), and IP name lookup is off. A guest that
/// tries gets WASI's `access-denied` — `PermissionError` in Python, `ErrorKind::PermissionDenied`
/// in Rust — and goes on running; the host does not fail the run for trying.
pub(crate) fn deny_network(wasi: &mut WasiCtxBuilder) {
    wasi.allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(|_addr, _use| Box::pin(async { false }));
}
