//! Completion callbacks: each target's endpoint and sealed signing secret, and the messages
//! waiting to be sent.

use async_trait::async_trait;
use uuid::Uuid;
use wasmhook_domain::ids::TeamId;

use crate::callbacks::{self as sql, Callback, Message, TryResult};
use crate::{Store, StoreError};

/// A secret sealed for storage, with the hint shown in place of it.
#[derive(Debug, Clone)]
pub struct SealedSecret {
    /// The sealed text.
    pub sealed: String,
    /// Its last characters, for listings.
    pub hint: String,
}

/// Callbacks and their messages.
#[async_trait]
pub trait CallbackRepo: Send + Sync {
    /// Saves `callback`: a target without one gets it with `secret` (`true`: created); an
    /// existing one keeps its own secret. Decided in one write, so of two concurrent first
    /// saves exactly one creates.
    async fn save(&self, callback: Callback, secret: SealedSecret) -> Result<(Callback, bool), StoreError>;
    /// Replaces the secret of the target's callback.
    async fn replace_secret(
        &self,
        team_id: TeamId,
        target_id: Uuid,
        secret: SealedSecret,
    ) -> Result<Callback, StoreError>;
    /// The callback of a target of the team.
    async fn get(&self, team_id: TeamId, target_id: Uuid) -> Result<Callback, StoreError>;
    /// The team's callbacks, oldest first.
    async fn list(&self, team_id: TeamId) -> Result<Vec<Callback>, StoreError>;
    /// Removes a target's callback.
    async fn delete(&self, team_id: TeamId, target_id: Uuid) -> Result<(), StoreError>;
    /// Every target with a callback.
    async fn targets(&self) -> Result<Vec<Uuid>, StoreError>;
    /// Up to `limit` messages due at `now`, and when the next one not yet due is.
    async fn due(&self, now: i64, limit: usize) -> Result<(Vec<Message>, Option<i64>), StoreError>;
    /// Records one try of a message.
    async fn record_try(&self, id: &str, result: TryResult, now: i64) -> Result<(), StoreError>;
    /// Where a target's messages go and how they are signed: URL and sealed secret.
    async fn endpoint(&self, target_id: Uuid) -> Result<Option<(String, String)>, StoreError>;
}

#[async_trait]
impl CallbackRepo for Store {
    async fn save(&self, callback: Callback, secret: SealedSecret) -> Result<(Callback, bool), StoreError> {
        self.write(move |conn| match sql::get(conn, callback.team_id, callback.target_id) {
            Ok(_) => Ok((sql::put(conn, &callback, None)?, false)),
            Err(StoreError::NotFound(_)) => {
                Ok((sql::put(conn, &callback, Some((&secret.sealed, &secret.hint)))?, true))
            }
            Err(other) => Err(other),
        })
        .await
    }

    async fn replace_secret(
        &self,
        team_id: TeamId,
        target_id: Uuid,
        secret: SealedSecret,
    ) -> Result<Callback, StoreError> {
        self.write(move |conn| {
            let current = sql::get(conn, team_id, target_id)?;
            sql::put(conn, &current, Some((&secret.sealed, &secret.hint)))
        })
        .await
    }

    async fn get(&self, team_id: TeamId, target_id: Uuid) -> Result<Callback, StoreError> {
        self.read(move |conn| sql::get(conn, team_id, target_id)).await
    }

    async fn list(&self, team_id: TeamId) -> Result<Vec<Callback>, StoreError> {
        self.read(move |conn| sql::list(conn, team_id)).await
    }

    async fn delete(&self, team_id: TeamId, target_id: Uuid) -> Result<(), StoreError> {
        self.write(move |conn| sql::delete(conn, team_id, target_id)).await
    }

    async fn targets(&self) -> Result<Vec<Uuid>, StoreError> {
        self.read(sql::targets).await
    }

    async fn due(&self, now: i64, limit: usize) -> Result<(Vec<Message>, Option<i64>), StoreError> {
        self.read(move |conn| sql::due(conn, now, limit)).await
    }

    async fn record_try(&self, id: &str, result: TryResult, now: i64) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |conn| sql::record_try(conn, &id, &result, now)).await
    }

    async fn endpoint(&self, target_id: Uuid) -> Result<Option<(String, String)>, StoreError> {
        self.read(move |conn| sql::endpoint(conn, target_id)).await
    }
}
