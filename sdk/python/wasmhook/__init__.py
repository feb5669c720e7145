"""Write wasmhook blocks in Python.

A block is a WASI preview-2 component that wasmhook runs once per webhook delivery. This
package hides the componentize-py glue for the ``wasmhook:block`` world (``wit/block.wit``)
and gives typed access to the delivery::

    import wasmhook
    from wasmhook import Context, Error, log

    @wasmhook.block
    def run(ctx: Context):
        order = ctx.data()
        log.info("checking order %s", order["id"])
        if order["amount_cents"] == 0:
            raise Error("an order must have an amount", code="empty_order")
        return {"order": order["id"], "approved": order["amount_cents"] < 100_000}

Build it with ``python3 sdk/python/build.py my_block.py -o my_block.wasm`` and upload the
``.wasm`` file. What the decorator does for you:

- whatever the function returns is encoded as the JSON output (a :class:`HttpResponse`
  shapes a trigger webhook's HTTP answer);
- :class:`Error` becomes a structured failure (message + optional code);
- any other exception becomes a failure with code ``unhandled_exception``, its traceback in
  the execution's log;
- :mod:`wasmhook.log` and the standard :mod:`logging` module go to the host's leveled log
  (level from the ``LOG_LEVEL`` environment variable, default ``info``);
- :mod:`wasmhook.http_client` sends HTTP requests to the hosts the block's
  ``network.allowedHosts`` lists, and :mod:`wasmhook.kv` keeps state in the team's buckets.

Module top-level code runs once, at build time (componentize-py snapshots the initialised
interpreter); every delivery starts from that snapshot, so do per-delivery work inside the
decorated function. Import what you use at the top of the module: only modules imported
while building are in the component (there is no file system with the standard library at
run time), so an ``import`` first reached inside the function fails unless something imported
that module at build time.
"""

# Codecs are looked up lazily, and componentize-py can load no module after the build (only
# what was imported then is in the snapshot): `socket.getaddrinfo` and `str.encode("idna")`
# need this one at run time.
import encodings.idna  # noqa: F401

from . import client as http_client
from . import kv, log
from .context import INVALID_DATA, Context
from .entry import block
from .errors import Error
from .http import HttpResponse

__all__ = ["Context", "Error", "HttpResponse", "INVALID_DATA", "block", "http_client", "kv", "log"]
