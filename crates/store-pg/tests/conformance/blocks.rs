//! Blocks, their versions and the wasm bytes behind them.

use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use wasmhook_domain::ids::{BlockId, TeamId};
use wasmhook_domain::{BlockDigest, BlockShape};
use wasmhook_store::blocks::{BlockPatch, BlockVersion, NewBlock, StoredBlob, new_block};
use wasmhook_store::repo::{BlockRepo, SecretRepo, TenancyRepo};
use wasmhook_store::{Block, StoreError};

use crate::on_both;
use crate::tenancy::team;

/// A block of `team` made from a `POST /v1/blocks` body.
pub fn block_from_body(team_id: TeamId, body: Value) -> Block {
    new_block(team_id, serde_json::from_value::<NewBlock>(body).expect("a valid body"))
}

/// A block of `team` with nothing but a name.
pub fn block(team_id: TeamId, name: &str) -> Block {
    block_from_body(team_id, json!({ "name": name }))
}

/// Creates a block, then waits a little so the next one is created in a later millisecond
/// (orders by creation time are then unambiguous on both backends).
pub async fn created<S: BlockRepo>(store: &S, block: Block) -> Block {
    let created = store.create(block).await.expect("create block");
    tokio::time::sleep(Duration::from_millis(3)).await;
    created
}

/// Uploads `bytes` as the block's next version.
pub async fn upload<S: BlockRepo>(
    store: &S,
    team_id: TeamId,
    id: BlockId,
    bytes: &[u8],
    activate: bool,
) -> BlockVersion {
    let bytes = Bytes::copy_from_slice(bytes);
    let digest = BlockDigest::of(&bytes);
    let chunks = store.put_wasm(digest, &bytes).await.expect("put wasm");
    let blob = StoredBlob { digest, size: bytes.len(), chunks };
    store.add_version(team_id, id, blob, BlockShape::Block, activate).await.expect("add version")
}

/// Everything the API shows of a block, and its team (which it does not show).
fn seen(block: &Block) -> (TeamId, Value) {
    (block.team_id, serde_json::to_value(block).expect("json"))
}

/// A check that lets every merged block through.
fn any() -> wasmhook_store::repo::BlockCheck {
    Box::new(|_| Ok(()))
}

/// A `PATCH /v1/blocks/{id}` body.
fn patch(body: Value) -> BlockPatch {
    serde_json::from_value(body).expect("a valid patch")
}

async fn blocks_are_per_team_and_read_back_whole<S: TenancyRepo + SecretRepo + BlockRepo>(store: &S) {
    let (mine, other) = (team(store).await, team(store).await);
    SecretRepo::create(store, mine, "zeta", "sealed").await.expect("secret");
    SecretRepo::create(store, mine, "stripe", "sealed").await.expect("secret");
    let full = block_from_body(
        mine,
        json!({
            "name": "full", "language": "python", "env": { "A": "text", "B": { "secret": "zeta" } },
            "timeoutMs": 1500, "fuel": 9000, "memoryBytes": 1048576, "idempotencyPointer": "/id",
            "storePayload": false,
            "network": { "allowedHosts": ["https://api.example.com"], "maxRequests": 4,
                         "credentials": [{ "secret": "stripe", "inject": { "host": "https://api.stripe.com",
                                           "header": "Authorization", "value": "Bearer {secret}" } }] },
            "keyValue": { "buckets": ["orders"], "ttlSeconds": 60 },
            "retry": { "maxAttempts": 3, "backoff": "fixed", "retryOn": ["timeout"] }
        }),
    );
    let full = created(store, full).await;
    let plain = created(store, block(mine, "plain")).await;
    let foreign = created(store, block(other, "foreign")).await;

    assert_eq!(seen(&store.get(mine, full.id).await.expect("get")), seen(&full), "every setting round-trips");
    let listed: Vec<BlockId> = BlockRepo::list(store, mine).await.expect("list").iter().map(|b| b.id).collect();
    assert_eq!(listed, [full.id, plain.id], "the team's only, oldest first");
    let listed = BlockRepo::list(store, mine).await.expect("list");
    assert_eq!(seen(&listed[0]), seen(&full));

    let missing = store.get(mine, foreign.id).await;
    assert!(matches!(missing, Err(StoreError::NotFound("block"))), "{missing:?}");
    let any_team = store.get_any_team(foreign.id).await.expect("read").expect("found whatever its team");
    assert_eq!(seen(&any_team), seen(&foreign));
    assert!(store.get_any_team(BlockId::new_v4()).await.expect("read").is_none());
    assert!(matches!(store.shared(mine, foreign.id).await, Err(StoreError::NotFound("block"))));
    assert_eq!(store.shared(other, foreign.id).await.expect("shared").name, "foreign");
}
on_both!(blocks_are_per_team_and_read_back_whole);

