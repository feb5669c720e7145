"""A plain Python script, built as a ``wasi:cli/command`` (``build.py --command``): no SDK, it
reads ``WEBHOOK_DATA_FILE`` itself, prints its JSON output and says failure with its exit
status, as ``python3 report_command.py`` would. It also tries the network, which the sandbox
denies: the script gets an ``OSError`` and goes on.

``{"exit_code": N}`` makes it exit with N; ``{"name": …}`` is greeted.
"""

import json
import os
import socket
import sys

with open(os.environ["WEBHOOK_DATA_FILE"], encoding="utf-8") as f:
    data = json.load(f)

print("report_command starting", file=sys.stderr)
if "exit_code" in data:
    print(f"exiting with {data['exit_code']} as asked", file=sys.stderr)
    sys.exit(int(data["exit_code"]))

try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect(("127.0.0.1", 9))
    network = "connected"
except OSError as e:
    network = f"{type(e).__name__}: {e}"

print(json.dumps({
    "greeting": f"hello, {data.get('name', 'world')}",
    "network": network,
    "language_env": os.environ.get("LANG_SPECIFIC"),
    "python": sys.version.split()[0],
}))
