//! `wasmhook dev`: the block author's loop. Builds the block project, deploys it to a server
//! (an embedded one on a temporary data dir, or the one `--url`/`WASMHOOK_URL`/a profile
//! names), fires a sample event at it, and prints the output, logs, fuel, memory and duration;
//! then does it again each time a source file changes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use wasmhook_cli::Method;
use wasmhook_cli::commands::events::{CAPTURE_MARKER, sample_call};
use wasmhook_cli::output::cell;
use wasmhook_cli::{ApiClient, Connection, Global};
use wasmhook_server::signatures::SignatureConfig;
use wasmhook_server::signatures::sign::sign;

/// `wasmhook dev` arguments.
#[derive(Debug, clap::Args)]
pub struct DevArgs {
    /// The block project: a Rust crate (built for wasm32-wasip2), or any project with `--build`.
    #[arg(default_value = ".")]
    project: PathBuf,
    /// The sample event: a JSON event, or a file `wasmhook events capture` saved.
    #[arg(long)]
    event: PathBuf,
    /// The block's name (default: the project directory's).
    #[arg(long)]
    name: Option<String>,
    /// A build command, run by `sh -c` in the project (Python, JavaScript, …); needs `--wasm`.
    #[arg(long, requires = "wasm")]
    build: Option<String>,
    /// The component the build writes, relative to the project.
    #[arg(long)]
    wasm: Option<PathBuf>,
    /// One build-deploy-fire cycle, then exit (non-zero when it failed).
    #[arg(long)]
    once: bool,
    /// Stop after this many cycles.
    #[arg(long)]
    cycles: Option<usize>,
    /// How often to look for changed sources, in ms.
    #[arg(long, default_value_t = 300)]
    poll_ms: u64,
    /// Fire through a trigger webhook that checks this signature (a JSON file:
    /// `{"scheme": "stripe", "secrets": ["whsec_…"]}`), each event signed as its sender would;
    /// without it, events go through the v2 block webhook.
    #[arg(long)]
    signature: Option<PathBuf>,
}

/// Where events are fired.
enum Target {
    /// `POST /v2/webhook/blocks/{id}/execute` with the admin key.
    Block(String),
    /// A trigger webhook that checks `config`.
    Signed { webhook: String, config: SignatureConfig },
}

/// Whether the user named a server; otherwise `dev` embeds one.
pub fn names_a_server(global: &Global) -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty());
    global.url.is_some() || global.profile.is_some() || set("WASMHOOK_URL") || set("WASMHOOK_PROFILE")
}

/// Runs the loop against `connection` until `--once`/`--cycles` say stop (or forever).
pub fn run(args: &DevArgs, connection: Connection) -> anyhow::Result<bool> {
    let api = ApiClient::new(connection)?;
    let project = args.project.canonicalize().with_context(|| format!("no project at {}", args.project.display()))?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| project.file_name().map_or_else(|| "dev".to_owned(), |n| n.to_string_lossy().into_owned()));
    let block = api.call(Method::POST, "/v1/blocks", Some(&json!({ "name": name })))?;
    let block_id = block["id"].as_str().context("the created block has no id")?.to_owned();
    println!("block {name} ({block_id}) on {}", api.base());
    let target = match &args.signature {
        None => Target::Block(block_id.clone()),
        Some(file) => {
            let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
            let config: SignatureConfig =
                serde_json::from_str(&text).with_context(|| format!("{}: not a signature config", file.display()))?;
            let body = json!({ "target": { "type": "block", "id": block_id }, "auth": "none", "name": format!("{name} (dev)"), "signature": config });
            let webhook = api.call(Method::POST, "/v1/webhooks", Some(&body))?;
            let id = webhook["id"].as_str().context("the created webhook has no id")?.to_owned();
            println!("webhook {} checks {} signatures", id, config.scheme.as_str());
            Target::Signed { webhook: id, config }
        }
    };
    let mut cycles = 0;
    let mut last_ok;
    loop {
        last_ok = cycle(args, &api, &project, &block_id, &target);
        // Taken after the build: what the build itself writes (a lock file) is not a change.
        let mut seen = sources(&project);
        if let Err(error) = &last_ok {
            println!("✗ {error:#}");
        }
        cycles += 1;
        if args.once || args.cycles.is_some_and(|limit| cycles >= limit) {
            return Ok(last_ok.is_ok());
        }
        println!("… watching {} for changes", project.display());
        loop {
            std::thread::sleep(Duration::from_millis(args.poll_ms));
            let now = sources(&project);
            if now != seen {
                seen = now;
                break;
            }
        }
    }
}

/// Build, deploy, fire, print.
fn cycle(args: &DevArgs, api: &ApiClient, project: &Path, block_id: &str, target: &Target) -> anyhow::Result<()> {
    let started = Instant::now();
    let wasm = build(project, args.build.as_deref(), args.wasm.as_deref())?;
    let bytes = std::fs::read(&wasm).with_context(|| format!("cannot read {}", wasm.display()))?;
    let size = bytes.len();
    let built = started.elapsed();
    let version = api.post_bytes(&format!("/v1/blocks/{block_id}/versions"), "application/wasm", bytes)?;
    println!(
        "✓ built {} ({size} bytes) in {built:.1?}, deployed as version {}",
        wasm.display(),
        cell(version.get("version"))
    );
    let text = std::fs::read_to_string(&args.event).with_context(|| format!("cannot read {}", args.event.display()))?;
    let sample: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", args.event.display()))?;
    let id = fire(api, target, &sample)?;
    let execution = api.call(Method::GET, &format!("/v1/executions/{id}"), None)?;
    print_run(&execution);
    if execution["status"] != "succeeded" {
        bail!("the run {}", cell(execution.get("status")));
    }
    Ok(())
}