async fn create_stores_no_version_and_starts_updated_at_at_created_at<S: TenancyRepo + BlockRepo>(store: &S) {
    let mut given = block(team(store).await, "b");
    given.active_version = Some(3);
    given.updated_at = given.created_at + 1000;
    let returned = store.create(given.clone()).await.expect("create");
    assert_eq!(seen(&returned), seen(&given), "create returns the block it was given");
    let stored = store.get(given.team_id, given.id).await.expect("get");
    assert_eq!((stored.active_version, stored.updated_at), (None, given.created_at));
}
on_both!(create_stores_no_version_and_starts_updated_at_at_created_at);

/// SQLite's refusal of a block naming a secret its team lacks.
fn missing_secret(name: &str) -> String {
    format!(
        "the block references secret {name:?}, which the team does not have (create it with PUT /v1/secrets/{name})"
    )
}

async fn a_block_may_reference_only_secrets_its_team_has<S: TenancyRepo + SecretRepo + BlockRepo>(store: &S) {
    let (mine, other) = (team(store).await, team(store).await);
    SecretRepo::create(store, mine, "zeta", "sealed").await.expect("secret");
    SecretRepo::create(store, other, "alpha", "sealed").await.expect("another team's secret");
    let body = json!({
        "name": "b", "env": { "Z": { "secret": "zeta" }, "B": { "secret": "beta" } },
        "network": { "credentials": [{ "secret": "alpha", "inject": { "host": "https://api.example.com",
                                       "header": "X-Key", "value": "{secret}" } }] }
    });
    let refused = block_from_body(mine, body);
    let error = BlockRepo::create(store, refused.clone()).await.expect_err("alpha and beta are missing");
    assert!(matches!(&error, StoreError::Invalid(m) if *m == missing_secret("alpha")), "first by name: {error:?}");
    assert!(matches!(store.get(mine, refused.id).await, Err(StoreError::NotFound("block"))), "nothing stored");

    SecretRepo::create(store, mine, "alpha", "sealed").await.expect("secret");
    SecretRepo::create(store, mine, "beta", "sealed").await.expect("secret");
    BlockRepo::create(store, refused).await.expect("every secret exists now");
}
on_both!(a_block_may_reference_only_secrets_its_team_has);

async fn update_merges_the_patch_and_writes_nothing_it_refuses<S: TenancyRepo + SecretRepo + BlockRepo>(store: &S) {
    let (mine, other) = (team(store).await, team(store).await);
    let body = json!({ "name": "b", "timeoutMs": 100, "fuel": 7, "retry": { "maxAttempts": 2 } });
    let original = created(store, block_from_body(mine, body)).await;

    let changes = patch(json!({ "name": "renamed", "timeoutMs": null, "retry": null, "storePayload": false }));
    let check: wasmhook_store::repo::BlockCheck = Box::new(|merged: &Block| {
        let expected = (Some("renamed"), None, Some(7), None, false);
        let got =
            (Some(merged.name.as_str()), merged.timeout_ms, merged.fuel, merged.retry.as_ref(), merged.store_payload);
        if got == expected { Ok(()) } else { Err(format!("the check saw {got:?}")) }
    });
    let updated = store.update(mine, original.id, changes, check).await.expect("update");
    assert!(updated.updated_at > original.updated_at, "updated_at moves");
    assert_eq!(updated.created_at, original.created_at);
    assert_eq!(seen(&store.get(mine, original.id).await.expect("get")), seen(&updated), "what it returned is stored");

    let refused =
        store.update(mine, original.id, patch(json!({"name": "x"})), Box::new(|_| Err("too big".into()))).await;
    assert!(matches!(&refused, Err(StoreError::Invalid(m)) if m == "too big"), "{refused:?}");
    let with_secret = patch(json!({ "name": "x", "env": { "K": { "secret": "absent" } } }));
    let refused = store.update(mine, original.id, with_secret, any()).await;
    assert!(matches!(&refused, Err(StoreError::Invalid(m)) if *m == missing_secret("absent")), "{refused:?}");
    let too_large = store.update(mine, original.id, patch(json!({ "name": "x", "fuel": u64::MAX })), any()).await;
    assert!(matches!(too_large, Err(StoreError::Database(_))), "{too_large:?}");
    assert_eq!(seen(&store.get(mine, original.id).await.expect("get")), seen(&updated), "nothing refused is written");

    let check_not_run: wasmhook_store::repo::BlockCheck = Box::new(|_| Err("the check ran".into()));
    let foreign = store.update(other, original.id, patch(json!({"name": "x"})), check_not_run).await;
    assert!(matches!(foreign, Err(StoreError::NotFound("block"))), "another team's block: {foreign:?}");
}
on_both!(update_merges_the_patch_and_writes_nothing_it_refuses);

