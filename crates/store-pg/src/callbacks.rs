//! Completion callbacks and their messages on PostgreSQL ([`CallbackRepo`]). Secrets are stored
//! sealed, as in SQLite.
//!
//! Every node runs a sender that polls [`CallbackRepo::due`], so `due` leases what it returns
//! (see [`DUE_LEASE_MS`]): two nodes never send the same message at once.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use uuid::Uuid;
use wasmhook_domain::ids::{ExecutionId, TeamId};
use wasmhook_store::callbacks::{Callback, CallbackEvent, CallbackTarget, Message, TryResult, decode, decode_message};
use wasmhook_store::repo::{CallbackRepo, SealedSecret};
use wasmhook_store::{StoreError, now_ms};

use crate::PgStore;
use crate::pg::{self, RowExt, commit, db};

/// How long a message `due` returned stays invisible to other nodes' `due`, ms. The sender
/// (crates/server/src/callbacks/sender.rs) reads up to 64 messages and sends them 16 at a
/// time, each send bounded by `callback_timeout` (15 s by default), then records the try, which
/// replaces the lease with the real next time. The last message of a batch may thus be sent
/// about four timeouts (60 s) after `due` returned: five minutes covers that with room to
/// spare, while a node that dies mid-round delays its messages by at most that much before
/// another node sends them (receivers dedupe on the `webhook-id`, which a resend keeps). A
/// `callback_timeout` above about 75 s could let a lease run out mid-round: at worst a message
/// is sent twice, never lost.
const DUE_LEASE_MS: i64 = 5 * 60 * 1000;

/// A callback's columns as [`callback_from`] reads them (never the sealed secret, which only
/// [`CallbackRepo::endpoint`] hands out).
const COLUMNS: &str = "team_id, target_kind, target_id, url, events, secret_hint, created_at, updated_at";

/// A callback from [`COLUMNS`], its kind and events decoded as SQLite decodes them.
fn callback_from(row: &Row) -> Result<Callback, StoreError> {
    let callback = Callback {
        team_id: row.at(0)?,
        target_kind: CallbackTarget::Block,
        target_id: row.at(2)?,
        url: row.at(3)?,
        events: Vec::new(),
        secret_hint: row.at(5)?,
        created_at: row.at(6)?,
        updated_at: row.at(7)?,
    };
    decode((callback, row.at(1)?, row.at(4)?))
}

/// A message's columns as [`message_from`] reads them.
const MESSAGE_COLUMNS: &str = "id, team_id, target_id, execution_id, event, payload, status, attempts, \
    next_attempt_at, last_status, last_error, created_at, delivered_at";

/// A message from [`MESSAGE_COLUMNS`]; counts out of their Rust type's range are `Corrupt`.
fn message_from(row: &Row) -> Result<Message, StoreError> {
    let attempts: i64 = row.at(7)?;
    let last_status: Option<i64> = row.at(9)?;
    let message = Message {
        id: row.at(0)?,
        team_id: row.at(1)?,
        target_id: row.at(2)?,
        execution_id: row.at(3)?,
        event: CallbackEvent::Succeeded,
        payload: row.at(5)?,
        status: row.at(6)?,
        attempts: u32::try_from(attempts).map_err(|_| StoreError::Corrupt(format!("message attempts {attempts}")))?,
        next_attempt_at: row.at(8)?,
        last_status: last_status
            .map(|status| u16::try_from(status).map_err(|_| StoreError::Corrupt(format!("message status {status}"))))
            .transpose()?,
        last_error: row.at(10)?,
        created_at: row.at(11)?,
        delivered_at: row.at(12)?,
    };
    decode_message((message, row.at(4)?))
}

/// The callbacks of the team among `targets` that subscribe to `event`, in the order of
/// `targets` (one round trip for all of them).
pub(crate) async fn subscribed(
    c: &impl GenericClient,
    team_id: TeamId,
    targets: &[Uuid],
    event: CallbackEvent,
) -> Result<Vec<Callback>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM unnest($2::uuid[]) WITH ORDINALITY AS t(wanted, position)
         JOIN callbacks ON target_id = t.wanted AND team_id = $1 ORDER BY t.position"
    );
    let rows = pg::query(c, &sql, &[&team_id, &targets]).await?;
    let found = rows.iter().map(callback_from).collect::<Result<Vec<_>, _>>()?;
    Ok(found.into_iter().filter(|callback| callback.events.contains(&event)).collect())
}

