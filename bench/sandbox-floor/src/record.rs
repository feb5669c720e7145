//! The floor's optional second half (#20): the durable record v4 keeps of every run, written
//! the way v4 writes it — the same SQLite store, row, packing and writer thread, queued before
//! the answer and committed by the writer's batches — and nothing else of v4's route (no key,
//! doc lookup, secrets, run key, envelope).
//!
//! With it the floor says how much of v4's per-call cost is the record, which the product
//! needs (every run has an `executionId` to look up and replay), and how much is the route.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;
use serde_json::value::RawValue;
use wasmhook_domain::Outcome;
use wasmhook_domain::ids::{BlockId, DocId, TeamId};
use wasmhook_store::repo::{ExecutionRepo, Finished, FollowUp};
use wasmhook_store::sealing::{MasterKey, Sealer};
use wasmhook_store::{ExecutionStatus, NewExecution, Store, Trigger, executions::ExecutionSpec, now_ms};

/// One team, block and doc for every record, as one v4 doc with one dataset would have.
pub struct Recorder {
    store: Store,
    team_id: TeamId,
    block_id: BlockId,
    doc_id: DocId,
}

impl Recorder {
    /// Opens (creating) the database at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        // Nothing sealed is written here; the key only satisfies the store's constructor.
        let sealer = Arc::new(Sealer::new(MasterKey::from_bytes(&[7; 32]), None));
        let store = Store::open(path, sealer).with_context(|| format!("opening {}", path.display()))?;
        Ok(Self { store, team_id: TeamId::new_v4(), block_id: BlockId::new_v4(), doc_id: DocId::new_v4() })
    }

    /// Queues the record of one run of `data` (v4's stored input: `{"data": …, "env": {}}`,
    /// the data checked as JSON first, as v4 does) for the writer, and returns without waiting
    /// for its commit, as v4's sync path does.
    pub async fn record(&self, data: &[u8], outcome: Outcome) -> anyhow::Result<()> {
        #[derive(Serialize)]
        struct Stored<'a> {
            data: &'a RawValue,
            env: BTreeMap<String, String>,
        }
        let data: &RawValue = serde_json::from_slice(data).context("the body is not JSON")?;
        let input = serde_json::to_string(&Stored { data, env: BTreeMap::new() })?;
        let mut spec = ExecutionSpec::first_attempt(self.team_id, self.block_id, 1, Trigger::V4, true);
        spec.doc_id = Some(self.doc_id);
        spec.dataset_key = Some("echo".to_owned());
        let status = match outcome.result {
            Ok(_) => ExecutionStatus::Succeeded,
            Err(_) => ExecutionStatus::Failed,
        };
        let record = NewExecution { spec, input, retry: None };
        let finished = Finished { record, outcome, status, now: now_ms(), follow_up: FollowUp::Complete(None) };
        self.store.record_detached(finished).await;
        Ok(())
    }
}
