//! How SQLite keeps a large record (#20): the input, output and logs of a 1 KiB-class webhook
//! are zstd frames in the row, a fraction of their text, so rows share pages; small ones stay
//! text. (That they read back verbatim is the conformance suite's `large_records`.)

use std::sync::Arc;
use std::time::Duration;

use wasmhook_domain::ids::{BlockId, TeamId};
use wasmhook_domain::{LogLevel, LogLine, LogStream, Logs, Outcome};
use wasmhook_store::executions::{ExecutionSpec, ExecutionStatus, NewExecution, Trigger};
use wasmhook_store::repo::{ExecutionRepo, Finished, FollowUp};
use wasmhook_store::sealing::{MasterKey, Sealer};
use wasmhook_store::{Store, now_ms};

fn record(input: String, output: &str) -> Finished {
    let line = LogLine { stream: LogStream::Log, level: LogLevel::Info, message: "processing item".into() };
    let outcome = Outcome {
        result: Ok(output.to_owned()),
        logs: Logs { lines: vec![line; 40], dropped_bytes: 0 },
        fuel_consumed: 1,
        duration: Duration::from_micros(1),
        peak_memory_bytes: 1,
        outbound: Vec::new(),
    };
    let spec = ExecutionSpec::first_attempt(TeamId::new_v4(), BlockId::new_v4(), 1, Trigger::V2, true);
    Finished {
        record: NewExecution { spec, input, retry: None },
        status: ExecutionStatus::Succeeded,
        outcome,
        now: now_ms(),
        follow_up: FollowUp::Complete(None),
    }
}

#[tokio::test]
async fn large_text_is_stored_as_zstd_frames_and_small_text_as_text() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("wasmhook.sqlite3");
    let store = Store::open(&path, Arc::new(Sealer::new(MasterKey::from_bytes(&[7; 32]), None))).expect("open");
    let event: Vec<String> = (0..40).map(|i| format!(r#"{{"sku":"A-{i}","qty":{i}}}"#)).collect();
    let data = format!(r#"{{"event":"order.created","items":[{}]}}"#, event.join(","));
    let large = record(format!(r#"{{"data":{data},"env":{{}}}}"#), &data);
    let (large_id, text_len) = (large.record.spec.id, large.record.input.len());
    store.record(large).await.expect("record");
    let mut small = record(r#"{"data":{},"env":{}}"#.to_owned(), r#"{"ok":true}"#);
    small.outcome.logs.lines.clear();
    let small_id = small.record.spec.id;
    store.record(small).await.expect("record");
    drop(store);

    let conn = rusqlite::Connection::open(&path).expect("raw");
    let stored = |id: String| -> (String, String, String, i64) {
        conn.query_row(
            "SELECT typeof(input), typeof(output), typeof(logs), length(input) FROM executions WHERE id = ?1",
            [id],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .expect("row")
    };
    let (input, output, logs, input_len) = stored(large_id.to_string());
    assert_eq!((input.as_str(), output.as_str(), logs.as_str()), ("blob", "blob", "blob"));
    assert!(input_len * 4 < i64::try_from(text_len).expect("len"), "{text_len} bytes stored as {input_len}");
    let (input, output, logs, _) = stored(small_id.to_string());
    assert_eq!((input.as_str(), output.as_str(), logs.as_str()), ("text", "text", "text"));
}
