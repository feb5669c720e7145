//! The dispatch side of the durable queue. The `queued` rows in the store are the truth; this
//! channel only tells workers which ids to claim, so losing it (a crash) loses nothing:
//! [`Executor::start`] rebuilds it from the store.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Mutex, mpsc};
use uuid::Uuid;

use super::Executor;
use super::job::{Job, Recording, StoredInput};
use crate::sandbox::{Failure, FailureKind, Outcome};
use crate::store::{StoreError, executions, now_ms};

#[derive(Debug)]
pub(super) struct Queue {
    sender: mpsc::UnboundedSender<Uuid>,
    receiver: Mutex<mpsc::UnboundedReceiver<Uuid>>,
    depth: AtomicUsize,
    max_depth: usize,
}

impl Queue {
    pub(super) fn new(max_depth: usize) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        Self { sender, receiver: Mutex::new(receiver), depth: AtomicUsize::new(0), max_depth }
    }

    /// Room for `n` more deliveries?
    pub(super) fn has_room(&self, n: usize) -> bool {
        self.depth.load(Ordering::Relaxed) + n <= self.max_depth
    }

    pub(super) fn push(&self, id: Uuid) {
        self.depth.fetch_add(1, Ordering::Relaxed);
        let _ = self.sender.send(id);
    }

    pub(super) fn depth(&self) -> usize {
        self.depth.load(Ordering::Relaxed)
    }

    async fn pop(&self) -> Option<Uuid> {
        let id = self.receiver.lock().await.recv().await;
        if id.is_some() {
            self.depth.fetch_sub(1, Ordering::Relaxed);
        }
        id
    }
}

impl Executor {
    /// One worker: claim, run, record, until shutdown.
    pub(super) async fn work(&self, worker: usize) {
        loop {
            let id = tokio::select! {
                // Checked first: after shutdown a worker takes no more work even if some is ready.
                biased;
                () = self.stopping.cancelled() => break,
                id = self.queue.pop() => match id { Some(id) => id, None => break },
            };
            // Tracked so that shutdown waits for this run.
            let token = self.tasks.token();
            if let Err(error) = self.run_queued(id).await {
                tracing::error!(%id, worker, %error, "queued execution failed to run");
            }
            drop(token);
        }
    }

    async fn run_queued(&self, id: Uuid) -> Result<(), super::ExecError> {
        let Some(claimed) = self.store.write(move |conn| executions::claim(conn, id, now_ms())).await? else {
            return Ok(()); // already finished (e.g. a recovered duplicate) or purged
        };
        let (team_id, block_id) = (claimed.team_id, claimed.block_id);
        let loaded = match self.cache.load_block(&self.store, block_id).await {
            Ok(block) => block.filter(|block| block.team_id == team_id).ok_or(StoreError::NotFound("block")),
            Err(error) => Err(error),
        };
        let block = match loaded {
            Ok(block) => (*block).clone(),
            Err(error) => {
                let message = format!("the host could not run it: cannot load its block: {error}");
                self.store.write(move |conn| executions::fail_unstarted(conn, id, &message, now_ms())).await?;
                return Err(error.into());
            }
        };
        let input = claimed
            .input
            .as_deref()
            .ok_or(StoreError::NotFound("stored input of the queued execution"))
            .and_then(StoredInput::parse);
        match input {
            Ok(input) => {
                let job = Job::from_claimed(claimed, block, input);
                match self.run_job(job.clone(), Recording::Committed).await {
                    Ok(_) => Ok(()),
                    Err(error) => self.fail(job, &error.to_string()).await,
                }
            }
            Err(error) => {
                self.fail(Job::from_claimed(claimed, block, StoredInput::default()), &error.to_string()).await
            }
        }
    }

    /// Records a run the host could not start, so it does not stay `running` forever.
    async fn fail(&self, job: Job, message: &str) -> Result<(), super::ExecError> {
        let outcome = Outcome {
            result: Err(Failure {
                kind: FailureKind::Internal,
                message: format!("the host could not run it: {message}"),
                code: None,
            }),
            logs: Default::default(),
            fuel_consumed: 0,
            duration: std::time::Duration::ZERO,
            peak_memory_bytes: 0,
        };
        self.record(job, outcome, Recording::Committed).await.map(|_| ())
    }
}
