//! Hearing the other nodes' writes: the schema announces every change to a cached row on the
//! channel `wasmhook_cache` (migration 2); each node listens on a connection of its own
//! (`LISTEN` needs a session, so not a pooled one) and drops what it hears from its caches.
//!
//! Staleness bound: while the feed is up, another node's change reaches this node's caches
//! as soon as it commits (NOTIFY's latency, milliseconds). The feed is probed every
//! [`PROBE_EVERY`]; a connection that drops, or a probe unanswered within [`PROBE_TIMEOUT`],
//! counts as a lost feed: everything cached is dropped at once, and again once listening
//! resumes (changes made meanwhile were not heard). So a change is acted on within
//! [`PROBE_EVERY`] + [`PROBE_TIMEOUT`] (2 s) even when the feed dies silently; single calls
//! and idempotency keys never depend on a cache, they are decided in the database.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};
use wasmhook_store::cache::Invalidation;

use crate::PgStore;

/// The channel the schema's triggers announce on.
const CHANNEL: &str = "wasmhook_cache";
/// The listening connection's `application_name`, to tell it apart in `pg_stat_activity`.
pub const LISTENER_NAME: &str = "wasmhook-cache-listener";
/// How often the feed's connection is checked.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);
/// How long a check may take before the feed counts as lost.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// The pause before listening again after a lost feed.
const RETRY_AFTER: Duration = Duration::from_millis(500);

impl PgStore {
    /// Until `stop` resolves: hands every invalidation announced on the database to `apply`,
    /// and [`Invalidation::All`] whenever the feed was, or may have been, interrupted.
    pub async fn follow_invalidations(
        &self,
        apply: impl Fn(Invalidation) + Send + Sync + 'static,
        stop: impl Future<Output = ()> + Send,
    ) {
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return,
                lost = self.listen(&apply) => {
                    tracing::warn!(error = %lost, "lost the cache invalidation feed; caches dropped, listening again");
                }
            }
            apply(Invalidation::All);
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(RETRY_AFTER) => {}
            }
        }
    }

    /// Listens until the feed is lost; returns why.
    async fn listen(&self, apply: &(impl Fn(Invalidation) + Send + Sync)) -> String {
        let mut config = (*self.config).clone();
        config.application_name(LISTENER_NAME);
        let (client, mut connection) = match config.connect(NoTls).await {
            Ok(connected) => connected,
            Err(error) => return error.to_string(),
        };
        let (heard, mut hearing) = mpsc::unbounded_channel::<String>();
        // Polling the connection both drives the client's queries and yields notifications.
        let driver = tokio::spawn(async move {
            loop {
                match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                    Some(Ok(AsyncMessage::Notification(note))) => {
                        if heard.send(note.payload().to_owned()).is_err() {
                            return "stopped".to_owned();
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => return error.to_string(),
                    None => return "the connection closed".to_owned(),
                }
            }
        });
        let lost = self.hear(&client, &mut hearing, apply).await;
        driver.abort();
        lost
    }

    async fn hear(
        &self,
        client: &tokio_postgres::Client,
        hearing: &mut mpsc::UnboundedReceiver<String>,
        apply: &(impl Fn(Invalidation) + Send + Sync),
    ) -> String {
        if let Err(error) = client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
            return error.to_string();
        }
        // Whatever changed before LISTEN took effect was not heard.
        apply(Invalidation::All);
        let mut probe = tokio::time::interval(PROBE_EVERY);
        loop {
            tokio::select! {
                payload = hearing.recv() => match payload {
                    Some(payload) => match payload.parse() {
                        Ok(what) => apply(what),
                        Err(error) => tracing::warn!(%error, "unreadable cache invalidation"),
                    },
                    None => return "the connection closed".to_owned(),
                },
                _ = probe.tick() => match tokio::time::timeout(PROBE_TIMEOUT, client.simple_query("SELECT 1")).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => return error.to_string(),
                    Err(_) => return format!("no answer within {PROBE_TIMEOUT:?}"),
                },
            }
        }
    }
}
