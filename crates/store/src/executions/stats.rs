//! Runs over time for the dashboard's overview and counts: executions per time slot and status,
//! with p50/p99 duration, computed by the database as one `GROUP BY` over the team's
//! `(team_id, created_at)` index, the same SQL on SQLite and PostgreSQL.
//!
//! Percentiles come from a histogram, not from sorting every duration: each row falls in one
//! of [`BUCKETS`] log-spaced duration buckets (10 µs · 2^(k/4), so neighbours differ by 19 %),
//! the database counts rows per (slot, status, bucket), and the percentile is interpolated
//! inside its bucket: within 19 % of the exact value, with bounded work and memory whatever
//! the number of rows.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Serialize;

use super::ExecutionStatus;

/// Duration buckets: bucket `k < BUCKETS - 1` holds durations in `(bound(k-1), bound(k)]` µs,
/// the last everything above (over 11 minutes: longer than any run may last).
pub const BUCKETS: usize = 106;

/// Most slots one query may ask for (a day of minutes).
pub const MAX_SLOTS: i64 = 1_440;

/// The upper bounds of the buckets, µs: 10 µs · 2^(k/4), rounded.
static BOUNDS_US: LazyLock<Vec<i64>> =
    LazyLock::new(|| (0..BUCKETS - 1).map(|k| (10.0 * 2f64.powf(k as f64 / 4.0)).round() as i64).collect());

/// The SQL expression (over `duration_us`) giving a row's bucket: a balanced tree of `CASE`s,
/// so a row takes 7 comparisons, not 105.
pub static BUCKET_SQL: LazyLock<String> = LazyLock::new(|| bucket_tree(0, BUCKETS - 1));

fn bucket_tree(low: usize, high: usize) -> String {
    if low == high {
        return low.to_string();
    }
    let middle = (low + high) / 2;
    format!(
        "CASE WHEN e.duration_us <= {} THEN {} ELSE {} END",
        BOUNDS_US[middle],
        bucket_tree(low, middle),
        bucket_tree(middle + 1, high)
    )
}

/// The statement both backends run, with `?`-style placeholders renamed by `placeholder` and
/// the filter's clauses (each ` AND …`) in `clauses`: parameters are (team, since, until,
/// slot length, clauses' parameters…).
pub fn sql(placeholder: impl Fn(usize) -> String, clauses: &str) -> String {
    format!(
        "SELECT (e.created_at - {since}) / {slot} AS slot, e.status, CAST({bucket} AS BIGINT) AS bucket, COUNT(*) AS runs
         FROM executions e WHERE e.team_id = {team} AND e.created_at >= {since} AND e.created_at < {until}{clauses}
         GROUP BY 1, 2, 3",
        team = placeholder(1),
        since = placeholder(2),
        until = placeholder(3),
        slot = placeholder(4),
        bucket = BUCKET_SQL.as_str(),
    )
}

/// One row of the statement: how many runs of one status and duration bucket in one slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsRow {
    /// The slot's index from `since`.
    pub slot: i64,
    /// The stored status.
    pub status: String,
    /// The duration bucket.
    pub bucket: i64,
    /// How many.
    pub runs: i64,
}

/// What a stats query asks: the window (`[since, until)`, ms) and the slot length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsWindow {
    /// Start, inclusive, ms since the epoch.
    pub since: i64,
    /// End, exclusive.
    pub until: i64,
    /// Slot length, ms.
    pub slot_ms: i64,
}

impl StatsWindow {
    /// A window of at most [`MAX_SLOTS`] slots, or why not.
    pub fn new(since: i64, until: i64, slot_ms: i64) -> Result<Self, String> {
        if slot_ms < 1_000 {
            return Err(format!("bucket must be at least 1000 ms, got {slot_ms}"));
        }
        if until <= since {
            return Err("until must be after since".to_owned());
        }
        let slots =
            until.checked_sub(since).and_then(|span| span.checked_add(slot_ms - 1)).map_or(i64::MAX, |s| s / slot_ms);
        if slots > MAX_SLOTS {
            return Err(format!(
                "the window holds {slots} buckets; at most {MAX_SLOTS} (widen bucket or narrow the window)"
            ));
        }
        Ok(Self { since, until, slot_ms })
    }

    fn slots(self) -> usize {
        let span = self.until.saturating_sub(self.since).max(0);
        let slots = span.div_euclid(self.slot_ms.max(1)) + i64::from(span.rem_euclid(self.slot_ms.max(1)) > 0);
        usize::try_from(slots.min(MAX_SLOTS)).unwrap_or(0)
    }
}

/// Runs per slot and status, with duration percentiles (`GET /v1/executions/stats`).
#[derive(utoipa::ToSchema, Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionStats {
    /// Start of the window, ms.
    pub since: i64,
    /// End of the window (exclusive), ms.
    pub until: i64,
    /// Length of each slot, ms.
    pub bucket_ms: i64,
    /// Runs in the window by status.
    pub totals: BTreeMap<ExecutionStatus, u64>,
    /// Median duration of the finished runs, µs (none finished: absent).
    pub p50_us: Option<u64>,
    /// 99th percentile duration of the finished runs, µs.
    pub p99_us: Option<u64>,
    /// Every slot of the window, oldest first, empty ones included.
    pub series: Vec<StatsSlot>,
}

/// One slot of [`ExecutionStats`].
#[derive(utoipa::ToSchema, Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StatsSlot {
    /// Start of the slot, ms.
    pub start: i64,
    /// Runs created in the slot by status.
    pub counts: BTreeMap<ExecutionStatus, u64>,
    /// Median duration of its finished runs, µs.
    pub p50_us: Option<u64>,
    /// 99th percentile duration of its finished runs, µs.
    pub p99_us: Option<u64>,
}

