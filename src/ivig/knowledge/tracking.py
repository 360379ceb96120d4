"""Which clinical numbers a computation reads: a knowledge base that records its reads.

:func:`tracked_knowledge` copies the data into dicts and lists that note the path of every
number read from them, in the form :mod:`ivig.knowledge.stats` counts numbers
(``products[16].iga[0].iga_ug_per_ml``), so that the numbers a recommendation really uses can be
set beside their ``verified`` flags (``ivig kb paths``). Reading a record whole (``dict(r)``,
``{**r}``, iterating its items) counts every number in it as read; so does a record handed on in
a result (see :func:`mark_results`): the count errs on the side of *used*.

Only for reports and tests: the copy is slower than the plain data, and read-only use is assumed
(the knowledge base is never written to).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = ["Reads", "mark_results", "tracked_knowledge"]

#: the paths of the numbers read so far
Reads = set[str]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _child(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


class _Dict(dict[str, Any]):
    """A dict noting each number read from it (by key, ``get``, items, values or a copy)."""

    __slots__ = ("_path", "_reads")

    def __init__(self, items: dict[str, Any], path: str, reads: Reads) -> None:
        super().__init__(items)
        self._path = path
        self._reads = reads

    def _note(self, key: str, value: Any) -> Any:
        if _is_number(value):
            self._reads.add(_child(self._path, key))
        return value

    def __getitem__(self, key: str) -> Any:
        return self._note(key, dict.__getitem__(self, key))

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if dict.__contains__(self, key) else default

    def __iter__(self) -> Iterator[str]:  # a copy (dict(r), {**r}) then reads item by item
        return iter(list(dict.keys(self)))

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        return [(key, self[key]) for key in dict.keys(self)]

    def values(self) -> list[Any]:  # type: ignore[override]
        return [self[key] for key in dict.keys(self)]

    def copy(self) -> dict[str, Any]:
        return {key: self[key] for key in dict.keys(self)}


class _List(list[Any]):
    """A list noting each number read from it (by index, slice, iteration or membership)."""

    __slots__ = ("_path", "_reads")

    def __init__(self, items: list[Any], path: str, reads: Reads) -> None:
        super().__init__(items)
        self._path = path
        self._reads = reads

    def _note(self, index: int, value: Any) -> Any:
        if _is_number(value):
            self._reads.add(f"{self._path}[{index}]")
        return value

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            positions = range(len(self))[index]
            return [self._note(i, list.__getitem__(self, i)) for i in positions]
        position = index if index >= 0 else len(self) + index
        return self._note(position, list.__getitem__(self, index))

    def __iter__(self) -> Iterator[Any]:
        for i, value in enumerate(list.__iter__(self)):
            yield self._note(i, value)

    def __contains__(self, value: object) -> bool:
        return any(item == value for item in self)


def _wrap(node: Any, path: str, reads: Reads) -> Any:
    if isinstance(node, dict):
        return _Dict({k: _wrap(v, _child(path, k), reads) for k, v in node.items()}, path, reads)
    if isinstance(node, list):
        return _List([_wrap(v, f"{path}[{i}]", reads) for i, v in enumerate(node)], path, reads)
    return node


def tracked_knowledge(kb: KnowledgeBase) -> tuple[KnowledgeBase, Reads]:
    """A copy of ``kb`` whose data notes every number read, and the set it notes them in."""
    from ivig.knowledge.base import KnowledgeBase

    reads: Reads = set()
    data = {key: _wrap(value, key, reads) for key, value in dict(kb.data).items()}
    return KnowledgeBase(data), reads  # type: ignore[arg-type]


def _read_all(node: Any) -> None:
    if isinstance(node, _Dict):
        for value in node.values():
            _read_all(value)
    elif isinstance(node, _List):
        for value in node:
            _read_all(value)


def mark_results(result: Any) -> None:
    """Count as read every number of a knowledge record passed on whole inside ``result``."""
    if isinstance(result, _Dict | _List):
        _read_all(result)
    elif isinstance(result, dict):
        for value in result.values():
            mark_results(value)
    elif isinstance(result, list | tuple):
        for value in result:
            mark_results(value)
