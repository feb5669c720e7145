"""Request inspector: answers with everything the Python SDK's ``Context`` gives a block, so
a sender (or a test) can see what reached the sandbox. ``{"reply": "text"}`` in a JSON body
makes it answer with its own HTTP response instead (the ``$http`` convention), e.g. a
challenge echo.
"""

import hashlib

import wasmhook
from wasmhook import Context, HttpResponse, log


@wasmhook.block
def run(ctx: Context):
    body = ctx.body()
    data = ctx.data()
    log.debug("%d body bytes", len(body))
    if isinstance(data, dict) and "reply" in data:
        return HttpResponse.text(202, str(data["reply"])).header("x-handled-by", "wasmhook-python")
    return {
        "data": data,
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "body_len": len(body),
        "content_type": ctx.content_type(),
        "headers": ctx.headers(),
        "request": ctx.request(),
        "webhook_id": ctx.webhook_id(),
        "block_id": ctx.block_id(),
        "execution_id": ctx.execution_id(),
        "log_level": ctx.env("LOG_LEVEL", "info"),
    }
