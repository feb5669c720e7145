//! Payment event: validates a Stripe-style payment event and decides approve / review / reject.
//!
//! Config (env): `REVIEW_THRESHOLD_CENTS` (default 100000) and `ALLOWED_CURRENCIES`
//! (default `usd,eur,gbp`).

use serde::{Deserialize, Serialize};
use wasmhook_sdk::{Context, Error, log};

#[derive(Deserialize)]
struct PaymentEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: Payment,
}

#[derive(Deserialize)]
struct Payment {
    amount: u64,
    currency: String,
    customer: Option<String>,
}

#[derive(Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Verdict {
    Approve,
    Review,
    Reject,
}

#[derive(Serialize)]
struct Decision {
    event_id: String,
    decision: Verdict,
    reasons: Vec<String>,
    amount: u64,
    currency: String,
}

#[wasmhook_sdk::block]
fn run(ctx: Context) -> Result<Decision, Error> {
    let event: PaymentEvent = ctx.data()?;
    if !event.id.starts_with("evt_") {
        return Err(Error::with_code("invalid_event", format!("event id {:?} is not an evt_ id", event.id)));
    }
    let threshold: u64 = match ctx.env("REVIEW_THRESHOLD_CENTS") {
        Some(raw) => raw
            .parse()
            .map_err(|_| Error::with_code("bad_config", format!("REVIEW_THRESHOLD_CENTS={raw:?} is not a number")))?,
        None => 100_000,
    };
    let allowed = ctx.env("ALLOWED_CURRENCIES").unwrap_or_else(|| "usd,eur,gbp".into());
    let payment = event.data.object;
    let currency = payment.currency.to_ascii_lowercase();

    let mut reasons = Vec::new();
    let mut decision = match event.kind.as_str() {
        "payment_intent.succeeded" | "charge.succeeded" => Verdict::Approve,
        "payment_intent.payment_failed" | "charge.failed" => {
            reasons.push("payment failed".to_owned());
            Verdict::Reject
        }
        other => return Err(Error::with_code("unsupported_event", format!("event type {other:?} is not handled"))),
    };
    if decision == Verdict::Approve {
        if !allowed.split(',').any(|c| c.trim() == currency) {
            reasons.push(format!("currency {currency} is not accepted"));
            decision = Verdict::Reject;
        } else if payment.amount >= threshold {
            reasons.push(format!("amount {} is at or over the review threshold {threshold}", payment.amount));
            decision = Verdict::Review;
        } else if payment.customer.is_none() {
            reasons.push("guest checkout".to_owned());
            decision = Verdict::Review;
        }
    }
    log::info!("event {} -> {} reason(s)", event.id, reasons.len());
    Ok(Decision { event_id: event.id, decision, reasons, amount: payment.amount, currency })
}
