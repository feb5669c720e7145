//! `wasmhook executions …`.

use std::collections::HashSet;
use std::time::Duration;

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use super::segment;
use crate::output::{Column, Output, cell};
use crate::{ApiClient, CliError};

const LIST: &[Column] = &[
    ("ID", "/id"),
    ("STATUS", "/status"),
    ("BLOCK", "/blockId"),
    ("TRIGGER", "/trigger"),
    ("DURATION µs", "/durationUs"),
    ("FUEL", "/fuelConsumed"),
    ("CREATED", "/createdAt"),
];
const SHOW: &[Column] = &[
    ("id", "/id"),
    ("status", "/status"),
    ("block", "/blockId"),
    ("version", "/blockVersion"),
    ("trigger", "/trigger"),
    ("error", "/error/message"),
    ("output", "/output"),
    ("duration µs", "/durationUs"),
    ("fuel", "/fuelConsumed"),
    ("peak memory", "/peakMemoryBytes"),
    ("outbound calls", "/outbound"),
];

/// The filters of `GET /v1/executions`.
#[derive(Debug, Args)]
pub struct Filter {
    /// Only this block's.
    #[arg(long)]
    block: Option<String>,
    /// Only this doc's.
    #[arg(long)]
    doc: Option<String>,
    /// Only this trigger webhook's.
    #[arg(long)]
    webhook: Option<String>,
    /// `queued`, `running`, `scheduled`, `succeeded`, `failed`, `timed_out` or `dead`.
    #[arg(long)]
    status: Option<String>,
    /// From (RFC 3339 or epoch ms).
    #[arg(long)]
    since: Option<String>,
    /// Until (RFC 3339 or epoch ms).
    #[arg(long)]
    until: Option<String>,
    /// At most this many (1–500, default 50).
    #[arg(long)]
    limit: Option<u32>,
}

