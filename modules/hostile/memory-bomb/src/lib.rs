//! Hostile: allocates (and touches) 16 MiB chunks until something stops it.

use wasmhook_sdk::{Context, Error};

#[wasmhook_sdk::block]
fn run(_ctx: Context) -> Result<usize, Error> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![0xA5; 16 << 20]);
        std::hint::black_box(&hoard);
    }
}
