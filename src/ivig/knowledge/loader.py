"""Load the knowledge base once, fast.

The first load validates the YAML files (``ivig.knowledge.validate``: PyYAML + pydantic) and
writes the validated data to a cache file with :mod:`marshal`; later loads read that file, so
commands such as ``ivig dose`` import neither library. The cache key covers the data files'
names, sizes and modification times, the engine version and the Python version; a stale or
unreadable cache is ignored and rebuilt. Set ``IVIG_CACHE_DIR`` to move the cache, or
``IVIG_NO_CACHE=1`` to always validate.

The data states the version of its layout in ``meta.yaml`` (``schema_version``); the loader reads
only :data:`SCHEMA_VERSION` and refuses any other with :class:`SchemaVersionError` before
validating, so data written for another ivig fails with one clear message, not a list of
schema errors.
"""

from __future__ import annotations

import marshal
import os
import sys

from ivig import ENGINE_VERSION
from ivig.errors import KnowledgeValidationError
from ivig.knowledge.base import KnowledgeBase

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from ivig.knowledge.schema import KnowledgeData

__all__ = ["SCHEMA_VERSION", "SchemaVersionError", "cache_dir", "clear_cache", "load_knowledge"]

#: The knowledge-base schema version this code reads (``schema_version`` in ``meta.yaml``).
#: Raise it, and the data's, when a change of layout makes old data unreadable or new data
#: unreadable by old code.
SCHEMA_VERSION = 1

_DATA_DIR = os.path.join(os.path.dirname(__file__), "data")
_loaded: dict[str, KnowledgeBase] = {}


class SchemaVersionError(KnowledgeValidationError):
    """The data's ``schema_version`` (in ``meta.yaml``) is not the one this code reads."""

    def __init__(self, path: str, found: object) -> None:
        self.found = found
        self.expected = SCHEMA_VERSION
        state = "is missing" if found is None else f"is {found!r}"
        super().__init__(
            [
                f"{path}: schema_version {state}; this ivig reads knowledge-base schema version "
                f"{SCHEMA_VERSION} (an integer): use data of that version or the ivig release "
                "that matches the data"
            ]
        )


def check_schema_version(root: str) -> None:
    """Raise :class:`SchemaVersionError` unless ``root/meta.yaml`` is of :data:`SCHEMA_VERSION`.

    A missing or malformed ``meta.yaml`` is left to the validator, which names the problem.
    """
    import yaml

    path = os.path.join(root, "meta.yaml")
    try:
        with open(path, encoding="utf-8") as fh:
            meta = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError):
        return
    found = meta.get("schema_version") if isinstance(meta, dict) else None
    if type(found) is not int or found != SCHEMA_VERSION:
        raise SchemaVersionError(path, found)


def cache_dir() -> str:
    """Directory of the validated-knowledge cache."""
    explicit = os.environ.get("IVIG_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ivig")


def _cache_key(root: str) -> str:
    parts: list[str] = [ENGINE_VERSION, str(SCHEMA_VERSION), sys.version, os.path.abspath(root)]
    stack = [root]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.is_dir():
                    stack.append(entry.path)
                elif entry.name.endswith(".yaml"):
                    st = entry.stat()
                    parts.append(f"{entry.path}:{st.st_size}:{st.st_mtime_ns}")
    import zlib

    blob = "\n".join(parts).encode()
    return f"{zlib.crc32(blob):08x}{zlib.adler32(blob):08x}{len(blob):x}"


def clear_cache() -> None:
    """Remove every cached knowledge file."""
    folder = cache_dir()
    if os.path.isdir(folder):
        for name in os.listdir(folder):
            if name.startswith("kb-") and name.endswith(".marshal"):
                os.remove(os.path.join(folder, name))


def _read_cache(path: str) -> KnowledgeData | None:
    try:
        with open(path, "rb") as fh:
            data = marshal.loads(fh.read())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return data if isinstance(data, dict) and "version" in data else None  # type: ignore[return-value]


def _write_cache(path: str, data: KnowledgeData) -> None:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            marshal.dump(data, fh)  # type: ignore[arg-type]
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home is fine: we validate again next time


def load_knowledge(data_dir: str | None = None, *, use_cache: bool = True) -> KnowledgeBase:
    """Return the :class:`KnowledgeBase`; raise ``KnowledgeValidationError`` if files are bad."""
    root = data_dir or _DATA_DIR
    if root in _loaded:
        return _loaded[root]
    use_cache = use_cache and not os.environ.get("IVIG_NO_CACHE")
    cache_path = os.path.join(cache_dir(), f"kb-{_cache_key(root)}.marshal") if use_cache else ""
    data = _read_cache(cache_path) if use_cache else None
    if data is not None and (data.get("meta") or {}).get("schema_version") != SCHEMA_VERSION:
        data = None  # cached by code of another schema version: check and validate afresh
    if data is None:
        from pathlib import Path

        from ivig.knowledge.validate import validate_directory

        check_schema_version(root)
        raw, errors = validate_directory(Path(root))
        if errors:
            raise KnowledgeValidationError(errors)
        data = raw  # type: ignore[assignment]
        assert data is not None
        if use_cache:
            _write_cache(cache_path, data)
    kb = KnowledgeBase(data)
    _loaded[root] = kb
    return kb
