//! Trigger webhooks: targets, the one-active-webhook rule, settings, signature checks, state,
//! secret rotation, and URLs that answer "removed" once regenerated or deleted.
//!
//! A webhook needs a block or doc of its team, and regenerating one moves rows of other
//! repositories (executions, callbacks). Those rows are made through a [`Fixture`]: the
//! SQLite store's own repositories, or plain SQL on PostgreSQL (whose repositories for them
//! come in other slices).

use futures::future::join_all;
use uuid::Uuid;
use wasmhook_domain::ids::{BlockId, ExecutionId, TeamId, WebhookId};
use wasmhook_domain::signature::{Scheme, SignatureConfig};
use wasmhook_store::callbacks::{Callback, CallbackEvent, CallbackTarget};
use wasmhook_store::executions::ExecutionSpec;
use wasmhook_store::repo::{BlockRepo, CallbackRepo, DocRepo, ExecutionRepo, SealedSecret, TenancyRepo, WebhookRepo};
use wasmhook_store::webhooks::{AuthMode, NewWebhook, Target, TargetKind, WebhookSettings, WebhookState};
use wasmhook_store::{Block, Dataset, DocInput, ExecutionStatus, NewExecution, Store, StoreError, Trigger, now_ms};

use crate::tenancy::team;

/// Rows a case needs that the store under test cannot make through the traits it has yet.
pub(crate) trait Fixture {
    /// A block of the team.
    async fn block(&self, team: TeamId) -> Uuid;
    /// A doc of the team with these dataset keys.
    async fn doc(&self, team: TeamId, keys: &[&str]) -> Uuid;
    /// A callback of the team on `target`, its secret sealed as `sealed`.
    async fn callback(&self, team: TeamId, target: Uuid, sealed: &str);
    /// The sealed secret of the callback on `target`, if there is one.
    async fn callback_sealed(&self, target: Uuid) -> Option<String>;
    /// A queued execution the webhook accepted.
    async fn execution(&self, team: TeamId, webhook: WebhookId) -> ExecutionId;
    /// The webhook an execution is filed under.
    async fn execution_webhook(&self, team: TeamId, id: ExecutionId) -> Option<WebhookId>;
}

/// The SQLite store's own repositories.
pub(crate) struct SqliteFixture<'a>(pub &'a Store);

impl Fixture for SqliteFixture<'_> {
    async fn block(&self, team_id: TeamId) -> Uuid {
        let now = now_ms();
        let block = Block {
            id: BlockId::new_v4(),
            team_id,
            name: "b".into(),
            language: "rust".into(),
            active_version: None,
            env: Default::default(),
            timeout_ms: None,
            fuel: None,
            memory_bytes: None,
            idempotency_pointer: None,
            store_payload: true,
            network: Default::default(),
            key_value: Default::default(),
            retry: None,
            created_at: now,
            updated_at: now,
        };
        BlockRepo::create(self.0, block).await.expect("block").id.into()
    }

    async fn doc(&self, team: TeamId, keys: &[&str]) -> Uuid {
        let mut datasets = Vec::new();
        for key in keys {
            let block_id = self.block(team).await.into();
            datasets.push(Dataset { key: (*key).into(), block_id, version: None, timeout_ms: None, retry: None });
        }
        let input = DocInput { name: "d".into(), datasets, idempotency_pointer: None, store_payload: true };
        DocRepo::create(self.0, team, input).await.expect("doc").id.into()
    }

    async fn callback(&self, team_id: TeamId, target_id: Uuid, sealed: &str) {
        let callback = Callback {
            team_id,
            target_kind: CallbackTarget::Webhook,
            target_id,
            url: "https://example.com/done".into(),
            events: vec![CallbackEvent::Succeeded],
            secret_hint: "hint".into(),
            created_at: 0,
            updated_at: 0,
        };
        let secret = SealedSecret { sealed: sealed.into(), hint: "hint".into() };
        self.0.save(callback, secret).await.expect("callback");
    }

    async fn callback_sealed(&self, target: Uuid) -> Option<String> {
        self.0.endpoint(target).await.expect("endpoint").map(|(_, sealed)| sealed)
    }

    async fn execution(&self, team: TeamId, webhook: WebhookId) -> ExecutionId {
        let block = self.block(team).await.into();
        let mut spec = ExecutionSpec::first_attempt(team, block, 1, Trigger::Webhook, true);
        spec.webhook_id = Some(webhook);
        let id = spec.id;
        let new = NewExecution { spec, input: "{}".into(), retry: None };
        self.0.insert_pending(vec![new], ExecutionStatus::Queued).await.expect("execution");
        id
    }

    async fn execution_webhook(&self, team: TeamId, id: ExecutionId) -> Option<WebhookId> {
        ExecutionRepo::get(self.0, team, id).await.expect("execution").webhook_id
    }
}

