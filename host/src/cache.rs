//! In-memory caches of what every webhook call reads: verified API keys, blocks, docs, trigger
//! webhooks and the digest of each block version.
//!
//! Without them each call costs two or three SQLite reads on blocking threads before any work
//! starts. Entries are dropped by the handlers that change the underlying rows (key
//! revocation, block and doc writes) — this process is the only writer. Block versions are
//! immutable, so their digests are never invalidated. The caches are
//! bounded; when one is full it is cleared (simple, and a refill is one read per entry).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use parking_lot::RwLock;
use uuid::Uuid;

use crate::auth::Caller;
use crate::sandbox::BlockDigest;
use crate::store::blocks::{self, Block};
use crate::store::docs::Doc;
use crate::store::webhooks::Webhook;
use crate::store::{Store, StoreError};

const MAX_ENTRIES: usize = 10_000;

/// A bounded map shared by all requests.
#[derive(Debug)]
struct Map<K, V> {
    entries: RwLock<HashMap<K, V>>,
}

impl<K: Eq + Hash, V: Clone> Map<K, V> {
    fn new() -> Self {
        Self { entries: RwLock::new(HashMap::new()) }
    }

    fn get(&self, key: &K) -> Option<V> {
        self.entries.read().get(key).cloned()
    }

    fn put(&self, key: K, value: V) {
        let mut entries = self.entries.write();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, value);
    }

    fn remove(&self, key: &K) {
        self.entries.write().remove(key);
    }

    fn clear(&self) {
        self.entries.write().clear();
    }
}

/// The caches of one server.
#[derive(Debug)]
pub struct Cache {
    /// (user id, SHA-256 of the secret) → the authenticated caller.
    keys: Map<(Uuid, [u8; 32]), Caller>,
    blocks: Map<Uuid, Arc<Block>>,
    docs: Map<Uuid, Arc<Doc>>,
    webhooks: Map<Uuid, Arc<Webhook>>,
    digests: Map<(Uuid, i64), BlockDigest>,
}

impl Default for Cache {
    fn default() -> Self {
        Self { keys: Map::new(), blocks: Map::new(), docs: Map::new(), webhooks: Map::new(), digests: Map::new() }
    }
}

impl Cache {
    pub(crate) fn caller(&self, user_id: Uuid, secret_hash: &[u8; 32]) -> Option<Caller> {
        self.keys.get(&(user_id, *secret_hash))
    }

    pub(crate) fn remember_caller(&self, user_id: Uuid, secret_hash: [u8; 32], caller: Caller) {
        self.keys.put((user_id, secret_hash), caller);
    }

    /// After a revocation: forget every verified key (revocations are rare).
    pub(crate) fn forget_callers(&self) {
        self.keys.clear();
    }

    pub(crate) fn block(&self, id: Uuid) -> Option<Arc<Block>> {
        self.blocks.get(&id)
    }

    pub(crate) fn remember_block(&self, block: Arc<Block>) {
        self.blocks.put(block.id, block);
    }

    /// A block by id whatever its team: from the cache, else read from `store` and remembered.
    pub(crate) async fn load_block(&self, store: &Store, id: Uuid) -> Result<Option<Arc<Block>>, StoreError> {
        if let Some(block) = self.block(id) {
            return Ok(Some(block));
        }
        let block = store.read(move |conn| blocks::block_by_id(conn, id)).await?.map(Arc::new);
        if let Some(block) = &block {
            self.remember_block(Arc::clone(block));
        }
        Ok(block)
    }

    /// After any write to the block (config, versions, activation).
    pub(crate) fn forget_block(&self, id: Uuid) {
        self.blocks.remove(&id);
    }

    pub(crate) fn doc(&self, id: Uuid) -> Option<Arc<Doc>> {
        self.docs.get(&id)
    }

    pub(crate) fn remember_doc(&self, doc: Arc<Doc>) {
        self.docs.put(doc.id, doc);
    }

    /// After any write to the doc.
    pub(crate) fn forget_doc(&self, id: Uuid) {
        self.docs.remove(&id);
    }

    pub(crate) fn webhook(&self, id: Uuid) -> Option<Arc<Webhook>> {
        self.webhooks.get(&id)
    }

    pub(crate) fn remember_webhook(&self, webhook: Arc<Webhook>) {
        self.webhooks.put(webhook.id, webhook);
    }

    /// After any write to the webhook (settings, state, secret, URL, its armed call taken).
    pub(crate) fn forget_webhook(&self, id: Uuid) {
        self.webhooks.remove(&id);
    }

    pub(crate) fn digest(&self, block_id: Uuid, version: i64) -> Option<BlockDigest> {
        self.digests.get(&(block_id, version))
    }

    pub(crate) fn remember_digest(&self, block_id: Uuid, version: i64, digest: BlockDigest) {
        self.digests.put((block_id, version), digest);
    }
}
