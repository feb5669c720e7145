"""Stripe event handler: verifies a Stripe-style event's shape and decides approve / review /
reject for payments, the Python twin of ``modules/payment-event``.

Config (env): ``REVIEW_THRESHOLD_CENTS`` (default 100000), ``ALLOWED_CURRENCIES`` (default
``usd,eur,gbp``). Unknown event types fail with code ``unsupported_event`` so the sender's
dashboard shows them; a malformed event fails with ``invalid_event``.
"""

import logging

import wasmhook
from wasmhook import Context, Error, log

logger = logging.getLogger("stripe_event")

SUCCEEDED = {"payment_intent.succeeded", "charge.succeeded"}
FAILED = {"payment_intent.payment_failed", "charge.failed"}


@wasmhook.block
def run(ctx: Context):
    event = ctx.data()
    event_id = event.get("id", "") if isinstance(event, dict) else ""
    if not str(event_id).startswith("evt_"):
        raise Error(f"event id {event_id!r} is not an evt_ id", code="invalid_event")
    raw_threshold = ctx.env("REVIEW_THRESHOLD_CENTS", "100000")
    try:
        threshold = int(raw_threshold)
    except ValueError:
        raise Error(f"REVIEW_THRESHOLD_CENTS={raw_threshold!r} is not a number", code="bad_config") from None
    allowed = {c.strip() for c in ctx.env("ALLOWED_CURRENCIES", "usd,eur,gbp").split(",")}
    try:
        payment = event["data"]["object"]
        amount, currency = int(payment["amount"]), str(payment["currency"]).lower()
    except (KeyError, TypeError, ValueError):
        raise Error("data.object needs an amount and a currency", code="invalid_event") from None

    reasons = []
    kind = event.get("type")
    if kind in FAILED:
        decision = "reject"
        reasons.append("payment failed")
    elif kind in SUCCEEDED:
        decision = "approve"
        if currency not in allowed:
            decision = "reject"
            reasons.append(f"currency {currency} is not accepted")
        elif amount >= threshold:
            decision = "review"
            reasons.append(f"amount {amount} is at or over the review threshold {threshold}")
        elif not payment.get("customer"):
            decision = "review"
            reasons.append("guest checkout")
    else:
        raise Error(f"event type {kind!r} is not handled", code="unsupported_event")

    log.info("%s: %s %d %s", event_id, decision, amount, currency)
    if decision != "approve":
        logger.warning("%s needs attention: %s", event_id, "; ".join(reasons))
    return {"event_id": event_id, "decision": decision, "reasons": reasons,
            "amount": amount, "currency": currency}
