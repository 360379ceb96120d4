"""Plain words for the pages: the one glossary of the web application.

Labels shown to a user come from a display name in the knowledge base (conditions,
indications, products, scores, policies, jurisdictions, rate records) or from :data:`WORDS`
(the vocabulary of statuses, roles and phases). :func:`plain` turns a text that may hold an
internal id or a research-note phrase into words a nurse or pharmacist reads.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = ["DENY", "WORDS", "name", "names_of", "plain", "where", "word"]

#: enumeration values as words (everything else: the value with underscores as spaces)
WORDS: dict[str, str] = {
    "one_off": "one-off",
    "first_line": "first line",
    "second_line": "second line",
    "supported_with_conditions": "supported with conditions",
    "insufficient_information": "more information needed",
    "not_supported": "not supported",
    "out_of_scope": "outside ivig's scope",
    "on_reaction": "on a reaction",
    "trial_off": "trial off treatment",
    "no_date": "no date",
    "iv": "intravenous",
    "sc": "subcutaneous",
}

#: phrases of the research notes and their plain replacement (regular expression -> words)
_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\s*\(research key [^)]*\)"), ""),
    (re.compile(r"Seed reviews \(\d+-\d+\)"), "Published reviews"),
    (re.compile(r"not seen in the stored pages"), "not found in the published criteria"),
    (re.compile(r"\bseed reviews?\b", re.IGNORECASE), "published reviews"),
)

#: internal words no page may show (the plain-words test scans rendered pages for them)
DENY: tuple[str, ...] = (
    "research key",
    "Seed reviews",
    "stored pages",
    "unverified review plan of",
    "record privigen",
    "Traceback",
    ".yaml",
)

_TOKEN = re.compile(r"[a-z0-9][a-z0-9_.-]*[a-z0-9]")


def word(value: object) -> str:
    """An enumeration value as a word."""
    text = str(value or "")
    return WORDS.get(text, text.replace("_", " "))


@lru_cache(maxsize=4)
def _names(kb: KnowledgeBase) -> dict[str, str]:
    data = kb.data
    out: dict[str, str] = {}
    for cond in data["conditions"]:
        out[cond["id"]] = cond["name"]
        for ind in cond.get("indications", []):
            out[ind["id"]] = ind.get("name", cond["name"])
            for reg in ind.get("regimens", []):
                if isinstance(reg, dict) and "id" in reg and reg.get("label"):
                    out.setdefault(reg["id"], f"regimen {reg['label']}")
    for product in data["products"]:
        out[product["id"]] = product["name"]
        for record in product.get("iv_rates", []) or []:
            if isinstance(record, dict) and "id" in record:
                out[record["id"]] = f"{product['name']} label rates"
    for score in data.get("scores", []):
        out[score["id"]] = score.get("name", score["id"])
    for policy in data["dosing"]["policies"]:
        out[policy["id"]] = policy.get("name", policy["id"])
    for jur in data["jurisdictions"]:
        out[jur["id"]] = jur["name"]
    return out


@lru_cache(maxsize=4)
def _id_like(kb: KnowledgeBase) -> dict[str, str]:
    """The ids that cannot be ordinary words (dotted or hyphenated, or a product's id, which is
    its brand): safe to replace in text. Short condition ids such as ``mg`` are not."""
    products = {p["id"] for p in kb.data["products"]}
    out = {k: v for k, v in _names(kb).items() if "." in k or "-" in k or k in products}
    for finding in kb.data["findings"]:  # snake_case finding names read as words
        if "_" in finding["name"]:
            out.setdefault(finding["name"], finding["name"].replace("_", " "))
    return out


def names_of(kb: KnowledgeBase) -> dict[str, str]:
    """Every knowledge id (conditions, indications, products, scores, ...) to its name."""
    return _names(kb)


def name(kb: KnowledgeBase, ident: object) -> str:
    """The display name of one knowledge id (the id itself when the knowledge lacks it)."""
    text = str(ident or "")
    return _names(kb).get(text, text.replace("_", " "))


_SEGMENT = re.compile(r"([A-Za-z_]+)(?:\[([^\]]+)\])?")


def where(kb: KnowledgeBase, path: str) -> str:
    """A knowledge path (``conditions[gbs].indications[gbs.initial].review``) as words
    (``Guillain-Barré syndrome › GBS with … › review``)."""
    names = _names(kb)
    parts: list[str] = []
    for key, ident in _SEGMENT.findall(path):
        if not ident:
            parts.append(word(key))
        elif ident.isdigit():
            parts.append(f"{word(key)} {int(ident) + 1}")
        elif ident in names:
            parts.append(names[ident])
        else:
            parts.append(f"{word(key)}: {plain(kb, ident)}")
    return " › ".join(parts)


def plain(kb: KnowledgeBase, text: object) -> str:
    """``text`` with knowledge ids replaced by their names and research phrases reworded."""
    out = str(text or "")
    for pattern, repl in _PHRASES:
        out = pattern.sub(repl, out)
    names = _id_like(kb)
    return _TOKEN.sub(lambda m: names.get(m.group(0), m.group(0)), out)
