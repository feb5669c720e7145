//! Teams, users, keys and secrets.

use wasmhook_domain::ids::{KeyId, TeamId, UserId};
use wasmhook_store::repo::{NewUserKey, SecretRepo, TeamRef, TenancyRepo};
use wasmhook_store::{KeyScope, StoreError};

use crate::on_both;

/// A user to create, with a key hash derived from `seed`.
pub fn new_user(name: &str, seed: u8, scope: KeyScope) -> NewUserKey {
    NewUserKey {
        user_id: UserId::new_v4(),
        user_name: name.to_owned(),
        hash: [seed; 32],
        hint: format!("h{seed:03}"),
        scope,
        label: Some(format!("{name}'s key")),
    }
}

/// A fresh (non-operator) team, for cases about something else.
pub async fn team<S: TenancyRepo>(store: &S) -> TeamId {
    store.create_team("acme", new_user("ada", 1, KeyScope::Admin)).await.expect("team").0.id
}

async fn bootstrap_creates_the_operator_team_once<S: TenancyRepo>(store: &S) {
    let first = store.bootstrap("ops", new_user("root", 1, KeyScope::Admin)).await.expect("bootstrap");
    let (team, user, key) = first.expect("the first start creates the operator team");
    assert!(team.operator);
    assert_eq!((user.team_id, key.user_id, key.team_id), (team.id, user.id, team.id));
    assert_eq!(key.secret_hash, vec![1; 32]);
    let again = store.bootstrap("ops", new_user("root2", 2, KeyScope::Admin)).await.expect("second start");
    assert!(again.is_none(), "a second start creates nothing");

    let (user, key) = store.create_user(TeamRef::Operator, new_user("bob", 3, KeyScope::Execute)).await.expect("user");
    assert_eq!((user.team_id, key.scope), (team.id, KeyScope::Execute));
    let other = store.create_team("acme", new_user("ada", 4, KeyScope::Admin)).await.expect("team").0;
    assert!(!other.operator);
    assert_eq!(store.team(other.id).await.expect("read").name, "acme");
    assert!(matches!(store.team(TeamId::new_v4()).await, Err(StoreError::NotFound("team"))));
    let missing = store.create_user(TeamRef::Id(TeamId::new_v4()), new_user("eve", 5, KeyScope::Admin)).await;
    assert!(matches!(missing, Err(StoreError::NotFound("team"))), "{missing:?}");
}
on_both!(bootstrap_creates_the_operator_team_once);

async fn keys_are_listed_per_team_and_revoked_keys_stop_being_active<S: TenancyRepo>(store: &S) {
    let (team, admin, first) = store.create_team("acme", new_user("ada", 1, KeyScope::Admin)).await.expect("team");
    let (_, second) = store.create_user(TeamRef::Id(team.id), new_user("bob", 2, KeyScope::Execute)).await.expect("u");
    let (other, _, foreign) = store.create_team("umbrella", new_user("eve", 3, KeyScope::Admin)).await.expect("team");

    let listed: Vec<KeyId> = store.keys_of_team(team.id).await.expect("list").iter().map(|k| k.id).collect();
    assert_eq!(listed, [first.id, second.id], "oldest first, the team's only");
    let active = store.active_keys_of_user(admin.id).await.expect("active");
    assert_eq!(active.len(), 1);
    assert_eq!((active[0].hint.as_str(), active[0].label.as_deref()), ("h001", Some("ada's key")));

    assert!(matches!(store.revoke_key(other.id, first.id).await, Err(StoreError::NotFound(_))), "another team's key");
    store.revoke_key(team.id, first.id).await.expect("revoke");
    let revoked_at = store.keys_of_team(team.id).await.expect("list")[0].revoked_at.expect("revoked");
    store.revoke_key(team.id, first.id).await.expect("twice is harmless");
    assert_eq!(store.keys_of_team(team.id).await.expect("list")[0].revoked_at, Some(revoked_at), "first time kept");
    assert!(store.active_keys_of_user(admin.id).await.expect("active").is_empty());
    assert_eq!(store.keys_of_team(other.id).await.expect("list")[0].id, foreign.id);
}
on_both!(keys_are_listed_per_team_and_revoked_keys_stop_being_active);

async fn secrets_are_per_team_and_never_shown<S: TenancyRepo + SecretRepo>(store: &S) {
    let (team, other) = (team(store).await, team(store).await);
    let created = SecretRepo::create(store, team, "stripe", "sealed-1").await.expect("create");
    assert_eq!(created.name, "stripe");
    let again = SecretRepo::create(store, team, "stripe", "sealed-2").await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let (replaced, was_created) = store.put(team, "stripe", "sealed-3").await.expect("replace");
    assert!(!was_created, "a replace in the creating millisecond is a replace");
    assert_eq!(replaced.created_at, created.created_at);
    let (_, was_created) = store.put(team, "github", "sealed-4").await.expect("create by put");
    assert!(was_created);
    store.put(other, "stripe", "other-team").await.expect("other team");

    let names: Vec<String> = SecretRepo::list(store, team).await.expect("list").into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["github", "stripe"], "by name");
    let asked = ["stripe".to_owned(), "absent".to_owned(), "github".to_owned()];
    let sealed = store.sealed(team, &asked).await.expect("sealed");
    assert_eq!(
        sealed,
        [("stripe".to_owned(), "sealed-3".to_owned()), ("github".to_owned(), "sealed-4".to_owned())],
        "in the order asked, absent names left out"
    );
    assert!(matches!(store.info(team, "absent").await, Err(StoreError::NotFound("secret"))));
    SecretRepo::delete(store, team, "stripe").await.expect("delete");
    assert!(matches!(SecretRepo::delete(store, team, "stripe").await, Err(StoreError::NotFound(_))));
    assert_eq!(store.info(other, "stripe").await.expect("other team's stays").name, "stripe");
}
on_both!(secrets_are_per_team_and_never_shown);

/// Rows made in the same millisecond list in the order they were made, not in the order of their
/// random ids: forty keys created back to back share milliseconds on any machine.
async fn keys_made_in_one_millisecond_list_in_creation_order<S: TenancyRepo>(store: &S) {
    let (team, _, first) = store.create_team("acme", new_user("ada", 0, KeyScope::Admin)).await.expect("team");
    let mut made = vec![first.id];
    for seed in 1..40 {
        let (_, key) =
            store.create_user(TeamRef::Id(team.id), new_user("u", seed, KeyScope::Execute)).await.expect("u");
        made.push(key.id);
    }
    let listed: Vec<KeyId> = store.keys_of_team(team.id).await.expect("list").iter().map(|k| k.id).collect();
    assert_eq!(listed, made);
}
on_both!(keys_made_in_one_millisecond_list_in_creation_order);
