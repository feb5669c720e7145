//! Capturing a run's logs: leveled lines from the `logging` import plus stdout/stderr, capped in
//! bytes and in lines.

use std::sync::Arc;

use parking_lot::Mutex;
use wasmhook_domain::{LogLevel, LogLine, LogStream, Logs};

/// What one kept line costs the host beyond its text, charged against the byte cap: the
/// `LogLine` itself (32 bytes), its heap allocation's header, and the JSON framing it is stored
/// and served with (`{"stream":"stderr","level":"error","message":""}` is 49 bytes). Without
/// it, 30 M empty lines "cost" nothing and took 1.4 GiB of host memory.
pub const LOG_LINE_COST: usize = 64;

/// Lines kept per run at most, whatever their size.
pub const MAX_LOG_LINES: usize = 10_000;

/// The shared, capped log buffer of one run: the host state and both output pipes write here.
#[derive(Clone)]
pub(crate) struct LogSink(Arc<Mutex<Buffer>>);

struct Buffer {
    lines: Vec<LogLine>,
    /// Unterminated tails of stdout (0) and stderr (1).
    partial: [Vec<u8>; 2],
    kept_bytes: usize,
    cap: usize,
    dropped_bytes: u64,
}

impl Buffer {
    /// Accounts `len` bytes of a line's tail against the cap; false when they must be dropped.
    fn admit(&mut self, len: usize) -> bool {
        if self.kept_bytes.saturating_add(len) > self.cap {
            self.dropped_bytes += len as u64;
            false
        } else {
            self.kept_bytes += len;
            true
        }
    }

    /// Accounts a new line of `len` bytes, plus its [`LOG_LINE_COST`], against the byte and
    /// line caps; false (and `len` counted as dropped) when it must be dropped.
    fn admit_line(&mut self, len: usize) -> bool {
        let cost = len.saturating_add(LOG_LINE_COST);
        if self.lines.len() >= MAX_LOG_LINES || self.kept_bytes.saturating_add(cost) > self.cap {
            self.dropped_bytes += len as u64;
            return false;
        }
        self.kept_bytes += cost;
        true
    }

    /// True once nothing more can be kept: further output is only counted.
    fn full(&self) -> bool {
        self.lines.len() >= MAX_LOG_LINES || self.kept_bytes.saturating_add(LOG_LINE_COST) > self.cap
    }
}

impl LogSink {
    pub(crate) fn new(cap_bytes: usize) -> Self {
        Self(Arc::new(Mutex::new(Buffer {
            lines: Vec::new(),
            partial: [Vec::new(), Vec::new()],
            kept_bytes: 0,
            cap: cap_bytes,
            dropped_bytes: 0,
        })))
    }

    /// A whole line from the `logging` import.
    pub(crate) fn log(&self, level: LogLevel, message: String) {
        let mut buf = self.0.lock();
        if buf.admit_line(message.len()) {
            buf.lines.push(LogLine { stream: LogStream::Log, level, message });
        }
    }