/// Adds a message, due at once.
pub(crate) async fn insert_message(c: &impl GenericClient, message: &Message) -> Result<(), StoreError> {
    pg::execute(
        c,
        "INSERT INTO callback_messages (id, team_id, target_id, execution_id, event, payload, status, attempts,
            next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7)",
        &[
            &message.id,
            &message.team_id,
            &message.target_id,
            &message.execution_id,
            &message.event.as_str(),
            &message.payload,
            &message.created_at,
        ],
    )
    .await?;
    Ok(())
}

/// The messages of an execution, oldest first (ids in byte order on a tie, as SQLite).
pub(crate) async fn messages_of(
    c: &impl GenericClient,
    team_id: TeamId,
    execution_id: ExecutionId,
) -> Result<Vec<Message>, StoreError> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM callback_messages WHERE execution_id = $1 AND team_id = $2
         ORDER BY created_at, id COLLATE \"C\""
    );
    pg::query(c, &sql, &[&execution_id, &team_id]).await?.iter().map(message_from).collect()
}

/// Deletes finished messages made before `cutoff`; returns how many.
pub(crate) async fn purge(c: &impl GenericClient, cutoff: i64) -> Result<usize, StoreError> {
    let deleted =
        pg::execute(c, "DELETE FROM callback_messages WHERE created_at < $1 AND status != 'pending'", &[&cutoff])
            .await?;
    Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
}

/// When the next pending message not yet due at `now` is (SQLite's answer: read before this
/// call's own leases, which would otherwise count as due soon).
async fn next_due(c: &impl GenericClient, now: i64) -> Result<Option<i64>, StoreError> {
    pg::query_one(
        c,
        "SELECT MIN(next_attempt_at) FROM callback_messages WHERE status = 'pending' AND next_attempt_at > $1",
        &[&now],
    )
    .await?
    .at(0)
}

/// Takes up to `limit` messages due at `now` that no other node is taking (`SKIP LOCKED`),
/// moves their next attempt to the lease's end, and returns them as they were, in due order.
async fn lease_due(c: &impl GenericClient, now: i64, limit: usize) -> Result<Vec<Message>, StoreError> {
    let sql = format!(
        "WITH picked AS MATERIALIZED (
             SELECT id AS picked_id, next_attempt_at AS due_at FROM callback_messages
             WHERE status = 'pending' AND next_attempt_at <= $1
             ORDER BY next_attempt_at, id COLLATE \"C\" LIMIT $2 FOR UPDATE SKIP LOCKED),
         leased AS (
             UPDATE callback_messages SET next_attempt_at = $3 FROM picked WHERE id = picked_id
             RETURNING {MESSAGE_COLUMNS}, due_at)
         SELECT * FROM leased ORDER BY due_at, id COLLATE \"C\""
    );
    let until = now.saturating_add(DUE_LEASE_MS);
    let rows = pg::query(c, &sql, &[&now, &pg::to_i64(limit), &until]).await?;
    rows.iter().map(|row| Ok(Message { next_attempt_at: row.at(13)?, ..message_from(row)? })).collect()
}

#[async_trait]
impl CallbackRepo for PgStore {
    async fn save(&self, callback: Callback, secret: SealedSecret) -> Result<(Callback, bool), StoreError> {
        // One statement: of two concurrent first saves one inserts, the other updates the row
        // it waited for (keeping its secret); `xmax = 0` tells which. Another team's target
        // matches no row.
        let events = serde_json::to_string(&callback.events).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let now = now_ms();
        let sql = format!(
            "INSERT INTO callbacks (team_id, target_kind, target_id, url, events, sealed_secret, secret_hint,
                created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
             ON CONFLICT (target_id) DO UPDATE SET url = excluded.url, events = excluded.events,
                updated_at = excluded.updated_at WHERE callbacks.team_id = excluded.team_id
             RETURNING {COLUMNS}, xmax = 0"
        );
        let row = pg::query_opt(
            &self.client().await?,
            &sql,
            &[
                &callback.team_id,
                &callback.target_kind.as_str(),
                &callback.target_id,
                &callback.url,
                &events,
                &secret.sealed,
                &secret.hint,
                &now,
            ],
        )
        .await?
        .ok_or(StoreError::NotFound("callback"))?;
        Ok((callback_from(&row)?, row.at(8)?))
    }

