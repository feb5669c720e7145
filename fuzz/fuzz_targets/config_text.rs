//! Fuzz target: `wasmhook_server::fuzzing::config_text` must never panic (see `crates/server/src/fuzzing.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wasmhook_server::fuzzing::config_text(data));
