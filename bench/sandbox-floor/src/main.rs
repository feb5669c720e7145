//! The floor under wasmhook's v4 route (#20): the same HTTP stack (axum on tokio, HTTP/1), the
//! same sandbox with the server's defaults (pooling allocator, fuel, epoch deadline, in-memory
//! `/webhook`, memory kept resident) and allocator, and nothing else: no key, no doc, no
//! envelope, no record. `POST /echo` runs the block once with the body as its data file and
//! answers with its output.
//!
//! What wasmhook does per call above this floor is its own cost; what this floor costs is
//! what no change to wasmhook's routes or store can remove.
//!
//! With a third argument, a database path, each run is also recorded the way v4 records it
//! (`record.rs`): the floor plus the record, so that v4's cost splits into the record and the
//! route.
//!
//! `sandbox-floor 127.0.0.1:18701 modules/target/wasm32-wasip2/release/echo.wasm [DB]`

mod record;

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use record::Recorder;
use wasmhook_sandbox::{PreparedBlock, RunInput, Sandbox, SandboxConfig};

/// The same allocator as the server (`host/src/main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Floor {
    sandbox: Sandbox,
    block: Arc<PreparedBlock>,
    recorder: Option<Recorder>,
}

async fn echo(State(floor): State<Arc<Floor>>, body: Bytes) -> Response {
    let input = RunInput { data: body.clone(), ..RunInput::default() };
    let outcome = match floor.sandbox.run(&floor.block, input).await {
        Ok(outcome) => outcome,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let answer = match &outcome.result {
        Ok(output) => ([(header::CONTENT_TYPE, "application/json")], output.clone()).into_response(),
        Err(failure) => (StatusCode::UNPROCESSABLE_ENTITY, failure.message.clone()).into_response(),
    };
    if let Some(recorder) = &floor.recorder
        && let Err(e) = recorder.record(&body, outcome).await
    {
        return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
    }
    answer
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let address = args.next().unwrap_or_else(|| "127.0.0.1:18701".into());
    let wasm_path = args.next().context("usage: sandbox-floor ADDRESS BLOCK.wasm [DB]")?;
    let recorder = args.next().map(|db| Recorder::open(std::path::Path::new(&db))).transpose()?;
    let wasm = std::fs::read(&wasm_path).with_context(|| format!("reading {wasm_path}"))?;
    // Compiled artifacts, keyed by the block's digest: reused by the next start.
    let cache = std::env::temp_dir().join("wasmhook-sandbox-floor");
    let sandbox = Sandbox::new(SandboxConfig::new(&cache))?;
    let block = sandbox.prepare(&wasm).await?;
    let floor = Arc::new(Floor { sandbox, block, recorder });
    let listener = tokio::net::TcpListener::bind(&address).await?;
    axum::serve(listener, Router::new().route("/echo", post(echo)).with_state(floor)).await?;
    Ok(())
}
