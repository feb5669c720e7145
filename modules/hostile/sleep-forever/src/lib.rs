//! Hostile: blocks in a host call (`wasi:io/poll` on a monotonic-clock timer) for an hour.
//! No wasm runs, so the epoch deadline never fires: only the outer deadline can stop it.

use std::time::Duration;

use wasmhook_sdk::{Context, Error};

#[wasmhook_sdk::block]
fn run(_ctx: Context) -> Result<(), Error> {
    std::thread::sleep(Duration::from_secs(3600));
    Ok(())
}