    async fn replace_secret(
        &self,
        team_id: TeamId,
        target_id: Uuid,
        secret: SealedSecret,
    ) -> Result<Callback, StoreError> {
        let sql = format!(
            "UPDATE callbacks SET sealed_secret = $3, secret_hint = $4, updated_at = $5
             WHERE target_id = $2 AND team_id = $1 RETURNING {COLUMNS}"
        );
        pg::query_opt(&self.client().await?, &sql, &[&team_id, &target_id, &secret.sealed, &secret.hint, &now_ms()])
            .await?
            .as_ref()
            .map(callback_from)
            .transpose()?
            .ok_or(StoreError::NotFound("callback"))
    }

    async fn get(&self, team_id: TeamId, target_id: Uuid) -> Result<Callback, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM callbacks WHERE target_id = $1 AND team_id = $2");
        pg::query_opt(&self.client().await?, &sql, &[&target_id, &team_id])
            .await?
            .as_ref()
            .map(callback_from)
            .transpose()?
            .ok_or(StoreError::NotFound("callback"))
    }

    async fn list(&self, team_id: TeamId) -> Result<Vec<Callback>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM callbacks WHERE team_id = $1 ORDER BY created_at, seq");
        pg::query(&self.client().await?, &sql, &[&team_id]).await?.iter().map(callback_from).collect()
    }

    async fn delete(&self, team_id: TeamId, target_id: Uuid) -> Result<(), StoreError> {
        let deleted = pg::execute(
            &self.client().await?,
            "DELETE FROM callbacks WHERE target_id = $1 AND team_id = $2",
            &[&target_id, &team_id],
        )
        .await?;
        if deleted == 0 { Err(StoreError::NotFound("callback")) } else { Ok(()) }
    }

    async fn targets(&self) -> Result<Vec<Uuid>, StoreError> {
        let rows = pg::query(&self.client().await?, "SELECT target_id FROM callbacks ORDER BY target_id", &[]).await?;
        rows.iter().map(|row| row.at(0)).collect()
    }

    async fn due(&self, now: i64, limit: usize) -> Result<(Vec<Message>, Option<i64>), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let next = next_due(&tx, now).await?;
        let messages = lease_due(&tx, now, limit).await?;
        tx.commit().await.map_err(commit)?;
        Ok((messages, next))
    }

    async fn record_try(&self, id: &str, result: TryResult, now: i64) -> Result<(), StoreError> {
        let status = result.message_status();
        let delivered_at = (status == "delivered").then_some(now);
        pg::execute(
            &self.client().await?,
            "UPDATE callback_messages SET status = $2, attempts = attempts + 1, next_attempt_at = $3,
                last_status = $4, last_error = $5, delivered_at = $6
             WHERE id = $1 AND status = 'pending'",
            &[&id, &status, &result.retry_at, &result.status.map(i64::from), &result.error, &delivered_at],
        )
        .await?;
        Ok(())
    }

    async fn endpoint(&self, target_id: Uuid) -> Result<Option<(String, String)>, StoreError> {
        let row = pg::query_opt(
            &self.client().await?,
            "SELECT url, sealed_secret FROM callbacks WHERE target_id = $1",
            &[&target_id],
        )
        .await?;
        row.map(|row| Ok((row.at(0)?, row.at(1)?))).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::scratch;

    fn callback(team_id: TeamId, target_id: Uuid, events: Vec<CallbackEvent>) -> Callback {
        Callback {
            team_id,
            target_kind: CallbackTarget::Block,
            target_id,
            url: "https://example.com/hook".to_owned(),
            events,
            secret_hint: String::new(),
            created_at: 0,
            updated_at: 0,
        }
    }

    fn message(id: &str, team_id: TeamId, execution_id: ExecutionId, created_at: i64) -> Message {
        Message {
            id: id.to_owned(),
            team_id,
            target_id: Uuid::new_v4(),
            execution_id,
            event: CallbackEvent::Dead,
            payload: format!("{{\"id\":\"{id}\"}}"),
            status: "ignored".to_owned(),
            attempts: 9,
            next_attempt_at: None,
            last_status: None,
            last_error: None,
            created_at,
            delivered_at: None,
        }
    }

    #[tokio::test]
    async fn subscribed_keeps_the_order_asked_and_the_team_and_event_asked() {
        let Some(scratch) = scratch::store().await else { return };
        let store = &scratch.store;
        let (team, other) = (TeamId::new_v4(), TeamId::new_v4());
        let (a, b, foreign, absent) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let secret = || SealedSecret { sealed: "sealed".to_owned(), hint: "hint".to_owned() };
        store.save(callback(team, a, vec![CallbackEvent::Succeeded]), secret()).await.expect("a");
        let both = vec![CallbackEvent::Failed, CallbackEvent::Succeeded];
        store.save(callback(team, b, both), secret()).await.expect("b");
        store.save(callback(other, foreign, vec![CallbackEvent::Succeeded]), secret()).await.expect("foreign");

        let client = store.client().await.expect("client");
        let targets = [b, absent, a, foreign];
        let found = subscribed(&client, team, &targets, CallbackEvent::Succeeded).await.expect("subscribed");
        assert_eq!(found.iter().map(|c| c.target_id).collect::<Vec<_>>(), [b, a]);
        let found = subscribed(&client, team, &targets, CallbackEvent::Failed).await.expect("subscribed");
        assert_eq!(found.iter().map(|c| c.target_id).collect::<Vec<_>>(), [b]);
        assert!(subscribed(&client, team, &[], CallbackEvent::Dead).await.expect("none").is_empty());
        drop(client);
        scratch.drop_now().await;
    }

    #[tokio::test]
    async fn messages_are_inserted_pending_listed_per_execution_and_purged_once_finished() {
        let Some(scratch) = scratch::store().await else { return };
        let store = &scratch.store;
        let (team, execution) = (TeamId::new_v4(), ExecutionId::new_v4());
        let client = store.client().await.expect("client");
        for m in [
            message("msg_b", team, execution, 10),
            message("msg_B", team, execution, 10),
            message("msg_a", team, execution, 20),
            message("msg_other", team, ExecutionId::new_v4(), 5),
        ] {
            insert_message(&client, &m).await.expect("insert");
        }
        let listed = messages_of(&client, team, execution).await.expect("messages");
        let ids: Vec<&str> = listed.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["msg_B", "msg_b", "msg_a"], "oldest first, then ids in byte order");
        let first = &listed[1];
        assert_eq!((first.status.as_str(), first.attempts, first.next_attempt_at), ("pending", 0, Some(10)));
        assert_eq!((first.event, first.payload.as_str()), (CallbackEvent::Dead, "{\"id\":\"msg_b\"}"));
        assert!(messages_of(&client, TeamId::new_v4(), execution).await.expect("other team").is_empty());

        let delivered = TryResult { status: Some(204), error: None, retry_at: None };
        store.record_try("msg_b", delivered, 15).await.expect("delivered");
        let failed = TryResult { status: None, error: Some("no answer".to_owned()), retry_at: None };
        store.record_try("msg_a", failed, 25).await.expect("failed");
        assert_eq!(purge(&client, 20).await.expect("purge"), 1, "finished and made before the cutoff only");
        let ids: Vec<String> =
            messages_of(&client, team, execution).await.expect("after").into_iter().map(|m| m.id).collect();
        assert_eq!(ids, ["msg_B", "msg_a"]);
        drop(client);
        scratch.drop_now().await;
    }
}
