//! `wasmhook dev` and `wasmhook events capture`: a Rust block project built by cargo for
//! wasm32-wasip2, deployed to the embedded server and fired; a source change rebuilds, deploys
//! and fires again; a real delivery captured as a sample and fired at a running server.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::server::TestServer;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A block project of its own (a workspace of one), whose answer says `greeting`. It builds
/// into `modules/target` with `modules/`' lock file and release profile, so the SDK and serde
/// are not compiled again.
fn project(dir: &Path, greeting: &str) {
    let sdk = repo().join("guest-sdk").canonicalize().expect("guest-sdk");
    let manifest = format!(
        "[package]\nname = \"dev-probe\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n\
         [dependencies]\nwasmhook-sdk = {{ path = {sdk:?} }}\nserde_json = \"1\"\n\n[workspace]\n\n\
         [profile.release]\nopt-level = 3\nlto = true\ncodegen-units = 1\ndebug = false\npanic = \"abort\"\n"
    );
    std::fs::create_dir_all(dir.join("src")).expect("src");
    std::fs::write(dir.join("Cargo.toml"), manifest).expect("manifest");
    std::fs::copy(repo().join("modules/Cargo.lock"), dir.join("Cargo.lock")).expect("lock");
    source(dir, greeting);
}

fn source(dir: &Path, greeting: &str) {
    let code = format!(
        "use wasmhook_sdk::{{Context, Error}};\n\n#[wasmhook_sdk::block]\n\
         fn run(ctx: Context) -> Result<serde_json::Value, Error> {{\n    \
         wasmhook_sdk::log::info!(\"greeting {greeting}\");\n    \
         Ok(serde_json::json!({{ \"greeting\": {greeting:?}, \"data\": ctx.data::<serde_json::Value>()? }}))\n}}\n"
    );
    std::fs::write(dir.join("src/lib.rs"), code).expect("source");
}

fn dev_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wasmhook-node"));
    command
        .arg("dev")
        .args(args)
        .env("CARGO_TARGET_DIR", repo().join("modules/target"))
        .env("WASMHOOK_LOG", "warn")
        .env_remove("WASMHOOK_URL")
        .env_remove("WASMHOOK_KEY")
        .env_remove("WASMHOOK_PROFILE");
    command
}

#[test]
fn a_source_change_rebuilds_deploys_and_fires_again() {
    let dir = tempfile::tempdir().expect("tmp");
    let project_dir = dir.path().join("dev-probe");
    project(&project_dir, "v1");
    let event = dir.path().join("event.json");
    std::fs::write(&event, json!({ "type": "invoice.paid", "amount": 4200 }).to_string()).expect("event");
    let mut child = dev_command(&[
        project_dir.to_str().expect("utf8"),
        "--event",
        event.to_str().expect("utf8"),
        "--cycles",
        "2",
        "--poll-ms",
        "100",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit())
    .spawn()
    .expect("dev starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut first = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    for line in lines.by_ref() {
        let line = line.expect("line");
        let watching = line.starts_with("… watching");
        first.push(line);
        if watching {
            break;
        }
        assert!(Instant::now() < deadline, "no first cycle: {first:?}");
    }
    let first = first.join("\n");
    assert!(first.contains("deployed as version 1") && first.contains("\"greeting\": \"v1\""), "{first}");
    assert!(first.contains("log info  greeting v1") && first.contains("fuel"), "logs and figures: {first}");
    assert!(first.contains("\"amount\": 4200"), "the sample event was the data: {first}");

    std::thread::sleep(Duration::from_millis(300));
    source(&project_dir, "v2");
    let second: Vec<String> = lines.map(|line| line.expect("line")).collect();
    let status = child.wait().expect("dev ends after two cycles");
    let second = second.join("\n");
    assert!(status.success(), "{second}");
    assert!(second.contains("deployed as version 2") && second.contains("\"greeting\": \"v2\""), "rebuilt: {second}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captured_delivery_is_a_sample_for_dev_against_a_running_server() {
    let server = TestServer::start().await;
    let key = server.key().to_owned();
    let echo = server.block(&key, "echo", json!({ "env": { "ECHO_ENV": "REGION" } })).await;
    let hook = server.webhook(&key, json!({ "target": { "type": "block", "id": echo }, "auth": "none" })).await;
    let hook_id = hook["id"].as_str().expect("id").to_owned();
    let delivered = server
        .trigger(&format!("/api/webhooks/{hook_id}"), &[("content-type", "application/json")], r#"{"order":7}"#)
        .await;
    assert!(delivered.status.is_success(), "{:?}", delivered.status);

    let samples = tempfile::tempdir().expect("tmp");
    let (base, home) = (server.base.clone(), samples.path().to_path_buf());
    let (key_for_cli, hook_for_cli) = (key.clone(), hook_id.clone());
    let captured = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_wasmhook-node"))
            .args(["events", "capture", "--webhook", &hook_for_cli, "--out"])
            .arg(home.join("samples"))
            .arg("--json")
            .env("WASMHOOK_URL", base)
            .env("WASMHOOK_KEY", key_for_cli)
            .output()
            .expect("runs")
    })
    .await
    .expect("joined");
    assert!(captured.status.success(), "{}", String::from_utf8_lossy(&captured.stderr));
    let files: Value = serde_json::from_slice(&captured.stdout).expect("json");
    let file = PathBuf::from(files["files"][0].as_str().expect("one sample"));
    let sample: Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("sample")).expect("json");
    assert_eq!(sample["wasmhookCapture"], 1);
    assert_eq!(sample["data"], json!({ "order": 7 }), "the delivery as the guest saw it: {sample}");

    // Fired by `dev` at the running server, through the echo project of modules/.
    let (base, file) = (server.base.clone(), file.clone());
    let dev = tokio::task::spawn_blocking(move || {
        dev_command(&[
            repo().join("modules/echo").to_str().expect("utf8"),
            "--event",
            file.to_str().expect("utf8"),
            "--once",
        ])
        .env("WASMHOOK_URL", base)
        .env("WASMHOOK_KEY", key)
        .output()
        .expect("runs")
    })
    .await
    .expect("joined");
    let stdout = String::from_utf8_lossy(&dev.stdout);
    assert!(dev.status.success(), "{stdout}{}", String::from_utf8_lossy(&dev.stderr));
    assert!(stdout.contains(&format!("on {}", server.base)), "the running server, not an embedded one: {stdout}");
    assert!(stdout.contains("\"order\": 7"), "the captured body reached the block: {stdout}");
}

