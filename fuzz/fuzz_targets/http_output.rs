//! Fuzz target: `wasmhook::fuzzing::http_output` must never panic (see `host/src/fuzzing.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wasmhook::fuzzing::http_output(data));
