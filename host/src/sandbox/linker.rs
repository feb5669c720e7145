//! The one `Linker` of a sandbox: WASI preview 2 without sockets (and without HTTP), plus the
//! `wasmhook:block/logging` import. A block importing anything else fails to prepare.

use wasmtime::Engine;
use wasmtime::component::{HasSelf, Linker};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, random};
use wasmtime_wasi::random::WasiRandom;

use super::SandboxError;
use super::bindings::Block;
use super::host_state::RunState;

pub(crate) fn build_linker(engine: &Engine) -> Result<Linker<RunState>, SandboxError> {
    let mut linker = Linker::new(engine);
    add_wasi_without_sockets(&mut linker)
        .and_then(|()| Block::add_to_linker::<RunState, HasSelf<RunState>>(&mut linker, |state| state))
        .map_err(|e| SandboxError::Engine(format!("cannot build the linker: {e:#}")))?;
    Ok(linker)
}

/// `wasmtime_wasi::p2::add_to_linker_async` minus every `wasi:sockets` interface.
fn add_wasi_without_sockets(l: &mut Linker<RunState>) -> wasmtime::Result<()> {
    type S = RunState;
    wasmtime_wasi_io::add_to_linker_async(l)?;
    clocks::wall_clock::add_to_linker::<S, WasiClocks>(l, S::clocks)?;
    clocks::monotonic_clock::add_to_linker::<S, WasiClocks>(l, S::clocks)?;
    filesystem::types::add_to_linker::<S, WasiFilesystem>(l, S::filesystem)?;
    filesystem::preopens::add_to_linker::<S, WasiFilesystem>(l, S::filesystem)?;
    random::random::add_to_linker::<S, WasiRandom>(l, |s| s.wasi.random())?;
    random::insecure::add_to_linker::<S, WasiRandom>(l, |s| s.wasi.random())?;
    random::insecure_seed::add_to_linker::<S, WasiRandom>(l, |s| s.wasi.random())?;
    cli::exit::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::environment::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::stdin::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::stdout::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::stderr::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::terminal_input::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::terminal_output::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::terminal_stdin::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::terminal_stdout::add_to_linker::<S, WasiCli>(l, S::cli)?;
    cli::terminal_stderr::add_to_linker::<S, WasiCli>(l, S::cli)?;
    Ok(())
}
