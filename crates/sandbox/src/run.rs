//! One run: fresh `Store`, in-memory `/webhook`, WASI context and limits; instantiate from the
//! prepared `InstancePre`; call; classify.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use wasmtime::component::ResourceTable;
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};
use wasmtime_wasi_http::WasiHttpCtx;

use super::capture::{Capture, OutputBuffer};
use super::classify::{self, Returned};
use super::config::RunLimits;
use super::host_state::{MemoryLimiter, RunState};
use super::keyvalue::KvAccess;
use super::linker;
use super::logs::LogSink;
use super::outbound::{NetworkPolicy, Outbound};
use super::prepare::{PreparedBlock, PreparedPre};
use super::webhook_dir::WebhookDir;
use super::{Sandbox, SandboxError};
use wasmhook_abi::env as guest_env;
use wasmhook_abi::files::{DATA_FILE_NAME, GUEST_DIR};
use wasmhook_domain::BlockShape;
use wasmhook_domain::LogStream;
use wasmhook_domain::Outcome;

/// One delivery to run.
#[derive(Debug, Clone, Default)]
pub struct RunInput {
    /// The data JSON, served as `/webhook/data.json` (from memory, never copied).
    pub data: Bytes,
    /// Further files for `/webhook` (e.g. a raw body), by plain file name.
    pub files: Vec<(String, Bytes)>,
    /// Exactly the environment the guest sees; `WEBHOOK_DATA_FILE` is set by the sandbox.
    pub env: BTreeMap<String, String>,
    /// Deadline, fuel and memory cap.
    pub limits: RunLimits,
    /// What it may call over HTTP; `None`: nothing (every request refused and recorded).
    pub network: Option<Arc<NetworkPolicy>>,
    /// Its key-value state; `None`: opening a bucket is `access-denied`.
    pub kv: Option<KvAccess>,
}

