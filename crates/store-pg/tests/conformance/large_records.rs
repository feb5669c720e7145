//! Large inputs, outputs and logs read back exactly as written, whichever way a backend keeps
//! them (both pack text of 512 bytes and more as zstd frames: SQLite in a `BLOB`, PostgreSQL
//! in `bytea`): through the queue (accept → claim), a record with a retry after it, one
//! execution and a listing.

use wasmhook_domain::ids::BlockId;
use wasmhook_domain::{LogLevel, LogLine, LogStream};
use wasmhook_store::executions::packed::FRAME_MAGIC;
use wasmhook_store::executions::{ExecutionFilter, NewExecution};
use wasmhook_store::now_ms;
use wasmhook_store::repo::{ExecutionRepo, FollowUp, TenancyRepo};

use crate::executions::{acceptance, finished, pending, same};
use crate::on_both;
use crate::tenancy::team;

/// ≈ `items` × 60 bytes of JSON that compresses well, with a non-ASCII character and escapes.
fn big_json(label: &str, items: usize) -> String {
    let items: Vec<String> =
        (0..items).map(|i| format!(r#"{{"sku":"{label}-{i}","name":"Größe \"L\"","qty":{}}}"#, i % 7)).collect();
    format!(r#"{{"label":"{label}","items":[{}]}}"#, items.join(","))
}

async fn large_records_read_back_verbatim<S: TenancyRepo + ExecutionRepo>(store: &S) {
    let team_id = team(store).await;
    let input = format!(r#"{{"data":{},"env":{{"K":"v"}}}}"#, big_json("in", 200));
    let output = big_json("out", 300);
    let record = NewExecution { input: input.clone(), ..pending(team_id, BlockId::new_v4(), true) };
    let id = record.spec.id;
    store.accept(acceptance(team_id, vec![same(&record)])).await.expect("accept");
    let claimed = store.claim(id, now_ms()).await.expect("claim").expect("queued");
    assert_eq!(claimed.input.as_deref(), Some(input.as_str()), "the queue hands the input back verbatim");

    let mut done = finished(same(&record), Ok(output.as_str()));
    let line = LogLine { stream: LogStream::Log, level: LogLevel::Info, message: "line ".repeat(40) };
    done.outcome.logs.lines = vec![line; 50];
    let next = NewExecution { spec: record.spec.next_attempt(), ..same(&record) };
    let next_id = next.spec.id;
    done.follow_up = FollowUp::Retry { next, not_before: now_ms() + 60_000 };
    store.record(done).await.expect("record");

    let shown = store.get(team_id, id).await.expect("get");
    assert_eq!(shown.output.as_ref().map(|o| o.get()), Some(output.as_str()));
    assert_eq!(shown.input.as_ref().map(|i| i.get()), Some(input.as_str()));
    assert_eq!((shown.logs.len(), shown.logs[49].message.len()), (50, 200));
    let retry = store.get(team_id, next_id).await.expect("the retry");
    assert_eq!(retry.input.as_ref().map(|i| i.get()), Some(input.as_str()), "a retry keeps the same input");
    let listed = store.list(team_id, ExecutionFilter { limit: 10, ..Default::default() }).await.expect("list");
    let row = listed.iter().find(|e| e.id == id).expect("listed");
    assert_eq!(row.output.as_ref().map(|o| o.get()), Some(output.as_str()), "a listing shows the output");
    assert!(row.input.is_none() && row.logs.is_empty(), "a listing leaves input and logs out");
}
on_both!(large_records_read_back_verbatim);

/// PostgreSQL keeps those large columns as zstd frames, each a fraction of its text (TOAST
/// alone would keep a row under ≈ 2 KiB whole, and compress longer ones with pglz).
#[tokio::test]
async fn postgres_keeps_large_columns_as_zstd_frames() {
    let Some((store, db)) = crate::support::postgres().await else { return };
    large_records_read_back_verbatim(&store).await;
    let client = crate::support::connect(&db.url()).await;
    let rows = client
        .query(
            "SELECT substring(output for 4), octet_length(output), substring(logs for 4), octet_length(logs),
                substring(input for 4), octet_length(input)
             FROM executions WHERE output IS NOT NULL",
            &[],
        )
        .await
        .expect("the stored columns");
    assert_eq!(rows.len(), 1);
    // (column, where its head and length are, its text's length — for logs, the messages alone)
    let columns =
        [("output", 0, big_json("out", 300).len()), ("logs", 2, 50 * 200), ("input", 4, big_json("in", 200).len())];
    for (column, at, text_len) in columns {
        let (head, stored): (&[u8], i32) = (rows[0].get(at), rows[0].get(at + 1));
        assert_eq!(head, FRAME_MAGIC, "{column} is a zstd frame");
        let stored = usize::try_from(stored).expect("length");
        assert!(stored * 4 < text_len, "{column}: {stored} bytes stored for ≈ {text_len} of text");
    }
    drop((store, client));
    db.drop_now().await;
}
