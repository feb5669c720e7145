//! Fuzz target: `wasmhook::fuzzing::config_text` must never panic (see `host/src/fuzzing.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wasmhook::fuzzing::config_text(data));
