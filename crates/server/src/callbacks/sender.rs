//! Sends due callback messages, records each try, and schedules the next one.
//!
//! One task per server. Each round it commits what the writer holds (a message may sit in a
//! lingering batch), reads up to [`BATCH`] due messages, sends them [`PARALLEL`] at a time and
//! sleeps until the next is due or a new one is added. A 2xx delivers a message; anything
//! else (no answer, a timeout, any other status) is tried again after the next delay of the
//! schedule, and after the last one the message is `failed` (visible with its execution).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::{Callbacks, sign};
use crate::secrets::Sealer;
use crate::secrets::callback_context;
use wasmhook_sandbox::HostClient;
use wasmhook_store::callbacks::{Message, TryResult};

use wasmhook_store::now_ms;
use wasmhook_store::repo::SharedDatabase;

/// Messages read per round.
const BATCH: usize = 64;
/// Messages sent at once.
const PARALLEL: usize = 16;
/// The longest sleep without looking at the store.
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// What the sender needs.
#[derive(Debug, Clone)]
pub struct Sender {
    /// The registry (its wake-up).
    pub callbacks: Arc<Callbacks>,
    /// Where messages are.
    pub store: SharedDatabase,
    /// Opens the secrets.
    pub sealer: Arc<Sealer>,
    /// Sends under the outbound rules.
    pub client: HostClient,
    /// Delays before each further try.
    pub schedule: Vec<Duration>,
    /// Per try.
    pub timeout: Duration,
}

impl Sender {
    /// Runs until `stopping`.
    pub async fn run(self, stopping: CancellationToken) {
        loop {
            let sleep = match self.round().await {
                Ok(Some(sleep)) => sleep,
                Ok(None) => continue,
                Err(error) => {
                    tracing::error!(%error, "callback round failed");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                () = stopping.cancelled() => return,
                () = self.callbacks.woken() => {}
                () = tokio::time::sleep(sleep) => {}
            }
        }
    }

    /// Sends what is due; `None` when it sent some (look again at once), else how long to
    /// sleep.
    async fn round(&self) -> Result<Option<Duration>, wasmhook_store::StoreError> {
        self.store.executions().flush().await?;
        let now = now_ms();
        let (due, next) = self.store.callbacks().due(now, BATCH).await?;
        if !due.is_empty() {
            // Their next tries (and any messages added meanwhile) are only known now: look again.
            futures::stream::iter(due).for_each_concurrent(PARALLEL, |message| self.try_once(message)).await;
            return Ok(None);
        }
        let wait = next.map_or(MAX_SLEEP, |at| {
            Duration::from_millis(u64::try_from(at.saturating_sub(now_ms())).unwrap_or(0)).min(MAX_SLEEP)
        });
        Ok(Some(wait))
    }

    async fn try_once(&self, message: Message) {
        let result = self.send(&message).await;
        let retry_at = match &result {
            Ok(_) => None,
            Err(_) => self
                .schedule
                .get(message.attempts as usize)
                .map(|delay| now_ms().saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))),
        };
        let (status, error) = match result {
            Ok(status) => (Some(status), None),
            Err((status, error)) => (status, Some(error)),
        };
        let tried = TryResult { status, error, retry_at };
        if let Err(error) = self.store.callbacks().record_try(&message.id, tried, now_ms()).await {
            tracing::error!(%error, message = %message.id, "cannot record a callback try");
        }
    }

    /// One signed POST; the error carries the status, if one came, and why it failed.
    async fn send(&self, message: &Message) -> Result<u16, (Option<u16>, String)> {
        let target = message.target_id;
        let endpoint = self.store.callbacks().endpoint(target).await;
        let (url, sealed) = match endpoint {
            Ok(Some(found)) => found,
            Ok(None) => return Err((None, "the callback was removed".to_owned())),
            Err(error) => return Err((None, format!("cannot read the callback: {error}"))),
        };
        let secret = self
            .sealer
            .open(&callback_context(message.team_id), &sealed)
            .map_err(|e| (None, format!("cannot open the callback secret: {e}")))?;
        let secret = std::str::from_utf8(&secret).map_err(|_| (None, "the callback secret is not text".to_owned()))?;
        let uri = HostClient::check_url(&url).map_err(|e| (None, e))?;
        let timestamp = now_ms() / 1000;
        let signature =
            sign::signature(secret, &message.id, timestamp, message.payload.as_bytes()).map_err(|e| (None, e))?;
        let headers = [
            ("content-type", "application/json".to_owned()),
            ("user-agent", concat!("wasmhook/", env!("CARGO_PKG_VERSION")).to_owned()),
            ("webhook-id", message.id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
        ];
        let body = Bytes::from(message.payload.clone());
        let response = self.client.post(&uri, &headers, body, self.timeout).await.map_err(|e| (None, e))?;
        if (200..300).contains(&response.status) {
            Ok(response.status)
        } else {
            Err((Some(response.status), format!("the receiver answered {}", response.status)))
        }
    }
}
