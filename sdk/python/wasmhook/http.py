"""Shaping the HTTP answer of a synchronous trigger webhook from inside the block.

Return an :class:`HttpResponse` and the webhook answers with exactly that status, content
type, headers and body instead of its JSON envelope (the host's ``$http`` output
convention) — e.g. Slack's ``url_verification`` handshake wants the challenge back as text.
"""

from typing import Any, Dict, Optional


class HttpResponse:
    """A response the webhook sends as-is."""

    def __init__(self, status: int, body: Any = None, content_type: Optional[str] = None,
                 headers: Optional[Dict[str, str]] = None) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = dict(headers or {})

    @classmethod
    def text(cls, status: int, body: str) -> "HttpResponse":
        """A text body (``text/plain; charset=utf-8`` unless a content type is given)."""
        return cls(status, str(body))

    @classmethod
    def json(cls, status: int, body: Any) -> "HttpResponse":
        """A JSON body (``application/json``)."""
        return cls(status, body)

    def header(self, name: str, value: str) -> "HttpResponse":
        """Adds a header (framing headers such as ``content-length`` are refused by the host)."""
        self.headers[name] = value
        return self

    def to_output(self) -> Dict[str, Any]:
        """The ``{"$http": {...}}`` value the host reads."""
        shape: Dict[str, Any] = {"status": self.status}
        if self.headers:
            shape["headers"] = self.headers
        if self.content_type is not None:
            shape["contentType"] = self.content_type
        if self.body is not None:
            shape["body"] = self.body
        return {"$http": shape}
