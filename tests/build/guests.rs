//! Builds the non-Rust guests of `modules/` (Python with componentize-py, JavaScript with jco)
//! through the SDKs' own build commands, so the tests run exactly what an author would upload.
//!
//! The toolchains are installed pinned into `target/guest-tools/` on first use (network once).
//! A component is rebuilt only when a stamp of everything it is made from (its sources, the
//! SDK, `wit/`, the pins) changes: one takes ≈ 15–40 s to build on two cores.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// One guest to build: its source, and whether it is a plain `wasi:cli/command` script.
pub struct Guest {
    pub source: &'static str,
    pub command: bool,
}

/// A guest build to run unless its stamp is current.
struct Job {
    build: Command,
    wasm: PathBuf,
    stamp: u64,
}

/// Builds the Python `guests` (in `modules/python/`) into `out/python/`.
pub fn build_python(root: &Path, out: &Path, guests: &[Guest]) {
    let sdk = root.join("sdk").join("python");
    let python = ensure_venv(&root.join("target").join("guest-tools").join("python"), &sdk.join("requirements.txt"));
    let shared = [sdk.join("wasmhook"), sdk.join("build.py"), sdk.join("requirements.txt"), root.join("wit")];
    let jobs = guests.iter().map(|guest| {
        let source = root.join("modules").join("python").join(guest.source);
        let mut build = Command::new(&python);
        build.arg(sdk.join("build.py")).arg(&source).env_remove("VIRTUAL_ENV");
        if guest.command {
            build.arg("--command");
        }
        let inputs = [&[source.clone()][..], &shared[..]].concat();
        job(build, &out.join("python"), &source, &inputs, guest.command)
    });
    run_jobs(jobs.collect());
}

/// Builds the JavaScript `guests` (in `modules/js/`, whose other files they may import) into
/// `out/js/`.
pub fn build_js(root: &Path, out: &Path, guests: &[Guest]) {
    let sdk = root.join("sdk").join("js");
    let tools = ensure_node_modules(&root.join("target").join("guest-tools").join("js"), &sdk);
    let modules = root.join("modules").join("js");
    let shared = [
        modules.clone(),
        sdk.join("wasmhook.js"),
        sdk.join("build.mjs"),
        sdk.join("package-lock.json"),
        root.join("wit"),
    ];
    let jobs = guests.iter().map(|guest| {
        let source = modules.join(guest.source);
        let mut build = Command::new("node");
        build.arg(sdk.join("build.mjs")).arg(&source).env("WASMHOOK_JS_TOOLS", &tools);
        job(build, &out.join("js"), &source, &shared, guest.command)
    });
    run_jobs(jobs.collect());
}

fn job(mut build: Command, out: &Path, source: &Path, inputs: &[PathBuf], command: bool) -> Option<Job> {
    std::fs::create_dir_all(out).expect("create the guest output dir");
    let stem = source.file_stem().expect("a file name").to_string_lossy().into_owned();
    let wasm = out.join(format!("{stem}.wasm"));
    let stamp = stamp_of(inputs, command);
    if wasm.exists() && std::fs::read_to_string(stamp_path(&wasm)).ok() == Some(stamp.to_string()) {
        return None;
    }
    build.arg("-o").arg(&wasm);
    Some(Job { build, wasm, stamp })
}

fn stamp_path(wasm: &Path) -> PathBuf {
    wasm.with_extension("stamp")
}

/// Runs the builds two at a time (the machine class this runs on has two cores).
fn run_jobs(jobs: Vec<Option<Job>>) {
    let mut running: Vec<(Child, PathBuf, u64)> = Vec::new();
    for Job { mut build, wasm, stamp } in jobs.into_iter().flatten() {
        if running.len() == 2 {
            finish(running.remove(0));
        }
        let child = build.spawn().unwrap_or_else(|e| panic!("cannot start {build:?}: {e}"));
        running.push((child, wasm, stamp));
    }
    running.into_iter().for_each(finish);
}

fn finish((mut child, wasm, stamp): (Child, PathBuf, u64)) {
    let status = child.wait().expect("wait for the guest build");
    assert!(status.success(), "building {} failed (see the output above)", wasm.display());
    std::fs::write(stamp_path(&wasm), stamp.to_string()).expect("write the build stamp");
}

/// A venv with the pinned requirements; returns its `python`. Reinstalls when the pins change.
fn ensure_venv(dir: &Path, requirements: &Path) -> PathBuf {
    let python = dir.join("bin").join("python");
    let pins = std::fs::read_to_string(requirements).expect("read the pinned requirements");
    let marker = dir.join("installed-requirements.txt");
    if python.exists() && std::fs::read_to_string(&marker).ok().as_deref() == Some(pins.as_str()) {
        return python;
    }
    let python3 = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    run(Command::new(python3).args(["-m", "venv"]).arg(dir), "create the guest-tools venv");
    run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(requirements),
        "install the pinned componentize-py (needs network once)",
    );
    std::fs::write(marker, pins).expect("write the requirements marker");
    python
}

/// `npm ci` of the SDK's lock file into `dir`; returns its `node_modules`. Reinstalls when the
/// lock file changes.
fn ensure_node_modules(dir: &Path, sdk: &Path) -> PathBuf {
    let lock = std::fs::read_to_string(sdk.join("package-lock.json")).expect("read sdk/js/package-lock.json");
    let marker = dir.join("installed-package-lock.json");
    let modules = dir.join("node_modules");
    if modules.exists() && std::fs::read_to_string(&marker).ok().as_deref() == Some(lock.as_str()) {
        return modules;
    }
    std::fs::create_dir_all(dir).expect("create the js guest-tools dir");
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(sdk.join(file), dir.join(file)).expect("copy the js pins");
    }
    run(
        Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(dir),
        "install the pinned jco and ComponentizeJS (needs network once)",
    );
    std::fs::write(marker, lock).expect("write the lock marker");
    modules
}

fn run(command: &mut Command, what: &str) {
    let status = command.status().unwrap_or_else(|e| panic!("cannot {what}: {e}"));
    assert!(status.success(), "failed to {what}");
}

/// A hash of the files (recursively, names and bytes, caches skipped) and the mode.
fn stamp_of(paths: &[PathBuf], command: bool) -> u64 {
    let mut hasher = DefaultHasher::new();
    command.hash(&mut hasher);
    for path in paths {
        hash_path(path, &mut hasher);
    }
    hasher.finish()
}

fn hash_path(path: &Path, hasher: &mut DefaultHasher) {
    for file in source_files(path) {
        file.hash(hasher);
        std::fs::read(&file).unwrap_or_default().hash(hasher);
    }
}

/// The files under `path` (itself, if a file) in a stable order, without build outputs and
/// caches (`target`, `__pycache__`, `node_modules`): what the guests are built from, and so
/// what the build script watches and stamps.
pub fn source_files(path: &Path) -> Vec<PathBuf> {
    if path.file_name().is_some_and(|n| n == "target" || n == "__pycache__" || n == "node_modules") {
        return Vec::new();
    }
    if !path.is_dir() {
        return vec![path.to_path_buf()];
    }
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(path).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    entries.sort();
    entries.iter().flat_map(|entry| source_files(entry)).collect()
}
