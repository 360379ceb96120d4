"""The first load of a data directory, when no current cache file holds it: the schema version
checked (:class:`SchemaVersionError`), the YAML files validated (PyYAML and pydantic), and the
validated data written to the cache file that later loads read (:mod:`ivig.knowledge.loader`,
which imports this module only then).
"""

from __future__ import annotations

import marshal
import os

from ivig.errors import KnowledgeValidationError
from ivig.knowledge import loader  # its settings read when used (tests change them)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase
    from ivig.knowledge.schema import KnowledgeData

__all__ = ["SchemaVersionError", "check_schema_version", "shared", "validated", "write_cache"]


class SchemaVersionError(KnowledgeValidationError):
    """The data's ``schema_version`` (in ``meta.yaml``) is not the one this code reads."""

    def __init__(self, path: str, found: object) -> None:
        self.found = found
        self.expected = expected = loader.SCHEMA_VERSION
        state = "is missing" if found is None else f"is {found!r}"
        super().__init__(
            [
                f"{path}: schema_version {state}; this ivig reads knowledge-base schema version "
                f"{expected} (an integer): use data of that version or the ivig release "
                "that matches the data"
            ]
        )


def check_schema_version(root: str) -> None:
    """Raise :class:`SchemaVersionError` unless ``root/meta.yaml`` is of
    :data:`~ivig.knowledge.loader.SCHEMA_VERSION`.

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
    if type(found) is not int or found != loader.SCHEMA_VERSION:
        raise SchemaVersionError(path, found)


def shared(node: object, strings: dict[str, str]) -> object:
    """``node`` with every equal string one object, so that marshal writes a repeated key or id
    once and reads it back as a reference (a smaller file, read about 10 % faster)."""
    if isinstance(node, str):
        return strings.setdefault(node, node)
    if isinstance(node, dict):
        return {shared(k, strings): shared(v, strings) for k, v in node.items()}
    if isinstance(node, list):
        return [shared(v, strings) for v in node]
    return node


def write_cache(path: str, kb: KnowledgeBase) -> None:
    for name, section in loader._CACHED_TERMS.items():
        kb._terms(name, kb.data[section])  # type: ignore[literal-required]
    index = {f"terms:{name}": kb._index[f"terms:{name}"] for name in loader._CACHED_TERMS}
    cached = shared({"layout": loader._CACHE_LAYOUT, "data": kb.data, "index": index}, {})
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            marshal.dump(cached, fh)  # type: ignore[arg-type]
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home is fine: we validate again next time


def validated(root: str) -> KnowledgeData:
    """The data files under ``root``, checked and validated (PyYAML and pydantic)."""
    from pathlib import Path

    from ivig.knowledge.validate import validate_directory

    check_schema_version(root)
    raw, errors = validate_directory(Path(root))
    if errors:
        raise KnowledgeValidationError(errors)
    data: KnowledgeData = raw  # type: ignore[assignment]
    return data
