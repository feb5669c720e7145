//! Hostile: spins forever in pure wasm. Only the epoch deadline can stop it.

use wasmhook_sdk::{Context, Error};

#[wasmhook_sdk::block]
fn run(_ctx: Context) -> Result<(), Error> {
    let mut x: u64 = 1;
    loop {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}