impl Sandbox {
    /// Runs a prepared block once. Guest misbehaviour is reported in the [`Outcome`]; an
    /// `Err` means the host could not run it at all (bad input, shutting down).
    pub async fn run(&self, block: &PreparedBlock, input: RunInput) -> Result<Outcome, SandboxError> {
        let limits = input.limits;
        if limits.memory_bytes > self.config.max_memory_bytes {
            return Err(SandboxError::MemoryCapTooLarge {
                requested: limits.memory_bytes,
                max: self.config.max_memory_bytes,
            });
        }
        // The cap's worth of the server's guest-memory budget, in whole MiB, held for the run:
        // caps of runs in flight never sum past the budget. A cap over the whole budget could
        // never start, so it fails now instead of waiting forever.
        let mebibytes = limits.memory_bytes.div_ceil(1 << 20);
        let budget = self.config.memory_budget_bytes >> 20;
        if mebibytes > budget {
            return Err(SandboxError::OverMemoryBudget { requested: limits.memory_bytes, budget: budget << 20 });
        }
        let _memory = self
            .memory
            .acquire_many(u32::try_from(mebibytes).unwrap_or(u32::MAX))
            .await
            .map_err(|_| SandboxError::Internal("the sandbox is shutting down".into()))?;
        let extra = extra_files(&input)?;
        // As many pool slots as the component takes (a Python run: 2), so runs wait for room
        // instead of failing on an exhausted pool. Capped at the pool's size: a block prepared
        // before `max_concurrent_runs` was lowered must fail to instantiate, not wait forever.
        let slots = block.footprint().slots().min(self.config.max_concurrent_runs.max(1));
        let _permit = self
            .permits
            .acquire_many(slots)
            .await
            .map_err(|_| SandboxError::Internal("the sandbox is shutting down".into()))?;
        let started = Instant::now();
        let webhook = WebhookDir::new(DATA_FILE_NAME, input.data.clone(), extra);

        let logs = LogSink::new(self.config.max_log_bytes);
        let output = OutputBuffer::new(self.config.max_output_bytes);
        let stdout = match block.shape() {
            BlockShape::Block => Capture::Log(logs.clone(), LogStream::Stdout),
            BlockShape::Command => Capture::Output(output.clone()),
        };
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(stdout).stderr(Capture::Log(logs.clone(), LogStream::Stderr));
        linker::deny_network(&mut wasi);
        for (name, value) in input.env.iter().filter(|(name, _)| *name != guest_env::DATA_FILE) {
            wasi.env(name, value);
        }
        wasi.env(guest_env::DATA_FILE, format!("{GUEST_DIR}/{DATA_FILE_NAME}"));

        let mut store = Store::new(
            &self.engine,
            RunState {
                wasi: wasi.build(),
                webhook,
                table: resource_table(),
                http: WasiHttpCtx::new(),
                http_hooks: Outbound::new(Arc::clone(&self.network), input.network.clone()),
                kv: input.kv.clone(),
                limiter: MemoryLimiter::new(limits.memory_bytes),
                logs: logs.clone(),
                deadline: started + limits.timeout,
                timed_out: false,
            },
        );
        store.limiter(|state| &mut state.limiter);
        let fuel = limits.fuel_budget();
        if self.config.fuel_metering {
            store.set_fuel(fuel).map_err(|e| SandboxError::Internal(format!("cannot set fuel: {e:#}")))?;
        }
        // Every tick the guest yields to tokio (so one busy guest cannot starve a worker
        // thread) until its deadline passes; then it is interrupted. `tokio::task::yield_now`
        // defers the wake-up until the runtime has polled its I/O driver: a plain self-wake
        // would keep the run queue busy and leave sockets unpolled for ~61 slices (≈ 300 ms).
        if self.config.epoch_interruption {
            store.set_epoch_deadline(1);
            store.epoch_deadline_callback(|mut ctx| {
                let state = ctx.data_mut();
                if Instant::now() >= state.deadline {
                    state.timed_out = true;
                    Ok(UpdateDeadline::Interrupt)
                } else {
                    Ok(UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now())))
                }
            });
        }

        // The outer deadline catches time spent blocked in host calls, where no wasm runs and
        // so no epoch check happens. It trails the epoch deadline slightly so that a busy
        // guest is reported by the more precise epoch path.
        let outer = limits.timeout + self.config.epoch_tick * 2;
        let called = tokio::time::timeout(outer, invoke(&mut store, &block.pre)).await;
        let cap = self.config.max_output_bytes;
        let result = match called {
            Err(_elapsed) => Err(classify::blocked_timeout(limits.timeout)),
            Ok(Ok(Returned::Block(Ok(text)))) => classify::typed_output(text, cap),
            Ok(Ok(Returned::Block(Err(failure)))) => Err(classify::guest_failure(failure, store.data())),
            Ok(Ok(Returned::Command(Ok(())))) => classify::command_output(output.take(), cap),
            Ok(Ok(Returned::Command(Err(())))) => Err(classify::command_failure(store.data())),
            Ok(Err(err))
                if block.shape() == BlockShape::Command && err.downcast_ref::<I32Exit>().is_some_and(|e| e.0 == 0) =>
            {
                classify::command_output(output.take(), cap)
            }
            Ok(Err(err)) => Err(classify::classify_error(&err, store.data(), limits.timeout)),
        };
        let fuel_consumed =
            if self.config.fuel_metering { fuel.saturating_sub(store.get_fuel().unwrap_or(fuel)) } else { 0 };
        let peak_memory_bytes = store.data().limiter.peak as u64;
        let outbound = store.data().http_hooks.calls();
        drop(store);
        Ok(Outcome {
            result,
            logs: logs.finish(),
            fuel_consumed,
            duration: started.elapsed(),
            peak_memory_bytes,
            outbound,
        })
    }
}

/// Host resources (open files, streams, pollables, HTTP fields, …) one run may hold at once.
/// wasmtime's default is 1,000,000 per store, so a guest opening its data file in a loop took
/// host memory and a host file descriptor per handle. Real guests hold a few dozen (a Python
/// run peaks under 100); at the cap the run traps with "resource table has no free keys", except
/// that opening a `/webhook` file answers `insufficient-memory`, which the guest can handle.
pub const MAX_HOST_RESOURCES: usize = 256;

fn resource_table() -> ResourceTable {
    let mut table = ResourceTable::new();
    table.set_max_capacity(MAX_HOST_RESOURCES);
    table
}

async fn invoke(store: &mut Store<RunState>, pre: &PreparedPre) -> wasmtime::Result<Returned> {
    match pre {
        PreparedPre::Block(pre) => {
            let block = pre.instantiate_async(&mut *store).await?;
            Ok(Returned::Block(block.call_run(&mut *store).await?))
        }
        PreparedPre::Command(pre) => {
            let command = pre.instantiate_async(&mut *store).await?;
            Ok(Returned::Command(command.wasi_cli_run().call_run(&mut *store).await?))
        }
    }
}

/// The extra files, with their names checked to be plain file names.
fn extra_files(input: &RunInput) -> Result<Vec<(String, Bytes)>, SandboxError> {
    input
        .files
        .iter()
        .map(|(name, bytes)| {
            let plain = !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0']);
            if plain && name != DATA_FILE_NAME {
                Ok((name.clone(), bytes.clone()))
            } else {
                Err(SandboxError::InvalidInput(format!("{name:?} is not a usable file name for {GUEST_DIR}")))
            }
        })
        .collect()
}
