//! Key-value state: versions and compare-and-swap, expiry, the per-team quota, key order and
//! pagination, and writers racing on one team.

use futures::future::join_all;
use wasmhook_domain::ids::TeamId;
use wasmhook_store::StoreError;
use wasmhook_store::kv::Place;
use wasmhook_store::repo::KvRepo;

use crate::on_both;

/// A place in bucket `b` of `team` with a quota no case reaches unless it means to.
fn place(team_id: TeamId) -> Place<'static> {
    Place { team_id, bucket: "b", quota: 1 << 20 }
}

/// The live version of `key` in bucket `b`.
async fn version<S: KvRepo>(store: &S, team: TeamId, key: &str) -> Option<i64> {
    store.get(team, "b", key).await.expect("get").map(|v| v.version)
}

async fn puts_compare_versions_and_deletes_are_per_team<S: KvRepo>(store: &S) {
    let (team, other) = (TeamId::new_v4(), TeamId::new_v4());
    assert!(store.put(place(team), "k", b"one".to_vec(), None, None).await.expect("put"));
    let got = store.get(team, "b", "k").await.expect("get").expect("present");
    assert_eq!((got.value.as_slice(), got.version), (&b"one"[..], 1));
    assert!(!store.put(place(team), "k", b"x".to_vec(), None, Some(None)).await.expect("cas"), "not absent");
    assert!(store.put(place(team), "k", b"two".to_vec(), None, Some(Some(1))).await.expect("cas"));
    assert!(!store.put(place(team), "k", b"x".to_vec(), None, Some(Some(1))).await.expect("cas"), "stale version");
    assert!(store.put(place(team), "k", b"three".to_vec(), None, None).await.expect("blind"));
    let got = store.get(team, "b", "k").await.expect("get").expect("present");
    assert_eq!((got.value.as_slice(), got.version), (&b"three"[..], 3));

    assert_eq!(store.get(other, "b", "k").await.expect("other team"), None);
    assert_eq!(store.get(team, "other-bucket", "k").await.expect("other bucket"), None);
    assert!(!store.delete(other, "b", "k").await.expect("other team's delete"), "nothing of its own");
    assert_eq!(version(store, team, "k").await, Some(3), "still there");
    assert!(store.keys(other, "b", None, 10).await.expect("keys").is_empty());
    assert!(store.buckets(other).await.expect("buckets").is_empty());

    assert!(store.delete(team, "b", "k").await.expect("delete"));
    assert!(!store.delete(team, "b", "k").await.expect("again"));
    assert_eq!(version(store, team, "k").await, None);
    assert!(store.put(place(team), "k", b"new".to_vec(), None, Some(None)).await.expect("absent again"));
    assert_eq!(version(store, team, "k").await, Some(1), "a deleted key starts over");
}
on_both!(puts_compare_versions_and_deletes_are_per_team);

async fn expired_values_are_invisible_but_keep_their_version<S: KvRepo>(store: &S) {
    let team = TeamId::new_v4();
    store.put(place(team), "k", b"v".to_vec(), None, None).await.expect("put");
    store.put(place(team), "k", b"v".to_vec(), Some(0), Some(Some(1))).await.expect("expires at once");
    assert_eq!(store.get(team, "b", "k").await.expect("get"), None, "expired reads as absent");
    assert!(!store.put(place(team), "k", b"w".to_vec(), None, Some(Some(2))).await.expect("cas"), "no live version");
    assert!(store.put(place(team), "k", b"w".to_vec(), None, Some(None)).await.expect("cas on absent"));
    assert_eq!(version(store, team, "k").await, Some(3), "the expired row's version goes on");

    let hour: i64 = 3_600_000;
    let before = wasmhook_store::now_ms();
    store.put(place(team), "later", b"xyz".to_vec(), Some(hour.unsigned_abs()), None).await.expect("ttl");
    store.put(Place { bucket: "gone", ..place(team) }, "k", b"v".to_vec(), Some(0), None).await.expect("expired");
    let keys = store.keys(team, "b", None, 10).await.expect("keys");
    let listed: Vec<(&str, i64)> = keys.iter().map(|k| (k.key.as_str(), k.size)).collect();
    assert_eq!(listed, [("k", 1), ("later", 3)]);
    let expires_at = keys[1].expires_at.expect("has an expiry");
    assert!((before + hour..=wasmhook_store::now_ms() + hour).contains(&expires_at), "{expires_at}");
    assert_eq!((keys[0].expires_at, keys[0].updated_at >= before - 1000), (None, true));
    assert!(store.keys(team, "gone", None, 10).await.expect("keys").is_empty());
    assert_eq!(store.buckets(team).await.expect("buckets"), ["b"], "a bucket of expired keys is not listed");

    store.put(place(team), "n", b"41".to_vec(), Some(0), None).await.expect("expired counter");
    assert_eq!(store.increment(place(team), "n", 5, None).await.expect("increment"), 5, "from 0");
    assert_eq!(version(store, team, "n").await, Some(2));
}
on_both!(expired_values_are_invisible_but_keep_their_version);

