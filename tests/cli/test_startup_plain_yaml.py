"""The command line's plain-YAML reader (``ivig.cli.plain_yaml``) reads a request exactly as
``yaml.safe_load`` does, or declines and leaves it to PyYAML: checked on the example requests,
on the scalars YAML 1.1 resolves in surprising ways, on generated documents and on mutated
examples."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ivig.cli.plain_yaml import load

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
ERROR = object()


def _pyyaml(text: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return ERROR


def _same(fast: object, slow: object) -> bool:
    """Equal values of equal types, all the way down (1 and True and 1.0 differ)."""
    if type(fast) is not type(slow):
        return False
    if isinstance(fast, dict):
        assert isinstance(slow, dict)
        return list(fast) == list(slow) and all(_same(fast[k], slow[k]) for k in fast)
    if isinstance(fast, list):
        assert isinstance(slow, list)
        return len(fast) == len(slow) and all(_same(a, b) for a, b in zip(fast, slow, strict=True))
    return fast == slow


def _agrees(text: str) -> bool:
    """The fast reader declines ``text`` or reads what PyYAML reads."""
    fast = load(text)
    return fast is None or _same(fast, _pyyaml(text))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_request_is_read_as_pyyaml_reads_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fast = load(text)
    assert fast is not None, "the example should take the fast path"
    assert _same(fast, yaml.safe_load(text))


#: plain scalars whose YAML 1.1 meaning is not the obvious one, or that are not plain at all
TRICKY = [
    "yes", "No", "ON", "off", "y", "n", "true", "False", "TRUE", "null", "Null", "NULL", "~",
    "nil", "None", "017", "00", "0", "-0", "+1", "1_000", "0x1f", "0b11", "0o7", "1e3",
    "1.5e+3", "1.5E-3", ".5", "5.", "-.5", "1.0", "-0.0", "0.10", "3.14", ".inf", "-.inf",
    ".nan", "2024-01-01", "2024-1-1 10:00:00", "1:30", "190:20:30", "<<", "=", "-", "--", "- a",
    "a b", "a  b", "a #b", "a#b", "a: b", "a:b", "'a'", '"a"', "'it''s'", '"a\\tb"', "a'b",
    'a"b', "!!str 1", "&x a", "*x", "|", ">", "@a", "`a", "%a", "?a", "? a", "a,b", "[a]",
    "{a: 1}", "[]", "{}", "{a: }", "[a,]", "a/b", "/a", "a.b", "_", "_a", "a-", "café",
    "\u00e9t\u00e9", "x\ty", "é", "\ufeffa", "a\u2028b", "12345678901234567890",
]  # fmt: skip
CONTEXTS = [
    "key: {}\n", "key: [{}]\n", "key: [x, {}]\n", "key: {{a: {}}}\n", "key:\n  - {}\n",
    "key:\n- {}\n", "{}: 1\n", "outer:\n  {}: 1\n", "key: {{{}: 1}}\n", "key: {} # c\n",
]  # fmt: skip


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("token", TRICKY)
def test_a_tricky_scalar_is_read_as_pyyaml_reads_it_or_declined(token: str, context: str) -> None:
    text = context.format(token)
    assert _agrees(text), (text, load(text), _pyyaml(text))


#: scalars the fast reader must accept (else it would be no faster than PyYAML)
PLAIN = ["gbs", "cidp.maintenance", "octagam-10", "a b", "0", "54", "-3", "1.5", "0.02", "true",
         "False", "yes", "off", "null", "~", "'x y'", '"x: y"', "_a"]  # fmt: skip


@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("token", PLAIN)
def test_plain_scalars_take_the_fast_path(token: str, context: str) -> None:
    text = context.format(token)
    if context.startswith(("{}", "outer", "key: {{{}")) and not token.replace("_", "").isalpha():
        return  # keys must be simple words
    fast = load(text)
    if token in ("yes", "off", "null", "~", "true", "False") and "{}: 1" in context:
        assert fast is None  # a boolean or null key is left to PyYAML
        return
    assert fast is not None, text
    assert _same(fast, yaml.safe_load(text))


def test_what_is_not_a_mapping_of_plain_values_is_declined() -> None:
    for text in ["", "# only a comment\n", "- a\n- b\n", "a\n", "  a: 1\n", "---\na: 1\n",
                 "%YAML 1.1\n---\na: 1\n", "a: 1\na: 2\n", "a: 1\n  b: 2\n", "a:\n  b: 1\n c: 2\n",
                 "a: |\n  text\n", "a: >\n  text\n", "a: &x 1\nb: *x\n", "a: !!int 1\n",
                 "a:\n  - b: 1\n", "a:\n  -\n    b\n", "a: {b: 1,\n  c: 2}\n", "a: 'x\n  y'\n",
                 "a:\tb\n", "a: b\r\n", "\ufeffa: 1\n", "a: b\n  c\n", "? a\n: b\n"]:  # fmt: skip
        assert load(text) is None, text


_WORDS = st.sampled_from(["a", "b", "gbs", "x_1", "sex", "weight_kg", "_k"])
_KEYS = st.one_of(_WORDS, st.sampled_from(["yes", "null", "1", "a b", "a-b", "on", "é", "a:"]))
_TOKENS = st.one_of(
    st.sampled_from(TRICKY),
    st.sampled_from(PLAIN),
    st.text(alphabet="ab01-._ :#'\"/{}[],~&*!|>%@`?\\é\t", max_size=6),
)


def _inline(value: object) -> str:
    if isinstance(value, list) and value and isinstance(value[0], tuple):
        return "{" + ", ".join(f"{k}: {_inline(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return str(value)


def _values(tokens: st.SearchStrategy[str], unique: bool) -> st.SearchStrategy[object]:
    pairs = st.lists(
        st.tuples(_WORDS, tokens),
        min_size=1,
        max_size=3,
        unique_by=(lambda p: p[0]) if unique else None,
    )
    return st.one_of(tokens, st.lists(tokens, max_size=3), pairs)


@st.composite
def _documents(
    draw: st.DrawFn,
    keys: st.SearchStrategy[str],
    tokens: st.SearchStrategy[str],
    unique: bool = False,
    depth: int = 0,
) -> list[str]:
    """Lines of a block mapping of ``keys`` (each once if ``unique``) in a random style (flow or
    block, comments, indentation), its values drawn from ``tokens``."""
    step = draw(st.integers(1, 4))
    lines: list[str] = []
    values = _values(tokens, unique)
    for key in draw(st.lists(keys, min_size=1, max_size=4, unique=unique)):
        comment = draw(st.sampled_from(["", " # note", "  #x"]))
        kind = draw(st.sampled_from(["inline", "nested", "sequence"] if depth < 2 else ["inline"]))
        if kind == "nested":
            lines.append(f"{key}:{comment}")
            nested = draw(_documents(keys, tokens, unique, depth + 1))
            lines += [" " * step + line for line in nested]
        elif kind == "sequence":
            lines.append(f"{key}:")
            dash = " " * draw(st.sampled_from([0, step]))
            lines += [f"{dash}- {_inline(v)}" for v in draw(st.lists(values, max_size=3))]
        else:
            space = draw(st.sampled_from([" ", "  "]))
            lines.append(f"{key}:{space}{_inline(draw(values))}{comment}")
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", "# a comment", "   "])))
    return lines


@settings(max_examples=400, deadline=None)
@given(lines=_documents(_KEYS, _TOKENS))
def test_generated_documents_are_read_as_pyyaml_reads_them_or_declined(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    assert _agrees(text), (text, load(text), _pyyaml(text))


_SAFE_TOKENS = st.sampled_from(PLAIN)


@settings(max_examples=300, deadline=None)
@given(lines=_documents(_WORDS, _SAFE_TOKENS, unique=True))
def test_generated_plain_documents_take_the_fast_path(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    fast = load(text)
    assert fast is not None, text
    assert _same(fast, yaml.safe_load(text)), text


@settings(max_examples=400, deadline=None)
@given(
    path=st.sampled_from(EXAMPLES),
    edits=st.lists(
        st.tuples(
            st.floats(0, 1),
            st.sampled_from(["insert", "replace", "delete"]),
            st.sampled_from(list(" :#-{}[],'\"\n\r\t!&*|>%~.0a\\é\u2028")),
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_mutated_examples_are_read_as_pyyaml_reads_them_or_declined(
    path: Path, edits: list[tuple[float, str, str]]
) -> None:
    text = path.read_text(encoding="utf-8")
    for where, how, char in edits:
        at = int(where * len(text))
        keep = text[at + 1 :] if how != "insert" else text[at:]
        text = text[:at] + ("" if how == "delete" else char) + keep
    assert _agrees(text), (text, load(text), _pyyaml(text))
