"""Load the knowledge base once, fast.

The first load (:mod:`ivig.knowledge.first_load`, imported only then) validates the YAML files
(``ivig.knowledge.validate``: PyYAML + pydantic) and writes the validated data to a cache file
with :mod:`marshal`, with the term index that resolves a condition name (built from the same
data by :class:`KnowledgeBase`); later loads read that file, so commands such as ``ivig dose``
import neither library and ``ivig recommend`` does not rebuild the index. The cache key covers
the data files' names, sizes and modification times, those of the knowledge package's own code
(the validator and the index builder), the engine version, the Python version and the cache
layout; a stale or unreadable cache is ignored and rebuilt. Set ``IVIG_CACHE_DIR`` to move the
cache, or ``IVIG_NO_CACHE=1`` to always validate.

The data states the version of its layout in ``meta.yaml`` (``schema_version``); the loader reads
only :data:`SCHEMA_VERSION` and refuses any other with
:class:`~ivig.knowledge.first_load.SchemaVersionError` before validating, so data written for
another ivig fails with one clear message, not a list of schema errors.
"""

from __future__ import annotations

import marshal
import os
import sys

from ivig import ENGINE_VERSION
from ivig.knowledge.base import KnowledgeBase

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from ivig.knowledge.schema import KnowledgeData

__all__ = ["SCHEMA_VERSION", "cache_digest", "cache_dir", "clear_cache", "load_knowledge"]

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
    return cache_digest("\n".join(parts))


def cache_digest(text: str) -> str:
    """A short name for ``text`` that is the same in every process (for a cache file's name).

    The text's bytes read as one integer, hashed: Python salts the hashes of strings and bytes
    per process, never those of integers (an integer's hash is its value modulo the prime
    2**61 - 1 on 64-bit builds), so this needs neither zlib nor hashlib at start-up. Not a
    cryptographic digest; the length is added.
    """
    blob = text.encode()
    return f"{hash(int.from_bytes(blob, 'little')) & 0xFFFFFFFFFFFFFFFF:016x}{len(blob):x}"


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
            from ivig.knowledge.first_load import write_cache

            write_cache(cache_path, kb)
    _loaded[root] = kb
    return kb


def _validated(root: str) -> KnowledgeData:
    """The data files under ``root``, checked and validated (:mod:`ivig.knowledge.first_load`)."""
    from ivig.knowledge.first_load import validated

    return validated(root)
