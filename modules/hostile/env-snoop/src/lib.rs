//! Hostile: prints its whole environment to stdout and returns it. The tests check that it sees
//! exactly what the host merged for the run and nothing of the host process's own environment.

use std::collections::BTreeMap;

use wasmhook_sdk::{Context, Error};

#[wasmhook_sdk::block]
fn run(_ctx: Context) -> Result<BTreeMap<String, String>, Error> {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    for (key, value) in &env {
        println!("{key}={value}");
    }
    Ok(env)
}
