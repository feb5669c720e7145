//! A bounded LRU map whose fills lose to any invalidation that raced them.
//!
//! Two rules keep a cache from undoing a write:
//! - **Fills are generation-checked.** A fill reads the map's generation before its store read
//!   and inserts only if no invalidation happened since: a revoke, delete, disable or rotate
//!   that lands between the read and the insert would otherwise be undone (a revoked key
//!   working again) until the entry's eviction.
//! - **Eviction is least-recently-used**, one entry at a time. The maps used to be wiped whole
//!   when full, which let any tenant evict everyone's entries by touching many ids.

use std::future::Future;
use std::hash::Hash;
use std::num::NonZeroUsize;

use lru::LruCache;
use parking_lot::Mutex;

/// Entries per map.
pub(crate) const MAX_ENTRIES: NonZeroUsize = NonZeroUsize::new(10_000).expect("non-zero");

/// A bounded LRU map whose fills lose to any invalidation that raced them.
#[derive(Debug)]
pub(crate) struct Map<K: Hash + Eq, V> {
    inner: Mutex<Inner<K, V>>,
}

#[derive(Debug)]
struct Inner<K: Hash + Eq, V> {
    entries: LruCache<K, V>,
    /// Bumped by every removal: a fill that started before it must not insert.
    generation: u64,
}

impl<K: Eq + Hash, V: Clone> Map<K, V> {
    pub(crate) fn new(capacity: NonZeroUsize) -> Self {
        Self { inner: Mutex::new(Inner { entries: LruCache::new(capacity), generation: 0 }) }
    }

    #[cfg(test)]
    fn get(&self, key: &K) -> Option<V> {
        self.inner.lock().entries.get(key).cloned()
    }

    /// The entry, else `load()`'s value, remembered unless an invalidation ran meanwhile.
    pub(crate) async fn get_or_load<E, F, Fut>(&self, key: K, load: F) -> Result<Option<V>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<V>, E>>,
    {
        let seen = {
            let mut inner = self.inner.lock();
            if let Some(value) = inner.entries.get(&key) {
                return Ok(Some(value.clone()));
            }
            inner.generation
        };
        let loaded = load().await?;
        if let Some(value) = &loaded {
            let mut inner = self.inner.lock();
            if inner.generation == seen {
                inner.entries.put(key, value.clone());
            }
        }
        Ok(loaded)
    }

    pub(crate) fn remove(&self, key: &K) {
        let mut inner = self.inner.lock();
        inner.generation += 1;
        inner.entries.pop(key);
    }

    pub(crate) fn clear(&self) {
        let mut inner = self.inner.lock();
        inner.generation += 1;
        inner.entries.clear();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(capacity: usize) -> Map<u32, u32> {
        Map::new(NonZeroUsize::new(capacity).expect("capacity"))
    }

    async fn fill(map: &Map<u32, u32>, key: u32, value: u32) -> Option<u32> {
        map.get_or_load(key, || async move { Ok::<_, ()>(Some(value)) }).await.expect("load")
    }

    /// The race of #13 item 6: a fill's store read sees the row, an invalidation lands, then
    /// the fill inserts. The stale value must not be remembered.
    #[tokio::test]
    async fn an_invalidation_during_a_fill_wins() {
        let map = map(8);
        let loaded = map
            .get_or_load(1, || async {
                map.remove(&1); // the revoke/delete/rotate, landing mid-fill
                Ok::<_, ()>(Some(10))
            })
            .await
            .expect("load");
        assert_eq!(loaded, Some(10), "the caller still gets what it read");
        assert_eq!(map.get(&1), None, "but the stale value is not remembered");
        assert_eq!(fill(&map, 1, 11).await, Some(11), "the next fill reads again and is kept");
        assert_eq!(map.get(&1), Some(11));
    }

    #[tokio::test]
    async fn a_clear_during_a_fill_wins_too() {
        let map = map(8);
        map.get_or_load(2, || async {
            map.clear();
            Ok::<_, ()>(Some(20))
        })
        .await
        .expect("load");
        assert_eq!(map.get(&2), None);
    }

    /// Touching many ids evicts the least recently used, not everything.
    #[tokio::test]
    async fn a_full_map_evicts_the_least_recently_used_only() {
        let map = map(3);
        for key in 1..=3 {
            fill(&map, key, key).await;
        }
        assert_eq!(map.get(&1), Some(1)); // 1 is now the most recently used
        fill(&map, 4, 4).await;
        assert_eq!(map.len(), 3);
        assert_eq!(map.get(&2), None, "the least recently used went");
        assert_eq!((map.get(&1), map.get(&3), map.get(&4)), (Some(1), Some(3), Some(4)));
    }

    #[tokio::test]
    async fn misses_and_errors_are_not_remembered() {
        let map = map(3);
        assert_eq!(map.get_or_load(5, || async { Ok::<_, ()>(None) }).await, Ok(None));
        assert_eq!(map.get_or_load(5, || async { Err::<Option<u32>, _>(()) }).await, Err(()));
        assert_eq!(map.len(), 0);
    }
}
