//! The execution's record of what a block asked the network for, allowed or refused.
//!
//! A call's entry is written when the guest sends it and completed as its response arrives and
//! its body is read; the body is read after `send_request` returned, so entries live behind a
//! shared lock that the body wrappers update.

use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use wasmhook_domain::OutboundCall;

/// The calls of one run; cloned into the futures and bodies of its requests.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallLog {
    calls: Arc<Mutex<Vec<OutboundCall>>>,
}

impl CallLog {
    /// Adds a call and returns the handle that completes it.
    pub(crate) fn start(&self, method: &str, url: String) -> CallHandle {
        let mut calls = self.calls.lock();
        calls.push(OutboundCall {
            method: method.to_owned(),
            url,
            status: None,
            error: None,
            bytes_out: 0,
            bytes_in: 0,
            duration_ms: 0,
        });
        CallHandle { log: self.clone(), index: calls.len() - 1, started: Instant::now() }
    }

    /// The calls so far (the run is over: requests still in flight are cut off with it).
    pub(crate) fn take(&self) -> Vec<OutboundCall> {
        std::mem::take(&mut *self.calls.lock())
    }
}

/// Completes one call's entry.
#[derive(Debug, Clone)]
pub(crate) struct CallHandle {
    log: CallLog,
    index: usize,
    started: Instant,
}

impl CallHandle {
    fn update(&self, change: impl FnOnce(&mut OutboundCall)) {
        let elapsed = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if let Some(call) = self.log.calls.lock().get_mut(self.index) {
            call.duration_ms = elapsed;
            change(call);
        }
    }

    /// The call was refused or failed.
    pub(crate) fn fail(&self, error: impl Into<String>) {
        let error = error.into();
        self.update(|call| call.error = Some(error));
    }

    /// The response head arrived.
    pub(crate) fn responded(&self, status: u16) {
        self.update(|call| call.status = Some(status));
    }

    /// Request body bytes went out.
    pub(crate) fn sent(&self, bytes: u64) {
        self.update(|call| call.bytes_out = call.bytes_out.saturating_add(bytes));
    }

    /// Response body bytes came in.
    pub(crate) fn received(&self, bytes: u64) {
        self.update(|call| call.bytes_in = call.bytes_in.saturating_add(bytes));
    }
}
