"""A Python block that misbehaves on request, for the sandbox's tests. ``{"mode": …}``:

- ``loop``: spins forever (must end as ``timeout`` near ``timeoutMs``);
- ``grow``: appends to a list until memory runs out (must end as ``memory_limit``);
- ``raise``: raises a ValueError (an ``unhandled_exception`` failure with the traceback
  logged);
- ``socket``: opens a TCP socket and connects, then tries ``socket.create_connection``, and
  reports the exceptions it got (the run succeeds);
- anything else: answers ``{"mode": …}``.
"""

import socket

import wasmhook
from wasmhook import Context, log


@wasmhook.block
def run(ctx: Context):
    mode = ctx.data().get("mode")
    if mode == "loop":
        n = 0
        while True:
            n += 1
    if mode == "grow":
        hoard = []
        while True:
            hoard.append(bytearray(1 << 20))
    if mode == "raise":
        raise ValueError("asked to raise")
    if mode == "socket":
        # A socket of its own (what http.client and most libraries open), then the
        # name-resolving helper: both must fail with an OSError the block can handle.
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.connect(("127.0.0.1", ctx.data().get("port", 9)))
            opened = {"connected": True}
        except OSError as e:
            log.warn("socket failed: %s: %s", type(e).__name__, e)
            opened = {"connected": False, "exception": type(e).__name__, "is_permission_error": isinstance(e, PermissionError)}
        try:
            socket.create_connection(("localhost", ctx.data().get("port", 9)), timeout=1)
            resolved = {"connected": True}
        except OSError as e:
            resolved = {"connected": False, "exception": type(e).__name__}
        return {"socket": opened, "create_connection": resolved}
    return {"mode": mode}