impl Filter {
    fn query(&self) -> Vec<(&'static str, String)> {
        let fields = [
            ("block", &self.block),
            ("doc", &self.doc),
            ("webhook", &self.webhook),
            ("status", &self.status),
            ("since", &self.since),
            ("until", &self.until),
        ];
        let mut query: Vec<(&'static str, String)> =
            fields.into_iter().filter_map(|(name, value)| value.clone().map(|value| (name, value))).collect();
        if let Some(limit) = self.limit {
            query.push(("limit", limit.to_string()));
        }
        query
    }
}

/// `wasmhook executions …`.
#[derive(Debug, Subcommand)]
pub enum Executions {
    /// List executions, newest first (`listExecutions`); `--follow` prints new ones as they come.
    List {
        #[command(flatten)]
        filter: Filter,
        /// Keep polling (every second) and print each new execution once it is final.
        #[arg(long)]
        follow: bool,
        /// With `--follow`: stop after this many new executions.
        #[arg(long, requires = "follow")]
        exit_after: Option<usize>,
    },
    /// Show an execution with its output and outbound calls (`getExecution`).
    Show {
        /// The execution id.
        id: String,
    },
    /// Print an execution's log lines (`getExecution`).
    Logs {
        /// The execution id.
        id: String,
    },
    /// Runs per time slot and status, with p50/p99 duration (`executionStats`).
    Stats {
        #[command(flatten)]
        filter: Filter,
        /// Slot length in ms (default 60000: a minute; the window defaults to the last hour).
        #[arg(long)]
        bucket: Option<u64>,
    },
    /// Run an execution's stored input again, as a new execution (`replayExecution`).
    Replay {
        /// The execution id.
        id: String,
        /// Run this version instead of the block's active one.
        #[arg(long)]
        version: Option<i64>,
        /// Queue it and answer at once.
        #[arg(long = "async")]
        run_async: bool,
    },
}

/// Statuses that will not change again.
fn is_final(execution: &Value) -> bool {
    matches!(execution["status"].as_str(), Some("succeeded" | "failed" | "timed_out" | "dead"))
}

impl Executions {
    /// Runs the subcommand.
    pub fn run(self, api: &ApiClient, out: Output) -> Result<(), CliError> {
        match self {
            Self::List { filter, follow: false, .. } => {
                let list = api.call_query(Method::GET, "/v1/executions", &filter.query())?;
                out.list(&list, LIST);
            }
            Self::List { filter, follow: true, exit_after } => follow(api, out, &filter, exit_after)?,
            Self::Show { id } => {
                out.item(&api.call(Method::GET, &format!("/v1/executions/{}", segment(&id)), None)?, SHOW)
            }
            Self::Logs { id } => {
                let execution = api.call(Method::GET, &format!("/v1/executions/{}", segment(&id)), None)?;
                if out.json {
                    out.list(&execution["logs"], &[]);
                } else {
                    for line in execution["logs"].as_array().into_iter().flatten() {
                        println!(
                            "{:<5} {:<6} {}",
                            cell(line.get("level")),
                            cell(line.get("stream")),
                            cell(line.get("message"))
                        );
                    }
                }
            }
            Self::Stats { filter, bucket } => {
                let mut query = filter.query();
                query.retain(|(name, _)| *name != "limit");
                query.extend(bucket.map(|ms| ("bucket", ms.to_string())));
                let stats = api.call_query(Method::GET, "/v1/executions/stats", &query)?;
                if out.json {
                    out.item(&stats, &[]);
                } else {
                    print_stats(&stats);
                }
            }
            Self::Replay { id, version, run_async } => {
                let body = version.map(|version| json!({ "version": version }));
                let wait = if run_async { "?wait=false" } else { "" };
                let path = format!("/v1/executions/{}/replay{wait}", segment(&id));
                let answer = api.call(Method::POST, &path, body.as_ref())?;
                out.item(
                    &answer,
                    if run_async {
                        &[("execution", "/executionId"), ("replay of", "/replayOf"), ("status", "/status")]
                    } else {
                        SHOW
                    },
                );
            }
        }
        Ok(())
    }
}

/// One line per slot: its start, runs by status, p50 and p99.
const STATS: &[Column] = &[
    ("START", "/start"),
    ("SUCCEEDED", "/counts/succeeded"),
    ("FAILED", "/counts/failed"),
    ("TIMED OUT", "/counts/timed_out"),
    ("DEAD", "/counts/dead"),
    ("QUEUED", "/counts/queued"),
    ("RUNNING", "/counts/running"),
    ("SCHEDULED", "/counts/scheduled"),
    ("P50 µs", "/p50Us"),
    ("P99 µs", "/p99Us"),
];

/// The window's p50 and p99, then its slots.
fn print_stats(stats: &Value) {
    println!("p50 {} µs, p99 {} µs", cell(stats.get("p50Us")), cell(stats.get("p99Us")));
    let rows: Vec<Vec<String>> = stats["series"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|slot| STATS.iter().map(|(_, at)| cell(slot.pointer(at))).collect())
        .collect();
    print!("{}", crate::output::table(STATS, &rows));
}

/// Polls the newest page every second and prints each execution once it is final, oldest
/// first (JSON: one object per line). What existed before the start is not printed.
fn follow(api: &ApiClient, out: Output, filter: &Filter, exit_after: Option<usize>) -> Result<(), CliError> {
    let page = |api: &ApiClient| -> Result<Vec<Value>, CliError> {
        let list = api.call_query(Method::GET, "/v1/executions", &filter.query())?;
        Ok(list.as_array().cloned().unwrap_or_default())
    };
    // Everything on the first page existed before the start, finished or not: never printed.
    let mut seen: HashSet<String> = page(api)?.iter().filter_map(|e| e["id"].as_str().map(str::to_owned)).collect();
    let mut printed = 0;
    loop {
        for execution in page(api)?.into_iter().rev() {
            let Some(id) = execution["id"].as_str() else { continue };
            if !is_final(&execution) || !seen.insert(id.to_owned()) {
                continue;
            }
            if out.json {
                println!("{execution}");
            } else {
                let row: Vec<String> = LIST.iter().map(|(_, at)| cell(execution.pointer(at))).collect();
                println!("{}", row.join("  "));
            }
            // Printed as it comes, not when the buffer fills: someone is watching.
            let _ = std::io::Write::flush(&mut std::io::stdout());
            printed += 1;
            if exit_after.is_some_and(|limit| printed >= limit) {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}
