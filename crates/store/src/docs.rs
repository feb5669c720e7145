//! Docs: named, ordered sets of datasets, each backed by a block (optionally a pinned version).

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use wasmhook_domain::ids::{BlockId, DocId, TeamId};

use super::block_settings::RetrySettings;
use super::{StoreError, blocks, now_ms, uuid_at};

/// One dataset of a doc.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dataset {
    /// Key, unique in the doc; selects the dataset in `datasetKeys`.
    pub key: String,
    /// The block that computes it.
    #[serde(rename = "block")]
    pub block_id: BlockId,
    /// A pinned version; `None` follows the block's active version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Overrides the block's `timeoutMs` for this dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Overrides the block's `retry` policy for this dataset's queued runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetrySettings>,
}

/// A doc as stored.
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Doc {
    /// Doc id (the `{doc_id}` of the v4 webhook).
    pub id: DocId,
    /// Owning team.
    #[serde(skip)]
    pub team_id: TeamId,
    /// Display name.
    pub name: String,
    /// Datasets in doc order (the order of v4 results).
    pub datasets: Vec<Dataset>,
    /// JSON pointer to the idempotency key in `data` (see blocks).
    pub idempotency_pointer: Option<String>,
    /// `false`: execution inputs are dropped once run.
    pub store_payload: bool,
    /// When archived; an archived doc answers 404 on its webhook.
    pub archived_at: Option<i64>,
    /// Creation time, ms since the epoch.
    pub created_at: i64,
    /// Last change, ms since the epoch.
    pub updated_at: i64,
}

/// The body of `POST /v1/docs` and `PUT /v1/docs/{id}`.
#[derive(utoipa::ToSchema, Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DocInput {
    /// Display name.
    pub name: String,
    /// Datasets in order.
    pub datasets: Vec<Dataset>,
    /// JSON pointer to the idempotency key in `data`.
    #[serde(default)]
    pub idempotency_pointer: Option<String>,
    /// Keep execution inputs (default true).
    #[serde(default = "super::blocks::default_true")]
    pub store_payload: bool,
}

/// Checks keys are unique and every block (and pinned version) is the team's.
fn validate(conn: &Connection, team_id: TeamId, input: &DocInput) -> Result<(), StoreError> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, dataset) in input.datasets.iter().enumerate() {
        if dataset.key.trim().is_empty() {
            return Err(StoreError::Invalid(format!("datasets[{i}].key must not be empty")));
        }
        if !seen.insert(dataset.key.as_str()) {
            return Err(StoreError::Invalid(format!("datasets[{i}].key {:?} is used twice", dataset.key)));
        }
        blocks::block(conn, team_id, dataset.block_id).map_err(|_| {
            StoreError::Invalid(format!("datasets[{i}].block {} is not a block of this team", dataset.block_id))
        })?;
        if let Some(version) = dataset.version {
            blocks::version(conn, dataset.block_id, version)
                .map_err(|_| StoreError::Invalid(format!("datasets[{i}].version {version} does not exist")))?;
        }
    }
    Ok(())
}

fn write_datasets(conn: &Connection, doc_id: DocId, datasets: &[Dataset]) -> Result<(), StoreError> {
    conn.execute("DELETE FROM datasets WHERE doc_id = ?1", [doc_id.to_string()])?;
    for (position, dataset) in datasets.iter().enumerate() {
        conn.execute(
            "INSERT INTO datasets (doc_id, position, key, block_id, version, timeout_ms, retry)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                doc_id.to_string(),
                position as i64,
                dataset.key,
                dataset.block_id.to_string(),
                dataset.version,
                dataset.timeout_ms,
                RetrySettings::to_column(dataset.retry.as_ref())?
            ],
        )?;
    }
    Ok(())
}

