//! Routes the `log` crate to the host's `wasmhook:block/logging` import.

use log::{LevelFilter, Log, Metadata, Record};

use crate::__private::bindings::wasmhook::block::logging::{self, Level};

struct HostLogger;

static LOGGER: HostLogger = HostLogger;

impl Log for HostLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            emit(to_host_level(record.level()), &record.args().to_string());
        }
    }

    fn flush(&self) {}
}

fn to_host_level(level: log::Level) -> Level {
    match level {
        log::Level::Trace => Level::Trace,
        log::Level::Debug => Level::Debug,
        log::Level::Info => Level::Info,
        log::Level::Warn => Level::Warn,
        log::Level::Error => Level::Error,
    }
}

/// Sends one line to the host. Outside wasm (tests, doc builds) there is no host: print it.
pub(crate) fn emit(level: Level, message: &str) {
    if cfg!(target_arch = "wasm32") {
        logging::emit(level, message);
    } else {
        eprintln!("[{level:?}] {message}");
    }
}

/// Installs the host logger once per instance; the level comes from `LOG_LEVEL` (default info).
pub(crate) fn install() {
    if log::set_logger(&LOGGER).is_ok() {
        let level =
            std::env::var("LOG_LEVEL").ok().and_then(|l| l.parse::<LevelFilter>().ok()).unwrap_or(LevelFilter::Info);
        log::set_max_level(level);
    }
}
