//! Master-key rotation: a store opened with a new key (and the old one as previous) reseals
//! every value still under the old key (team secrets, webhook signature checks, callback
//! secrets), all in one write, after which the old key is no longer needed.
//!
//! Each case opens the same database several times with different keys, so it has its own
//! two tests instead of `on_both!`.

use std::sync::Arc;

use uuid::Uuid;
use wasmhook_domain::ids::{TeamId, WebhookId};
use wasmhook_domain::signature::SignatureConfig;
use wasmhook_store::StoreError;
use wasmhook_store::repo::{SealingRepo, SecretRepo, TenancyRepo, WebhookRepo};
use wasmhook_store::sealing::{MasterKey, Sealer, callback_context, secret_context};
use wasmhook_store::webhooks::{NewWebhook, TargetKind};

use crate::tenancy::team;
use crate::webhooks::{Fixture, new_webhook, signature};

/// The key every test store seals under (`support::sealer`): the one being rotated out.
const OLD: [u8; 32] = [7; 32];
/// The key rotated in.
const NEW: [u8; 32] = [8; 32];
/// A key no store here has.
const UNKNOWN: [u8; 32] = [9; 32];

fn sealer(current: [u8; 32], previous: Option<[u8; 32]>) -> Arc<Sealer> {
    Arc::new(Sealer::new(MasterKey::from_bytes(&current), previous.as_ref().map(MasterKey::from_bytes)))
}

/// What was stored under the old key.
struct Seeded {
    team: TeamId,
    webhook: WebhookId,
    check: SignatureConfig,
    callback: Uuid,
}

/// The secrets seeded, and their plain values.
const SECRETS: [(&str, &str); 2] = [("github", "gh-value"), ("stripe", "sk-value")];

/// Two secrets, a webhook with a signature check (and one without), and a callback secret, all
/// sealed under the old key, by a store that has only that key.
async fn seed<S: TenancyRepo + SecretRepo + WebhookRepo, F: Fixture>(store: &S, fx: &F) -> Seeded {
    let old = sealer(OLD, None);
    let team = team(store).await;
    for (name, value) in SECRETS {
        let sealed = old.seal(&secret_context(team, name), value.as_bytes()).expect("seal");
        store.put(team, name, &sealed).await.expect("secret");
    }
    let block = fx.block(team).await;
    let check = signature("0123456789abcdef-signing");
    let new = NewWebhook { signature: Some(check.clone()), ..new_webhook(team, TargetKind::Block, block) };
    let webhook = WebhookRepo::create(store, new.clone()).await.expect("webhook").id;
    WebhookRepo::create(store, NewWebhook { signature: None, allow_multiple: true, ..new })
        .await
        .expect("without a check");
    let callback = Uuid::from(webhook);
    fx.callback(team, callback, &old.seal(&callback_context(team), b"callback-secret").expect("seal")).await;
    Seeded { team, webhook, check, callback }
}

/// The sealed texts of the seeded secrets and of `fresh`, by name.
async fn sealed_secrets<S: SecretRepo>(store: &S, team: TeamId) -> Vec<(String, String)> {
    let names: Vec<String> = ["fresh", "github", "stripe"].map(str::to_owned).into();
    store.sealed(team, &names).await.expect("sealed")
}

/// Run by a store with the new key and the old one as previous.
async fn rotation_reseals_each_old_value_once<S: SealingRepo + SecretRepo, F: Fixture>(
    store: &S,
    fx: &F,
    seeded: &Seeded,
) {
    let new = sealer(NEW, None);
    let fresh = new.seal(&secret_context(seeded.team, "fresh"), b"fresh-value").expect("seal");
    store.put(seeded.team, "fresh", &fresh).await.expect("a secret sealed under the new key already");
    assert_eq!(store.reseal_all().await.expect("reseal"), 4, "2 secrets, 1 signature check, 1 callback secret");
    assert_eq!(store.reseal_all().await.expect("again"), 0, "nothing is left under the old key");
    let sealed = sealed_secrets(store, seeded.team).await;
    assert_eq!(sealed[0], ("fresh".to_owned(), fresh), "a current value is left as it is");
    assert!(sealed.iter().all(|(_, text)| new.is_current(text)), "{sealed:?}");
    assert!(new.is_current(&fx.callback_sealed(seeded.callback).await.expect("callback")));
}

/// Run by a store with only the new key: every value opens.
async fn everything_opens_under_the_new_key_alone<S: SecretRepo + WebhookRepo, F: Fixture>(
    store: &S,
    fx: &F,
    seeded: &Seeded,
) {
    let new = sealer(NEW, None);
    let sealed = sealed_secrets(store, seeded.team).await;
    let values = [("fresh", "fresh-value"), SECRETS[0], SECRETS[1]];
    for ((name, text), (expected_name, value)) in sealed.iter().zip(values) {
        assert_eq!(name, expected_name);
        let plain = new.open(&secret_context(seeded.team, name), text).expect("opens under the new key");
        assert_eq!(&*plain, value.as_bytes());
    }
    let webhook = store.get(seeded.team, seeded.webhook).await.expect("the check opens");
    assert_eq!(webhook.signature, Some(seeded.check.clone()));
    let callback = fx.callback_sealed(seeded.callback).await.expect("callback");
    let plain = new.open(&callback_context(seeded.team), &callback).expect("opens under the new key");
    assert_eq!(&*plain, b"callback-secret");
}

