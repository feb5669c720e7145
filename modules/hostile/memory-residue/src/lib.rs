//! Hostile: looks for what an earlier run left in linear memory, then leaves its own mark.
//!
//! Pooled memory slots are reused, and the host keeps the first pages of each resident between
//! runs (reset in place, not unmapped). A 6 MiB zero-initialized static spans both the part
//! reset in place and the part returned to the kernel; every run must find all of it zero and
//! every other static at its initial value. Returns the number of bytes that were not.

use wasmhook_sdk::{Context, Error};

const SIZE: usize = 6 << 20;

static mut RESIDUE: [u8; SIZE] = [0; SIZE];
static mut RUNS_SEEN: u64 = 0;

#[wasmhook_sdk::block]
fn run(_ctx: Context) -> Result<u64, Error> {
    let residue = core::ptr::addr_of_mut!(RESIDUE).cast::<u8>();
    let runs_seen = core::ptr::addr_of_mut!(RUNS_SEEN);
    let mut dirty = 0u64;
    // SAFETY: a block runs single-threaded; the pointers are to this module's own statics and
    // stay in bounds. Volatile, so the compiler cannot assume the zeros the statics start with.
    unsafe {
        for i in (0..SIZE).step_by(64) {
            if residue.add(i).read_volatile() != 0 {
                dirty += 1;
            }
        }
        dirty += runs_seen.read_volatile();
        for i in (0..SIZE).step_by(64) {
            residue.add(i).write_volatile(0xAB);
        }
        runs_seen.write_volatile(1);
    }
    Ok(dirty)
}
