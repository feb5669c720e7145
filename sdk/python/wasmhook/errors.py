"""The failure a block reports on purpose."""

from typing import Optional


class Error(Exception):
    """A block's failure: a message for people and an optional machine-readable code.

    Raising it makes the execution fail with kind ``guest_error``, ``message`` as its
    ``error`` and ``code`` alongside (e.g. ``invalid_event``), so callers can branch on it.
    """

    def __init__(self, message: str, code: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = str(message)
        self.code = code

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}" if self.code else self.message
