//! Per-webhook token buckets (GCRA from `governor`): a webhook's `rateLimit` allows `burst`
//! calls at once and `perSecond` sustained; a call over it is refused with the time until
//! the next token, which becomes `Retry-After`.
//!
//! Buckets live in memory: a restart refills them, which errs on the side of accepting.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use wasmhook_domain::ids::WebhookId;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};
use parking_lot::Mutex;

use wasmhook_store::webhooks::RateLimit;

/// Limits no bucket can express (a rate of zero or a period too long).
pub fn validate(limit: &RateLimit) -> Result<(), String> {
    quota(limit).map(drop)
}

fn quota(limit: &RateLimit) -> Result<Quota, String> {
    if !(limit.per_second.is_finite() && limit.per_second >= 0.001 && limit.per_second <= 1_000_000.0) {
        return Err("rateLimit.perSecond must be between 0.001 and 1000000".into());
    }
    let burst = NonZeroU32::new(limit.burst).ok_or("rateLimit.burst must be at least 1")?;
    let period = Duration::from_secs_f64(1.0 / limit.per_second);
    Ok(Quota::with_period(period).ok_or("rateLimit.perSecond is too high")?.allow_burst(burst))
}

/// The buckets of every rate-limited webhook.
#[derive(Debug, Default)]
pub struct RateLimiters {
    buckets: Mutex<HashMap<WebhookId, (RateLimit, Arc<DefaultDirectRateLimiter>)>>,
}

impl RateLimiters {
    /// Takes a token from the webhook's bucket; `Err(wait)` when it is empty. A changed limit
    /// starts a fresh bucket.
    pub fn check(&self, webhook: WebhookId, limit: &RateLimit) -> Result<(), Duration> {
        let bucket = {
            let mut buckets = self.buckets.lock();
            match buckets.get(&webhook) {
                Some((current, bucket)) if current == limit => Arc::clone(bucket),
                _ => {
                    // Limits are validated when saved; an invalid stored one does not limit.
                    let Ok(quota) = quota(limit) else { return Ok(()) };
                    let bucket = Arc::new(DefaultDirectRateLimiter::direct(quota));
                    buckets.insert(webhook, (*limit, Arc::clone(&bucket)));
                    bucket
                }
            }
        };
        bucket.check().map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Drops a webhook's bucket (deleted, or its URL regenerated).
    pub fn forget(&self, webhook: WebhookId) {
        self.buckets.lock().remove(&webhook);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_with_the_wait() {
        let limiters = RateLimiters::default();
        let id = WebhookId::new_v4();
        let limit = RateLimit { per_second: 0.5, burst: 3 };
        for _ in 0..3 {
            assert!(limiters.check(id, &limit).is_ok());
        }
        let wait = limiters.check(id, &limit).expect_err("bucket empty");
        assert!(wait > Duration::from_millis(1500) && wait <= Duration::from_secs(2), "{wait:?}");
        assert!(limiters.check(WebhookId::new_v4(), &limit).is_ok(), "buckets are per webhook");
        let raised = RateLimit { per_second: 0.5, burst: 4 };
        assert!(limiters.check(id, &raised).is_ok(), "a changed limit starts a fresh bucket");
    }

    #[test]
    fn impossible_limits_are_rejected() {
        assert!(validate(&RateLimit { per_second: 0.0, burst: 1 }).is_err());
        assert!(validate(&RateLimit { per_second: 10.0, burst: 0 }).is_err());
        assert!(validate(&RateLimit { per_second: f64::NAN, burst: 1 }).is_err());
        assert!(validate(&RateLimit { per_second: 10.0, burst: 5 }).is_ok());
    }
}
