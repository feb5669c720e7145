//! Docs by id, cached; a doc's entry goes with every write to it.

use std::sync::Arc;
use wasmhook_domain::ids::{DocId, TeamId};

use async_trait::async_trait;

use super::map::{MAX_ENTRIES, Map};
use super::write_then_invalidate;
use crate::StoreError;
use crate::docs::{Doc, DocInput};
use crate::repo::{DocRepo, SharedDatabase};

#[derive(Debug)]
pub(super) struct CachedDocs {
    inner: SharedDatabase,
    docs: Arc<Map<DocId, Arc<Doc>>>,
}

impl CachedDocs {
    pub(super) fn new(inner: SharedDatabase) -> Self {
        Self { inner, docs: Arc::new(Map::new(MAX_ENTRIES)) }
    }

    /// Drops doc `id`'s entry (another node changed it).
    pub(super) fn forget(&self, id: DocId) {
        self.docs.remove(&id);
    }

    /// Drops every entry.
    pub(super) fn forget_all(&self) {
        self.docs.clear();
    }
}

#[async_trait]
impl DocRepo for CachedDocs {
    async fn create(&self, team_id: TeamId, input: DocInput) -> Result<Doc, StoreError> {
        self.inner.docs().create(team_id, input).await
    }

    async fn replace(&self, team_id: TeamId, id: DocId, input: DocInput) -> Result<Doc, StoreError> {
        let (inner, docs) = (self.inner.clone(), Arc::clone(&self.docs));
        write_then_invalidate(async move { inner.docs().replace(team_id, id, input).await }, move |_| docs.remove(&id))
            .await
    }

    async fn archive(&self, team_id: TeamId, id: DocId) -> Result<Doc, StoreError> {
        let (inner, docs) = (self.inner.clone(), Arc::clone(&self.docs));
        write_then_invalidate(async move { inner.docs().archive(team_id, id).await }, move |_| docs.remove(&id)).await
    }

    /// Entries are by id; another team's doc is "not found" whether cached or not.
    async fn get(&self, team_id: TeamId, id: DocId) -> Result<Arc<Doc>, StoreError> {
        let load = || async {
            match self.inner.docs().get(team_id, id).await {
                Ok(doc) => Ok(Some(doc)),
                Err(StoreError::NotFound(_)) => Ok(None),
                Err(other) => Err(other),
            }
        };
        let doc = self.docs.get_or_load(id, load).await?;
        doc.filter(|doc| doc.team_id == team_id).ok_or(StoreError::NotFound("doc"))
    }

    async fn list(&self, team_id: TeamId) -> Result<Vec<Doc>, StoreError> {
        self.inner.docs().list(team_id).await
    }
}
