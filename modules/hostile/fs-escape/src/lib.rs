//! Hostile: tries every way out of `/webhook` it knows and reports what happened to each try.
//! Each entry is `"denied: <error>"` or `"ESCAPED: <what it got>"`; the tests want only denials.

use std::collections::BTreeMap;
use std::fs;

use wasmhook_sdk::{Context, Error};

fn attempt<T: std::fmt::Debug>(result: std::io::Result<T>) -> String {
    match result {
        Ok(value) => format!("ESCAPED: {:.200}", format!("{value:?}")),
        Err(e) => format!("denied: {e}"),
    }
}

#[wasmhook_sdk::block]
fn run(ctx: Context) -> Result<BTreeMap<&'static str, String>, Error> {
    let secret = ctx.env("HOST_SECRET_PATH").unwrap_or_else(|| "/etc/passwd".into());
    let mut report = BTreeMap::new();
    report.insert("read_etc_passwd", attempt(fs::read_to_string("/etc/passwd")));
    report.insert("read_host_secret", attempt(fs::read_to_string(&secret)));
    report.insert("dotdot_from_webhook", attempt(fs::read_to_string("/webhook/../../../../etc/passwd")));
    report.insert("dotdot_sibling", attempt(fs::read_dir("/webhook/..").map(|d| d.count())));
    report.insert("relative_dotdot", attempt(fs::read_to_string("../etc/passwd")));
    report.insert("write_into_webhook", attempt(fs::write("/webhook/pwned.txt", b"pwned")));
    report.insert("overwrite_data_file", attempt(fs::write("/webhook/data.json", b"{}")));
    report.insert("remove_data_file", attempt(fs::remove_file("/webhook/data.json")));
    report.insert("mkdir_in_webhook", attempt(fs::create_dir("/webhook/sub")));
    report.insert("write_tmp", attempt(fs::write("/tmp/pwned.txt", b"pwned")));
    report.insert("list_root", attempt(fs::read_dir("/").map(|d| d.count())));
    // Reading the data file must still work: the sandbox is locked down, not broken.
    report.insert(
        "data_file_readable",
        match fs::read("/webhook/data.json") {
            Ok(bytes) => format!("ok: {} bytes", bytes.len()),
            Err(e) => format!("broken: {e}"),
        },
    );
    // After all that, `/webhook` must list only what the host put there.
    report.insert(
        "webhook_listing",
        match fs::read_dir("/webhook").and_then(|dir| dir.map(|e| e.map(|e| e.file_name())).collect::<Result<Vec<_>, _>>()) {
            Ok(names) => format!("ok: {names:?}"),
            Err(e) => format!("broken: {e}"),
        },
    );
    Ok(report)
}
