//! PostgreSQL only: several nodes on one database, at the store level: each node is a `PgStore` of
//! its own (its own pool and node id), as each wasmhook process is. What a node promises the
//! others: a live node keeps its runs, a dead node's runs are taken over once its leases
//! expire and its late records are refused, a run that keeps killing nodes is failed, and keys
//! and armed single calls are used exactly once whichever node takes the call.

use std::time::Duration;

use crate::executions::{acceptance, finished, pending, same};
use crate::support::{TestDb, sealer};
use crate::tenancy::{new_user, team};
use futures::future::join_all;
use wasmhook_domain::ids::BlockId;
use wasmhook_store::blocks::{NewBlock, new_block};
use wasmhook_store::cache::Invalidation;
use wasmhook_store::deliveries::KeyClaim;
use wasmhook_store::executions::ExecutionStatus;
use wasmhook_store::repo::{Acceptance, Database, ExecutionRepo, KeyClaimRequest};
use wasmhook_store::webhooks::{AuthMode, NewWebhook, Target, TargetKind, WebhookSettings, WebhookState};
use wasmhook_store::{KeyScope, StoreError, now_ms};
use wasmhook_store_pg::PgStore;

const LEASE: Duration = Duration::from_millis(300);

/// `n` nodes on one fresh database, with short leases.
async fn nodes(n: usize) -> Option<(Vec<PgStore>, TestDb)> {
    let db = TestDb::create().await?;
    let mut nodes = Vec::new();
    for _ in 0..n {
        nodes.push(PgStore::connect(&db.url(), 8, sealer()).await.expect("connect").with_lease(LEASE));
    }
    Some((nodes, db))
}

/// Mimics a node's lease loop for `time`: renews every third of the lease.
async fn stay_alive(node: &PgStore, time: Duration) {
    let until = tokio::time::Instant::now() + time;
    while tokio::time::Instant::now() < until {
        node.renew_leases().await.expect("renew");
        tokio::time::sleep(LEASE / 3).await;
    }
}

#[tokio::test]
async fn a_live_node_keeps_its_runs_and_a_dead_nodes_are_taken_over_once() {
    let Some((nodes, db)) = nodes(3).await else { return };
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let team_id = team(a).await;
    let (running, queued) = (pending(team_id, BlockId::new_v4(), true), pending(team_id, BlockId::new_v4(), true));
    let (running_id, queued_id) = (running.spec.id, queued.spec.id);
    let running_copy = same(&running);
    a.accept(acceptance(team_id, vec![running, queued])).await.expect("accept");
    a.claim(running_id, now_ms()).await.expect("claim").expect("queued");

    stay_alive(a, LEASE * 3).await;
    assert!(b.take_over(100).await.expect("sweep").is_empty(), "a live node's runs stay its own");

    // `a` dies: nobody renews. Once its leases expire, one sweep takes both; the other none.
    tokio::time::sleep(LEASE + Duration::from_millis(100)).await;
    let (by_b, by_c) = tokio::join!(b.take_over(100), c.take_over(100));
    let (mut by_b, by_c) = (by_b.expect("b sweeps"), by_c.expect("c sweeps"));
    by_b.extend(by_c);
    by_b.sort_by_key(|(_, id)| *id);
    assert_eq!(by_b, [(team_id, running_id), (team_id, queued_id)], "taken over once, oldest first");
    let requeued = b.executions().get(team_id, running_id).await.expect("get");
    assert_eq!((requeued.status, requeued.attempts), (ExecutionStatus::Queued, 1), "same id, queued again");

    // `a` was only stalled and comes back with its result: refused, the row is no longer its.
    let late = a.record(finished(running_copy, Ok("\"late\""))).await;
    assert!(matches!(late, Err(StoreError::LeaseLost)), "{late:?}");
    assert_eq!(b.executions().get(team_id, running_id).await.expect("get").status, ExecutionStatus::Queued);
    drop(nodes);
    db.drop_now().await;
}

#[tokio::test]
async fn a_run_that_keeps_killing_its_node_is_failed_not_retried_forever() {
    let Some((nodes, db)) = nodes(1).await else { return };
    let node = &nodes[0];
    let team_id = team(node).await;
    let record = pending(team_id, BlockId::new_v4(), false);
    let id = record.spec.id;
    node.accept(acceptance(team_id, vec![record])).await.expect("accept");
    for claim in 1..=3 {
        node.claim(id, now_ms()).await.expect("claim").expect("queued");
        tokio::time::sleep(LEASE + Duration::from_millis(100)).await;
        let adopted = node.take_over(10).await.expect("sweep");
        assert_eq!(adopted.len(), usize::from(claim < 3), "claim {claim}: {adopted:?}");
    }
    let failed = node.executions().get(team_id, id).await.expect("get");
    assert_eq!((failed.status, failed.attempts), (ExecutionStatus::Failed, 3));
    let error = failed.error.expect("why");
    assert!(error.message.contains("stopped 3 times"), "{}", error.message);
    assert!(failed.input.is_none(), "storePayload: false drops the input of a failed run too");
    drop(nodes);
    db.drop_now().await;
}

