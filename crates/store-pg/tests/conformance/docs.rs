//! Docs: ordered datasets, each naming a block (and maybe a version) of the doc's team.

use std::time::Duration;

use serde_json::Value;
use wasmhook_domain::ids::{BlockId, DocId, TeamId};
use wasmhook_store::block_settings::{Backoff, RetrySettings};
use wasmhook_store::repo::{BlockRepo, DocRepo, TenancyRepo};
use wasmhook_store::{Dataset, Doc, DocInput, StoreError};

use crate::blocks::{block, created, upload};
use crate::on_both;
use crate::tenancy::team;

/// A dataset following its block's active version, with the block's settings.
fn dataset(key: &str, block_id: BlockId) -> Dataset {
    Dataset { key: key.to_owned(), block_id, version: None, timeout_ms: None, retry: None }
}

/// A doc body keeping execution inputs, without an idempotency pointer.
fn input(name: &str, datasets: Vec<Dataset>) -> DocInput {
    DocInput { name: name.to_owned(), datasets, idempotency_pointer: None, store_payload: true }
}

/// Everything the API shows of a doc, and its team (which it does not show).
fn seen(doc: &Doc) -> (TeamId, Value) {
    (doc.team_id, serde_json::to_value(doc).expect("json"))
}

/// Creates a doc, then waits so the next one is created in a later millisecond.
async fn create<S: DocRepo>(store: &S, team_id: TeamId, input: DocInput) -> Doc {
    let doc = DocRepo::create(store, team_id, input).await.expect("create doc");
    tokio::time::sleep(Duration::from_millis(3)).await;
    doc
}

