//! Hostile: panics. The host must report kind `panic` with the panic message.

use wasmhook_sdk::{Context, Error};

#[wasmhook_sdk::block]
fn run(ctx: Context) -> Result<(), Error> {
    let reason = ctx.env("PANIC_REASON").unwrap_or_else(|| "the block panicked on purpose".into());
    panic!("{reason}");
}