#[tokio::test]
async fn keys_and_armed_single_calls_are_used_once_across_nodes() {
    let Some((nodes, db)) = nodes(3).await else { return };
    let team_id = team(&nodes[0]).await;
    let new: NewBlock = serde_json::from_value(serde_json::json!({ "name": "echo" })).expect("block");
    let block = nodes[0].blocks().create(new_block(team_id, new)).await.expect("block");
    let webhook = nodes[1]
        .webhooks()
        .create(NewWebhook {
            team_id,
            name: "armed".into(),
            target: Target { kind: TargetKind::Block, id: block.id.as_uuid() },
            auth_mode: AuthMode::None,
            secret: None,
            settings: WebhookSettings::default(),
            signature: None,
            allow_multiple: false,
        })
        .await
        .expect("webhook");
    nodes[2]
        .webhooks()
        .set_state(team_id, webhook.id, WebhookState::Armed, Some(now_ms() + 60_000))
        .await
        .expect("arm");

    // 30 calls of the armed webhook spread over the three nodes: one takes the single call.
    let calls = (0..30).map(|n| {
        let mut call = acceptance(team_id, vec![pending(team_id, block.id, true)]);
        call.single_use = Some(webhook.id);
        nodes[n % 3].accept(call)
    });
    let outcomes = join_all(calls).await;
    let taken = outcomes.iter().filter(|o| matches!(o, Ok(KeyClaim::New))).count();
    let refused = outcomes.iter().filter(|o| matches!(o, Err(StoreError::NotArmed))).count();
    assert_eq!((taken, refused), (1, 29), "{outcomes:?}");

    // 100 deliveries with one idempotency key spread over the three nodes: exactly one runs.
    let keyed = (0..100).map(|n| {
        let mut call: Acceptance = acceptance(team_id, vec![pending(team_id, block.id, true)]);
        call.key = Some(KeyClaimRequest {
            key: "order-42".into(),
            request_hash: [4; 32],
            target: block.id.as_uuid(),
            window_start: now_ms() - 60_000,
        });
        nodes[n % 3].accept(call)
    });
    let outcomes = join_all(keyed).await;
    let owners: Vec<_> = outcomes.iter().filter(|o| matches!(o, Ok(KeyClaim::New))).collect();
    assert_eq!(owners.len(), 1, "{outcomes:?}");
    let ids: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            Ok(KeyClaim::Existing(ids)) => Some(ids.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 99, "every other call is told the owner's executions");
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "the same ones");
    drop(nodes);
    db.drop_now().await;
}

#[tokio::test]
async fn a_node_hears_what_another_changes_and_is_told_when_its_feed_breaks() {
    let Some((nodes, db)) = nodes(2).await else { return };
    let (a, b) = (&nodes[0], &nodes[1]);
    let (heard, mut hearing) = tokio::sync::mpsc::unbounded_channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let listener = a.clone();
    let follow = tokio::spawn(async move {
        listener
            .follow_invalidations(
                move |what| {
                    let _ = heard.send(what);
                },
                async { drop(stopped.await) },
            )
            .await;
    });
    let next = async |hearing: &mut tokio::sync::mpsc::UnboundedReceiver<Invalidation>| {
        tokio::time::timeout(Duration::from_secs(5), hearing.recv()).await.expect("heard in time").expect("open")
    };
    assert_eq!(next(&mut hearing).await, Invalidation::All, "listening starts from a clean slate");

    let (team, user, key) = b.tenancy().create_team("acme", new_user("ada", 1, KeyScope::Admin)).await.expect("team");
    b.tenancy().revoke_key(team.id, key.id).await.expect("revoke");
    assert_eq!(next(&mut hearing).await, Invalidation::KeysOf(user.id), "a revocation on b reaches a");

    // A refused write announces nothing: the next thing heard is the next real change.
    let refused = b.tenancy().revoke_key(team.id, wasmhook_domain::ids::KeyId::new_v4()).await;
    assert!(refused.is_err());
    let new: NewBlock = serde_json::from_value(serde_json::json!({ "name": "echo" })).expect("block");
    let block = b.blocks().create(new_block(team.id, new)).await.expect("block");
    let patch = serde_json::from_value(serde_json::json!({ "name": "renamed" })).expect("patch");
    b.blocks().update(team.id, block.id, patch, Box::new(|_| Ok(()))).await.expect("update");
    assert_eq!(next(&mut hearing).await, Invalidation::Block(block.id));

    // The feed's connection is cut: everything cached is dropped, then listening resumes.
    let admin = crate::support::connect(&db.url()).await;
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&wasmhook_store_pg::LISTENER_NAME],
        )
        .await
        .expect("terminate");
    assert_eq!(next(&mut hearing).await, Invalidation::All, "a lost feed drops everything");
    assert_eq!(next(&mut hearing).await, Invalidation::All, "and again once listening resumes");
    let patch = serde_json::from_value(serde_json::json!({ "name": "again" })).expect("patch");
    b.blocks().update(team.id, block.id, patch, Box::new(|_| Ok(()))).await.expect("update");
    assert_eq!(next(&mut hearing).await, Invalidation::Block(block.id), "heard again after reconnecting");
    drop(stop);
    follow.await.expect("the feed stops when asked");
    drop((admin, nodes));
    db.drop_now().await;
}