    /// Raw bytes from stdout or stderr, split into lines as newlines arrive. A line's bytes are
    /// charged as they arrive (an unterminated tail too), its [`LOG_LINE_COST`] when it ends.
    pub(crate) fn write_stream(&self, stream: LogStream, bytes: &[u8]) {
        let slot = usize::from(stream == LogStream::Stderr);
        let mut buf = self.0.lock();
        if buf.full() {
            buf.dropped_bytes += bytes.len() as u64;
            return;
        }
        let mut rest = bytes;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            let partial = std::mem::take(&mut buf.partial[slot]);
            if buf.admit_line(pos + 1) {
                let mut line = partial;
                line.extend_from_slice(&rest[..pos]);
                buf.lines.push(stream_line(stream, &line));
            }
            rest = &rest[pos + 1..];
        }
        if !rest.is_empty() && buf.admit(rest.len()) {
            buf.partial[slot].extend_from_slice(rest);
        }
    }

    /// Flushes unterminated output and returns what was kept.
    pub(crate) fn finish(&self) -> Logs {
        let mut buf = self.0.lock();
        for (slot, stream) in [(0, LogStream::Stdout), (1, LogStream::Stderr)] {
            let tail = std::mem::take(&mut buf.partial[slot]);
            // The tail's bytes were charged already; it still needs a line.
            if !tail.is_empty() && buf.admit_line(0) {
                buf.lines.push(stream_line(stream, &tail));
            }
        }
        Logs { lines: std::mem::take(&mut buf.lines), dropped_bytes: buf.dropped_bytes }
    }

    /// The first kept line containing `needle`, for outcome classification (panic messages).
    pub(crate) fn find(&self, needle: &str) -> Option<String> {
        let buf = self.0.lock();
        let in_lines = buf.lines.iter().position(|l| l.message.contains(needle));
        in_lines.map(|at| {
            // A Rust panic prints "panicked at file:line:col:" and the message on the next line.
            let mut text = buf.lines[at].message.clone();
            if let Some(next) = buf.lines.get(at + 1).filter(|_| text.trim_end().ends_with(':')) {
                text.push(' ');
                text.push_str(&next.message);
            }
            text
        })
    }
}

fn stream_line(stream: LogStream, bytes: &[u8]) -> LogLine {
    let level = if stream == LogStream::Stderr { LogLevel::Error } else { LogLevel::Info };
    LogLine { stream, level, message: String::from_utf8_lossy(bytes).into_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_stream_bytes_into_lines_across_writes() {
        let sink = LogSink::new(1024);
        sink.write_stream(LogStream::Stdout, b"hel");
        sink.write_stream(LogStream::Stdout, b"lo\nwor");
        sink.write_stream(LogStream::Stderr, b"oops\n");
        let logs = sink.finish();
        let text: Vec<_> = logs.lines.iter().map(|l| (l.stream, l.message.as_str())).collect();
        assert_eq!(text, [(LogStream::Stdout, "hello"), (LogStream::Stderr, "oops"), (LogStream::Stdout, "wor")]);
        assert!(!logs.truncated());
    }

    #[test]
    fn drops_and_counts_bytes_over_the_cap() {
        let sink = LogSink::new(10 + LOG_LINE_COST);
        sink.log(LogLevel::Info, "12345678".into());
        sink.log(LogLevel::Info, "too long".into());
        sink.write_stream(LogStream::Stdout, b"also dropped\n");
        let logs = sink.finish();
        assert_eq!(logs.lines.len(), 1);
        assert_eq!(logs.dropped_bytes, 8 + 13);
    }

    /// Each kept line is charged its real cost, so empty lines cannot pile up for free.
    #[test]
    fn empty_lines_are_charged_their_overhead_and_capped() {
        let cap = 256 << 10;
        let sink = LogSink::new(cap);
        for _ in 0..1_000_000 {
            sink.log(LogLevel::Info, String::new());
        }
        sink.write_stream(LogStream::Stderr, &vec![b'\n'; 1_000_000]);
        let logs = sink.finish();
        assert_eq!(logs.lines.len(), cap / LOG_LINE_COST, "bounded by the cap over the per-line cost");
        assert_eq!(logs.dropped_bytes, 1_000_000, "every dropped stream byte counted");
    }

    #[test]
    fn lines_are_capped_in_number_too() {
        let sink = LogSink::new(usize::MAX / 2);
        for _ in 0..MAX_LOG_LINES + 5 {
            sink.log(LogLevel::Info, "x".into());
        }
        let logs = sink.finish();
        assert_eq!(logs.lines.len(), MAX_LOG_LINES);
        assert_eq!(logs.dropped_bytes, 5);
    }

    #[test]
    fn finds_a_panic_message_spread_over_two_lines() {
        let sink = LogSink::new(1024);
        sink.write_stream(LogStream::Stderr, b"thread '<unnamed>' panicked at src/lib.rs:3:5:\nboom\n");
        assert_eq!(sink.find("panicked at").as_deref(), Some("thread '<unnamed>' panicked at src/lib.rs:3:5: boom"));
    }
}
