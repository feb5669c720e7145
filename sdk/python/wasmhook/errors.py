"""The failure a block reports on purpose."""

from typing import Optional

#: The code (or code prefix, ``retryable:<code>``) that marks a failure worth another attempt.
RETRYABLE = "retryable"


class Error(Exception):
    """A block's failure: a message for people and an optional machine-readable code.

    Raising it makes the execution fail with kind ``guest_error``, ``message`` as its
    ``error`` and ``code`` alongside (e.g. ``invalid_event``), so callers can branch on it.
    With ``retryable=True`` the delivery is tried again under the block's retry policy: the
    code becomes ``retryable`` (or ``retryable:<code>``), which the host always retries.
    """

    def __init__(self, message: str, code: Optional[str] = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = str(message)
        if retryable:
            code = f"{RETRYABLE}:{code}" if code else RETRYABLE
        self.code = code
        self.retryable = retryable

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}" if self.code else self.message