/// Creates a doc after checking its datasets' blocks are the team's.
pub(crate) fn insert_doc(conn: &Connection, team_id: TeamId, input: &DocInput) -> Result<Doc, StoreError> {
    validate(conn, team_id, input)?;
    let id = DocId::new_v4();
    let now = now_ms();
    conn.execute(
        "INSERT INTO docs (id, team_id, name, created_at, updated_at, idempotency_pointer, store_payload)
         VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
        params![id.to_string(), team_id.to_string(), input.name, now, input.idempotency_pointer, input.store_payload],
    )?;
    write_datasets(conn, id, &input.datasets)?;
    doc(conn, team_id, id)
}

/// Replaces a doc's name and datasets.
pub(crate) fn replace_doc(conn: &Connection, team_id: TeamId, id: DocId, input: &DocInput) -> Result<Doc, StoreError> {
    doc(conn, team_id, id)?;
    validate(conn, team_id, input)?;
    conn.execute(
        "UPDATE docs SET name = ?2, updated_at = ?3, idempotency_pointer = ?4, store_payload = ?5 WHERE id = ?1",
        params![id.to_string(), input.name, now_ms(), input.idempotency_pointer, input.store_payload],
    )?;
    write_datasets(conn, id, &input.datasets)?;
    doc(conn, team_id, id)
}

/// Archives a doc (once: the first archive time is kept); it stays readable.
pub(crate) fn archive_doc(conn: &Connection, team_id: TeamId, id: DocId) -> Result<Doc, StoreError> {
    doc(conn, team_id, id)?;
    let now = now_ms();
    conn.execute(
        "UPDATE docs SET archived_at = COALESCE(archived_at, ?2), updated_at = ?2 WHERE id = ?1",
        params![id.to_string(), now],
    )?;
    doc(conn, team_id, id)
}

/// A doc of `team_id` (archived ones included); another team's doc is "not found".
pub(crate) fn doc(conn: &Connection, team_id: TeamId, id: DocId) -> Result<Doc, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, team_id, name, archived_at, created_at, updated_at, idempotency_pointer, store_payload
         FROM docs WHERE id = ?1 AND team_id = ?2",
    )?;
    let mut doc = stmt
        .query_row([id.to_string(), team_id.to_string()], |row| {
            Ok(Doc {
                id: uuid_at(row, 0)?,
                team_id: uuid_at(row, 1)?,
                name: row.get(2)?,
                datasets: Vec::new(),
                archived_at: row.get(3)?,
                created_at: row.get(4)?,
                updated_at: row.get(5)?,
                idempotency_pointer: row.get(6)?,
                store_payload: row.get(7)?,
            })
        })
        .optional()?
        .ok_or(StoreError::NotFound("doc"))?;
    let mut stmt = conn.prepare_cached(
        "SELECT key, block_id, version, timeout_ms, retry FROM datasets WHERE doc_id = ?1 ORDER BY position",
    )?;
    let rows = stmt.query_map([id.to_string()], |row| {
        let dataset = Dataset {
            key: row.get(0)?,
            block_id: uuid_at(row, 1)?,
            version: row.get(2)?,
            timeout_ms: row.get(3)?,
            retry: None,
        };
        Ok((dataset, row.get::<_, Option<String>>(4)?))
    })?;
    doc.datasets = rows
        .map(|row| {
            let (mut dataset, retry) = row?;
            dataset.retry = RetrySettings::from_column(retry, "dataset")?;
            Ok(dataset)
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(doc)
}

/// The team's docs.
pub(crate) fn docs_of_team(conn: &Connection, team_id: TeamId) -> Result<Vec<Doc>, StoreError> {
    let ids: Vec<DocId> = {
        let mut stmt = conn.prepare("SELECT id FROM docs WHERE team_id = ?1 ORDER BY created_at, rowid")?;
        let rows = stmt.query_map([team_id.to_string()], |row| uuid_at(row, 0))?;
        rows.collect::<Result<_, _>>()?
    };
    ids.into_iter().map(|id| doc(conn, team_id, id)).collect()
}
