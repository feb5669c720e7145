//! The example blocks behave like real blocks: data in, JSON out, env, logs, commands.

mod support;

use serde_json::json;
use support::sandbox::*;
use wasmhook_sandbox::{FailureKind, LogLevel, LogStream, RunStatus};

#[tokio::test]
async fn echo_returns_its_data_and_the_chosen_env() {
    let data = json!({"order": {"id": "ord_1", "items": [1, 2, 3]}, "note": "héllo"});
    let input = with_env(
        input(data.clone()),
        &[("ECHO_ENV", "GREETING,MISSING"), ("GREETING", "hi"), ("EXECUTION_ID", "exec-1")],
    );
    let outcome = run("echo", input).await;
    assert_eq!(outcome.status(), RunStatus::Succeeded);
    let out = output_json(&outcome);
    assert_eq!(out["data"], data);
    assert_eq!(out["env"], json!({"GREETING": "hi", "MISSING": null}));
    assert_eq!(out["executionId"], "exec-1");
    assert!(outcome.fuel_consumed > 0, "fuel is metered");
    assert!(outcome.peak_memory_bytes > 0, "memory peak is tracked");
}

#[tokio::test]
async fn payment_event_decides_and_reports_bad_data_as_a_guest_error() {
    let event = |kind: &str, amount: u64, currency: &str| json!({"id": "evt_123", "type": kind, "data": {"object": {"amount": amount, "currency": currency, "customer": "cus_1"}}});
    let approve = output_json(&run("payment-event", input(event("payment_intent.succeeded", 4900, "usd"))).await);
    assert_eq!(approve["decision"], "approve");
    let review = output_json(&run("payment-event", input(event("charge.succeeded", 250_000, "eur"))).await);
    assert_eq!(review["decision"], "review");
    let config = with_env(input(event("charge.succeeded", 250_000, "eur")), &[("REVIEW_THRESHOLD_CENTS", "1000000")]);
    assert_eq!(output_json(&run("payment-event", config).await)["decision"], "approve");
    let reject = output_json(&run("payment-event", input(event("charge.succeeded", 100, "jpy"))).await);
    assert_eq!(reject["decision"], "reject");

    let outcome = run("payment-event", input(json!({"id": "evt_1", "type": "charge.succeeded"}))).await;
    let failure = outcome.failure().expect("missing fields fail");
    assert_eq!(failure.kind, FailureKind::GuestError);
    assert_eq!(failure.code.as_deref(), Some("invalid_data"));
    assert!(failure.message.contains("data"), "message names the missing field: {}", failure.message);

    let outcome = run("payment-event", input(event("invoice.created", 1, "usd"))).await;
    assert_eq!(outcome.failure().and_then(|f| f.code.as_deref()), Some("unsupported_event"));
    assert!(
        run("payment-event", input(event("charge.succeeded", 1, "usd")))
            .await
            .logs
            .lines
            .iter()
            .any(|l| l.stream == LogStream::Log && l.level == LogLevel::Info && l.message.contains("evt_123")),
        "log::info! reaches the execution log"
    );
}

#[tokio::test]
async fn transcript_stats_counts_words_per_speaker_in_a_5_mib_transcript() {
    let (data, expected) = wasmhook_tests::transcript(5 << 20);
    let outcome = run("transcript-stats", input(data)).await;
    let out = output_json(&outcome);
    for (speaker, words) in &expected {
        assert_eq!(out["speakers"][speaker]["words"], *words, "words of {speaker}");
    }
    assert_eq!(out["total_words"], expected.values().sum::<u64>());
    assert_eq!(out["event_type"], "meeting_end");
}

#[tokio::test]
async fn a_plain_wasi_command_is_a_block_whose_stdout_is_the_output() {
    let outcome = run("hello-command", input(json!({"name": "Ada"}))).await;
    assert_eq!(output_json(&outcome), json!({"greeting": "hello, Ada"}));
    assert!(outcome.logs.lines.iter().any(|l| l.stream == LogStream::Stderr && l.message == "hello-command starting"));

    let outcome = run("hello-command", input(json!({"exit_code": 3}))).await;
    let failure = outcome.failure().expect("non-zero exit fails");
    assert_eq!(failure.kind, FailureKind::Exit, "{failure:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_parallel_runs_all_get_their_own_data_back() {
    let block = prepare("echo").await;
    let runs = (0..64).map(|i| {
        let block = block.clone();
        tokio::spawn(async move {
            let input = with_env(input(json!({"n": i})), &[("ECHO_ENV", "RUN"), ("RUN", &i.to_string())]);
            (i, sandbox().run(&block, input).await.expect("run"))
        })
    });
    for run in runs.collect::<Vec<_>>() {
        let (i, outcome) = run.await.expect("task");
        let out = output_json(&outcome);
        assert_eq!(out["data"]["n"], i);
        assert_eq!(out["env"]["RUN"], i.to_string());
    }
}