/// Run by a store with the new key and the old one as previous, over a callback secret sealed
/// under a key it does not have: `Invalid`, and nothing resealed, not even what opened.
async fn a_value_under_an_unknown_key_changes_nothing<S: SealingRepo + SecretRepo, F: Fixture>(
    store: &S,
    fx: &F,
    seeded: &Seeded,
) {
    let stray = Uuid::new_v4();
    let context = callback_context(seeded.team);
    let unknown = sealer(UNKNOWN, None).seal(&context, b"stray").expect("seal");
    fx.callback(seeded.team, stray, &unknown).await;
    let (secrets, callback) = (sealed_secrets(store, seeded.team).await, fx.callback_sealed(seeded.callback).await);

    let refused = store.reseal_all().await;
    let why = sealer(NEW, Some(OLD)).open(&context, &unknown).expect_err("unknown key");
    let expected = format!("the callback secret of {stray}: {why}");
    assert!(matches!(&refused, Err(StoreError::Invalid(m)) if *m == expected), "{refused:?}");
    assert_eq!(sealed_secrets(store, seeded.team).await, secrets, "the secrets resealed before are rolled back");
    assert_eq!(fx.callback_sealed(seeded.callback).await, callback);
    assert_eq!(fx.callback_sealed(stray).await, Some(unknown));
}

mod rotation {
    use wasmhook_store::Store;
    use wasmhook_store_pg::PgStore;

    use super::{NEW, OLD, sealer};
    use crate::support;
    use crate::webhooks::{PgFixture, SqliteFixture};

    #[tokio::test]
    async fn sqlite() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("wasmhook.db");
        let old = Store::open(&path, sealer(OLD, None)).expect("open");
        let seeded = super::seed(&old, &SqliteFixture(&old)).await;
        drop(old);
        let rotating = Store::open(&path, sealer(NEW, Some(OLD))).expect("open");
        super::rotation_reseals_each_old_value_once(&rotating, &SqliteFixture(&rotating), &seeded).await;
        drop(rotating);
        let new = Store::open(&path, sealer(NEW, None)).expect("open");
        super::everything_opens_under_the_new_key_alone(&new, &SqliteFixture(&new), &seeded).await;
    }

    #[tokio::test]
    async fn postgres() {
        let Some(db) = support::TestDb::create().await else { return };
        let url = db.url();
        let fx = PgFixture(support::connect(&url).await);
        let old = PgStore::connect(&url, 4, sealer(OLD, None)).await.expect("connect");
        let seeded = super::seed(&old, &fx).await;
        let rotating = PgStore::connect(&url, 4, sealer(NEW, Some(OLD))).await.expect("connect");
        super::rotation_reseals_each_old_value_once(&rotating, &fx, &seeded).await;
        let new = PgStore::connect(&url, 4, sealer(NEW, None)).await.expect("connect");
        super::everything_opens_under_the_new_key_alone(&new, &fx, &seeded).await;
        drop((old, rotating, new, fx));
        db.drop_now().await;
    }
}

mod unknown_key {
    use wasmhook_store::Store;
    use wasmhook_store_pg::PgStore;

    use super::{NEW, OLD, sealer};
    use crate::support;
    use crate::webhooks::{PgFixture, SqliteFixture};

    #[tokio::test]
    async fn sqlite() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("wasmhook.db");
        let old = Store::open(&path, sealer(OLD, None)).expect("open");
        let seeded = super::seed(&old, &SqliteFixture(&old)).await;
        drop(old);
        let rotating = Store::open(&path, sealer(NEW, Some(OLD))).expect("open");
        super::a_value_under_an_unknown_key_changes_nothing(&rotating, &SqliteFixture(&rotating), &seeded).await;
    }

    #[tokio::test]
    async fn postgres() {
        let Some(db) = support::TestDb::create().await else { return };
        let url = db.url();
        let fx = PgFixture(support::connect(&url).await);
        let old = PgStore::connect(&url, 4, sealer(OLD, None)).await.expect("connect");
        let seeded = super::seed(&old, &fx).await;
        let rotating = PgStore::connect(&url, 4, sealer(NEW, Some(OLD))).await.expect("connect");
        super::a_value_under_an_unknown_key_changes_nothing(&rotating, &fx, &seeded).await;
        drop((old, rotating, fx));
        db.drop_now().await;
    }
}
