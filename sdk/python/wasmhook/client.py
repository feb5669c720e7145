"""Outbound HTTP from a Python block, over ``wasi:http`` (no sockets: the host sends it).

A block calls only the hosts its ``network.allowedHosts`` lists; anything else raises
:class:`HttpError` with ``code == "HTTP-request-denied"`` (``is_denied``), a private address
``"destination-IP-prohibited"`` (``is_prohibited``). Every call is recorded in the execution's
``outbound`` list. Redirects are returned, not followed::

    from wasmhook import http_client as http

    customer = http.get("https://crm.example.com/customers/c1").json()
    http.post_json("https://hooks.slack.com/services/…", {"text": "paid"})
"""

import json as _json
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

try:  # Only inside a component: the bindings componentize-py generates for the world.
    from componentize_py_types import Err
    from wit_world.imports import outgoing_handler
    from wit_world.imports import streams
    from wit_world.imports import wasi_http_types as types
except ImportError:  # pragma: no cover - imported outside a component (docs, linters)
    outgoing_handler = None  # type: ignore[assignment]

# Bytes per `blocking-write-and-flush` (the most one call may take), and per read.
_WRITE_CHUNK = 4096
_READ_CHUNK = 65536

_CODES = {
    "ErrorCode_HttpRequestDenied": "HTTP-request-denied",
    "ErrorCode_DestinationIpProhibited": "destination-IP-prohibited",
    "ErrorCode_ConnectionLimitReached": "connection-limit-reached",
    "ErrorCode_DnsError": "DNS-error",
    "ErrorCode_ConnectionRefused": "connection-refused",
    "ErrorCode_ConnectionTimeout": "connection-timeout",
    "ErrorCode_HttpRequestBodySize": "HTTP-request-body-size",
    "ErrorCode_HttpResponseBodySize": "HTTP-response-body-size",
    "ErrorCode_TlsProtocolError": "TLS-protocol-error",
}


class HttpError(Exception):
    """A request that got no response: refused by the host's policy, or a network failure."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code

    @property
    def is_denied(self) -> bool:
        """The target is not in the block's ``network.allowedHosts``."""
        return self.code == "HTTP-request-denied"

    @property
    def is_prohibited(self) -> bool:
        """The target's address is private, loopback or otherwise not public."""
        return self.code == "destination-IP-prohibited"


def _failed(code: Any) -> HttpError:
    name = _CODES.get(type(code).__name__, type(code).__name__.replace("ErrorCode_", ""))
    return HttpError(name, f"the request failed: {name}")


class Response:
    """A response, read whole."""

    def __init__(self, status: int, headers: List[Tuple[str, bytes]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status < 300

    def header(self, name: str) -> Optional[str]:
        """The first value of a header, by case-insensitive name."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value.decode("utf-8", "replace")
        return None

    def text(self) -> str:
        """The body as text."""
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return _json.loads(self.body)


def request(method: str, url: str, body: bytes = b"", headers: Optional[Dict[str, str]] = None) -> Response:
    """Sends a request and reads the whole response."""
    if outgoing_handler is None:
        raise HttpError("local", "outbound HTTP needs a wasmhook host")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise HttpError("local", f"{url!r} is not an absolute http(s) URL")
    entries = [(name, value.encode()) for name, value in (headers or {}).items()]
    if body:
        entries.append(("content-length", str(len(body)).encode()))
    outgoing = types.OutgoingRequest(types.Fields.from_list(entries))
    methods = {"GET": types.Method_Get(), "POST": types.Method_Post(), "PUT": types.Method_Put(),
               "PATCH": types.Method_Patch(), "DELETE": types.Method_Delete(), "HEAD": types.Method_Head()}
    outgoing.set_method(methods.get(method.upper(), types.Method_Other(method.upper())))
    outgoing.set_scheme(types.Scheme_Https() if parts.scheme == "https" else types.Scheme_Http())
    outgoing.set_authority(parts.netloc)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    outgoing.set_path_with_query(path)
    outgoing_body = outgoing.body()
    # Child resources (streams, pollables, fields) are dropped before their parents, in `with`
    # blocks: the host traps a run that drops a parent first, and Python's GC has no order.
    try:
        pending = outgoing_handler.handle(outgoing, None)
    except Err as refused:
        raise _failed(refused.value) from None
    with pending:
        # A request the host refuses fails its body stream too: the response's error says why.
        write_error = None
        try:
            with outgoing_body.write() as stream:
                for start in range(0, len(body), _WRITE_CHUNK):
                    stream.blocking_write_and_flush(body[start:start + _WRITE_CHUNK])
            types.OutgoingBody.finish(outgoing_body, None)
        except Err as failed:
            write_error = failed
        with pending.subscribe() as ready:
            ready.block()
        answered = pending.get()
    if answered is None:
        raise HttpError("local", "the response was not ready")
    outcome = answered.value
    if isinstance(outcome, Err):
        raise _failed(outcome.value)
    if write_error is not None:
        raise HttpError("io", f"sending the request body failed: {write_error.value}")
    with outcome.value as response:
        return _read(response)


def _read(response: Any) -> Response:
    status = response.status()
    with response.headers() as fields:
        headers = fields.entries()
    incoming = response.consume()
    chunks = []
    with incoming.stream() as stream:
        while True:
            try:
                chunks.append(stream.blocking_read(_READ_CHUNK))
            except Err as ended:
                if isinstance(ended.value, streams.StreamError_Closed):
                    break
                with ended.value.value as error:
                    code = types.http_error_code(error)
                    detail = error.to_debug_string()
                if code is not None:
                    raise _failed(code) from None
                raise HttpError("io", f"reading the response body failed: {detail}") from None
    with types.IncomingBody.finish(incoming):
        pass
    return Response(status, headers, b"".join(chunks))


def get(url: str, headers: Optional[Dict[str, str]] = None) -> Response:
    """``GET url``."""
    return request("GET", url, headers=headers)


def post_json(url: str, body: Any, headers: Optional[Dict[str, str]] = None) -> Response:
    """``POST url`` with ``body`` as JSON."""
    all_headers = {"content-type": "application/json", **(headers or {})}
    return request("POST", url, _json.dumps(body).encode(), all_headers)