/// Plain SQL on a direct connection to the store's database.
pub(crate) struct PgFixture(pub tokio_postgres::Client);

impl PgFixture {
    async fn one<T: for<'a> tokio_postgres::types::FromSql<'a>>(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Option<T> {
        self.0.query_opt(sql, params).await.expect(sql).map(|row| row.get(0))
    }
}

impl Fixture for PgFixture {
    async fn block(&self, team: TeamId) -> Uuid {
        let id = Uuid::new_v4();
        let sql = "INSERT INTO blocks (id, team_id, name, language, created_at, updated_at)
            VALUES ($1, $2, 'b', 'rust', 0, 0)";
        self.0.execute(sql, &[&id, &team]).await.expect(sql);
        id
    }

    async fn doc(&self, team: TeamId, keys: &[&str]) -> Uuid {
        let id = Uuid::new_v4();
        let sql = "INSERT INTO docs (id, team_id, name, created_at, updated_at) VALUES ($1, $2, 'd', 0, 0)";
        self.0.execute(sql, &[&id, &team]).await.expect(sql);
        for (position, key) in (0i64..).zip(keys) {
            let block = self.block(team).await;
            let sql = "INSERT INTO datasets (doc_id, position, key, block_id) VALUES ($1, $2, $3, $4)";
            self.0.execute(sql, &[&id, &position, key, &block]).await.expect(sql);
        }
        id
    }

    async fn callback(&self, team: TeamId, target: Uuid, sealed: &str) {
        let sql = "INSERT INTO callbacks (team_id, target_kind, target_id, url, events, sealed_secret, secret_hint,
            created_at, updated_at) VALUES ($1, 'webhook', $2, 'https://example.com/done', '[\"succeeded\"]', $3,
            'hint', 0, 0)";
        self.0.execute(sql, &[&team, &target, &sealed]).await.expect(sql);
    }

    async fn callback_sealed(&self, target: Uuid) -> Option<String> {
        self.one("SELECT sealed_secret FROM callbacks WHERE target_id = $1", &[&target]).await
    }

    async fn execution(&self, team: TeamId, webhook: WebhookId) -> ExecutionId {
        let (id, block) = (ExecutionId::now_v7(), self.block(team).await);
        let sql =
            "INSERT INTO executions (id, team_id, block_id, block_version, webhook_id, trigger, status, created_at)
            VALUES ($1, $2, $3, 1, $4, 'webhook', 'queued', 0)";
        self.0.execute(sql, &[&id, &team, &block, &webhook]).await.expect(sql);
        id
    }

    async fn execution_webhook(&self, team: TeamId, id: ExecutionId) -> Option<WebhookId> {
        self.one("SELECT webhook_id FROM executions WHERE id = $1 AND team_id = $2", &[&id, &team]).await.flatten()
    }
}

/// Runs `case(store, fixture)` on both backends, as `on_both!` does for cases without a fixture.
macro_rules! with_fixture {
    ($case:ident) => {
        mod $case {
            #[tokio::test]
            async fn sqlite() {
                let (store, _dir) = crate::support::sqlite();
                super::$case(&store, &super::SqliteFixture(&store)).await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some((store, db)) = crate::support::postgres().await else { return };
                let fixture = super::PgFixture(crate::support::connect(&db.url()).await);
                super::$case(&store, &fixture).await;
                drop((store, fixture));
                db.drop_now().await;
            }
        }
    };
}

/// A deployed webhook on `target` with a secret, default settings and no signature check.
pub(crate) fn new_webhook(team_id: TeamId, kind: TargetKind, id: Uuid) -> NewWebhook {
    NewWebhook {
        team_id,
        name: "orders".into(),
        target: Target { kind, id },
        auth_mode: AuthMode::Secret,
        secret: Some(([1; 32], "abcd".into())),
        settings: WebhookSettings::default(),
        signature: None,
        allow_multiple: false,
    }
}

