//! Retry policies: which failed runs of a queued delivery come back, and after how long.
//!
//! A policy is resolved when the delivery is accepted (the block's or dataset's `retry`
//! over the server's defaults) and stored with every attempt, so changing a block later does
//! not change what an accepted delivery was promised.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use wasmhook_sandbox::{FailureKind, Outcome};
use wasmhook_store::blocks::{Backoff, RetryOn, RetrySettings};

/// A delivery's retry policy with every field decided.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// Runs in all, the first included (at least 2: a policy of 1 is no policy).
    pub max_attempts: u32,
    /// How the delay grows.
    pub backoff: Backoff,
    /// The delay before the second attempt, ms.
    pub initial_delay_ms: u64,
    /// The longest delay, ms.
    pub max_delay_ms: u64,
    /// Each delay drawn from [½ delay, delay].
    pub jitter: bool,
    /// The failure classes retried.
    pub retry_on: Vec<RetryOn>,
    /// The block's own codes retried besides `retryable`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retryable_codes: Vec<String>,
}

/// What becomes of a delivery after one of its attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// This attempt's status is the delivery's: it succeeded, or failed in a way not retried.
    Final,
    /// Run it again after this long.
    RetryAfter(Duration),
    /// It failed in a way that is retried, but this was the last attempt: a dead letter.
    Dead,
}

/// Defaults when a policy leaves a field out.
const DEFAULT_INITIAL_DELAY_MS: u64 = 5_000;
const DEFAULT_MAX_DELAY_MS: u64 = 3_600_000;

impl RetryPolicy {
    /// Checks a block's or dataset's settings against the server's ceilings (a 422 when not).
    pub fn check(settings: &RetrySettings, config: &Config) -> Result<(), String> {
        if let Some(n) = settings.max_attempts
            && !(1..=config.retry_max_attempts_limit).contains(&n)
        {
            return Err(format!("retry.maxAttempts must be 1 to {} (got {n})", config.retry_max_attempts_limit));
        }
        let max_delay = settings.max_delay_ms.unwrap_or(DEFAULT_MAX_DELAY_MS.min(config.retry_max_delay_ms));
        if max_delay > config.retry_max_delay_ms {
            return Err(format!("retry.maxDelayMs must be at most {} (got {max_delay})", config.retry_max_delay_ms));
        }
        let initial = settings.initial_delay_ms.unwrap_or(DEFAULT_INITIAL_DELAY_MS.min(max_delay));
        if initial > max_delay {
            return Err(format!("retry.initialDelayMs ({initial}) must not exceed retry.maxDelayMs ({max_delay})"));
        }
        if settings.retryable_codes.iter().any(|c| c.is_empty() || c.len() > 64) {
            return Err("retry.retryableCodes entries must be 1 to 64 bytes".to_owned());
        }
        Ok(())
    }

    /// The policy a delivery is accepted with: `settings` over the server's defaults; `None`
    /// when it allows a single attempt.
    pub fn resolve(settings: Option<&RetrySettings>, config: &Config) -> Option<Self> {
        let settings = settings.cloned().unwrap_or_default();
        let max_attempts = settings.max_attempts.unwrap_or(config.retry_default_max_attempts);
        if max_attempts <= 1 {
            return None;
        }
        let max_delay_ms = settings.max_delay_ms.unwrap_or(DEFAULT_MAX_DELAY_MS).min(config.retry_max_delay_ms);
        Some(Self {
            max_attempts: max_attempts.min(config.retry_max_attempts_limit),
            backoff: settings.backoff.unwrap_or_default(),
            initial_delay_ms: settings.initial_delay_ms.unwrap_or(DEFAULT_INITIAL_DELAY_MS).min(max_delay_ms),
            max_delay_ms,
            jitter: settings.jitter.unwrap_or(true),
            retry_on: settings.retry_on.unwrap_or_else(|| RetryOn::DEFAULT.to_vec()),
            retryable_codes: settings.retryable_codes,
        })
    }

    /// What follows attempt `attempt` (1-based) that ended with `outcome`.
    pub fn verdict(&self, attempt: u32, outcome: &Outcome) -> Verdict {
        if !self.retries(outcome) {
            return Verdict::Final;
        }
        if attempt >= self.max_attempts {
            return Verdict::Dead;
        }
        Verdict::RetryAfter(self.delay(attempt))
    }

    /// Whether the policy retries this outcome.
    fn retries(&self, outcome: &Outcome) -> bool {
        let Some(failure) = outcome.failure() else { return false };
        let class = match failure.kind {
            FailureKind::InvalidOutput => return false,
            FailureKind::Timeout => RetryOn::Timeout,
            FailureKind::Trap => RetryOn::Trap,
            FailureKind::MemoryLimit => RetryOn::MemoryLimit,
            FailureKind::Panic => RetryOn::Panic,
            FailureKind::OutOfFuel => RetryOn::OutOfFuel,
            FailureKind::Internal => RetryOn::Internal,
            FailureKind::GuestError | FailureKind::Exit => RetryOn::GuestError,
        };
        if self.retry_on.contains(&class) {
            return true;
        }
        let marked = failure.code.as_deref().is_some_and(|code| {
            wasmhook_abi::output::is_retryable_code(code) || self.retryable_codes.iter().any(|c| c == code)
        });
        if failure.kind == FailureKind::GuestError && marked {
            return true;
        }
        self.retry_on.contains(&RetryOn::Network) && outcome.outbound.last().is_some_and(|call| call.is_transient())
    }