async fn concurrent_updates_keep_one_anothers_changes<S: TenancyRepo + BlockRepo>(store: &S) {
    let mine = team(store).await;
    for round in 0..5 {
        let id = created(store, block(mine, "b")).await.id;
        // Each check takes a while, so without the row lock both would merge into the same old row.
        let slow = || -> wasmhook_store::repo::BlockCheck {
            Box::new(|_| {
                std::thread::sleep(Duration::from_millis(20));
                Ok(())
            })
        };
        let (a, b) = tokio::join!(
            store.update(mine, id, patch(json!({ "name": format!("name {round}") })), slow()),
            store.update(mine, id, patch(json!({ "language": "go" })), slow()),
        );
        a.expect("name");
        b.expect("language");
        let stored = store.get(mine, id).await.expect("get");
        assert_eq!((stored.name.as_str(), stored.language.as_str()), (format!("name {round}").as_str(), "go"));
    }
}
on_both!(concurrent_updates_keep_one_anothers_changes);

async fn versions_are_numbered_per_block_and_activated<S: TenancyRepo + BlockRepo>(store: &S) {
    let (mine, other) = (team(store).await, team(store).await);
    let (id, second_block) = (created(store, block(mine, "b")).await.id, created(store, block(mine, "c")).await.id);

    let first = upload(store, mine, id, b"one", false).await;
    assert_eq!((first.block_id, first.version, first.size, first.shape), (id, 1, 3, BlockShape::Block));
    assert_eq!(first.digest, BlockDigest::of(b"one"));
    assert_eq!(store.get(mine, id).await.expect("get").active_version, None, "not activated unless asked");
    let before = store.get(mine, id).await.expect("get").updated_at;
    let second = upload(store, mine, id, b"two!", true).await;
    assert_eq!(second.version, 2);
    let block = store.get(mine, id).await.expect("get");
    assert_eq!(block.active_version, Some(2));
    assert!(block.updated_at >= before);
    assert_eq!(upload(store, mine, second_block, b"one", false).await.version, 1, "numbered per block");

    let rolled_back = store.activate(mine, id, 1).await.expect("roll back");
    assert_eq!(rolled_back.active_version, Some(1));
    assert_eq!(seen(&store.get(mine, id).await.expect("get")), seen(&rolled_back), "activate returns it as stored");
    assert!(matches!(store.activate(mine, id, 3).await, Err(StoreError::NotFound("block version"))));
    assert!(matches!(store.activate(other, id, 2).await, Err(StoreError::NotFound("block"))));
    assert_eq!(store.get(mine, id).await.expect("get").active_version, Some(1), "refused activations change nothing");

    let listed: Vec<(i64, BlockDigest, i64)> =
        store.versions(mine, id).await.expect("versions").iter().map(|v| (v.version, v.digest, v.size)).collect();
    assert_eq!(listed, [(1, BlockDigest::of(b"one"), 3), (2, BlockDigest::of(b"two!"), 4)]);
    assert!(matches!(store.versions(other, id).await, Err(StoreError::NotFound("block"))));
    let read = store.version(id, 2).await.expect("version");
    assert_eq!(
        (read.version, read.digest, read.shape, read.created_at),
        (2, second.digest, second.shape, second.created_at)
    );
    assert!(matches!(store.version(id, 9).await, Err(StoreError::NotFound("block version"))));

    let bytes = Bytes::from_static(b"three");
    let digest = BlockDigest::of(&bytes);
    let blob = StoredBlob { digest, size: bytes.len(), chunks: store.put_wasm(digest, &bytes).await.expect("put") };
    let foreign = store.add_version(other, id, blob, BlockShape::Command, true).await;
    assert!(matches!(foreign, Err(StoreError::NotFound("block"))), "{foreign:?}");
    assert_eq!(store.versions(mine, id).await.expect("versions").len(), 2, "no version added");
    let command = store.add_version(mine, id, blob, BlockShape::Command, false).await.expect("command version");
    assert_eq!((command.version, store.version(id, 3).await.expect("read").shape), (3, BlockShape::Command));
}
on_both!(versions_are_numbered_per_block_and_activated);