/// The message of an `Invalid` refusal (anything else fails the case).
fn invalid(result: Result<Doc, StoreError>) -> String {
    match result {
        Err(StoreError::Invalid(message)) => message,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

async fn docs_keep_their_datasets_in_order<S: TenancyRepo + BlockRepo + DocRepo>(store: &S) {
    let mine = team(store).await;
    let (first, second) = (created(store, block(mine, "a")).await.id, created(store, block(mine, "b")).await.id);
    upload(store, mine, first, b"v1", false).await;
    let retry = RetrySettings { max_attempts: Some(4), backoff: Some(Backoff::Fixed), ..RetrySettings::default() };
    let datasets = vec![
        Dataset { timeout_ms: Some(250), retry: Some(retry), ..dataset("zulu", second) },
        Dataset { version: Some(1), ..dataset("alpha", first) },
        dataset("mike", first),
    ];
    let mut doc_input = input("report", datasets.clone());
    doc_input.idempotency_pointer = Some("/id".to_owned());
    doc_input.store_payload = false;
    let doc = create(store, mine, doc_input).await;

    assert_eq!(doc.datasets, datasets, "in the order given, every field kept");
    assert_eq!((doc.team_id, doc.name.as_str(), doc.archived_at), (mine, "report", None));
    assert_eq!((doc.idempotency_pointer.as_deref(), doc.store_payload), (Some("/id"), false));
    assert_eq!(doc.created_at, doc.updated_at);
    assert_eq!(seen(&DocRepo::get(store, mine, doc.id).await.expect("get")), seen(&doc));
}
on_both!(docs_keep_their_datasets_in_order);

async fn a_dataset_must_name_a_block_of_the_team<S: TenancyRepo + BlockRepo + DocRepo>(store: &S) {
    let (mine, other) = (team(store).await, team(store).await);
    let (id, unversioned) = (created(store, block(mine, "a")).await.id, created(store, block(mine, "b")).await.id);
    upload(store, mine, id, b"v1", false).await;
    let foreign = created(store, block(other, "theirs")).await.id;
    let unknown = BlockId::new_v4();

    let refused = DocRepo::create(store, mine, input("d", vec![dataset("a", id), dataset("b", foreign)])).await;
    assert_eq!(invalid(refused), format!("datasets[1].block {foreign} is not a block of this team"));
    let refused = DocRepo::create(store, mine, input("d", vec![dataset("a", unknown)])).await;
    assert_eq!(invalid(refused), format!("datasets[0].block {unknown} is not a block of this team"));
    let pinned = vec![dataset("a", id), Dataset { version: Some(7), ..dataset("b", id) }];
    assert_eq!(invalid(DocRepo::create(store, mine, input("d", pinned)).await), "datasets[1].version 7 does not exist");
    let elsewhere = vec![Dataset { version: Some(1), ..dataset("a", unversioned) }];
    assert_eq!(
        invalid(DocRepo::create(store, mine, input("d", elsewhere)).await),
        "datasets[0].version 1 does not exist",
        "a version is the dataset's block's"
    );
    let blank = vec![dataset("a", id), dataset(" ", id)];
    assert_eq!(invalid(DocRepo::create(store, mine, input("d", blank)).await), "datasets[1].key must not be empty");
    let twice = vec![dataset("a", id), dataset("b", id), dataset("a", id)];
    assert_eq!(invalid(DocRepo::create(store, mine, input("d", twice)).await), r#"datasets[2].key "a" is used twice"#);
    let first_bad_wins = vec![dataset("a", foreign), dataset("", id)];
    let refused = DocRepo::create(store, mine, input("d", first_bad_wins)).await;
    assert_eq!(invalid(refused), format!("datasets[0].block {foreign} is not a block of this team"));
    assert!(DocRepo::list(store, mine).await.expect("list").is_empty(), "nothing refused is stored");

    let theirs = DocRepo::create(store, other, input("theirs", vec![dataset("x", foreign)])).await.expect("create");
    assert_eq!(theirs.datasets, [dataset("x", foreign)], "another team may use its own block");
}
on_both!(a_dataset_must_name_a_block_of_the_team);

async fn replace_rewrites_name_and_datasets<S: TenancyRepo + BlockRepo + DocRepo>(store: &S) {
    let (mine, other) = (team(store).await, team(store).await);
    let (a, b) = (created(store, block(mine, "a")).await.id, created(store, block(mine, "b")).await.id);
    let foreign = created(store, block(other, "theirs")).await.id;
    let doc = create(store, mine, input("first", vec![dataset("x", a), dataset("y", b), dataset("z", a)])).await;

    let mut new_input = input("second", vec![dataset("y", a), dataset("w", b)]);
    new_input.store_payload = false;
    new_input.idempotency_pointer = Some("/key".to_owned());
    let replaced = store.replace(mine, doc.id, new_input).await.expect("replace");
    assert_eq!(replaced.name, "second");
    assert_eq!(replaced.datasets, [dataset("y", a), dataset("w", b)], "the old datasets are gone");
    assert_eq!((replaced.store_payload, replaced.idempotency_pointer.as_deref()), (false, Some("/key")));
    assert_eq!(replaced.created_at, doc.created_at);
    assert!(replaced.updated_at > doc.updated_at);
    assert_eq!(seen(&DocRepo::get(store, mine, doc.id).await.expect("get")), seen(&replaced));

    let refused = store.replace(mine, doc.id, input("third", vec![dataset("x", foreign)])).await;
    assert_eq!(invalid(refused), format!("datasets[0].block {foreign} is not a block of this team"));
    assert_eq!(seen(&DocRepo::get(store, mine, doc.id).await.expect("get")), seen(&replaced), "nothing written");
    let bad_input = input("third", vec![dataset("", foreign)]);
    let foreign_doc = store.replace(other, doc.id, bad_input.clone()).await;
    assert!(matches!(foreign_doc, Err(StoreError::NotFound("doc"))), "not found before invalid: {foreign_doc:?}");
    let unknown = store.replace(mine, DocId::new_v4(), bad_input).await;
    assert!(matches!(unknown, Err(StoreError::NotFound("doc"))), "{unknown:?}");
    let emptied = store.replace(mine, doc.id, input("empty", vec![])).await.expect("no datasets");
    assert!(emptied.datasets.is_empty());
}
on_both!(replace_rewrites_name_and_datasets);

async fn concurrent_replaces_do_not_mix_datasets<S: TenancyRepo + BlockRepo + DocRepo>(store: &S) {
    let mine = team(store).await;
    let id = created(store, block(mine, "a")).await.id;
    let doc = create(store, mine, input("d", vec![dataset("start", id)])).await;
    let first = vec![dataset("a", id), dataset("b", id)];
    let second = vec![dataset("c", id), dataset("d", id), dataset("e", id)];
    for _ in 0..5 {
        let (one, two) = tokio::join!(
            store.replace(mine, doc.id, input("one", first.clone())),
            store.replace(mine, doc.id, input("two", second.clone())),
        );
        one.expect("first replace");
        two.expect("second replace");
        let stored = DocRepo::get(store, mine, doc.id).await.expect("get");
        let expected = if stored.name == "one" { &first } else { &second };
        assert_eq!(&stored.datasets, expected, "one replace's datasets whole, with its name");
    }
}
on_both!(concurrent_replaces_do_not_mix_datasets);

async fn archive_keeps_the_first_time<S: TenancyRepo + BlockRepo + DocRepo>(store: &S) {
    let (mine, other) = (team(store).await, team(store).await);
    let id = created(store, block(mine, "a")).await.id;
    let doc = create(store, mine, input("d", vec![dataset("x", id)])).await;

    let archived = store.archive(mine, doc.id).await.expect("archive");
    let at = archived.archived_at.expect("archived");
    assert_eq!((archived.updated_at, archived.datasets.clone()), (at, doc.datasets.clone()));
    tokio::time::sleep(Duration::from_millis(3)).await;
    let again = store.archive(mine, doc.id).await.expect("archive again");
    assert_eq!(again.archived_at, Some(at), "the first archive time is kept");
    assert!(again.updated_at > at, "updated_at still moves");
    assert_eq!(seen(&DocRepo::get(store, mine, doc.id).await.expect("still readable")), seen(&again));
    assert_eq!(DocRepo::list(store, mine).await.expect("list").len(), 1, "still listed");

    assert!(matches!(store.archive(other, doc.id).await, Err(StoreError::NotFound("doc"))));
    assert!(matches!(store.archive(mine, DocId::new_v4()).await, Err(StoreError::NotFound("doc"))));
}
on_both!(archive_keeps_the_first_time);

async fn docs_are_listed_per_team_oldest_first<S: TenancyRepo + BlockRepo + DocRepo>(store: &S) {
    let (mine, other) = (team(store).await, team(store).await);
    let (a, b) = (created(store, block(mine, "a")).await.id, created(store, block(mine, "b")).await.id);
    let foreign = created(store, block(other, "theirs")).await.id;
    let first = create(store, mine, input("first", vec![dataset("k2", b), dataset("k1", a)])).await;
    let bare = create(store, mine, input("bare", vec![])).await;
    let theirs = create(store, other, input("theirs", vec![dataset("k", foreign)])).await;
    let last = create(store, mine, input("last", vec![dataset("only", a)])).await;

    let listed = DocRepo::list(store, mine).await.expect("list");
    let listed: Vec<_> = listed.iter().map(seen).collect();
    assert_eq!(listed, [seen(&first), seen(&bare), seen(&last)], "the team's, oldest first, each with its datasets");
    assert_eq!(DocRepo::list(store, other).await.expect("list").iter().map(seen).collect::<Vec<_>>(), [seen(&theirs)]);
    assert!(matches!(DocRepo::get(store, mine, theirs.id).await, Err(StoreError::NotFound("doc"))));
    assert!(DocRepo::list(store, team(store).await).await.expect("list").is_empty());
}
on_both!(docs_are_listed_per_team_oldest_first);