    /// The delay after attempt `attempt` (1-based).
    fn delay(&self, attempt: u32) -> Duration {
        let full = match self.backoff {
            Backoff::Fixed => self.initial_delay_ms,
            Backoff::Exponential => {
                let factor = 1u64.checked_shl(attempt.saturating_sub(1)).unwrap_or(u64::MAX);
                self.initial_delay_ms.saturating_mul(factor)
            }
        }
        .min(self.max_delay_ms);
        let ms = if self.jitter && full > 1 { rand::random_range(full / 2..=full) } else { full };
        Duration::from_millis(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmhook_sandbox::{Failure, OutboundCall};

    fn policy(settings: RetrySettings) -> RetryPolicy {
        RetryPolicy::resolve(Some(&settings), &Config::default()).expect("a policy")
    }

    fn failed(kind: FailureKind, code: Option<&str>) -> Outcome {
        Outcome {
            result: Err(Failure { kind, message: "no".into(), code: code.map(str::to_owned) }),
            logs: Default::default(),
            fuel_consumed: 0,
            duration: Duration::ZERO,
            peak_memory_bytes: 0,
            outbound: Vec::new(),
        }
    }

    fn three() -> RetrySettings {
        RetrySettings {
            max_attempts: Some(3),
            initial_delay_ms: Some(100),
            max_delay_ms: Some(250),
            jitter: Some(false),
            ..RetrySettings::default()
        }
    }

    #[test]
    fn exponential_delays_double_up_to_the_cap_then_the_delivery_is_dead() {
        let mut settings = three();
        settings.max_attempts = Some(4);
        let p = policy(settings);
        let trap = failed(FailureKind::Trap, None);
        assert_eq!(p.verdict(1, &trap), Verdict::RetryAfter(Duration::from_millis(100)));
        assert_eq!(p.verdict(2, &trap), Verdict::RetryAfter(Duration::from_millis(200)));
        assert_eq!(p.verdict(3, &trap), Verdict::RetryAfter(Duration::from_millis(250)), "capped");
        assert_eq!(p.verdict(4, &trap), Verdict::Dead);
    }

    #[test]
    fn fixed_backoff_and_jitter_stay_in_their_range() {
        let p = policy(RetrySettings { backoff: Some(Backoff::Fixed), jitter: Some(true), ..three() });
        for attempt in 1..3 {
            let Verdict::RetryAfter(delay) = p.verdict(attempt, &failed(FailureKind::Timeout, None)) else {
                panic!("retried")
            };
            assert!((50..=100).contains(&delay.as_millis()), "{delay:?}");
        }
    }

    #[test]
    fn only_the_listed_classes_and_marked_guest_errors_are_retried() {
        let p = policy(three());
        for kind in [FailureKind::Timeout, FailureKind::Trap, FailureKind::MemoryLimit] {
            assert!(matches!(p.verdict(1, &failed(kind, None)), Verdict::RetryAfter(_)), "{kind:?}");
        }
        for kind in [FailureKind::GuestError, FailureKind::Panic, FailureKind::OutOfFuel, FailureKind::InvalidOutput] {
            assert_eq!(p.verdict(1, &failed(kind, None)), Verdict::Final, "{kind:?}");
        }
        assert!(matches!(p.verdict(1, &failed(FailureKind::GuestError, Some("retryable"))), Verdict::RetryAfter(_)));
        assert!(matches!(
            p.verdict(1, &failed(FailureKind::GuestError, Some("retryable:rate_limited"))),
            Verdict::RetryAfter(_)
        ));
        assert_eq!(p.verdict(1, &failed(FailureKind::GuestError, Some("retryable_not"))), Verdict::Final);
        let coded = policy(RetrySettings { retryable_codes: vec!["upstream_down".into()], ..three() });
        assert!(matches!(
            coded.verdict(1, &failed(FailureKind::GuestError, Some("upstream_down"))),
            Verdict::RetryAfter(_)
        ));
        let success = Outcome { result: Ok("{}".into()), ..failed(FailureKind::Trap, None) };
        assert_eq!(p.verdict(1, &success), Verdict::Final);
    }

    #[test]
    fn a_failure_after_an_unanswered_or_overloaded_call_is_a_network_failure() {
        let p = policy(three());
        let call = |status: Option<u16>, error: Option<&str>| OutboundCall {
            method: "GET".into(),
            url: "https://api.example.com/".into(),
            status,
            error: error.map(str::to_owned),
            bytes_out: 0,
            bytes_in: 0,
            duration_ms: 1,
        };
        let with = |c: OutboundCall| Outcome { outbound: vec![c], ..failed(FailureKind::GuestError, None) };
        assert!(matches!(p.verdict(1, &with(call(None, Some("cannot connect")))), Verdict::RetryAfter(_)));
        assert!(matches!(p.verdict(1, &with(call(Some(503), None))), Verdict::RetryAfter(_)));
        assert_eq!(p.verdict(1, &with(call(Some(404), None))), Verdict::Final);
        assert_eq!(p.verdict(1, &with(call(None, Some("refused: not in allowedHosts")))), Verdict::Final);
    }

    #[test]
    fn one_attempt_is_no_policy_and_ceilings_are_checked() {
        let config = Config::default();
        assert!(RetryPolicy::resolve(None, &config).is_none(), "the server default is a single attempt");
        assert!(RetryPolicy::resolve(Some(&RetrySettings { max_attempts: Some(1), ..three() }), &config).is_none());
        assert!(RetryPolicy::check(&RetrySettings { max_attempts: Some(0), ..three() }, &config).is_err());
        assert!(RetryPolicy::check(&RetrySettings { max_attempts: Some(51), ..three() }, &config).is_err());
        let slow = RetrySettings { initial_delay_ms: Some(10_000), max_delay_ms: Some(1_000), ..three() };
        assert!(RetryPolicy::check(&slow, &config).is_err());
        assert!(RetryPolicy::check(&three(), &config).is_ok());
    }
}
