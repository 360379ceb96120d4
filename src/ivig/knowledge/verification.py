"""Generate ``docs/verification.md``: every unverified fact, why, and what would settle it.

A fact is a record with ``sources`` and ``verified``. The reason is derived from the data (only
secondary sources, or a primary source not yet read for the value, with the record's own note)
and so is the source that would settle it. ``ivig kb verification`` prints the document; a test
keeps the committed copy current.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypedDict

from ivig.knowledge.stats import compute_stats

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = ["MainPaths", "main_path_facts", "render_verification_markdown", "unverified_facts"]

#: collections that hold no facts to verify
_SKIP = ("meta", "version", "sources", "findings")
#: keys whose value names a record in a readable path
_NAME_KEYS = ("id", "name", "field", "system", "code")


def _label(node: dict[str, Any], key: str) -> str:
    for name in _NAME_KEYS:
        value = node.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
    return key


def _walk(
    node: Any, trail: tuple[str, ...], path: str
) -> Iterator[tuple[tuple[str, ...], str, dict[str, Any]]]:
    """Every dict under ``node`` with its readable trail and its path as
    :func:`ivig.knowledge.stats.number_flags` spells it."""
    if isinstance(node, dict):
        yield trail, path, node
        for key, value in node.items():
            if key == "sources":
                continue
            if isinstance(value, dict):
                yield from _walk(value, (*trail, _label(value, key)), f"{path}.{key}")
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    name = _label(item, f"{key}[{i}]") if isinstance(item, dict) else key
                    yield from _walk(item, (*trail, name), f"{path}.{key}[{i}]")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            name = _label(item, f"[{i}]") if isinstance(item, dict) else f"[{i}]"
            yield from _walk(item, (*trail, name), f"{path}[{i}]")


def _numbers(node: dict[str, Any]) -> str:
    """The record's own numbers (not those of nested facts), e.g. ``min 1, max 2``."""
    shown = []
    for key, value in node.items():
        if key in ("sources", "verified", "rank"):
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            shown.append(f"{key} {value:g}")
        elif (
            isinstance(value, dict) and "min" in value and "max" in value and "sources" not in value
        ):
            shown.append(f"{key} {value['min']:g}-{value['max']:g}")
    return ", ".join(shown[:6])


def unverified_facts(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """Every ``verified: false`` fact with its place, reason and the source that would settle it."""
    sources = {s["id"]: s for s in kb.data["sources"]}
    out: list[dict[str, Any]] = []
    for key, value in dict(kb.data).items():
        if key in _SKIP:
            continue
        for trail, path, node in _walk(value, (key,), key):
            if node.get("verified") is not False or not node.get("sources"):
                continue
            refs = node["sources"]
            secondary = [r["id"] for r in refs if sources[r["id"]].get("tier") == "secondary"]
            primary = [r for r in refs if sources[r["id"]].get("tier") != "secondary"]
            out.append(
                {
                    "where": " › ".join(trail),
                    "path": path,
                    "numbers": _numbers(node),
                    "why": _why(node, secondary, primary),
                    "settle": _settle(secondary, primary, sources),
                }
            )
    return out


def _owner(number_path: str, fact_paths: list[str]) -> str | None:
    """The innermost fact path that holds the number at ``number_path``."""
    best = None
    for path in fact_paths:
        inside = number_path.startswith(path) and number_path[len(path) : len(path) + 1] in ".["
        if inside and (best is None or len(path) > len(best)):
            best = path
    return best


def main_path_facts(kb: KnowledgeBase, used: set[str]) -> list[dict[str, Any]]:
    """The unverified facts (as :func:`unverified_facts`) holding a number in ``used``: the
    paths of the numbers a computation read (:mod:`ivig.knowledge.tracking`)."""
    facts = unverified_facts(kb)
    by_path = {fact["path"]: fact for fact in facts}
    paths = list(by_path)
    owners = {_owner(number, paths) for number in used}
    return [fact for fact in facts if fact["path"] in owners]


def _why(node: dict[str, Any], secondary: list[str], primary: list[dict[str, Any]]) -> str:
    if not primary:
        why = f"only secondary sources ({', '.join(secondary)})"
    else:
        why = "not confirmed in the cited primary source"
    note = node.get("note")
    if isinstance(note, str) and note:
        why += f"; note: {note}"
    return why


def _settle(secondary: list[str], primary: list[dict[str, Any]], sources: dict[str, Any]) -> str:
    if primary:
        parts = []
        for ref in primary:
            where = f" ({ref['locator']})" if ref.get("locator") else ""
            parts.append(f"{ref['id']}{where}")
        return "the value read in " + "; ".join(parts)
    cited = "; ".join(sources[i]["citation"].rstrip(".") for i in secondary)
    return (
        f"the primary document behind: {cited} (for a product its label on DailyMed/FDA, EMA, "
        "medicines.org.uk or TGA; otherwise the guideline, criteria or paper itself, by DOI/PMID)"
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


class MainPaths(TypedDict):
    """What the main recommendations read (:mod:`ivig.app.kb_usage`), for the first section."""

    #: what was run, in words
    described: str
    #: the paths of the numbers they read
    used: set[str]
    numbers_used: int
    numbers_used_verified: int


def _row(fact: dict[str, Any]) -> str:
    return (
        f"| {_cell(fact['where'])} | {_cell(fact['numbers'])} | {_cell(fact['why'])} "
        f"| {_cell(fact['settle'])} |"
    )


_HEAD = ["| Fact | Numbers | Why | What would settle it |", "|---|---|---|---|"]


def _main_section(kb: KnowledgeBase, main: MainPaths) -> list[str]:
    facts = main_path_facts(kb, main["used"])
    share = main["numbers_used_verified"] / main["numbers_used"] if main["numbers_used"] else 1.0
    lines = [
        "",
        "## On the main paths",
        "",
        f"{main['described']} read {main['numbers_used']} clinical numbers; "
        f"{main['numbers_used_verified']} ({share:.1%}) are verified. The {len(facts)} facts "
        "below hold the others (`ivig kb paths` prints the figures and each number). They are "
        "listed again in their sections.",
        "",
        *_HEAD,
    ]
    return lines + [_row(fact) for fact in facts]


def render_verification_markdown(kb: KnowledgeBase, main: MainPaths | None = None) -> str:
    """The list of unverified facts, grouped by collection (deterministic); with ``main``,
    first those the main recommendations use."""
    stats = compute_stats(kb)
    facts = unverified_facts(kb)
    lines = [
        "# Unverified facts",
        "",
        "<!-- Generated by `ivig kb verification` from src/ivig/knowledge/data. "
        "Do not edit by hand. -->",
        "",
        f"Knowledge `{kb.version}`: {stats['facts_verified']} of {stats['facts']} facts and "
        f"{stats['numbers_verified']} of {stats['numbers']} clinical numbers "
        f"({stats['numbers_verified_share']:.1%}) are verified. The {len(facts)} facts below are "
        "not: every output that uses one says so. A fact becomes verified only when its value is "
        "seen in a primary source (the label, guideline, criteria or paper itself); a secondary "
        "source (mirror, drug database, handout, reproduction) cannot make it so.",
        "",
    ]
    if main is not None:
        lines += _main_section(kb, main)
    current = None
    for fact in facts:
        section = fact["where"].split(" › ")[0]
        if section != current:
            current = section
            lines += ["", f"## {section}", "", *_HEAD]
        lines.append(_row(fact))
    lines.append("")
    return "\n".join(lines)
