"""Order enricher with a counter, in Python: fetches the order's customer from the CRM
(``CRM_BASE_URL``, listed in the block's ``network.allowedHosts``) with
``wasmhook.http_client``, counts orders per tier in the ``stats`` bucket with ``wasmhook.kv``,
and skips an order id it has seen before.
"""

import wasmhook
from wasmhook import Context, Error, http_client, log
from wasmhook.kv import Bucket


@wasmhook.block
def run(ctx: Context):
    order = ctx.data()
    base = ctx.env("CRM_BASE_URL")
    if not base:
        raise Error("CRM_BASE_URL is not set", code="config")
    stats = Bucket.open("stats")
    if not stats.set_if_absent(f"seen:{order['id']}", b"1"):
        return {"order": order["id"], "duplicate": True}
    try:
        response = http_client.get(f"{base.rstrip('/')}/customers/{order['customer_id']}")
    except http_client.HttpError as failed:
        raise Error(str(failed), code="denied" if failed.is_denied else "network") from None
    if response.status == 404:
        raise Error(f"no customer {order['customer_id']}", code="unknown_customer")
    customer = response.json()
    count = stats.increment(f"tier:{customer['tier']}")
    log.info("order %s from a %s customer (%d so far)", order["id"], customer["tier"], count)
    return {"order": order["id"], "customer": customer["name"], "tier": customer["tier"], "tierCount": count}