/// A GitHub-style signature check.
pub(crate) fn signature(secret: &str) -> SignatureConfig {
    SignatureConfig { scheme: Scheme::Github, secrets: vec![secret.into()], tolerance_seconds: 300, hmac: None }
}

async fn webhooks_are_the_teams_and_listed_oldest_first<S: TenancyRepo + WebhookRepo, F: Fixture>(store: &S, fx: &F) {
    let (team, other) = (team(store).await, team(store).await);
    let block = fx.block(team).await;
    let mut new = new_webhook(team, TargetKind::Block, block);
    new.signature = Some(signature("whsec-0123456789abcdef"));
    new.settings.capture_request = true;
    let first = store.create(new.clone()).await.expect("create");
    assert_eq!(
        (first.team_id, first.name.as_str(), first.target),
        (team, "orders", Target { kind: TargetKind::Block, id: block })
    );
    assert_eq!((first.state, first.armed_until, first.auth_mode), (WebhookState::Deployed, None, AuthMode::Secret));
    assert_eq!((first.secret_hash, first.secret_hint.as_deref()), (Some([1; 32]), Some("abcd")));
    assert_eq!((first.previous_secret_hash, first.previous_secret_expires_at), (None, None));
    assert_eq!(first.signature, new.signature, "the check is opened on reads");
    assert_eq!((&first.settings, first.created_at), (&new.settings, first.updated_at));

    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let more = NewWebhook { allow_multiple: true, signature: None, ..new };
    let second = store.create(more.clone()).await.expect("second");
    let third = store.create(more).await.expect("third, maybe in the same millisecond");
    let listed = store.list(team).await.expect("list");
    let ids: Vec<_> = listed.iter().map(|w| w.id).collect();
    assert_eq!(ids, [first.id, second.id, third.id], "oldest first, ties in the order made");
    assert!(store.list(other).await.expect("list").is_empty(), "the other team's list");
    let read = store.get(team, first.id).await.expect("get");
    assert_eq!((read.signature, read.settings), (first.signature.clone(), first.settings.clone()));
    assert!(store.get(team, second.id).await.expect("get").signature.is_none());
    assert!(matches!(store.get(other, first.id).await, Err(StoreError::NotFound("webhook"))), "another team's");
    assert_eq!(store.by_id(first.id).await.expect("by id").expect("found").team_id, team, "any team's, by URL");
    assert!(store.by_id(WebhookId::new_v4()).await.expect("by id").is_none());
    assert!(!store.removed(first.id).await.expect("removed"), "a live URL is not removed");
}
with_fixture!(webhooks_are_the_teams_and_listed_oldest_first);

async fn targets_must_be_the_teams<S: TenancyRepo + WebhookRepo, F: Fixture>(store: &S, fx: &F) {
    let (team, other) = (team(store).await, team(store).await);
    let (block, foreign_block) = (fx.block(team).await, fx.block(other).await);
    let (doc, foreign_doc) = (fx.doc(team, &["a", "b"]).await, fx.doc(other, &["a"]).await);
    let invalid = |result: Result<_, StoreError>| match result {
        Err(StoreError::Invalid(message)) => message,
        other => panic!("expected Invalid, got {other:?}"),
    };
    let refused = invalid(store.create(new_webhook(team, TargetKind::Block, foreign_block)).await);
    assert_eq!(refused, format!("target.id {foreign_block} is not a block of this team"));
    let refused = invalid(store.create(new_webhook(team, TargetKind::Block, doc)).await);
    assert_eq!(refused, format!("target.id {doc} is not a block of this team"), "a doc is not a block");
    let refused = invalid(store.create(new_webhook(team, TargetKind::Doc, foreign_doc)).await);
    assert_eq!(refused, format!("target.id {foreign_doc} is not a doc of this team"));

    let mut keyed = new_webhook(team, TargetKind::Block, block);
    keyed.settings.dataset_keys = Some(vec!["a".into()]);
    assert_eq!(invalid(store.create(keyed.clone()).await), "settings.datasetKeys only applies to a doc target");
    keyed.target = Target { kind: TargetKind::Doc, id: doc };
    keyed.settings.dataset_keys = Some(vec!["b".into(), "zz".into()]);
    assert_eq!(
        invalid(store.create(keyed.clone()).await),
        format!("settings.datasetKeys[1] \"zz\" is not a dataset of doc {doc}")
    );
    keyed.settings.dataset_keys = Some(vec!["b".into()]);
    let created = store.create(keyed.clone()).await.expect("the doc's own dataset");
    assert!(store.list(team).await.expect("list").len() == 1, "nothing refused was stored");

    let mut settings = keyed.settings.clone();
    settings.dataset_keys = Some(vec!["nope".into()]);
    let refused = invalid(store.update(team, created.id, "renamed".into(), settings).await);
    assert_eq!(refused, format!("settings.datasetKeys[0] \"nope\" is not a dataset of doc {doc}"));
    assert_eq!(store.get(team, created.id).await.expect("get").name, "orders", "a refused update changes nothing");
}
with_fixture!(targets_must_be_the_teams);

