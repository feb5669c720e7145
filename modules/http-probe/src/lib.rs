//! HTTP probe: sends the requests listed in its data and reports what each got, so the tests
//! can drive the outbound policy (allowlist, private addresses, limits) from outside.
//!
//! Data: `{"requests": [{"method": "GET", "url": "http://…", "body": "…", "headers": {…}}]}`.
//! Output: one `{"status", "body", "headers"}` or `{"error", "code"}` per request, in order.
//! It also reports (and logs) the env vars named in `PROBE_ENV`, to show what the guest can see.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use wasmhook_sdk::http::Request;
use wasmhook_sdk::{Context, Error, log};

#[derive(Deserialize)]
struct Probe {
    requests: Vec<Call>,
}

#[derive(Deserialize)]
struct Call {
    #[serde(default = "get")]
    method: String,
    url: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

fn get() -> String {
    "GET".into()
}

#[derive(Serialize)]
#[serde(untagged)]
enum Answer {
    Response { status: u16, body: String, echo: Option<String> },
    Failed { error: String, code: String },
}

#[derive(Serialize)]
struct Report {
    answers: Vec<Answer>,
    env: BTreeMap<String, Option<String>>,
}

#[wasmhook_sdk::block]
fn run(ctx: Context) -> Result<Report, Error> {
    let probe: Probe = ctx.data()?;
    let answers = probe
        .requests
        .into_iter()
        .map(|call| {
            let request = call
                .headers
                .into_iter()
                .fold(Request::new(call.method, call.url), |request, (name, value)| request.header(name, value))
                .body(call.body);
            match request.send() {
                Ok(response) => Answer::Response {
                    status: response.status(),
                    echo: response.header("x-echo").map(str::to_owned),
                    body: response.text(),
                },
                Err(error) => Answer::Failed { code: error.code().to_owned(), error: error.to_string() },
            }
        })
        .collect();
    let env = ctx
        .env("PROBE_ENV")
        .unwrap_or_default()
        .split(',')
        .filter(|name| !name.is_empty())
        .map(|name| (name.to_owned(), ctx.env(name)))
        .collect::<BTreeMap<_, _>>();
    for (name, value) in &env {
        log::info!("env {name} = {value:?}");
    }
    Ok(Report { answers, env })
}
