//! Docs: named groups of datasets, each backed by a block of the same team.

use std::sync::Arc;
use wasmhook_domain::ids::{DocId, TeamId};

use async_trait::async_trait;

use crate::docs::{self as sql, Doc, DocInput};
use crate::{Store, StoreError};

/// Docs.
#[async_trait]
pub trait DocRepo: Send + Sync {
    /// Creates a doc; every dataset's block must be the team's.
    async fn create(&self, team_id: TeamId, input: DocInput) -> Result<Doc, StoreError>;
    /// Replaces a doc's name and datasets.
    async fn replace(&self, team_id: TeamId, id: DocId, input: DocInput) -> Result<Doc, StoreError>;
    /// Archives a doc (once: the first archive time is kept); it stays readable.
    async fn archive(&self, team_id: TeamId, id: DocId) -> Result<Doc, StoreError>;
    /// A doc of the team (archived ones included); another team's is "not found".
    async fn get(&self, team_id: TeamId, id: DocId) -> Result<Arc<Doc>, StoreError>;
    /// The team's docs.
    async fn list(&self, team_id: TeamId) -> Result<Vec<Doc>, StoreError>;
}

#[async_trait]
impl DocRepo for Store {
    async fn create(&self, team_id: TeamId, input: DocInput) -> Result<Doc, StoreError> {
        self.write(move |conn| sql::insert_doc(conn, team_id, &input)).await
    }

    async fn replace(&self, team_id: TeamId, id: DocId, input: DocInput) -> Result<Doc, StoreError> {
        self.write(move |conn| sql::replace_doc(conn, team_id, id, &input)).await
    }

    async fn archive(&self, team_id: TeamId, id: DocId) -> Result<Doc, StoreError> {
        self.write(move |conn| sql::archive_doc(conn, team_id, id)).await
    }

    async fn get(&self, team_id: TeamId, id: DocId) -> Result<Arc<Doc>, StoreError> {
        Ok(Arc::new(self.read(move |conn| sql::doc(conn, team_id, id)).await?))
    }

    async fn list(&self, team_id: TeamId) -> Result<Vec<Doc>, StoreError> {
        self.read(move |conn| sql::docs_of_team(conn, team_id)).await
    }
}
