//! Runs over time (`stats`): counts per slot and status, duration percentiles of the finished
//! ones, filters, and nothing of another team.

use std::time::Duration;

use wasmhook_domain::ids::BlockId;
use wasmhook_domain::{Failure, FailureKind};
use wasmhook_store::executions::ExecutionFilter;
use wasmhook_store::executions::ExecutionStatus::{Failed, Queued, Succeeded};
use wasmhook_store::executions::stats::StatsWindow;
use wasmhook_store::now_ms;
use wasmhook_store::repo::{ExecutionRepo, TenancyRepo};

use crate::executions::{acceptance, finished, pending};
use crate::on_both;
use crate::tenancy::team;

async fn runs_are_counted_per_slot_with_their_duration_percentiles<S: TenancyRepo + ExecutionRepo>(store: &S) {
    let (team_id, other) = (team(store).await, team(store).await);
    let (block, another) = (BlockId::new_v4(), BlockId::new_v4());
    let runs = [(block, 100, true), (block, 1_000, true), (another, 10_000, true), (block, 500, false)];
    for (block_id, micros, ok) in runs {
        let failure = Failure { kind: FailureKind::GuestError, message: "no".into(), code: None };
        let mut record = finished(pending(team_id, block_id, true), if ok { Ok("null") } else { Err(failure) });
        record.outcome.duration = Duration::from_micros(micros);
        store.record(record).await.expect("record");
    }
    store.accept(acceptance(team_id, vec![pending(team_id, block, true)])).await.expect("queued");
    store.record(finished(pending(other, block, true), Ok("null"))).await.expect("other team");

    let now = now_ms();
    let window = StatsWindow::new(now - 60_000, now + 60_000, 60_000).expect("window");
    let stats = store.stats(team_id, ExecutionFilter::default(), window).await.expect("stats");
    assert_eq!(stats.totals.into_iter().collect::<Vec<_>>(), [(Queued, 1), (Succeeded, 3), (Failed, 1)]);
    assert_eq!(stats.series.len(), 2);
    assert_eq!(stats.series.iter().map(|s| s.counts.values().sum::<u64>()).sum::<u64>(), 5);
    let (p50, p99) = (stats.p50_us.expect("p50"), stats.p99_us.expect("p99"));
    assert!((100..=1_000).contains(&p50), "p50 {p50} of 100, 500, 1000, 10000 µs");
    assert!((5_000..=12_000).contains(&p99), "p99 {p99}");

    let of_block = ExecutionFilter { block_id: Some(block), ..Default::default() };
    let stats = store.stats(team_id, of_block, window).await.expect("stats");
    assert_eq!(stats.totals.values().sum::<u64>(), 4);
    assert!(stats.p99_us.expect("p99") <= 1_200, "the 10 ms run is another block's");
    let stats = store.stats(other, ExecutionFilter::default(), window).await.expect("stats");
    assert_eq!(stats.totals.into_iter().collect::<Vec<_>>(), [(Succeeded, 1)]);
    let before = StatsWindow::new(now - 7_200_000, now - 3_600_000, 60_000).expect("window");
    let stats = store.stats(team_id, ExecutionFilter::default(), before).await.expect("stats");
    assert!(stats.totals.is_empty() && stats.p50_us.is_none() && stats.series.len() == 60);
}
on_both!(runs_are_counted_per_slot_with_their_duration_percentiles);
