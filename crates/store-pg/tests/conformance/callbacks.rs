//! Completion callbacks and their messages. Messages are only made by executions, so the
//! message cases add rows the way an execution would, with the same SQL on either backend
//! (`Rows`), and run through their own two-test wrapper instead of `on_both!`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::join_all;
use uuid::Uuid;
use wasmhook_domain::ids::TeamId;
use wasmhook_store::StoreError;
use wasmhook_store::callbacks::{Callback, CallbackEvent, CallbackTarget, Message, TryResult};
use wasmhook_store::repo::{CallbackRepo, SealedSecret};

use crate::on_both;

fn callback(team_id: TeamId, target_id: Uuid, kind: CallbackTarget, url: &str, events: &[CallbackEvent]) -> Callback {
    Callback {
        team_id,
        target_kind: kind,
        target_id,
        url: url.to_owned(),
        events: events.to_vec(),
        secret_hint: String::new(),
        created_at: 0,
        updated_at: 0,
    }
}

fn secret(n: usize) -> SealedSecret {
    SealedSecret { sealed: format!("sealed-{n}"), hint: format!("hint-{n}") }
}

/// What the API shows of a callback, comparable.
fn shown(c: &Callback) -> (TeamId, CallbackTarget, Uuid, &str, &[CallbackEvent], &str, i64, i64) {
    (c.team_id, c.target_kind, c.target_id, &c.url, &c.events, &c.secret_hint, c.created_at, c.updated_at)
}

/// Lets the clock move on, so two writes get different times.
async fn tick() {
    tokio::time::sleep(Duration::from_millis(3)).await;
}

async fn a_save_creates_once_then_keeps_kind_and_secret<S: CallbackRepo>(store: &S) {
    use CallbackEvent::{Dead, Failed, Succeeded};
    let (team, target) = (TeamId::new_v4(), Uuid::new_v4());
    let first = callback(team, target, CallbackTarget::Doc, "https://a.example/1", &[Succeeded]);
    let (created, was_created) = store.save(first, secret(1)).await.expect("create");
    assert!(was_created);
    assert_eq!(
        (created.target_kind, created.url.as_str(), created.events.as_slice(), created.secret_hint.as_str()),
        (CallbackTarget::Doc, "https://a.example/1", &[Succeeded][..], "hint-1")
    );
    assert_eq!(created.created_at, created.updated_at);
    let endpoint = store.endpoint(target).await.expect("endpoint");
    assert_eq!(endpoint, Some(("https://a.example/1".to_owned(), "sealed-1".to_owned())));

    tick().await;
    let second = callback(team, target, CallbackTarget::Block, "https://a.example/2", &[Failed, Dead]);
    let (updated, was_created) = store.save(second, secret(2)).await.expect("update");
    assert!(!was_created);
    assert_eq!((updated.target_kind, updated.secret_hint.as_str()), (CallbackTarget::Doc, "hint-1"), "kept");
    assert_eq!((updated.url.as_str(), updated.events.as_slice()), ("https://a.example/2", &[Failed, Dead][..]));
    assert_eq!(updated.created_at, created.created_at);
    assert!(updated.updated_at > created.updated_at);
    assert_eq!(shown(&store.get(team, target).await.expect("get")), shown(&updated));
    let endpoint = store.endpoint(target).await.expect("endpoint");
    assert_eq!(endpoint, Some(("https://a.example/2".to_owned(), "sealed-1".to_owned())), "the secret is kept");

    tick().await;
    let replaced = store.replace_secret(team, target, secret(3)).await.expect("replace");
    assert_eq!((replaced.url.as_str(), replaced.secret_hint.as_str()), ("https://a.example/2", "hint-3"));
    assert!(replaced.updated_at > updated.updated_at);
    assert_eq!(store.endpoint(target).await.expect("endpoint").map(|(_, s)| s).as_deref(), Some("sealed-3"));
}
on_both!(a_save_creates_once_then_keeps_kind_and_secret);

