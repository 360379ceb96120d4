"""The compact JSON writer of the command line (issue 20) writes what :func:`json.dumps` writes."""

from __future__ import annotations

import enum
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivig.cli._json_text import dumps

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


def _reference(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str, separators=(",", ":"))


class _Level(enum.IntEnum):
    LOW = 1


class _Text(str):
    def __str__(self) -> str:
        return "not this"


class _Other:
    def __str__(self) -> str:
        return 'an "object"\n'


_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.sampled_from([_Level.LOW, _Text("sub"), _Other(), float("nan"), -0.0, 1e300])
)
_keys = st.text() | st.integers() | st.floats() | st.booleans() | st.none()
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(_keys, inner, max_size=4)
    ),
    max_leaves=20,
)


@given(_values)
def test_the_text_is_json_dumps_text(obj: object) -> None:
    assert dumps(obj) == _reference(obj)


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)) | st.text())
def test_every_string_is_escaped_as_json_escapes_it(text: str) -> None:
    assert dumps([text, {text: text}]) == _reference([text, {text: text}])


def test_a_key_json_refuses_is_refused() -> None:
    with pytest.raises(TypeError, match="keys must be str, int, float, bool or None"):
        dumps({(1, 2): 3})


def test_a_cycle_is_refused_as_json_refuses_it() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference detected"):
        dumps(loop)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_recommendation_is_written_as_json_writes_it(path: Path) -> None:
    from ivig.app.recommend import recommend
    from ivig.cli.recommend import load_request_file
    from ivig.knowledge import load_knowledge

    rec = dict(recommend(load_knowledge(), load_request_file(str(path))))
    assert dumps(rec) == _reference(rec)
