//! The cache is kept true by the writes through it: each test fills an entry, writes through
//! the same [`CachedDatabase`], and reads again. Without the invalidation every second read
//! would return the stale entry.

use std::sync::Arc;
use wasmhook_domain::ids::UserId;

use super::CachedDatabase;
use crate::Store;
use crate::blocks::{NewBlock, new_block};
use crate::repo::{Database, NewUserKey};
use crate::tenancy::KeyScope;
use crate::webhooks::{AuthMode, NewWebhook, Target, TargetKind, WebhookSettings, WebhookState};

fn database(dir: &tempfile::TempDir) -> CachedDatabase {
    let store = Store::open(&dir.path().join("db.sqlite3"), crate::sealing::test_sealer()).expect("store");
    CachedDatabase::new(Arc::new(store))
}

fn admin() -> NewUserKey {
    NewUserKey {
        user_id: UserId::new_v4(),
        user_name: "admin".into(),
        hash: [1; 32],
        hint: "abcd".into(),
        scope: KeyScope::Admin,
        label: None,
    }
}

#[tokio::test]
async fn a_revoked_key_leaves_the_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = database(&dir);
    let (team, user, key) = db.tenancy().bootstrap("t", admin()).await.expect("bootstrap").expect("first");
    assert_eq!(db.tenancy().active_keys_of_user(user.id).await.expect("keys").len(), 1, "cached now");
    db.tenancy().revoke_key(team.id, key.id).await.expect("revoke");
    assert!(db.tenancy().active_keys_of_user(user.id).await.expect("keys").is_empty(), "revocation is seen");
}

#[tokio::test]
async fn block_writes_and_an_armed_call_refresh_their_entries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = database(&dir);
    let (team, _, _) = db.tenancy().bootstrap("t", admin()).await.expect("bootstrap").expect("first");
    let new: NewBlock = serde_json::from_value(serde_json::json!({ "name": "before" })).expect("new block");
    let block = db.blocks().create(new_block(team.id, new)).await.expect("create");
    assert_eq!(db.blocks().shared(team.id, block.id).await.expect("get").name, "before");
    let patch = serde_json::from_value(serde_json::json!({ "name": "after" })).expect("patch");
    db.blocks().update(team.id, block.id, patch, Box::new(|_| Ok(()))).await.expect("update");
    assert_eq!(db.blocks().shared(team.id, block.id).await.expect("get").name, "after");

    let webhook = db
        .webhooks()
        .create(NewWebhook {
            team_id: team.id,
            name: "w".into(),
            target: Target { kind: TargetKind::Block, id: block.id.into() },
            auth_mode: AuthMode::None,
            secret: None,
            settings: WebhookSettings::default(),
            signature: None,
            allow_multiple: false,
        })
        .await
        .expect("webhook");
    let until = crate::now_ms() + 60_000;
    db.webhooks().set_state(team.id, webhook.id, WebhookState::Armed, Some(until)).await.expect("arm");
    let cached = db.webhooks().by_id(webhook.id).await.expect("by id").expect("found");
    assert_eq!((cached.state, cached.armed_until), (WebhookState::Armed, Some(until)));
    let acceptance = crate::repo::Acceptance {
        team_id: team.id,
        key: None,
        single_use: Some(webhook.id),
        records: Vec::new(),
        status: crate::executions::ExecutionStatus::Queued,
        now: crate::now_ms(),
    };
    db.executions().accept(acceptance).await.expect("the single call");
    let after = db.webhooks().by_id(webhook.id).await.expect("by id").expect("found");
    assert_eq!(after.armed_until, None, "the executor's write refreshed the webhook's entry");
}
