//! Docs on PostgreSQL ([`DocRepo`]): named, ordered sets of datasets, each backed by a block
//! of the doc's team (optionally a pinned version).
//!
//! A doc is read with its datasets in one statement (one snapshot: never a doc's new name
//! with its old datasets); `replace` updates the doc's row first, which locks it, so two
//! replaces run one after the other instead of mixing their datasets.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use wasmhook_domain::ids::{DocId, TeamId};
use wasmhook_store::block_settings::RetrySettings;
use wasmhook_store::repo::DocRepo;
use wasmhook_store::{Dataset, Doc, DocInput, StoreError, now_ms};

use crate::PgStore;
use crate::blocks::{self, from_bigint, to_bigint};
use crate::pg::{self, RowExt, commit, db};

/// A doc's columns (0–7) and its datasets' (8–12), one row per dataset; a doc without
/// datasets is one row whose dataset columns are `NULL`.
const SELECT_DOCS: &str = "SELECT d.id, d.team_id, d.name, d.archived_at, d.created_at, d.updated_at,
        d.idempotency_pointer, d.store_payload, s.key, s.block_id, s.version, s.timeout_ms, s.retry
   FROM docs d LEFT JOIN datasets s ON s.doc_id = d.id";

/// The doc of a [`SELECT_DOCS`] row, its datasets still to be added.
fn doc_from(row: &Row) -> Result<Doc, StoreError> {
    Ok(Doc {
        id: row.at(0)?,
        team_id: row.at(1)?,
        name: row.at(2)?,
        datasets: Vec::new(),
        archived_at: row.at(3)?,
        created_at: row.at(4)?,
        updated_at: row.at(5)?,
        idempotency_pointer: row.at(6)?,
        store_payload: row.at(7)?,
    })
}

/// The dataset of a [`SELECT_DOCS`] row; `None` for a doc without datasets.
fn dataset_from(row: &Row) -> Result<Option<Dataset>, StoreError> {
    let Some(key) = row.at::<Option<String>>(8)? else { return Ok(None) };
    Ok(Some(Dataset {
        key,
        block_id: row.at(9)?,
        version: row.at(10)?,
        timeout_ms: from_bigint(row.at(11)?, "dataset timeout_ms")?,
        retry: RetrySettings::from_column(row.at(12)?, "dataset")?,
    }))
}

/// Folds [`SELECT_DOCS`] rows, ordered by doc then position, into docs.
fn docs_from(rows: &[Row]) -> Result<Vec<Doc>, StoreError> {
    let mut docs: Vec<Doc> = Vec::new();
    for row in rows {
        let id: DocId = row.at(0)?;
        if docs.last().is_none_or(|doc| doc.id != id) {
            docs.push(doc_from(row)?);
        }
        if let (Some(dataset), Some(doc)) = (dataset_from(row)?, docs.last_mut()) {
            doc.datasets.push(dataset);
        }
    }
    Ok(docs)
}

/// A doc of `team_id` (archived ones included); another team's doc is "not found".
async fn doc(c: &impl GenericClient, team_id: TeamId, id: DocId) -> Result<Doc, StoreError> {
    let sql = format!("{SELECT_DOCS} WHERE d.id = $1 AND d.team_id = $2 ORDER BY s.position");
    let rows = pg::query(c, &sql, &[&id, &team_id]).await?;
    docs_from(&rows)?.pop().ok_or(StoreError::NotFound("doc"))
}

/// Checks keys are unique and every block (and pinned version) is the team's, dataset by
/// dataset, with SQLite's messages (the first bad dataset is the one named).
async fn validate(c: &impl GenericClient, team_id: TeamId, input: &DocInput) -> Result<(), StoreError> {
    let mut seen = BTreeSet::new();
    for (i, dataset) in input.datasets.iter().enumerate() {
        if dataset.key.trim().is_empty() {
            return Err(StoreError::Invalid(format!("datasets[{i}].key must not be empty")));
        }
        if !seen.insert(dataset.key.as_str()) {
            return Err(StoreError::Invalid(format!("datasets[{i}].key {:?} is used twice", dataset.key)));
        }
        blocks::get(c, team_id, dataset.block_id).await.map_err(|_| {
            StoreError::Invalid(format!("datasets[{i}].block {} is not a block of this team", dataset.block_id))
        })?;
        if let Some(version) = dataset.version {
            blocks::version(c, dataset.block_id, version)
                .await
                .map_err(|_| StoreError::Invalid(format!("datasets[{i}].version {version} does not exist")))?;
        }
    }
    Ok(())
}

