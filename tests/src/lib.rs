//! Shared helpers for wasmhook's integration tests and benchmarks: the guest modules built by
//! this crate's build script, and small builders for realistic payloads.

use std::path::PathBuf;

/// Directory holding the compiled `modules/` artifacts.
pub fn modules_dir() -> PathBuf {
    PathBuf::from(env!("GUEST_MODULES_DIR"))
}

/// The compiled-artifact cache the tests share (sandboxes and test servers alike), so a module
/// compiles once per machine rather than once per test.
pub fn shared_artifact_cache() -> PathBuf {
    modules_dir().join("test-artifact-cache")
}

/// Path of a module's `.wasm` by crate name (`echo`, `hello-command`, `memory-bomb`, …).
pub fn module_path(name: &str) -> PathBuf {
    let dir = modules_dir();
    // cdylib artifacts use underscores, binaries keep the crate name.
    let lib = dir.join(format!("{}.wasm", name.replace('-', "_")));
    if lib.exists() { lib } else { dir.join(format!("{name}.wasm")) }
}

/// A module's bytes; panics with the path when it was not built.
pub fn module(name: &str) -> Vec<u8> {
    let path = module_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read module {name} at {}: {e}", path.display()))
}

/// A `meeting_end` webhook payload whose transcript is at least `min_bytes` long, and the
/// words per speaker it holds (computed here independently of the block).
pub fn transcript(min_bytes: usize) -> (serde_json::Value, std::collections::BTreeMap<String, u64>) {
    let speakers = ["Ada", "Grace", "Linus", "Barbara"];
    let mut turns = Vec::new();
    let mut words = std::collections::BTreeMap::new();
    let mut size = 0;
    let mut i = 0usize;
    while size < min_bytes {
        let speaker = speakers[i % speakers.len()];
        let count = 5 + (i * 7) % 40;
        let text: Vec<String> = (0..count).map(|w| format!("word{}", (w * 31 + i) % 997)).collect();
        let text = text.join(" ");
        size += text.len() + speaker.len() + 32;
        *words.entry(speaker.to_owned()).or_insert(0) += count as u64;
        turns.push(serde_json::json!({ "speaker": speaker, "text": text }));
        i += 1;
    }
    let data = serde_json::json!({
        "event_type": "meeting_end",
        "transcript": turns,
        "summary": "The team agreed to ship the webhook engine.",
    });
    (data, words)
}
