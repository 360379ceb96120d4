"""Load the knowledge base once, fast.

The first load validates the YAML files (``ivig.knowledge.validate``: PyYAML + pydantic) and
writes the validated data to a cache file with :mod:`marshal`, with the term index that resolves
a condition name (built from the same data by :class:`KnowledgeBase`); later loads read that
file, so commands such as ``ivig dose`` import neither library and ``ivig recommend`` does not
rebuild the index. The cache key covers the data files' names, sizes and modification times,
those of the knowledge package's own code (the validator and the index builder), the engine
version, the Python version and the cache layout; a stale or unreadable cache is ignored and
rebuilt. Set ``IVIG_CACHE_DIR`` to move the cache, or ``IVIG_NO_CACHE=1`` to always validate.

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

_CODE_DIR = os.path.dirname(__file__)
_DATA_DIR = os.path.join(_CODE_DIR, "data")
#: layout of a cache file: ``{"layout": _CACHE_LAYOUT, "data": ..., "index": ...}``
_CACHE_LAYOUT = 2
#: the :class:`KnowledgeBase` term indexes a cache file holds (``kb._index`` keys; they resolve
#: condition names and non-neurological uses, on every recommendation)
_CACHED_TERMS = {"conditions": "conditions", "non_neuro": "non_neuro_uses"}
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


def _stamps(folder: str, suffix: str, parts: list[str], *, recurse: bool) -> None:
    """Append ``path:size:mtime`` of every ``*suffix`` file under ``folder`` to ``parts``."""
    stack = [folder]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.name.endswith(suffix) and entry.is_file():
                    st = entry.stat()
                    parts.append(f"{entry.path}:{st.st_size}:{st.st_mtime_ns}")
                elif recurse and entry.is_dir():
                    stack.append(entry.path)


def _cache_key(root: str) -> str:
    parts: list[str] = [ENGINE_VERSION, str(SCHEMA_VERSION), str(_CACHE_LAYOUT), sys.version]
    parts.append(os.path.abspath(root))
    _stamps(root, ".yaml", parts, recurse=True)
    _stamps(_CODE_DIR, ".py", parts, recurse=False)
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


def _read_cache(path: str) -> KnowledgeBase | None:
    """The knowledge base a cache file holds, its term indexes in place; ``None`` when the file
    is missing, unreadable, of another layout or of another schema version."""
    try:
        with open(path, "rb") as fh:
            cached = marshal.loads(fh.read())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not isinstance(cached, dict) or cached.get("layout") != _CACHE_LAYOUT:
        return None
    data, index = cached.get("data"), cached.get("index")
    if not isinstance(data, dict) or "version" not in data or not isinstance(index, dict):
        return None
    if (data.get("meta") or {}).get("schema_version") != SCHEMA_VERSION:
        return None  # cached by code of another schema version: check and validate afresh
    kb = KnowledgeBase(data)  # type: ignore[arg-type]
    kb._index.update(index)
    return kb


def _shared(node: object, strings: dict[str, str]) -> object:
    """``node`` with every equal string one object, so that marshal writes a repeated key or id
    once and reads it back as a reference (a smaller file, read about 10 % faster)."""
    if isinstance(node, str):
        return strings.setdefault(node, node)
    if isinstance(node, dict):
        return {_shared(k, strings): _shared(v, strings) for k, v in node.items()}
    if isinstance(node, list):
        return [_shared(v, strings) for v in node]
    return node


def _write_cache(path: str, kb: KnowledgeBase) -> None:
    for name, section in _CACHED_TERMS.items():
        kb._terms(name, kb.data[section])  # type: ignore[literal-required]
    index = {f"terms:{name}": kb._index[f"terms:{name}"] for name in _CACHED_TERMS}
    cached = _shared({"layout": _CACHE_LAYOUT, "data": kb.data, "index": index}, {})
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            marshal.dump(cached, fh)  # type: ignore[arg-type]
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
    kb = _read_cache(cache_path) if use_cache else None
    if kb is None:
        kb = KnowledgeBase(_validated(root))
        if use_cache:
            _write_cache(cache_path, kb)
    _loaded[root] = kb
    return kb


def _validated(root: str) -> KnowledgeData:
    """The data files under ``root``, checked and validated (PyYAML and pydantic)."""
    from pathlib import Path

    from ivig.knowledge.validate import validate_directory

    check_schema_version(root)
    raw, errors = validate_directory(Path(root))
    if errors:
        raise KnowledgeValidationError(errors)
    data: KnowledgeData = raw  # type: ignore[assignment]
    return data
