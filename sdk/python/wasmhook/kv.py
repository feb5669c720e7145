"""Key-value state that outlives a run, over ``wasi:keyvalue``: buckets of the block's team.
A block opens only the buckets its ``keyValue.buckets`` setting lists::

    from wasmhook.kv import Bucket

    seen = Bucket.open("seen")
    if not seen.set_if_absent(event["id"], b"1"):
        return {"duplicate": True}
    hits = Bucket.open("counters").increment("hits")
"""

import json as _json
from typing import Any, Callable, List, Optional

try:  # Only inside a component.
    from componentize_py_types import Err
    from wit_world.imports import atomics, store
except ImportError:  # pragma: no cover
    store = None  # type: ignore[assignment]


class KvError(Exception):
    """A key-value call failed; ``access_denied`` when the bucket is not granted."""

    def __init__(self, message: str, access_denied: bool = False) -> None:
        super().__init__(message)
        self.access_denied = access_denied


def _error(error: Any) -> KvError:
    if isinstance(error, store.Error_AccessDenied):
        return KvError("access denied: the bucket is not in the block's keyValue.buckets", True)
    if isinstance(error, store.Error_Other):
        return KvError(error.value)
    return KvError("no such bucket")


class Bucket:
    """An open bucket."""

    def __init__(self, inner: Any, name: str) -> None:
        self._inner = inner
        self.name = name

    @classmethod
    def open(cls, name: str) -> "Bucket":
        """Opens the team's bucket ``name``."""
        if store is None:
            raise KvError("key-value state needs a wasmhook host")
        try:
            return cls(store.open(name), name)
        except Err as failed:
            raise _error(failed.value) from None

    def _call(self, function: Callable[[], Any]) -> Any:
        try:
            return function()
        except Err as failed:
            raise _error(failed.value) from None

    def get(self, key: str) -> Optional[bytes]:
        """The value of ``key``, if any."""
        return self._call(lambda: self._inner.get(key))

    def get_json(self, key: str) -> Any:
        """The value of ``key`` parsed as JSON, or ``None``."""
        value = self.get(key)
        return None if value is None else _json.loads(value)

    def set(self, key: str, value: bytes) -> None:
        """Sets ``key``."""
        self._call(lambda: self._inner.set(key, bytes(value)))

    def set_json(self, key: str, value: Any) -> None:
        """Sets ``key`` to ``value`` as JSON."""
        self.set(key, _json.dumps(value).encode())

    def delete(self, key: str) -> None:
        """Removes ``key``."""
        self._call(lambda: self._inner.delete(key))

    def exists(self, key: str) -> bool:
        """Whether ``key`` has a value."""
        return self._call(lambda: self._inner.exists(key))

    def keys(self) -> List[str]:
        """Every key, in order."""
        keys: List[str] = []
        cursor = None
        while True:
            page = self._call(lambda: self._inner.list_keys(cursor))
            keys.extend(page.keys)
            if page.cursor is None:
                return keys
            cursor = page.cursor

    def increment(self, key: str, delta: int = 1) -> int:
        """Adds ``delta`` to the integer at ``key`` (0 when absent), atomically; the new value."""
        return self._call(lambda: atomics.increment(self._inner, key, delta))

    def set_if_absent(self, key: str, value: bytes) -> bool:
        """Sets ``key`` only if it has no value; ``False`` when it had one (deduplication)."""
        cas = self._call(lambda: atomics.Cas.new(self._inner, key))
        if self._call(cas.current) is not None:
            return False
        try:
            atomics.swap(cas, bytes(value))
            return True
        except Err as failed:
            if isinstance(failed.value, atomics.CasError_CasFailed):
                return False
            raise _error(failed.value.value) from None
