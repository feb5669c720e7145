//! The senders' and receivers' own libraries (pinned in `tests/signers/`, installed into
//! `target/signers` by `tests/signers/install.sh`, which `.ci/run` runs and these helpers run
//! when the libraries are missing).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

pub fn signers_source() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("signers")
}

pub fn signers_home() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/signers")
}

/// Installs the libraries once per test binary; a failure names the cause.
pub fn ensure_signers() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let output = Command::new("bash")
            .arg(signers_source().join("install.sh"))
            .arg(signers_home())
            .output()
            .expect("bash runs tests/signers/install.sh");
        assert!(
            output.status.success(),
            "installing the signing libraries failed (needs python3 with venv, npm and network):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    });
}

/// Verifies a Standard Webhooks message with the Python `standardwebhooks` package, as a
/// receiver would: the verified payload, or the library's reason for rejecting it.
pub fn verify_standard_webhook(
    secret: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> Result<serde_json::Value, String> {
    ensure_signers();
    let dir = tempfile::tempdir().expect("tempdir");
    let body_file = dir.path().join("body");
    let headers_file = dir.path().join("headers.json");
    std::fs::write(&body_file, body).expect("body file");
    let headers: serde_json::Map<String, serde_json::Value> =
        headers.iter().map(|(k, v)| ((*k).to_owned(), serde_json::Value::String((*v).to_owned()))).collect();
    std::fs::write(&headers_file, serde_json::to_vec(&headers).expect("json")).expect("headers file");
    let output = Command::new(signers_home().join("venv/bin/python"))
        .arg(signers_source().join("verify.py"))
        .arg(secret)
        .arg(&body_file)
        .arg(&headers_file)
        .output()
        .expect("python runs verify.py");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(serde_json::from_str(&stdout).expect("verified payload is JSON"))
    } else {
        Err(format!("{stdout}{}", String::from_utf8_lossy(&output.stderr)))
    }
}
