"""What the host handed to one run: the delivery's files and the environment.

Every accessor reads what the host wrote for this run (``/webhook`` and the environment);
names are those of the guest contract in the README.
"""

import json
import os
from typing import Any, Dict, Optional

from .errors import Error

#: Error code of a failure caused by missing or malformed webhook data.
INVALID_DATA = "invalid_data"


class Context:
    """Everything the host handed to this run. The ``@block`` entry passes one in."""

    def data(self) -> Any:
        """The delivery's data (``WEBHOOK_DATA_FILE``) parsed as JSON.

        Raises :class:`Error` with code ``invalid_data`` naming the problem.
        """
        raw = self.data_bytes()
        try:
            return json.loads(raw)
        except ValueError as e:
            raise Error(f"webhook data is not JSON: {e}", code=INVALID_DATA) from e

    def data_bytes(self) -> bytes:
        """The raw bytes of the data file, for blocks that parse it themselves."""
        return self._read_var("WEBHOOK_DATA_FILE", required=True) or b""

    def body(self) -> bytes:
        """The request body exactly as the sender posted it (``WEBHOOK_BODY_FILE``): for
        JSON that is the data file, for anything else (form, XML, text, binary)
        ``/webhook/body``. Outside trigger webhooks, the data file."""
        body = self._read_var("WEBHOOK_BODY_FILE", required=False)
        return self.data_bytes() if body is None else body

    def content_type(self) -> Optional[str]:
        """The request's ``Content-Type`` as sent, when there was one."""
        return os.environ.get("WEBHOOK_CONTENT_TYPE") or None

    def env(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """One environment variable of this run (block config, webhook-provided, or system)."""
        return os.environ.get(name, default)

    def execution_id(self) -> Optional[str]:
        """This run's execution id (``EXECUTION_ID``), the one the webhook caller sees."""
        return os.environ.get("EXECUTION_ID")

    def block_id(self) -> Optional[str]:
        """The id of the block being run (``BLOCK_ID``)."""
        return os.environ.get("BLOCK_ID")

    def dataset_key(self) -> Optional[str]:
        """The dataset key when the block runs as part of a doc (``DATASET_KEY``)."""
        return os.environ.get("DATASET_KEY")

    def webhook_id(self) -> Optional[str]:
        """The trigger webhook that delivered this call (``WEBHOOK_ID``); ``None`` for v2/v4."""
        return os.environ.get("WEBHOOK_ID")

    def headers(self) -> Dict[str, str]:
        """The request headers, lower-cased, without credentials (trigger webhooks with
        ``captureRequest``; empty otherwise). Repeated headers are joined with ``, ``."""
        return self._captured("WEBHOOK_HEADERS_FILE") or {}

    def request(self) -> Optional[Dict[str, Any]]:
        """``{"method", "query", "sourceIp", "receivedAt"}`` of the request (trigger webhooks
        with ``captureRequest``), else ``None``."""
        return self._captured("WEBHOOK_REQUEST_FILE")

    def _captured(self, var: str) -> Any:
        raw = self._read_var(var, required=False)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError as e:
            raise Error(f"{os.environ[var]} is not what the host writes: {e}", code=INVALID_DATA) from e

    @staticmethod
    def _read_var(var: str, required: bool) -> Optional[bytes]:
        path = os.environ.get(var)
        if not path:
            if required:
                raise Error(f"{var} is not set", code=INVALID_DATA)
            return None
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as e:
            raise Error(f"cannot read {var} file {path}: {e}", code=INVALID_DATA) from e
