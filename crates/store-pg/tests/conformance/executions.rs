//! The durable queue: acceptance with idempotency keys, claims, records with what follows
//! them, recovery, promotion of retries, listings and retention.

use std::time::Duration;

use futures::future::join_all;
use wasmhook_domain::ids::{BlockId, ExecutionId, TeamId};
use wasmhook_domain::{Failure, FailureKind, LogLevel, LogLine, LogStream, Logs, Outcome};
use wasmhook_store::deliveries::KeyClaim;
use wasmhook_store::executions::{ExecutionFilter, ExecutionSpec, ExecutionStatus, NewExecution, Trigger};
use wasmhook_store::repo::{Acceptance, ExecutionRepo, Finished, FollowUp, KeyClaimRequest, TenancyRepo};
use wasmhook_store::{StoreError, now_ms};

use crate::on_both;
use crate::tenancy::team;

/// A first attempt of a delivery to a (not stored) block, with an input.
pub fn pending(team_id: TeamId, block_id: BlockId, keep_input: bool) -> NewExecution {
    NewExecution {
        spec: ExecutionSpec::first_attempt(team_id, block_id, 3, Trigger::V2, keep_input),
        input: r#"{"data":{"n":1}}"#.to_owned(),
        retry: Some(r#"{"attempts":3}"#.to_owned()),
    }
}

/// The acceptance of `records` (async: queued), without a key.
pub fn acceptance(team_id: TeamId, records: Vec<NewExecution>) -> Acceptance {
    Acceptance { team_id, key: None, single_use: None, records, status: ExecutionStatus::Queued, now: now_ms() }
}

fn outcome(result: Result<&str, Failure>) -> Outcome {
    Outcome {
        result: result.map(str::to_owned),
        logs: Logs {
            lines: vec![LogLine { stream: LogStream::Log, level: LogLevel::Info, message: "hello".into() }],
            dropped_bytes: 7,
        },
        fuel_consumed: 1234,
        duration: Duration::from_micros(567),
        peak_memory_bytes: 65536,
        outbound: Vec::new(),
    }
}

/// The record of a run of `record` that ended with `result`, followed by nothing.
pub fn finished(record: NewExecution, result: Result<&str, Failure>) -> Finished {
    let outcome = outcome(result);
    Finished { record, status: outcome.status().into(), outcome, now: now_ms(), follow_up: FollowUp::Complete(None) }
}

/// Another copy of `new` (a record is consumed by the write).
pub fn same(new: &NewExecution) -> NewExecution {
    NewExecution { spec: new.spec.clone(), input: new.input.clone(), retry: new.retry.clone() }
}

async fn a_queued_run_is_claimed_once_and_recorded<S: TenancyRepo + ExecutionRepo>(store: &S) {
    let team_id = team(store).await;
    let (kept, dropped) = (pending(team_id, BlockId::new_v4(), true), pending(team_id, BlockId::new_v4(), false));
    let ids = [kept.spec.id, dropped.spec.id];
    let accepted = store.accept(acceptance(team_id, vec![same(&kept), same(&dropped)])).await.expect("accept");
    assert_eq!(accepted, KeyClaim::New);
    let queued = store.get(team_id, ids[0]).await.expect("get");
    assert_eq!((queued.status, queued.attempts, queued.started_at), (ExecutionStatus::Queued, 0, None));
    assert_eq!(queued.input.as_ref().map(|i| i.get()), Some(r#"{"data":{"n":1}}"#));

    let claimed = store.claim(ids[0], now_ms()).await.expect("claim").expect("queued");
    assert_eq!(claimed.spec, kept.spec, "the claim hands back the spec it was accepted with");
    assert_eq!(claimed.retry.as_deref(), Some(r#"{"attempts":3}"#));
    assert!(store.claim(ids[0], now_ms()).await.expect("claim").is_none(), "a second claim gets nothing");
    store.record(finished(kept, Ok(r#"{"ok":true}"#))).await.expect("record");
    let done = store.get(team_id, ids[0]).await.expect("get");
    assert_eq!((done.status, done.attempts), (ExecutionStatus::Succeeded, 1));
    assert_eq!(done.output.as_ref().map(|o| o.get()), Some(r#"{"ok":true}"#));
    assert_eq!((done.logs.len(), done.logs_dropped_bytes, done.fuel_consumed), (1, 7, 1234));
    assert_eq!((done.duration_us, done.peak_memory_bytes), (567, 65536));
    assert!(done.input.is_some() && done.finished_at.is_some());

    store.claim(ids[1], now_ms()).await.expect("claim").expect("queued");
    let failure = Failure { kind: FailureKind::GuestError, message: "bad\0input".into(), code: Some("E42".into()) };
    store.record(finished(dropped, Err(failure))).await.expect("record");
    let failed = store.get(team_id, ids[1]).await.expect("get");
    assert_eq!(failed.status, ExecutionStatus::Failed);
    assert!(failed.input.is_none(), "storePayload: false drops the input once run");
    let error = failed.error.expect("error");
    assert_eq!((error.kind, error.code.as_deref()), (FailureKind::GuestError, Some("E42")));
    assert!(error.message.starts_with("bad") && error.message.ends_with("input"), "{:?}", error.message);
    assert!(matches!(store.get(team(store).await, ids[0]).await, Err(StoreError::NotFound("execution"))));
}
on_both!(a_queued_run_is_claimed_once_and_recorded);

fn keyed(team_id: TeamId, target: BlockId, key: &str, body: u8) -> Acceptance {
    let mut record = pending(team_id, target, true);
    record.spec.idempotency_key = Some(key.to_owned());
    let mut acceptance = acceptance(team_id, vec![record]);
    acceptance.key = Some(KeyClaimRequest {
        key: key.to_owned(),
        request_hash: [body; 32],
        target: target.as_uuid(),
        window_start: now_ms() - 60_000,
    });
    acceptance
}

async fn an_idempotency_key_is_claimed_once<S: TenancyRepo + ExecutionRepo>(store: &S) {
    let team_id = team(store).await;
    let block = BlockId::new_v4();
    let first = keyed(team_id, block, "k1", 1);
    let first_id = first.records[0].spec.id;
    assert_eq!(store.accept(first).await.expect("first"), KeyClaim::New);
    let repeat = keyed(team_id, block, "k1", 1);
    let repeat_id = repeat.records[0].spec.id;
    assert_eq!(store.accept(repeat).await.expect("repeat"), KeyClaim::Existing(vec![first_id]));
    assert!(matches!(store.get(team_id, repeat_id).await, Err(StoreError::NotFound(_))), "a repeat stores nothing");
    let shown = store.get_with_delivery(team_id, first_id).await.expect("get");
    assert_eq!(shown.idempotency_key.as_deref(), Some("k1"), "an execution shows its delivery's key");
    let unkeyed = pending(team_id, block, true);
    let unkeyed_id = unkeyed.spec.id;
    store.accept(acceptance(team_id, vec![unkeyed])).await.expect("unkeyed");
    assert_eq!(store.get_with_delivery(team_id, unkeyed_id).await.expect("get").idempotency_key, None);
    assert_eq!(store.accept(keyed(team_id, block, "k1", 2)).await.expect("reuse"), KeyClaim::Reused);
    assert_eq!(store.accept(keyed(team_id, BlockId::new_v4(), "k1", 2)).await.expect("other target"), KeyClaim::New);

    let mut stale = keyed(team_id, block, "k1", 2);
    stale.key.as_mut().expect("key").window_start = now_ms() + 1;
    assert_eq!(store.accept(stale).await.expect("outside the window"), KeyClaim::New);

    // Concurrent first uses of one key (on one node or many): exactly one delivery owns it.
    let racers: Vec<Acceptance> = (0..20).map(|_| keyed(team_id, block, "raced", 9)).collect();
    let outcomes = join_all(racers.into_iter().map(|a| store.accept(a))).await;
    let new = outcomes.iter().filter(|o| matches!(o, Ok(KeyClaim::New))).count();
    let existing = outcomes.iter().filter(|o| matches!(o, Ok(KeyClaim::Existing(_)))).count();
    assert_eq!((new, existing), (1, 19), "{outcomes:?}");
    let listed = store.list(team_id, ExecutionFilter { limit: 100, ..Default::default() }).await.expect("list");
    assert_eq!(listed.len(), 5, "first + unkeyed + other target + outside the window + one racer");
}
on_both!(an_idempotency_key_is_claimed_once);

async fn a_retry_is_scheduled_promoted_and_summarised<S: TenancyRepo + ExecutionRepo>(store: &S) {
    let team_id = team(store).await;
    let first = pending(team_id, BlockId::new_v4(), true);
    let first_id = first.spec.id;
    store.accept(acceptance(team_id, vec![same(&first)])).await.expect("accept");
    store.claim(first_id, now_ms()).await.expect("claim");
    let next = NewExecution { spec: first.spec.next_attempt(), input: first.input.clone(), retry: first.retry.clone() };
    let next_id = next.spec.id;
    let not_before = now_ms() + 60_000;
    let mut record = finished(first, Err(Failure::new(FailureKind::Trap, "boom")));
    record.follow_up = FollowUp::Retry { next, not_before };
    store.record(record).await.expect("record");

    let scheduled = store.get(team_id, next_id).await.expect("scheduled");
    assert_eq!(
        (scheduled.status, scheduled.not_before, scheduled.attempt),
        (ExecutionStatus::Scheduled, Some(not_before), 2)
    );
    assert_eq!(scheduled.retry_of, Some(first_id));
    let (due, next_due) = store.promote_due(now_ms()).await.expect("not yet");
    assert!(due.is_empty());
    assert_eq!(next_due, Some(not_before));
    let (due, next_due) = store.promote_due(not_before).await.expect("due");
    assert_eq!((due, next_due), (vec![(team_id, next_id)], None));
    assert_eq!(store.get(team_id, next_id).await.expect("get").status, ExecutionStatus::Queued);

    assert_eq!(store.latest_attempt(team_id, first_id).await.expect("latest").id, next_id);
    let whole = store.get_with_delivery(team_id, next_id).await.expect("with delivery");
    let delivery = whole.delivery.expect("two attempts");
    assert_eq!((delivery.id, delivery.status), (first_id, ExecutionStatus::Queued));
    assert_eq!(delivery.attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(), [1, 2]);
    let by_ids = store.by_ids(team_id, vec![first_id, ExecutionId::new_v4()]).await.expect("by ids");
    assert_eq!(by_ids.iter().map(|e| e.id).collect::<Vec<_>>(), [next_id], "latest attempt; missing skipped");
}
on_both!(a_retry_is_scheduled_promoted_and_summarised);

/// What a restart (SQLite) or another node (PostgreSQL, once the dead node's leases expire)
/// finds: `restarted` recovers what `store` left queued or running.
async fn recovery_case<S: TenancyRepo + ExecutionRepo>(store: &S, restarted: &S, lease_expiry: Duration) {
    let team_id = team(store).await;
    let (a, b) = (pending(team_id, BlockId::new_v4(), true), pending(team_id, BlockId::new_v4(), true));
    let (a_id, b_id) = (a.spec.id, b.spec.id);
    store.accept(acceptance(team_id, vec![a, same(&b)])).await.expect("accept");
    store.claim(a_id, now_ms()).await.expect("claim").expect("queued");
    tokio::time::sleep(lease_expiry).await;
    assert_eq!(restarted.recover().await.expect("recover"), [(team_id, a_id), (team_id, b_id)], "oldest first");
    let requeued = restarted.get(team_id, a_id).await.expect("get");
    assert_eq!((requeued.status, requeued.attempts), (ExecutionStatus::Queued, 1));
    let claimed = restarted.claim(a_id, now_ms()).await.expect("claim").expect("queued again");
    assert_eq!(claimed.spec.id, a_id);
    let store = restarted;
    store.fail_unstarted(a_id, "its block is gone", now_ms()).await.expect("fail");
    let failed = store.get(team_id, a_id).await.expect("get");
    assert_eq!((failed.status, failed.attempts), (ExecutionStatus::Failed, 2));
    assert_eq!(failed.error.expect("error").kind, FailureKind::Internal);

    // The sync path: running at acceptance, recorded without waiting, visible after a flush.
    let sync = pending(team_id, BlockId::new_v4(), true);
    let sync_id = sync.spec.id;
    let mut running = acceptance(team_id, vec![same(&sync)]);
    running.status = ExecutionStatus::Running;
    store.accept(running).await.expect("accept");
    assert!(store.get(team_id, sync_id).await.expect("get").started_at.is_some());
    store.record_detached(finished(sync, Ok("1"))).await;
    store.flush().await.expect("flush");
    assert_eq!(store.get(team_id, sync_id).await.expect("get").status, ExecutionStatus::Succeeded);
    store.record(finished(b, Ok("2"))).await.expect("a record without a pending row inserts it");
}
mod recovery_requeues_what_was_left_and_sync_records_flush {
    use std::time::Duration;

    use crate::support::{self, TestDb, sealer};
    use wasmhook_store_pg::PgStore;

    #[tokio::test]
    async fn sqlite() {
        let (store, _dir) = support::sqlite();
        super::recovery_case(&store, &store, Duration::ZERO).await;
    }

    #[tokio::test]
    async fn postgres() {
        let Some(db) = TestDb::create().await else { return };
        let lease = Duration::from_millis(300);
        let url = db.url();
        let dead = PgStore::connect(&url, 4, sealer()).await.expect("connect").with_lease(lease);
        let alive = PgStore::connect(&url, 4, sealer()).await.expect("connect").with_lease(lease);
        super::recovery_case(&dead, &alive, lease + Duration::from_millis(200)).await;
        drop((dead, alive));
        db.drop_now().await;
    }
}

async fn listings_filter_and_retention_purges_finished_runs<S: TenancyRepo + ExecutionRepo>(store: &S) {
    let (team_id, other) = (team(store).await, team(store).await);
    let block = BlockId::new_v4();
    let mut ids = Vec::new();
    for n in 0..3 {
        let record = pending(team_id, if n == 1 { BlockId::new_v4() } else { block }, true);
        ids.push(record.spec.id);
        store.record(finished(record, Ok("null"))).await.expect("record");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    store.accept(acceptance(other, vec![pending(other, block, true)])).await.expect("other team");
    let queued = pending(team_id, block, true);
    let queued_id = queued.spec.id;
    store.accept(acceptance(team_id, vec![queued])).await.expect("queued");

    let all = store.list(team_id, ExecutionFilter { limit: 10, ..Default::default() }).await.expect("list");
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), [queued_id, ids[2], ids[1], ids[0]], "newest first");
    assert!(all.iter().all(|e| e.logs.is_empty() && e.input.is_none()), "listings leave logs and input out");
    let of_block = ExecutionFilter {
        block_id: Some(block),
        status: Some(ExecutionStatus::Succeeded),
        limit: 1,
        ..Default::default()
    };
    assert_eq!(store.list(team_id, of_block).await.expect("list").iter().map(|e| e.id).collect::<Vec<_>>(), [ids[2]]);
    let since = all[2].created_at;
    let window =
        ExecutionFilter { since: Some(since), until: Some(all[0].created_at), limit: 10, ..Default::default() };
    let windowed: Vec<ExecutionId> = store.list(team_id, window).await.expect("list").iter().map(|e| e.id).collect();
    assert!(windowed.contains(&ids[1]) && !windowed.contains(&ids[0]), "{windowed:?}");

    let (executions, _) = store.purge(now_ms() + 1, 0, now_ms()).await.expect("purge");
    assert_eq!(executions, 3, "finished runs go, queued ones stay");
    assert_eq!(store.get(team_id, queued_id).await.expect("kept").status, ExecutionStatus::Queued);
}
on_both!(listings_filter_and_retention_purges_finished_runs);

async fn pages_of_runs_from_one_millisecond_lose_none<S: TenancyRepo + ExecutionRepo>(store: &S) {
    let team_id = team(store).await;
    let now = now_ms();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let mut record = pending(team_id, BlockId::new_v4(), true);
        record.spec.created_at = now;
        ids.push(record.spec.id);
        store.accept(acceptance(team_id, vec![record])).await.expect("accept");
    }
    ids.sort();
    ids.reverse();
    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let page = store.list(team_id, ExecutionFilter { before, limit: 2, ..Default::default() }).await.expect("page");
        let Some(last) = page.last() else { break };
        before = Some((last.created_at, last.id));
        paged.extend(page.iter().map(|e| e.id));
    }
    assert_eq!(paged, ids, "every run once, newest first, though all share a millisecond");
}
on_both!(pages_of_runs_from_one_millisecond_lose_none);

async fn a_retry_shows_its_deliverys_idempotency_key<S: TenancyRepo + ExecutionRepo>(store: &S) {
    let team_id = team(store).await;
    let accepted = keyed(team_id, BlockId::new_v4(), "order-7", 1);
    let first = same(&accepted.records[0]);
    store.accept(accepted).await.expect("accept");
    store.claim(first.spec.id, now_ms()).await.expect("claim");
    let mut next = same(&first);
    next.spec = first.spec.next_attempt();
    let next_id = next.spec.id;
    let mut record = finished(first, Err(Failure::new(FailureKind::Trap, "boom")));
    record.follow_up = FollowUp::Retry { next, not_before: now_ms() + 60_000 };
    store.record(record).await.expect("record");
    let retry = store.get_with_delivery(team_id, next_id).await.expect("retry");
    assert_eq!(retry.idempotency_key.as_deref(), Some("order-7"));
}
on_both!(a_retry_shows_its_deliverys_idempotency_key);
