"""Clinical scores: item-by-item validation, total, range, interpretation, MCID and sources.

Pure functions over the score records of the knowledge base (``scores/<id>.yaml``). Every
number (allowed item values, ranges, bands, MCIDs) comes from the record; this module only
validates, adds up and reports. Bad input raises :class:`~ivig.errors.InputError` naming the
item, the value and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ivig.core.prognosis import gbs_prognosis, prognosis_from_findings
from ivig.errors import InputError, MissingFieldError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from ivig.knowledge.base import KnowledgeBase
    from ivig.knowledge.schema_scores import Score, ScoreItem

__all__ = [
    "compute_change",
    "compute_score",
    "gbs_prognosis",
    "item_allowed_text",
    "item_points",
    "list_scores",
    "parse_item_value",
    "prognosis_from_findings",
    "score_record",
]


def score_record(kb: KnowledgeBase, score_id: str) -> Score:
    """The score record ``score_id`` (a clear error naming the nearest ids when unknown)."""
    return kb.score(score_id)


def list_scores(kb: KnowledgeBase) -> list[Score]:
    """Every score and outcome measure, sorted by id."""
    scores: list[Score] = kb.data["scores"]
    return sorted(scores, key=lambda s: s["id"])


def item_allowed_text(item: ScoreItem) -> str:
    """What ``item`` accepts, for messages and help."""
    if "choices" in item:
        return ", ".join(str(c["value"]) for c in item["choices"])
    low = item.get("min")
    high = item.get("max")
    kind = "a whole number" if item.get("integer") else "a number"
    if low is not None and high is not None:
        return f"{kind} from {low:g} to {high:g}"
    if low is not None:
        return f"{kind} of {low:g} or more"
    if high is not None:
        return f"{kind} of {high:g} or less"
    return kind


def _number(text: object) -> float | None:
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return float(text)
    if isinstance(text, str):
        try:
            return float(text.strip())
        except ValueError:
            return None
    return None


def parse_item_value(score_id: str, item: ScoreItem, raw: object) -> int | float | str:
    """Validate ``raw`` against ``item``; return the value in its stored type."""
    field = f"{score_id}.{item['id']}"
    unit = item.get("unit")
    if "choices" in item:
        for choice in item["choices"]:
            value = choice["value"]
            if isinstance(value, str):
                if isinstance(raw, str) and raw.strip().lower() == value.lower():
                    return value
            else:
                number = _number(raw)
                if number is not None and number == value:
                    return value
        raise InputError(field, raw, item_allowed_text(item), unit)
    number = _number(raw)
    if number is None or not math.isfinite(number):
        raise InputError(field, raw, item_allowed_text(item), unit, "not a number")
    low, high = item.get("min"), item.get("max")
    if (low is not None and number < low) or (high is not None and number > high):
        raise InputError(field, raw, item_allowed_text(item), unit)
    if item.get("integer"):
        if number != int(number):
            raise InputError(field, raw, item_allowed_text(item), unit, "whole numbers only")
        return int(number)
    return number


def _validated_items(score: Score, items: Mapping[str, object]) -> dict[str, int | float | str]:
    known = {i["id"]: i for i in score["items"]}
    for name in items:
        if name not in known:
            raise InputError(
                f"{score['id']} item",
                name,
                ", ".join(known),
                detail="unknown item",
            )
    values: dict[str, int | float | str] = {}
    for item_id, item in known.items():
        if item_id not in items:
            raise MissingFieldError(
                f"{score['id']}.{item_id}", f"the {score['id']} total", item.get("unit")
            )
        values[item_id] = parse_item_value(score["id"], item, items[item_id])
    return values


def _label(item: ScoreItem, value: int | float | str) -> str | None:
    for choice in item.get("choices", []):
        if choice["value"] == value:
            return choice["label"]
    return None


def item_points(item: ScoreItem, values: Mapping[str, int | float | str]) -> float:
    """Points that the value of ``item`` in ``values`` adds to a ``points`` score."""
    value = values[item["id"]]
    for choice in item.get("choices", []):
        if choice["value"] == value:
            return float(choice.get("points", 0))
    for band in item.get("points", []):
        context = band.get("when", {})
        fits = all(str(values.get(k)) == v for k, v in context.items())
        if fits and isinstance(value, int | float) and band["min"] <= value <= band["max"]:
            return float(band["points"])
    raise InputError(
        f"item {item['id']}", value, item_allowed_text(item), item.get("unit"), "no points band"
    )


def _total(score: Score, values: dict[str, int | float | str]) -> tuple[float | str, str]:
    """The total and the formula text of the trace."""
    method = score["method"]
    ids = [i["id"] for i in score["items"]]
    if method == "points":
        return sum(item_points(i, values) for i in score["items"]), " + ".join(
            f"points({i})" for i in ids
        )
    if method == "sum":
        nums = [float(values[i]) for i in ids]
        return sum(nums), " + ".join(ids)
    if method == "rate":
        num_id, den_id = ids
        denominator = float(values[den_id])
        if denominator <= 0:
            item = score["items"][1]
            raise InputError(
                f"{score['id']}.{den_id}", values[den_id], "a number above 0", item.get("unit")
            )
        return float(values[num_id]) / denominator, f"{num_id} / {den_id}"
    if method in ("single", "class"):
        value = values[ids[0]]
        return (value if isinstance(value, str) else float(value)), ids[0]
    raise InputError("score", score["id"], "a score with items", detail="nothing to compute")


def _clean(number: float) -> int | float:
    return int(number) if float(number).is_integer() else round(number, 4)


def _rank(score: Score, value: int | float | str) -> int | None:
    for choice in score["items"][0].get("choices", []):
        if choice["value"] == value:
            return choice.get("rank")
    return None


def compute_score(kb: KnowledgeBase, score_id: str, items: Mapping[str, object]) -> dict[str, Any]:
    """Validate ``items`` of score ``score_id`` and return the total with its context.

    The result holds the total, range, unit, direction, matching interpretation bands, the MCID,
    every source id used, the facts that are not verified and a calculation trace.
    """
    score = score_record(kb, score_id)
    values = _validated_items(score, items)
    total, formula = _total(score, values)
    unverified: list[str] = []
    sources: list[str] = [ref["id"] for ref in score["sources"]]

    def note_record(what: str, record: Mapping[str, Any]) -> None:
        for ref in record.get("sources", []):
            if ref["id"] not in sources:
                sources.append(ref["id"])
        if not record.get("verified", False):
            unverified.append(what)

    item_rows = []
    for item in score["items"]:
        value = values[item["id"]]
        note_record(f"item {item['id']} ({item['label']})", item)
        row: dict[str, Any] = {"id": item["id"], "value": value}
        label = _label(item, value)
        if label is not None:
            row["label"] = label
        if score["method"] == "points":
            row["points"] = _clean(item_points(item, values))
            row["verified"] = item["verified"]
        item_rows.append(row)

    result: dict[str, Any] = {
        "score": score["id"],
        "name": score["name"],
        "kind": score["kind"],
        "total": _clean(total) if isinstance(total, float) else total,
        "unit": score["unit"],
        "direction": score["direction"],
        "items": item_rows,
    }
    if score["method"] == "class":
        result["rank"] = _rank(score, total)
    rng = score.get("range")
    if rng is not None:
        note_record("range", rng)
        top = rng.get("max")
        result["range"] = {"min": _clean(rng["min"]), "max": None if top is None else _clean(top)}
    bands = []
    if not isinstance(total, str):
        for band in score.get("interpretation", []):
            if band["min"] <= total <= band["max"]:
                note_record(f"interpretation: {band['label']}", band)
                bands.append({"label": band["label"], "verified": band["verified"]})
    result["interpretation"] = bands
    mcid = score.get("mcid")
    if mcid is not None:
        note_record("minimal clinically important difference", mcid)
        result["mcid"] = {
            "value": mcid["value"],
            "strict": mcid["strict"],
            "unit": score["unit"],
            "text": mcid["text"],
            "verified": mcid["verified"],
        }
    else:
        result["mcid"] = None
    if "not_encoded" in score:
        result["not_encoded"] = score["not_encoded"]
    result["steps"] = [
        {
            "step": "total",
            "formula": formula,
            "inputs": dict(values),
            "result": result["total"],
            "unit": score["unit"],
            "source": score["sources"][0]["id"],
        }
    ]
    result["sources"] = sources
    result["unverified"] = unverified
    result["verified"] = score["verified"] and not unverified
    return result


def compute_change(
    kb: KnowledgeBase,
    score_id: str,
    baseline: Mapping[str, object],
    follow_up: Mapping[str, object],
) -> dict[str, Any]:
    """Change of score ``score_id`` between two item sets, improvement positive.

    Items with ``change_ignored_between`` (adjusted INCAT arm grade) do not count a change that
    stays within those two values. Returns the raw and counted change and the items adjusted.
    """
    score = score_record(kb, score_id)
    if score["method"] != "sum" and score["method"] != "single":
        raise InputError("score", score_id, "a summed or single-item score", detail="change")
    before = _validated_items(score, baseline)
    after = _validated_items(score, follow_up)
    sign = -1.0 if score["direction"] == "higher_is_worse" else 1.0
    raw = counted = 0.0
    adjusted: list[str] = []
    for item in score["items"]:
        delta = float(after[item["id"]]) - float(before[item["id"]])
        raw += delta
        ignored = item.get("change_ignored_between")
        if ignored and delta and {before[item["id"]], after[item["id"]]} <= set(ignored):
            adjusted.append(item["id"])
            continue
        counted += delta
    return {
        "score": score_id,
        "raw_change": _clean(sign * raw),
        "change": _clean(sign * counted),
        "adjusted_items": adjusted,
        "direction": score["direction"],
    }
