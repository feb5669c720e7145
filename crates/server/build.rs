//! Rebuilds the server when a dashboard file is added, changed or removed: the files are
//! embedded at build time (`src/ui/assets.rs`).

fn main() {
    println!("cargo:rerun-if-changed=ui");
}
