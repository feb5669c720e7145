//! Guest stdout/stderr plumbing: every byte goes to the run's capped log or, for a command's
//! stdout, to its capped output buffer. Writes never fail and never block: a flooding guest
//! keeps running and its excess is dropped and counted, it is not trapped.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

use super::logs::LogSink;
use wasmhook_domain::LogStream;

/// A command block's stdout: its output, kept up to `cap` bytes.
#[derive(Clone)]
pub(crate) struct OutputBuffer(Arc<Mutex<OutputState>>);

struct OutputState {
    bytes: Vec<u8>,
    cap: usize,
    overflowed: u64,
}

impl OutputBuffer {
    pub(crate) fn new(cap: usize) -> Self {
        Self(Arc::new(Mutex::new(OutputState { bytes: Vec::new(), cap, overflowed: 0 })))
    }

    fn write(&self, bytes: &[u8]) {
        let mut state = self.0.lock();
        let room = state.cap.saturating_sub(state.bytes.len());
        let take = room.min(bytes.len());
        state.bytes.extend_from_slice(&bytes[..take]);
        state.overflowed += (bytes.len() - take) as u64;
    }

    /// The captured bytes, or the total size written when it went over the cap.
    pub(crate) fn take(&self) -> Result<Vec<u8>, u64> {
        let mut state = self.0.lock();
        if state.overflowed > 0 {
            Err(state.bytes.len() as u64 + state.overflowed)
        } else {
            Ok(std::mem::take(&mut state.bytes))
        }
    }
}

/// Where one guest output stream goes.
#[derive(Clone)]
pub(crate) enum Capture {
    /// Into the run's log, split into lines.
    Log(LogSink, LogStream),
    /// Into a command's output buffer.
    Output(OutputBuffer),
}

impl Capture {
    fn accept(&self, bytes: &[u8]) {
        match self {
            Self::Log(sink, stream) => sink.write_stream(*stream, bytes),
            Self::Output(buffer) => buffer.write(bytes),
        }
    }
}

impl IsTerminal for Capture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Capture {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

/// Room we always advertise: the cap is applied when bytes arrive, so the guest never waits.
const ALWAYS_WRITABLE: usize = 1 << 20;

#[async_trait::async_trait]
impl OutputStream for Capture {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.accept(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(ALWAYS_WRITABLE)
    }
}

#[async_trait::async_trait]
impl Pollable for Capture {
    async fn ready(&mut self) {}
}

impl AsyncWrite for Capture {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.accept(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
