//! No-op: returns `null` without reading anything. The floor of a run's cost in benchmarks:
//! everything a run costs that is not the block's own work.

use wasmhook_sdk::{Context, Error};

#[wasmhook_sdk::block]
fn run(_ctx: Context) -> Result<(), Error> {
    Ok(())
}
