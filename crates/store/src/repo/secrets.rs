//! Team secrets, as sealed text: the store never sees a plain value.

use async_trait::async_trait;
use wasmhook_domain::ids::TeamId;

use crate::secrets::{self as sql, SecretInfo};
use crate::{Store, StoreError};

/// Team secrets.
#[async_trait]
pub trait SecretRepo: Send + Sync {
    /// Creates a secret; `Conflict` when the team has one by that name.
    async fn create(&self, team_id: TeamId, name: &str, sealed: &str) -> Result<SecretInfo, StoreError>;
    /// Creates or replaces a secret; `true` when it was created.
    async fn put(&self, team_id: TeamId, name: &str, sealed: &str) -> Result<(SecretInfo, bool), StoreError>;
    /// The team's secrets, by name.
    async fn list(&self, team_id: TeamId) -> Result<Vec<SecretInfo>, StoreError>;
    /// One secret's info.
    async fn info(&self, team_id: TeamId, name: &str) -> Result<SecretInfo, StoreError>;
    /// Deletes a secret.
    async fn delete(&self, team_id: TeamId, name: &str) -> Result<(), StoreError>;
    /// The sealed values of the named secrets; absent names are left out.
    async fn sealed(&self, team_id: TeamId, names: &[String]) -> Result<Vec<(String, String)>, StoreError>;
}

#[async_trait]
impl SecretRepo for Store {
    async fn create(&self, team_id: TeamId, name: &str, sealed: &str) -> Result<SecretInfo, StoreError> {
        let (name, sealed) = (name.to_owned(), sealed.to_owned());
        self.write(move |conn| match sql::info(conn, team_id, &name) {
            Ok(_) => Err(StoreError::Conflict(format!(
                "a secret named {name:?} exists; PUT /v1/secrets/{name} replaces its value"
            ))),
            Err(StoreError::NotFound(_)) => sql::put(conn, team_id, &name, &sealed).map(|(info, _)| info),
            Err(other) => Err(other),
        })
        .await
    }

    async fn put(&self, team_id: TeamId, name: &str, sealed: &str) -> Result<(SecretInfo, bool), StoreError> {
        let (name, sealed) = (name.to_owned(), sealed.to_owned());
        self.write(move |conn| sql::put(conn, team_id, &name, &sealed)).await
    }

    async fn list(&self, team_id: TeamId) -> Result<Vec<SecretInfo>, StoreError> {
        self.read(move |conn| sql::list(conn, team_id)).await
    }

    async fn info(&self, team_id: TeamId, name: &str) -> Result<SecretInfo, StoreError> {
        let name = name.to_owned();
        self.read(move |conn| sql::info(conn, team_id, &name)).await
    }

    async fn delete(&self, team_id: TeamId, name: &str) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.write(move |conn| sql::delete(conn, team_id, &name)).await
    }

    async fn sealed(&self, team_id: TeamId, names: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        let names = names.to_vec();
        self.read(move |conn| sql::sealed(conn, team_id, &names)).await
    }
}
