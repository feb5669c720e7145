//! Hostile: unbounded recursion that the optimizer cannot turn into a loop. Its frames live in
//! wasm locals (no linear-memory shadow stack), so it exhausts the engine's wasm call stack.

use wasmhook_sdk::{Context, Error};

#[inline(never)]
#[allow(unconditional_recursion)]
fn dive(depth: u64) -> u64 {
    let next = std::hint::black_box(depth).wrapping_add(1);
    dive(next).wrapping_mul(3).wrapping_add(depth)
}

#[wasmhook_sdk::block]
fn run(_ctx: Context) -> Result<u64, Error> {
    Ok(dive(0))
}
