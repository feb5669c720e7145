//! Builds the guest modules in `../modules` (their own workspace) for `wasm32-wasip2`, and the
//! Python and JavaScript guests of `modules/python/` and `modules/js/` with their SDKs' build
//! commands, so that `cargo test` from a fresh clone needs nothing else (but network once, for
//! the pinned componentize-py, jco and ComponentizeJS). Installs the target through rustup when
//! the toolchain lacks it (a toolchain file alone installs nothing when
//! `RUSTUP_AUTO_INSTALL=0`).

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "build/guests.rs"]
mod guests;

use guests::Guest;

/// The Python guests of `modules/python/` the tests and benchmarks run.
const PYTHON_GUESTS: &[Guest] = &[
    Guest { source: "meeting_transcript.py", command: false },
    Guest { source: "stripe_event.py", command: false },
    Guest { source: "hostile.py", command: false },
    Guest { source: "inspector.py", command: false },
    Guest { source: "report_command.py", command: true },
    Guest { source: "enrich_and_count.py", command: false },
];

/// The JavaScript guests of `modules/js/`.
const JS_GUESTS: &[Guest] = &[Guest { source: "github_event.js", command: false }];

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("tests/ lives in the workspace root").to_path_buf();
    let modules = root.join("modules");
    let target_dir = root.join("target").join("wasm-modules");

    for watched in ["modules", "guest-sdk", "wit", "sdk"] {
        watch(&root.join(watched));
    }

    ensure_target();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(modules.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    // Do not leak the outer build's flags or wrappers (e.g. clippy-driver) into the guest build.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
    ] {
        build.env_remove(var);
    }
    let status = build.status().expect("cannot run cargo to build modules/");
    assert!(status.success(), "building modules/ for {TARGET} failed (see the output above)");

    let out = target_dir.join(TARGET).join("release");
    guests::build_python(&root, &out, PYTHON_GUESTS);
    guests::build_js(&root, &out, JS_GUESTS);
    println!("cargo:rustc-env=GUEST_MODULES_DIR={}", out.display());
}

/// Installs the wasm target for the active toolchain when it is missing.
fn ensure_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let libdir = Command::new(&rustc).args(["--print", "target-libdir", "--target", TARGET]).output();
    let installed = libdir
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .is_some_and(|dir| dir.exists());
    if installed {
        return;
    }
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", TARGET]);
    if let Ok(toolchain) = std::env::var("RUSTUP_TOOLCHAIN") {
        rustup.args(["--toolchain", &toolchain]);
    }
    let status = rustup.status().expect("the wasm32-wasip2 target is missing and rustup cannot be run");
    assert!(status.success(), "`rustup target add {TARGET}` failed");
}

/// Re-runs this script when any source file under `dir` changes (build outputs excluded).
fn watch(dir: &Path) {
    for file in guests::source_files(dir) {
        println!("cargo:rerun-if-changed={}", file.display());
    }
}