/// Replaces the doc's datasets with `datasets`, in order.
async fn write_datasets(c: &impl GenericClient, doc_id: DocId, datasets: &[Dataset]) -> Result<(), StoreError> {
    pg::execute(c, "DELETE FROM datasets WHERE doc_id = $1", &[&doc_id]).await?;
    for (position, dataset) in datasets.iter().enumerate() {
        pg::execute(
            c,
            "INSERT INTO datasets (doc_id, position, key, block_id, version, timeout_ms, retry)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &doc_id,
                &pg::to_i64(position),
                &dataset.key,
                &dataset.block_id,
                &dataset.version,
                &to_bigint(dataset.timeout_ms)?,
                &RetrySettings::to_column(dataset.retry.as_ref())?,
            ],
        )
        .await?;
    }
    Ok(())
}

#[async_trait]
impl DocRepo for PgStore {
    async fn create(&self, team_id: TeamId, input: DocInput) -> Result<Doc, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        validate(&tx, team_id, &input).await?;
        let id = DocId::new_v4();
        pg::execute(
            &tx,
            "INSERT INTO docs (id, team_id, name, created_at, updated_at, idempotency_pointer, store_payload)
             VALUES ($1, $2, $3, $4, $4, $5, $6)",
            &[&id, &team_id, &input.name, &now_ms(), &input.idempotency_pointer, &input.store_payload],
        )
        .await?;
        write_datasets(&tx, id, &input.datasets).await?;
        let created = doc(&tx, team_id, id).await?;
        tx.commit().await.map_err(commit)?;
        Ok(created)
    }

    async fn replace(&self, team_id: TeamId, id: DocId, input: DocInput) -> Result<Doc, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        // The update locks the doc's row before its datasets are touched: a concurrent replace
        // waits there, then deletes the datasets this one wrote. A missing doc is reported
        // before invalid datasets, as on SQLite.
        let changed = pg::execute(
            &tx,
            "UPDATE docs SET name = $3, updated_at = $4, idempotency_pointer = $5, store_payload = $6
             WHERE id = $1 AND team_id = $2",
            &[&id, &team_id, &input.name, &now_ms(), &input.idempotency_pointer, &input.store_payload],
        )
        .await?;
        if changed == 0 {
            return Err(StoreError::NotFound("doc"));
        }
        validate(&tx, team_id, &input).await?;
        write_datasets(&tx, id, &input.datasets).await?;
        let replaced = doc(&tx, team_id, id).await?;
        tx.commit().await.map_err(commit)?;
        Ok(replaced)
    }

    async fn archive(&self, team_id: TeamId, id: DocId) -> Result<Doc, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        let changed = pg::execute(
            &tx,
            "UPDATE docs SET archived_at = coalesce(archived_at, $3), updated_at = $3 WHERE id = $1 AND team_id = $2",
            &[&id, &team_id, &now_ms()],
        )
        .await?;
        if changed == 0 {
            return Err(StoreError::NotFound("doc"));
        }
        let archived = doc(&tx, team_id, id).await?;
        tx.commit().await.map_err(commit)?;
        Ok(archived)
    }

    async fn get(&self, team_id: TeamId, id: DocId) -> Result<Arc<Doc>, StoreError> {
        Ok(Arc::new(doc(&self.client().await?, team_id, id).await?))
    }

    async fn list(&self, team_id: TeamId) -> Result<Vec<Doc>, StoreError> {
        let sql = format!("{SELECT_DOCS} WHERE d.team_id = $1 ORDER BY d.created_at, d.seq, s.position");
        docs_from(&pg::query(&self.client().await?, &sql, &[&team_id]).await?)
    }
}
