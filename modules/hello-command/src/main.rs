//! A plain `wasi:cli/command` block, as any language targeting WASI p2 can produce: it reads
//! `WEBHOOK_DATA_FILE` itself and its stdout is the output. `{"exit_code": N}` in the data makes
//! it exit with N (to exercise the `exit` failure kind); `{"raw_output": "…"}` prints that text
//! as the output, verbatim (JSON the host must pass on as written, e.g. `1e400`); stderr lines
//! become logs.

use std::process::ExitCode;

use serde_json::{Value, json};

fn main() -> ExitCode {
    let path = std::env::var("WEBHOOK_DATA_FILE").unwrap_or_default();
    let data: Value = match std::fs::read(&path).map(|b| serde_json::from_slice(&b)) {
        Ok(Ok(data)) => data,
        Ok(Err(e)) => {
            eprintln!("data file is not JSON: {e}");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("cannot read {path:?}: {e}");
            return ExitCode::from(2);
        }
    };
    eprintln!("hello-command starting");
    if let Some(code) = data.get("exit_code").and_then(Value::as_u64) {
        eprintln!("exiting with {code} as asked");
        return ExitCode::from(u8::try_from(code).unwrap_or(u8::MAX));
    }
    if let Some(raw) = data.get("raw_output").and_then(Value::as_str) {
        println!("{raw}");
        return ExitCode::SUCCESS;
    }
    let name = data.get("name").and_then(Value::as_str).unwrap_or("world");
    println!("{}", json!({ "greeting": format!("hello, {name}") }));
    ExitCode::SUCCESS
}
