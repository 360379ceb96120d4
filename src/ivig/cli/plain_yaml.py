"""A fast reader for the plain YAML request files are written in, so that ``ivig recommend
FILE`` does not import PyYAML (importing it and compiling its resolver's patterns costs more than
the recommendation).

:func:`load` reads only a strict subset: a block mapping of simple keys (``[A-Za-z_][A-Za-z0-9_]*``)
whose values are nested block mappings, block sequences of inline values, one-line flow
collections (``{a: 1, b: [x, y]}``), quoted strings without escapes, and plain scalars that are
plainly a word, a decimal integer, a decimal fraction, a YAML 1.1 boolean or null. Comments and
blank lines are skipped. For anything else - tabs, anchors, tags, block scalars, multi-line
values, dates, octal or sexagesimal numbers, duplicate keys, a document marker - it returns
``None`` and the caller asks PyYAML, which reads it or names the error. So for every text it
accepts, the result equals ``yaml.safe_load`` (``tests/cli/test_startup_plain_yaml.py`` compares
the two on generated and mutated documents).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    Line = tuple[int, str]

__all__ = ["load"]

#: YAML 1.1 booleans, as PyYAML's safe loader resolves them
_BOOLS = {
    **dict.fromkeys(("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
}
_NULLS = frozenset(("~", "null", "Null", "NULL"))
_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
#: characters of a plain scalar the reader vouches for (no indicator, quote, colon or hash)
_PLAIN_CHARS = _KEY_CHARS | frozenset(".-/~ ")
_MAX_DEPTH = 32


class _Refused(Exception):
    """The text is outside the subset (PyYAML decides)."""


def load(text: str) -> dict[str, object] | None:
    """``text`` as ``yaml.safe_load`` reads it when it is a mapping in the plain subset, else
    ``None``."""
    try:
        lines = _lines(text)
        if not lines or lines[0][0] != 0:
            return None
        mapping, end = _mapping(lines, 0, 0)
    except (_Refused, ValueError):
        return None
    return mapping if end == len(lines) else None


def _printable(text: str) -> bool:
    """Only line feeds, printable ASCII and the printable non-ASCII PyYAML reads unchanged
    (no tab, carriage return, byte-order mark or Unicode line separator)."""
    if text.isascii():
        return text.replace("\n", "").isprintable()
    return all(_printable_char(ch) for ch in text)


def _printable_char(ch: str) -> bool:
    if " " <= ch <= "~" or ch == "\n" or ch >= "\U00010000":
        return True
    if "\xa0" <= ch <= "\ud7ff":
        return ch not in "\u2028\u2029"
    return "\ue000" <= ch <= "\ufffd" and ch != "\ufeff"


def _lines(text: str) -> list[Line]:
    """(indent, content) of every line that holds more than a comment."""
    if not _printable(text):
        raise _Refused
    out = []
    for raw in text.split("\n"):
        content = _strip_comment(raw).rstrip(" ")
        if not content.strip(" "):
            continue
        stripped = content.lstrip(" ")
        indent = len(content) - len(stripped)
        if indent == 0 and stripped.startswith(("---", "...", "%")):
            raise _Refused  # a directive or a document marker
        out.append((indent, stripped))
    return out


def _strip_comment(line: str) -> str:
    """``line`` without its comment (a ``#`` at the start or after a space, outside quotes)."""
    if "#" not in line:
        return line
    i = 0
    while i < len(line):
        ch = line[i]
        if ch in "\"'":
            close = line.find(ch, i + 1)
            if close < 0:
                raise _Refused
            i = close
        elif ch == "#" and (i == 0 or line[i - 1] == " "):
            return line[:i]
        i += 1
    return line


def _key(content: str) -> tuple[str, str]:
    """The key of a ``key: value`` line and the rest of the line after the colon."""
    colon = content.find(":")
    key = content[:colon]
    if colon <= 0 or not set(key) <= _KEY_CHARS or key[0].isdigit():
        raise _Refused
    if key in _BOOLS or key in _NULLS:
        raise _Refused  # PyYAML makes it a boolean or a null, not a string
    rest = content[colon + 1 :]
    if rest and rest[0] != " ":
        raise _Refused
    return key, rest.strip(" ")


def _mapping(lines: list[Line], i: int, indent: int) -> tuple[dict[str, object], int]:
    """The block mapping whose keys are at ``indent``, from line ``i``; and the next line."""
    out: dict[str, object] = {}
    while i < len(lines) and lines[i][0] >= indent:
        if lines[i][0] > indent:
            raise _Refused  # a continuation line or a bad indentation
        key, rest = _key(lines[i][1])
        if key in out:
            raise _Refused  # PyYAML keeps the last; let it
        if rest:
            out[key] = _inline(rest)
            i += 1
        else:
            out[key], i = _nested(lines, i + 1, indent)
    return out, i


def _is_item(content: str) -> bool:
    return content == "-" or content.startswith("- ")


def _nested(lines: list[Line], i: int, indent: int) -> tuple[object, int]:
    """The value of a key at ``indent`` written on the lines below it, from line ``i``."""
    if i == len(lines):
        return None, i
    below, content = lines[i]
    if _is_item(content) and below >= indent:
        return _sequence(lines, i, below)
    if below > indent:
        return _mapping(lines, i, below)
    return None, i


def _sequence(lines: list[Line], i: int, indent: int) -> tuple[list[object], int]:
    """A block sequence of inline values whose dashes are at ``indent``."""
    out: list[object] = []
    while i < len(lines) and lines[i][0] == indent and _is_item(lines[i][1]):
        rest = lines[i][1][1:].strip(" ")
        if not rest:
            raise _Refused  # a nested block under the dash
        out.append(_inline(rest))
        i += 1
    if i < len(lines) and lines[i][0] > indent:
        raise _Refused
    return out, i


def _inline(text: str) -> object:
    """A value written on one line (the rest of a ``key:`` or ``-`` line)."""
    value, end = _value(text, 0, 0)
    if end != len(text):
        raise _Refused
    return value


def _value(text: str, j: int, depth: int) -> tuple[object, int]:
    if depth > _MAX_DEPTH or j >= len(text):
        raise _Refused
    first = text[j]
    if first == "{":
        return _flow_mapping(text, j + 1, depth + 1)
    if first == "[":
        return _flow_sequence(text, j + 1, depth + 1)
    if first in "\"'":
        return _quoted(text, j)
    end = j
    while end < len(text) and text[end] in _PLAIN_CHARS:
        end += 1
    return _plain(text[j:end].rstrip(" ")), end


def _skip_spaces(text: str, j: int) -> int:
    while j < len(text) and text[j] == " ":
        j += 1
    return j


def _flow_items(text: str, j: int, close: str) -> tuple[bool, int]:
    """After an item: (another item follows, position of it or after the closing bracket)."""
    j = _skip_spaces(text, j)
    if j < len(text) and text[j] == close:
        return False, j + 1
    if j < len(text) and text[j] == ",":
        j = _skip_spaces(text, j + 1)
        if j < len(text) and text[j] not in ",]}":
            return True, j
    raise _Refused  # an unclosed collection, a trailing comma or something unexpected


def _flow_mapping(text: str, j: int, depth: int) -> tuple[dict[str, object], int]:
    out: dict[str, object] = {}
    j = _skip_spaces(text, j)
    if j < len(text) and text[j] == "}":
        return out, j + 1
    more = True
    while more:
        colon = text.find(": ", j)
        if colon < 0:
            raise _Refused
        key, _ = _key(text[j : colon + 1])
        if key in out:
            raise _Refused
        out[key], j = _value(text, _skip_spaces(text, colon + 1), depth)
        more, j = _flow_items(text, j, "}")
    return out, j


def _flow_sequence(text: str, j: int, depth: int) -> tuple[list[object], int]:
    out: list[object] = []
    j = _skip_spaces(text, j)
    if j < len(text) and text[j] == "]":
        return out, j + 1
    more = True
    while more:
        item, j = _value(text, j, depth)
        out.append(item)
        more, j = _flow_items(text, j, "]")
    return out, j


def _quoted(text: str, j: int) -> tuple[str, int]:
    """A quoted string without escapes (no backslash, no doubled single quote)."""
    quote = text[j]
    close = text.find(quote, j + 1)
    if close < 0:
        raise _Refused
    body = text[j + 1 : close]
    if "\\" in body or text[close + 1 : close + 2] == quote:
        raise _Refused
    return body, close + 1


def _plain(token: str) -> object:
    """A plain scalar resolved as PyYAML's safe loader resolves it, when that is plain."""
    if not token or "  " in token:
        raise _Refused
    if token in _BOOLS:
        return _BOOLS[token]
    if token in _NULLS:
        return None
    first = token[0]
    if first.isalpha() or first == "_":
        return token
    return _number(token)


def _number(token: str) -> int | float:
    """A decimal integer (``-12``) or fraction (``0.5``), no leading zero, sign ``-`` only."""
    whole, dot, fraction = (token[1:] if token[0] == "-" else token).partition(".")
    if not whole.isdigit() or (len(whole) > 1 and whole[0] == "0"):
        raise _Refused
    if not dot:
        return int(token)
    if not fraction.isdigit():
        raise _Refused
    return float(token)