async fn a_target_has_one_active_webhook_unless_allowed<S: TenancyRepo + WebhookRepo, F: Fixture>(store: &S, fx: &F) {
    let team = team(store).await;
    let block = fx.block(team).await;
    let new = new_webhook(team, TargetKind::Block, block);
    // Warm a pooled backend up, so that the creates below run on several connections at once.
    join_all((0..4).map(|_| store.list(team))).await;
    let attempts = join_all((0..6).map(|_| store.create(new.clone()))).await;
    let created: Vec<_> = attempts.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(created.len(), 1, "of concurrent creates exactly one wins: {attempts:?}");
    let first = created[0].clone();
    for refused in attempts.iter().filter_map(|r| r.as_ref().err()) {
        let expected = format!(
            "webhook {} is already active for this target; disable it first or send \"allowMultiple\": true",
            first.id
        );
        assert!(matches!(refused, StoreError::Conflict(m) if *m == expected), "{refused:?}");
    }
    let second = store.create(NewWebhook { allow_multiple: true, ..new.clone() }).await.expect("allowed");
    store.set_state(team, first.id, WebhookState::Armed, Some(now_ms() + 60_000)).await.expect("arm");
    store.set_state(team, second.id, WebhookState::Disabled, None).await.expect("disable");
    assert!(matches!(store.create(new.clone()).await, Err(StoreError::Conflict(_))), "an armed one is active");
    store.set_state(team, first.id, WebhookState::Disabled, None).await.expect("disable");
    store.create(new.clone()).await.expect("disabled ones do not count");
    let other_block = fx.block(team).await;
    store.create(new_webhook(team, TargetKind::Block, other_block)).await.expect("another target is free");
}
with_fixture!(a_target_has_one_active_webhook_unless_allowed);

async fn settings_signature_state_and_secret_change<S: TenancyRepo + WebhookRepo, F: Fixture>(store: &S, fx: &F) {
    let (team, other) = (team(store).await, team(store).await);
    let block = fx.block(team).await;
    let created = store.create(new_webhook(team, TargetKind::Block, block)).await.expect("create");
    let id = created.id;
    let settings =
        WebhookSettings { max_body_bytes: 1024, content_types: Some(vec!["text/*".into()]), ..Default::default() };
    assert!(matches!(
        store.update(other, id, "x".into(), settings.clone()).await,
        Err(StoreError::NotFound("webhook"))
    ));
    let updated = store.update(team, id, "renamed".into(), settings.clone()).await.expect("update");
    assert_eq!((updated.name.as_str(), &updated.settings), ("renamed", &settings));
    assert!(updated.updated_at >= created.updated_at);
    assert_eq!(store.get(team, id).await.expect("get").settings, settings, "stored");

    let check = signature("0123456789abcdef-secret");
    assert!(matches!(store.set_signature(other, id, Some(check.clone())).await, Err(StoreError::NotFound(_))));
    assert_eq!(store.set_signature(team, id, Some(check.clone())).await.expect("set").signature, Some(check.clone()));
    assert_eq!(store.by_id(id).await.expect("read").expect("found").signature, Some(check));
    assert!(store.set_signature(team, id, None).await.expect("remove").signature.is_none());

    let until = now_ms() + 60_000;
    assert!(matches!(store.set_state(other, id, WebhookState::Disabled, None).await, Err(StoreError::NotFound(_))));
    let armed = store.set_state(team, id, WebhookState::Armed, Some(until)).await.expect("arm");
    assert_eq!((armed.state, armed.armed_until), (WebhookState::Armed, Some(until)));
    let deployed = store.set_state(team, id, WebhookState::Deployed, None).await.expect("deploy");
    assert_eq!((deployed.state, deployed.armed_until), (WebhookState::Deployed, None));

    let rotated = store.rotate_secret(team, id, ([2; 32], "efgh".into()), Some(until)).await.expect("rotate");
    assert_eq!((rotated.secret_hash, rotated.secret_hint.as_deref()), (Some([2; 32]), Some("efgh")));
    assert_eq!((rotated.previous_secret_hash, rotated.previous_secret_expires_at), (Some([1; 32]), Some(until)));
    let rotated = store.rotate_secret(team, id, ([3; 32], "ijkl".into()), None).await.expect("rotate now");
    assert_eq!((rotated.previous_secret_hash, rotated.previous_secret_expires_at), (None, None), "old one ends now");
    assert!(matches!(store.rotate_secret(other, id, ([4; 32], "x".into()), None).await, Err(StoreError::NotFound(_))));

    let mut open = new_webhook(team, TargetKind::Block, block);
    (open.auth_mode, open.secret, open.allow_multiple) = (AuthMode::None, None, true);
    let open = store.create(open).await.expect("auth none");
    let refused = store.rotate_secret(team, open.id, ([5; 32], "x".into()), Some(until)).await;
    let expected = "this webhook has auth \"none\": it has no secret to rotate";
    assert!(matches!(&refused, Err(StoreError::Conflict(m)) if m == expected), "{refused:?}");
    let mut unset = new_webhook(team, TargetKind::Block, block);
    (unset.secret, unset.allow_multiple) = (None, true);
    let unset = store.create(unset).await.expect("secret auth, no secret yet");
    let first = store.rotate_secret(team, unset.id, ([6; 32], "mnop".into()), Some(until)).await.expect("first");
    assert_eq!((first.previous_secret_hash, first.previous_secret_expires_at), (None, None), "nothing to keep");
}
with_fixture!(settings_signature_state_and_secret_change);