/// Sends the sample; returns the execution it started.
fn fire(api: &ApiClient, target: &Target, sample: &Value) -> anyhow::Result<String> {
    match target {
        Target::Block(block_id) => {
            let path = format!("/v2/webhook/blocks/{block_id}/execute");
            let answer = api.call(Method::POST, &path, Some(&sample_call(sample)))?;
            Ok(answer["execution_id"].as_str().with_context(|| format!("no run: {answer}"))?.to_owned())
        }
        Target::Signed { webhook, config } => {
            let event = if sample.get(CAPTURE_MARKER).is_some() { &sample["data"] } else { sample };
            let body = serde_json::to_vec(event)?;
            let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
            // A new message id each time: the webhook takes a repeated one as a retry.
            let message = format!("msg_dev_{}_{}", std::process::id(), now.as_nanos());
            let secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
            let mut headers = sign(config, &body, secs, &message)?;
            headers.push(("content-type".to_owned(), "application/json".to_owned()));
            let answer = api.post_as_sender(&format!("/api/webhooks/{webhook}"), &headers, body)?;
            println!("  fired signed ({}) → {}", config.scheme.as_str(), answer.status);
            answer.execution_id.with_context(|| format!("no run ({}): {}", answer.status, answer.body))
        }
    }
}

fn print_run(execution: &Value) {
    println!(
        "  {} {} · {} µs · fuel {} · peak memory {} bytes",
        cell(execution.get("status")),
        cell(execution.get("id")),
        cell(execution.get("durationUs")),
        cell(execution.get("fuelConsumed")),
        cell(execution.get("peakMemoryBytes")),
    );
    for line in execution["logs"].as_array().into_iter().flatten() {
        println!("  log {:<5} {}", cell(line.get("level")), line["message"].as_str().unwrap_or_default());
    }
    if let Some(error) = execution.get("error").filter(|e| !e.is_null()) {
        println!("  error: {} ({})", cell(error.get("message")), cell(error.get("kind")));
    }
    if let Some(output) = execution.get("output").filter(|o| !o.is_null()) {
        println!("  output: {}", serde_json::to_string_pretty(output).unwrap_or_default().replace('\n', "\n  "));
    }
}

/// Builds the project and returns its component.
fn build(project: &Path, command: Option<&str>, wasm: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(command) = command {
        let status = Command::new("sh").arg("-c").arg(command).current_dir(project).status()?;
        if !status.success() {
            bail!("the build command failed ({status})");
        }
        return Ok(project.join(wasm.context("--build needs --wasm")?));
    }
    if !project.join("Cargo.toml").exists() {
        bail!(
            "{} has no Cargo.toml: for another language give --build and --wasm \
             (Python: --build 'python3 <repo>/sdk/python/build.py app.py -o app.wasm' --wasm app.wasm)",
            project.display()
        );
    }
    let output = Command::new("cargo")
        .args(["build", "--release", "--target", "wasm32-wasip2", "--message-format=json-render-diagnostics"])
        .current_dir(project)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot run cargo")?;
    if !output.status.success() {
        bail!("cargo build failed");
    }
    let mut built = None;
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else { continue };
        if message["reason"] == "compiler-artifact" {
            let wasm = message["filenames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .find(|f| f.ends_with(".wasm"));
            built = wasm.map(PathBuf::from).or(built);
        }
    }
    match (wasm, built) {
        (Some(wasm), _) => Ok(project.join(wasm)),
        (None, Some(built)) => Ok(built),
        (None, None) => bail!("cargo built no .wasm: is the crate a cdylib (or a bin) for wasm32-wasip2?"),
    }
}

/// Every source file's modification time (build outputs and tool directories left out).
fn sources(project: &Path) -> BTreeMap<PathBuf, SystemTime> {
    const SKIP: [&str; 5] = ["target", ".git", "node_modules", "__pycache__", ".venv"];
    let mut found = BTreeMap::new();
    let mut pending = vec![project.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let skipped = path.file_name().is_some_and(|n| SKIP.iter().any(|s| n == *s));
            match entry.metadata() {
                Ok(meta) if meta.is_dir() && !skipped => pending.push(path),
                Ok(meta) if meta.is_file() && path.extension().is_none_or(|e| e != "wasm") => {
                    found.insert(path, meta.modified().unwrap_or(SystemTime::UNIX_EPOCH));
                }
                _ => {}
            }
        }
    }
    found
}

/// A server of its own for `dev`: a fresh data dir, 127.0.0.1 on a free port, its bootstrap
/// admin key. Returns the connection, the stop signal and the server task.
pub async fn embedded(
    data_dir: &Path,
) -> anyhow::Result<(Connection, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let mut config = wasmhook_server::Config { data_dir: data_dir.to_path_buf(), ..Default::default() };
    config.api_base_url = Some(base.clone());
    let (state, bootstrap) = wasmhook_server::AppState::open(config).await.context("cannot start the dev server")?;
    let key = bootstrap.context("the dev server's data dir was not empty")?.0;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(wasmhook_server::run(listener, state, async move {
        let _ = stopped.await;
    }));
    Ok((Connection { url: base, key: Some(key) }, stop, server))
}