/// A duration histogram.
type Histogram = [u64; BUCKETS];

/// Builds the answer from the statement's rows (rows of unknown statuses or out-of-range slots
/// are ignored: the statement cannot produce them).
pub fn assemble(window: StatsWindow, rows: Vec<StatsRow>) -> ExecutionStats {
    let mut slots: Vec<(BTreeMap<ExecutionStatus, u64>, Histogram)> =
        (0..window.slots()).map(|_| (BTreeMap::new(), [0; BUCKETS])).collect();
    let mut totals = BTreeMap::new();
    let mut overall: Histogram = [0; BUCKETS];
    for row in rows {
        let (Ok(status), Ok(slot), Ok(bucket), Ok(runs)) = (
            row.status.parse::<ExecutionStatus>(),
            usize::try_from(row.slot),
            usize::try_from(row.bucket),
            u64::try_from(row.runs),
        ) else {
            continue;
        };
        let (Some((counts, histogram)), true) = (slots.get_mut(slot), bucket < BUCKETS) else {
            continue;
        };
        *counts.entry(status).or_default() += runs;
        *totals.entry(status).or_default() += runs;
        if status.is_terminal() {
            histogram[bucket] += runs;
            overall[bucket] += runs;
        }
    }
    let series = slots
        .into_iter()
        .enumerate()
        .map(|(index, (counts, histogram))| StatsSlot {
            start: window.since + index as i64 * window.slot_ms,
            counts,
            p50_us: percentile(&histogram, 0.50),
            p99_us: percentile(&histogram, 0.99),
        })
        .collect();
    ExecutionStats {
        since: window.since,
        until: window.until,
        bucket_ms: window.slot_ms,
        totals,
        p50_us: percentile(&overall, 0.50),
        p99_us: percentile(&overall, 0.99),
        series,
    }
}

/// The `q` quantile of a histogram, interpolated linearly inside its bucket.
fn percentile(histogram: &Histogram, q: f64) -> Option<u64> {
    let total: u64 = histogram.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let mut below = 0u64;
    for (bucket, &count) in histogram.iter().enumerate() {
        if count > 0 && (below + count) as f64 >= rank {
            let low = if bucket == 0 { 0 } else { BOUNDS_US[bucket - 1] };
            let high = BOUNDS_US.get(bucket).copied().unwrap_or(low);
            let within = ((rank - below as f64) / count as f64).clamp(0.0, 1.0);
            return Some((low as f64 + within * (high - low) as f64).round() as u64);
        }
        below += count;
    }
    None
}

/// The bucket of a duration, as the SQL computes it (for tests).
pub fn bucket_of(duration_us: i64) -> usize {
    BOUNDS_US.iter().position(|&bound| duration_us <= bound).unwrap_or(BUCKETS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_of(durations: &[(i64, i64)], status: &str) -> Vec<StatsRow> {
        durations
            .iter()
            .map(|&(slot, us)| StatsRow { slot, status: status.to_owned(), bucket: bucket_of(us) as i64, runs: 1 })
            .collect()
    }

    #[test]
    fn percentiles_are_within_a_bucket_of_the_exact_ones() {
        let window = StatsWindow::new(0, 60_000, 60_000).expect("window");
        let durations: Vec<(i64, i64)> = (1..=1000).map(|i| (0, i * 100)).collect();
        let stats = assemble(window, rows_of(&durations, "succeeded"));
        let p50 = stats.p50_us.expect("p50") as f64;
        let p99 = stats.p99_us.expect("p99") as f64;
        assert!((p50 / 50_000.0 - 1.0).abs() < 0.19, "p50 {p50}");
        assert!((p99 / 99_000.0 - 1.0).abs() < 0.19, "p99 {p99}");
        assert_eq!(stats.totals.get(&ExecutionStatus::Succeeded), Some(&1000));
    }

    #[test]
    fn every_slot_is_listed_and_unfinished_runs_have_no_duration() {
        let window = StatsWindow::new(1_000, 181_000, 60_000).expect("window");
        let mut rows = rows_of(&[(0, 500), (2, 900)], "failed");
        rows.extend(rows_of(&[(1, 0)], "queued"));
        let stats = assemble(window, rows);
        assert_eq!(stats.series.iter().map(|s| s.start).collect::<Vec<_>>(), [1_000, 61_000, 121_000]);
        assert_eq!(stats.series[1].counts.get(&ExecutionStatus::Queued), Some(&1));
        assert_eq!(stats.series[1].p50_us, None);
        assert!(stats.series[2].p50_us.is_some());
    }

    #[test]
    fn the_sql_tree_and_the_bounds_agree() {
        assert_eq!(BOUNDS_US.len(), BUCKETS - 1);
        assert!(BOUNDS_US.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(bucket_of(10), 0);
        assert_eq!(bucket_of(11), 1);
        assert_eq!(bucket_of(i64::MAX), BUCKETS - 1);
        assert!(BUCKET_SQL.matches("CASE").count() == BUCKETS - 1);
    }

    #[test]
    fn windows_too_wide_or_backwards_are_refused() {
        assert!(StatsWindow::new(0, 86_400_000, 60_000).is_ok());
        assert!(StatsWindow::new(0, 86_400_001, 60_000).is_err());
        assert!(StatsWindow::new(10, 10, 60_000).is_err());
        assert!(StatsWindow::new(0, 10_000, 10).is_err());
        assert!(StatsWindow::new(i64::MIN, i64::MAX, 60_000).is_err());
    }
}
