//! The configuration's layering, validation and derived limits.

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[test]
fn layers_override_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("wasmhook.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:9000\"\nmax_body_bytes = 100\ndoc_concurrency = 2\n").expect("write");
    let flags = Flags { config_file: Some(file), listen: Some("127.0.0.1:9002".into()), data_dir: None };
    let config =
        Config::load(&flags, env(&[("WASMHOOK_MAX_BODY_BYTES", "200"), ("WASMHOOK_LISTEN", "127.0.0.1:9001")]))
            .expect("valid");
    assert_eq!(config.listen.port(), 9002, "flag beats env beats file");
    assert_eq!(config.max_body_bytes, 200, "env beats file");
    assert_eq!(config.doc_concurrency, 2, "file beats default");
    assert_eq!(config.max_timeout_ms, Config::default().max_timeout_ms);
    let config = Config::load(&Flags::default(), env(&[("WASMHOOK_MEMORY_COW", "false")])).expect("bool");
    assert!(!config.memory_cow, "booleans need no quoting in env vars");
    let client = [("WASMHOOK_URL", "http://x"), ("WASMHOOK_KEY", "k"), ("WASMHOOK_PROFILE", "prod")];
    Config::load(&Flags::default(), env(&client)).expect("the client's variables are not server settings");
}

#[test]
fn bad_values_name_the_setting_and_source() {
    let err = Config::load(&Flags::default(), env(&[("WASMHOOK_MAX_BODY_BYTES", "lots")])).expect_err("invalid");
    assert!(err.to_string().contains("WASMHOOK_MAX_BODY_BYTES"), "{err}");
    let err = Config::load(&Flags::default(), env(&[("WASMHOOK_NOPE", "1")])).expect_err("unknown");
    assert!(err.to_string().contains("nope"), "{err}");
    let err =
        Config::load(&Flags { listen: Some("localhost".into()), ..Flags::default() }, env(&[])).expect_err("addr");
    assert!(err.to_string().contains("listen"), "{err}");
    let err = Config::load(&Flags::default(), env(&[("WASMHOOK_DOC_CONCURRENCY", "0")])).expect_err("zero");
    assert!(err.to_string().contains("doc_concurrency"), "{err}");
    let err = Config::load(&Flags::default(), env(&[("WASMHOOK_RETENTION_SECS", "3600")]))
        .expect_err("retention under the 24 h idempotency window");
    assert!(err.to_string().contains("retention_secs"), "{err}");
}

#[test]
fn the_memory_budget_bounds_a_runs_cap_and_defaults_from_the_machine() {
    let config =
        Config::load(&Flags::default(), env(&[("WASMHOOK_MEMORY_BUDGET_BYTES", "268435456")])).expect("256 MiB budget");
    assert_eq!(config.run_memory_ceiling(), 256 << 20, "no cap can exceed the whole budget");
    let err = Config::load(&Flags::default(), env(&[("WASMHOOK_MEMORY_BUDGET_BYTES", "1048576")]))
        .expect_err("under one default run");
    assert!(err.to_string().contains("memory_budget_bytes"), "{err}");
    let machine = Config::default().memory_budget();
    assert!(machine >= 64 << 20, "¾ of this machine's memory: {machine}");
}

#[test]
fn record_linger_is_bounded() {
    let config = Config::load(&Flags::default(), env(&[("WASMHOOK_RECORD_LINGER_US", "0")])).expect("zero");
    assert_eq!(config.record_linger, Duration::ZERO, "0 commits every record at once");
    assert_eq!(Config::default().record_linger, wasmhook_store::RECORD_LINGER);
    let err = Config::load(&Flags::default(), env(&[("WASMHOOK_RECORD_LINGER_US", "2000000")])).expect_err("too long");
    assert!(err.to_string().contains("record_linger_us"), "{err}");
}