async fn callbacks_belong_to_their_team<S: CallbackRepo>(store: &S) {
    let (team, other) = (TeamId::new_v4(), TeamId::new_v4());
    let (t1, t2, t3) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let events = [CallbackEvent::Succeeded];
    for (owner, target) in [(team, t1), (team, t2), (other, t3)] {
        store
            .save(callback(owner, target, CallbackTarget::Block, "https://a.example", &events), secret(1))
            .await
            .expect("save");
        tick().await;
    }
    let theirs = callback(other, t1, CallbackTarget::Block, "https://evil.example", &events);
    assert!(matches!(store.save(theirs, secret(9)).await, Err(StoreError::NotFound("callback"))));
    assert!(matches!(store.get(other, t1).await, Err(StoreError::NotFound("callback"))));
    assert!(matches!(store.replace_secret(other, t1, secret(9)).await, Err(StoreError::NotFound("callback"))));
    assert!(matches!(store.delete(other, t1).await, Err(StoreError::NotFound("callback"))));
    let endpoint = store.endpoint(t1).await.expect("endpoint");
    assert_eq!(endpoint, Some(("https://a.example".to_owned(), "sealed-1".to_owned())), "untouched");

    let listed = |team| async move {
        store.list(team).await.expect("list").into_iter().map(|c| c.target_id).collect::<Vec<_>>()
    };
    assert_eq!(listed(team).await, [t1, t2], "oldest first");
    assert_eq!(listed(other).await, [t3]);
    let mut targets = store.targets().await.expect("targets");
    targets.sort();
    let mut all = vec![t1, t2, t3];
    all.sort();
    assert_eq!(targets, all);

    store.delete(team, t1).await.expect("delete");
    assert!(matches!(store.get(team, t1).await, Err(StoreError::NotFound("callback"))));
    assert!(matches!(store.delete(team, t1).await, Err(StoreError::NotFound("callback"))));
    assert_eq!(store.endpoint(t1).await.expect("endpoint"), None);
    assert_eq!(listed(team).await, [t2]);
    assert!(!store.targets().await.expect("targets").contains(&t1));
}
on_both!(callbacks_belong_to_their_team);

async fn of_concurrent_first_saves_exactly_one_creates<S: CallbackRepo>(store: &S) {
    let (team, target) = (TeamId::new_v4(), Uuid::new_v4());
    let saves = join_all((0..10).map(|i| {
        let url = format!("https://a.example/{i}");
        store.save(callback(team, target, CallbackTarget::Webhook, &url, &[CallbackEvent::Dead]), secret(i))
    }))
    .await;
    let creators: Vec<usize> =
        saves.into_iter().enumerate().filter_map(|(i, saved)| saved.expect("save").1.then_some(i)).collect();
    assert_eq!(creators.len(), 1, "{creators:?}");
    let (_, sealed) = store.endpoint(target).await.expect("endpoint").expect("saved");
    assert_eq!(sealed, format!("sealed-{}", creators[0]), "the creator's secret is the one kept");
}
on_both!(of_concurrent_first_saves_exactly_one_creates);

/// Rows written and read behind the store's back, with the same SQL on either backend.
enum Rows {
    /// The store's SQLite file.
    Sqlite(PathBuf),
    /// The store's PostgreSQL database URL.
    Postgres(String),
}

/// A message's delivery state: status, attempts, next attempt, last status, last error,
/// delivered at.
type State = (String, i64, Option<i64>, Option<i64>, Option<String>, Option<i64>);

impl Rows {
    fn sqlite(path: &Path) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(path).expect("open");
        conn.busy_timeout(Duration::from_secs(5)).expect("busy timeout");
        conn
    }

    /// Adds a message as an execution would (`next` `None`: not pending any more).
    async fn message(&self, id: &str, team: TeamId, status: &str, next: Option<i64>, created: i64) {
        let next = next.map_or_else(|| "NULL".to_owned(), |at| at.to_string());
        let sql = format!(
            "INSERT INTO callback_messages (id, team_id, target_id, execution_id, event, payload, status, attempts,
                next_attempt_at, created_at) VALUES ('{id}', '{team}', '{}', '{}', 'succeeded', '{{\"id\":\"{id}\"}}',
                '{status}', 0, {next}, {created})",
            Uuid::new_v4(),
            Uuid::new_v4()
        );
        match self {
            Self::Sqlite(path) => Self::sqlite(path).execute_batch(&sql).expect("insert"),
            Self::Postgres(url) => crate::support::execute(url, &sql).await,
        }
    }

    async fn state(&self, id: &str) -> State {
        let sql = format!(
            "SELECT status, attempts, next_attempt_at, last_status, last_error, delivered_at
             FROM callback_messages WHERE id = '{id}'"
        );
        match self {
            Self::Sqlite(path) => Self::sqlite(path)
                .query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
                .expect("state"),
            Self::Postgres(url) => {
                let r = crate::support::connect(url).await.query_one(&sql, &[]).await.expect("state");
                (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5))
            }
        }
    }
}

/// Runs a message case on both backends, with [`Rows`] on the store's own database.
macro_rules! with_rows {
    ($case:ident) => {
        mod $case {
            #[tokio::test]
            async fn sqlite() {
                let (store, dir) = crate::support::sqlite();
                super::$case(&store, &super::Rows::Sqlite(dir.path().join("wasmhook.db"))).await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some((store, db)) = crate::support::postgres().await else { return };
                super::$case(&store, &super::Rows::Postgres(db.url())).await;
                drop(store);
                db.drop_now().await;
            }
        }
    };
}

fn ids(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.id.as_str()).collect()
}

fn failure(status: Option<u16>, retry_at: Option<i64>) -> TryResult {
    TryResult { status, error: Some(format!("the receiver answered {status:?}")), retry_at }
}