async fn increments_count_in_decimal_text<S: KvRepo>(store: &S) {
    let team = TeamId::new_v4();
    assert_eq!(store.increment(place(team), "n", 2, None).await.expect("absent"), 2);
    assert_eq!(store.increment(place(team), "n", -5, None).await.expect("down"), -3);
    let got = store.get(team, "b", "n").await.expect("get").expect("present");
    assert_eq!((got.value.as_slice(), got.version), (&b"-3"[..], 2));
    store.put(place(team), "n", b" 41\n".to_vec(), None, None).await.expect("spaced");
    assert_eq!(store.increment(place(team), "n", 1, None).await.expect("trimmed"), 42);

    store.put(place(team), "s", b"forty".to_vec(), None, None).await.expect("text");
    let error = store.increment(place(team), "s", 1, None).await.expect_err("not a number");
    assert!(matches!(&error, StoreError::Invalid(m) if m == "the value of \"s\" is not an integer"), "{error:?}");
    store.put(place(team), "max", i64::MAX.to_string().into_bytes(), None, None).await.expect("max");
    let error = store.increment(place(team), "max", 1, None).await.expect_err("overflow");
    assert!(matches!(&error, StoreError::Invalid(m) if m == "\"max\" would overflow"), "{error:?}");
    assert_eq!(version(store, team, "max").await, Some(1), "unchanged");
}
on_both!(increments_count_in_decimal_text);

async fn the_quota_counts_every_bucket_and_expired_values<S: KvRepo>(store: &S) {
    let (team, other) = (TeamId::new_v4(), TeamId::new_v4());
    let small = |bucket| Place { team_id: team, bucket, quota: 20 };
    store.put(small("b"), "a", vec![0; 10], None, None).await.expect("11 bytes");
    store.put(small("c"), "e", vec![0; 6], Some(0), None).await.expect("7 more, expired at once");
    let error = store.put(small("d"), "k", vec![0; 2], None, None).await.expect_err("21 bytes");
    let message = "the team's key-value state would hold 21 bytes, over its quota of 20 (kv_team_max_bytes)";
    assert!(matches!(&error, StoreError::Invalid(m) if m == message), "{error:?}");
    assert!(store.get(team, "d", "k").await.expect("get").is_none(), "nothing written");
    let error = store.increment(small("d"), "counter", 100, None).await.expect_err("over");
    assert!(matches!(error, StoreError::Invalid(_)), "{error:?}");
    store.put(Place { team_id: other, bucket: "b", quota: 20 }, "k", vec![0; 10], None, None).await.expect("own quota");

    let tight = Place { team_id: team, bucket: "b", quota: 1 };
    assert!(store.put(tight, "a", vec![0; 3], None, None).await.expect("shrinking is allowed over the quota"));
    store.put(small("d"), "k", vec![0; 2], None, None).await.expect("room after shrinking");
    assert!(store.delete(team, "c", "e").await.expect("delete the expired one"));
    store.put(small("d"), "k2", vec![0; 5], None, None).await.expect("room after deleting");
}
on_both!(the_quota_counts_every_bucket_and_expired_values);

async fn keys_and_buckets_are_in_byte_order<S: KvRepo>(store: &S) {
    let team = TeamId::new_v4();
    for key in ["é", "b", "ab", "a", "_", "B"] {
        store.put(place(team), key, key.as_bytes().repeat(2), None, None).await.expect("put");
    }
    for bucket in ["é", "Y", "x"] {
        store.put(Place { bucket, ..place(team) }, "k", b"v".to_vec(), None, None).await.expect("put");
    }
    let page = |after: Option<&'static str>, limit| async move {
        let keys = store.keys(team, "b", after, limit).await.expect("keys");
        keys.into_iter().map(|k| (k.key, k.size)).collect::<Vec<_>>()
    };
    let owned = |pairs: &[(&str, i64)]| pairs.iter().map(|(k, s)| ((*k).to_owned(), *s)).collect::<Vec<_>>();
    assert_eq!(page(None, 3).await, owned(&[("B", 2), ("_", 2), ("a", 2)]));
    assert_eq!(page(Some("a"), 10).await, owned(&[("ab", 4), ("b", 2), ("é", 4)]), "after is exclusive");
    assert_eq!(page(Some("aa"), 1).await, owned(&[("ab", 4)]), "after need not be a key");
    assert!(page(Some("é"), 10).await.is_empty());
    assert!(page(None, 0).await.is_empty());
    assert_eq!(store.buckets(team).await.expect("buckets"), ["Y", "b", "x", "é"]);
}
on_both!(keys_and_buckets_are_in_byte_order);

async fn concurrent_writers_of_a_team_take_turns<S: KvRepo>(store: &S) {
    let team = TeamId::new_v4();
    let claims = join_all((0..20u8).map(|i| store.put(place(team), "lock", vec![i], None, Some(None)))).await;
    let won = claims.into_iter().map(|claim| claim.expect("cas")).filter(|won| *won).count();
    assert_eq!(won, 1, "one compare-and-swap on an absent key wins");
    assert_eq!(version(store, team, "lock").await, Some(1));

    let counts = join_all((0..50).map(|_| store.increment(place(team), "n", 1, None))).await;
    assert!(counts.iter().all(Result::is_ok), "{counts:?}");
    assert_eq!(store.increment(place(team), "n", 0, None).await.expect("read"), 50);

    let full = Place { team_id: team, bucket: "q", quota: 100 + 5 + 3 };
    let keys: Vec<String> = (0..20).map(|i| format!("{i:02}")).collect();
    let puts = join_all(keys.iter().map(|key| store.put(full, key, vec![0; 8], None, None))).await;
    let (ok, refused): (Vec<_>, Vec<_>) = puts.into_iter().partition(Result::is_ok);
    assert!(refused.iter().all(|r| matches!(r, Err(StoreError::Invalid(_)))), "{refused:?}");
    assert_eq!(ok.len(), 10, "ten 10-byte values fit beside the 8 bytes of b/lock and b/n");
    let held: i64 = store.keys(team, "q", None, 100).await.expect("keys").iter().map(|k| 2 + k.size).sum();
    assert_eq!(held, 100);
}
on_both!(concurrent_writers_of_a_team_take_turns);
