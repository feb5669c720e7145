//! The dashboard in a real browser: `tests/browser/dashboard.mjs` drives Debian's headless
//! Chromium with playwright-core against the real server binary (sign in, upload, webhook,
//! copy URL, fire, live list, open, replay, roll back, overview, phone width, cross-team,
//! read-only key, sign out). `.ci/run` installs both (`tests/browser/install.sh`) and sets
//! `UI_TEST_REQUIRED=1`; elsewhere the test installs playwright-core itself and skips, saying
//! so, only when there is no Chromium.

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::json;
use support::binary::{Binary, post_json};

fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Chromium's path: `CHROMIUM_PATH`, else `chromium` on the PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM_PATH") {
        return Some(PathBuf::from(path));
    }
    let found = Command::new("sh").args(["-c", "command -v chromium"]).output().ok()?;
    found.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&found.stdout).trim()))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_whole_lifecycle_works_in_a_real_browser() {
    let required = std::env::var("UI_TEST_REQUIRED").is_ok_and(|v| v == "1");
    let Some(chromium) = chromium() else {
        assert!(!required, "UI_TEST_REQUIRED=1 but there is no Chromium: run tests/browser/install.sh");
        eprintln!("skipped: no Chromium (apt-get install chromium, or bash tests/browser/install.sh)");
        return;
    };
    let home = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/browser");
    let installed = Command::new("bash")
        .arg(browser_dir().join("install.sh"))
        .arg(&home)
        .stdout(Stdio::null())
        .status()
        .expect("bash runs tests/browser/install.sh");
    assert!(installed.success(), "installing playwright-core failed (needs npm and network once)");

    let data = tempfile::tempdir().expect("tempdir");
    let (server, key) = Binary::start(data.path(), &[], Stdio::inherit()).await;
    let key = key.expect("bootstrap key");
    let client = reqwest::Client::new();
    let other = post_json(&client, &format!("{}/v1/teams", server.base), &key, &json!({ "name": "other" })).await;
    let viewer = post_json(&client, &format!("{}/v1/keys", server.base), &key, &json!({ "scope": "execute" })).await;
    let screenshots = std::env::var_os("UI_SCREENSHOTS").map_or_else(|| home.join("screenshots"), PathBuf::from);

    let status = Command::new("node")
        .arg(browser_dir().join("dashboard.mjs"))
        .env("NODE_PATH", home.join("node_modules"))
        .env("CHROMIUM_PATH", &chromium)
        .env("UI_BASE_URL", &server.base)
        .env("UI_ADMIN_KEY", &key)
        .env("UI_OTHER_KEY", other["apiKey"].as_str().expect("other team's key"))
        .env("UI_EXECUTE_KEY", viewer["apiKey"].as_str().expect("execute key"))
        .env("UI_WASM_ECHO", wasmhook_tests::module_path("echo"))
        .env("UI_WASM_HELLO", wasmhook_tests::module_path("hello-command"))
        .env("UI_SCREENSHOTS", &screenshots)
        .status()
        .expect("node runs dashboard.mjs");
    assert!(status.success(), "the browser test failed (its output is above)");
}