const DELIVERED: TryResult = TryResult { status: Some(200), error: None, retry_at: None };

/// An arbitrary clock: `due` and `record_try` take the time they are given.
const T: i64 = 1_000_000;

async fn due_messages_come_in_due_order_and_tries_move_them_on<S: CallbackRepo>(store: &S, rows: &Rows) {
    let team = TeamId::new_v4();
    rows.message("msg_1", team, "pending", Some(T - 10), T - 100).await;
    rows.message("msg_2", team, "pending", Some(T - 30), T - 90).await;
    rows.message("msg_3", team, "pending", Some(T + 500), T - 80).await;
    rows.message("msg_4", team, "delivered", None, T - 70).await;
    rows.message("msg_5", team, "pending", Some(T), T - 60).await;

    let (due, next) = store.due(T, 2).await.expect("due");
    assert_eq!((ids(&due), next), (vec!["msg_2", "msg_1"], Some(T + 500)), "earliest due first, up to the limit");
    let m = &due[0];
    assert_eq!((m.team_id, m.event, m.payload.as_str()), (team, CallbackEvent::Succeeded, "{\"id\":\"msg_2\"}"));
    assert_eq!((m.status.as_str(), m.attempts, m.next_attempt_at, m.created_at), ("pending", 0, Some(T - 30), T - 90));
    assert_eq!((m.last_status, m.last_error.as_deref(), m.delivered_at), (None, None, None));

    store.record_try("msg_2", failure(Some(500), Some(T + 100)), T + 1).await.expect("retry later");
    store.record_try("msg_1", DELIVERED, T + 2).await.expect("delivered");
    let (due, next) = store.due(T, 10).await.expect("due");
    assert_eq!((ids(&due), next), (vec!["msg_5"], Some(T + 100)), "due at exactly now; the retry is next");
    store.record_try("msg_5", failure(None, None), T + 3).await.expect("given up");

    let (due, next) = store.due(T + 100, 10).await.expect("due");
    assert_eq!((ids(&due), next), (vec!["msg_2"], Some(T + 500)));
    let m = &due[0];
    assert_eq!((m.attempts, m.last_status, m.next_attempt_at), (1, Some(500), Some(T + 100)));
    assert_eq!(m.last_error.as_deref(), Some("the receiver answered Some(500)"));
    store.record_try("msg_2", DELIVERED, T + 101).await.expect("delivered");
    store.record_try("msg_1", failure(Some(503), Some(T + 9)), T + 102).await.expect("a late try is ignored");

    let delivered = |attempts, at| ("delivered".to_owned(), attempts, None, Some(200), None, Some(at));
    assert_eq!(rows.state("msg_1").await, delivered(1, T + 2), "a finished message stays finished");
    assert_eq!(rows.state("msg_2").await, delivered(2, T + 101));
    let failed = ("failed".to_owned(), 1, None, None, Some("the receiver answered None".to_owned()), None);
    assert_eq!(rows.state("msg_5").await, failed);
    let (due, next) = store.due(T + 1_000, 10).await.expect("due");
    assert_eq!((ids(&due), next), (vec!["msg_3"], None));
}
with_rows!(due_messages_come_in_due_order_and_tries_move_them_on);

/// PostgreSQL only (SQLite has one sender): `due` leases what it returns, so two nodes polling
/// at once split the due messages, and a message whose node died is due again later.
#[tokio::test]
async fn postgres_due_leases_what_it_returns() {
    let Some((store, db)) = crate::support::postgres().await else { return };
    let rows = Rows::Postgres(db.url());
    let team = TeamId::new_v4();
    let all: Vec<String> = (0..8).map(|i| format!("msg_{i}")).collect();
    for (i, id) in (0..).zip(&all) {
        rows.message(id, team, "pending", Some(T - 100 + i), T - 200).await;
    }
    let polls = join_all([store.due(T, 5), store.due(T, 5)]).await;
    let mut taken: Vec<String> = polls.into_iter().flat_map(|poll| poll.expect("due").0).map(|m| m.id).collect();
    let (rest, _) = store.due(T, 10).await.expect("the rest");
    taken.extend(rest.into_iter().map(|m| m.id));
    taken.sort();
    assert_eq!(taken, all, "every message once");

    let (again, next) = store.due(T, 10).await.expect("leased");
    assert!(again.is_empty(), "all leased");
    assert!(next.is_some_and(|at| at > T), "{next:?}");
    store.record_try("msg_0", failure(Some(500), Some(T + 50)), T + 1).await.expect("retry");
    let (due, _) = store.due(T + 50, 10).await.expect("retry due");
    assert_eq!(ids(&due), ["msg_0"], "a try replaces the lease");
    let (due, _) = store.due(T + 3_600_000, 10).await.expect("an hour on");
    assert_eq!(due.len(), 8, "a lease not followed by a try runs out");
    drop(store);
    db.drop_now().await;
}