async fn concurrent_uploads_take_distinct_versions<S: TenancyRepo + BlockRepo>(store: &S) {
    let mine = team(store).await;
    let mut blobs = Vec::new();
    for i in 0..6u8 {
        let bytes = Bytes::from(vec![i; 16]);
        let digest = BlockDigest::of(&bytes);
        blobs.push(StoredBlob {
            digest,
            size: bytes.len(),
            chunks: store.put_wasm(digest, &bytes).await.expect("put"),
        });
    }
    for _ in 0..3 {
        let id = created(store, block(mine, "b")).await.id;
        // The bytes are stored already: the versions are added all at once.
        let adding = blobs.iter().map(|blob| store.add_version(mine, id, *blob, BlockShape::Block, false));
        let added = futures::future::join_all(adding).await;
        let mut numbers: Vec<i64> = added.into_iter().map(|v| v.expect("add version").version).collect();
        numbers.sort_unstable();
        assert_eq!(numbers, [1, 2, 3, 4, 5, 6]);
    }
}
on_both!(concurrent_uploads_take_distinct_versions);

async fn wasm_is_stored_in_chunks_and_read_back_exact<S: TenancyRepo + BlockRepo>(store: &S) {
    let mine = team(store).await;
    let id = created(store, block(mine, "b")).await.id;
    let bytes = Bytes::from((0..(5 << 19)).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let digest = BlockDigest::of(&bytes);
    assert_eq!(store.put_wasm(digest, &bytes).await.expect("put"), 3, "2.5 MiB is 3 chunks of 1 MiB");
    let unsealed = store.wasm_bytes(digest).await;
    assert!(matches!(unsealed, Err(StoreError::NotFound("wasm bytes"))), "unsealed: {unsealed:?}");
    assert_eq!(store.put_wasm(digest, &bytes).await.expect("put again"), 3, "an interrupted upload is resumed");
    let blob = StoredBlob { digest, size: bytes.len(), chunks: 3 };
    store.add_version(mine, id, blob, BlockShape::Block, true).await.expect("seal");
    assert!(store.wasm_bytes(digest).await.expect("read") == bytes.as_ref(), "exact bytes");
    assert_eq!(store.put_wasm(digest, &bytes).await.expect("stored already"), 3);

    let empty = Bytes::new();
    let nothing = BlockDigest::of(&empty);
    assert_eq!(store.put_wasm(nothing, &empty).await.expect("put"), 0);
    store
        .add_version(mine, id, StoredBlob { digest: nothing, size: 0, chunks: 0 }, BlockShape::Block, false)
        .await
        .expect("seal");
    assert!(store.wasm_bytes(nothing).await.expect("read").is_empty());
    assert!(matches!(store.wasm_bytes(BlockDigest::of(b"never")).await, Err(StoreError::NotFound("wasm bytes"))));
}
on_both!(wasm_is_stored_in_chunks_and_read_back_exact);

async fn a_blob_sealed_with_missing_chunks_reads_as_corrupt<S: TenancyRepo + BlockRepo>(store: &S) {
    let mine = team(store).await;
    let id = created(store, block(mine, "b")).await.id;
    let bytes = Bytes::from_static(b"one chunk");
    let digest = BlockDigest::of(&bytes);
    assert_eq!(store.put_wasm(digest, &bytes).await.expect("put"), 1);
    let wrong = StoredBlob { digest, size: bytes.len(), chunks: 3 };
    store.add_version(mine, id, wrong, BlockShape::Block, false).await.expect("sealed as 3 chunks");
    let right = StoredBlob { chunks: 1, ..wrong };
    store.add_version(mine, id, right, BlockShape::Block, false).await.expect("sealed already: kept as it is");
    let error = store.wasm_bytes(digest).await.expect_err("2 chunks are missing");
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
    assert_eq!(error.to_string(), format!("stored data is invalid: wasm blob {digest}: 1 of 3 chunks"));
}
on_both!(a_blob_sealed_with_missing_chunks_reads_as_corrupt);