/// With `--signature`, `dev` fires through a trigger webhook that checks it, each event signed
/// the way its sender signs.
#[test]
fn dev_signs_its_events_for_a_webhook_that_checks_signatures() {
    let dir = tempfile::tempdir().expect("tmp");
    let event = dir.path().join("event.json");
    std::fs::write(&event, json!({ "id": "evt_dev_1", "type": "invoice.paid", "amount": 4200 }).to_string())
        .expect("event");
    let signature = dir.path().join("signature.json");
    std::fs::write(&signature, json!({ "scheme": "stripe", "secrets": ["whsec_dev_0123456789abcdef"] }).to_string())
        .expect("signature");
    let output = dev_command(&[
        repo().join("modules/echo").to_str().expect("utf8"),
        "--event",
        event.to_str().expect("utf8"),
        "--signature",
        signature.to_str().expect("utf8"),
        "--once",
    ])
    .output()
    .expect("dev runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("checks stripe signatures"), "{stdout}");
    assert!(stdout.contains("fired signed (stripe) → 200"), "the webhook verified the signature: {stdout}");
    assert!(stdout.contains("\"amount\": 4200"), "{stdout}");
}

/// A Python block project: `--build` runs the Python SDK's build (the pinned componentize-py
/// the test build installed), `--wasm` names its output; one cycle on the embedded server.
#[test]
fn a_python_project_builds_with_its_sdk_and_runs() {
    let dir = tempfile::tempdir().expect("tmp");
    let project_dir = dir.path().join("py-probe");
    std::fs::create_dir_all(&project_dir).expect("dir");
    let code = "import wasmhook\nfrom wasmhook import Context\n\n\n@wasmhook.block\ndef run(ctx: Context):\n    \
                return {\"language\": \"python\", \"data\": ctx.data()}\n";
    std::fs::write(project_dir.join("app.py"), code).expect("source");
    let event = dir.path().join("event.json");
    std::fs::write(&event, json!({ "type": "form.submitted", "email": "ada@example.com" }).to_string()).expect("event");
    // The venv's own python (not the interpreter it links to): build.py finds componentize-py
    // beside it.
    let tools = repo().join("target/guest-tools/python/bin").canonicalize().expect("the test build's Python tools");
    let build_py = repo().join("sdk/python/build.py").canonicalize().expect("build.py");
    let build = format!("{} {} app.py -o app.wasm", tools.join("python").display(), build_py.display());
    let output = dev_command(&[
        project_dir.to_str().expect("utf8"),
        "--event",
        event.to_str().expect("utf8"),
        "--build",
        &build,
        "--wasm",
        "app.wasm",
        "--once",
    ])
    .output()
    .expect("dev runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("\"language\": \"python\"") && stdout.contains("ada@example.com"), "{stdout}");
}