async fn regenerated_and_deleted_urls_answer_removed<S: TenancyRepo + WebhookRepo, F: Fixture>(store: &S, fx: &F) {
    let (team, other) = (team(store).await, team(store).await);
    let block = fx.block(team).await;
    let mut new = new_webhook(team, TargetKind::Block, block);
    new.signature = Some(signature("0123456789abcdef-secret"));
    let old = store.create(new).await.expect("create");
    fx.callback(team, old.id.into(), "sealed-callback-secret").await;
    let execution = fx.execution(team, old.id).await;

    assert!(matches!(store.regenerate(other, old.id).await, Err(StoreError::NotFound("webhook"))));
    let moved = store.regenerate(team, old.id).await.expect("regenerate");
    assert_ne!(moved.id, old.id);
    assert_eq!(
        (moved.name, moved.target, moved.signature, moved.secret_hash),
        (old.name, old.target, old.signature, old.secret_hash)
    );
    assert_eq!(moved.created_at, old.created_at);
    assert!(store.removed(old.id).await.expect("removed"), "the old URL answers removed");
    assert!(!store.removed(moved.id).await.expect("removed"));
    assert!(store.by_id(old.id).await.expect("by id").is_none());
    assert!(matches!(store.get(team, old.id).await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.regenerate(team, old.id).await, Err(StoreError::NotFound(_))), "the old id is gone");
    assert_eq!(fx.execution_webhook(team, execution).await, Some(moved.id), "executions follow");
    assert_eq!(fx.callback_sealed(old.id.into()).await, None, "so does the callback");
    assert_eq!(fx.callback_sealed(moved.id.into()).await.as_deref(), Some("sealed-callback-secret"));
    let ids: Vec<WebhookId> = store.list(team).await.expect("list").iter().map(|w| w.id).collect();
    assert_eq!(ids, [moved.id]);

    assert!(matches!(store.delete(other, moved.id).await, Err(StoreError::NotFound("webhook"))));
    assert!(store.by_id(moved.id).await.expect("by id").is_some(), "another team's delete changes nothing");
    store.delete(team, moved.id).await.expect("delete");
    assert!(store.removed(moved.id).await.expect("removed"), "a deleted URL answers removed");
    assert!(store.by_id(moved.id).await.expect("by id").is_none());
    assert!(matches!(store.delete(team, moved.id).await, Err(StoreError::NotFound("webhook"))), "twice");
    assert!(store.list(team).await.expect("list").is_empty());
    assert!(!store.removed(WebhookId::new_v4()).await.expect("removed"), "never seen is not removed");
}
with_fixture!(regenerated_and_deleted_urls_answer_removed);
