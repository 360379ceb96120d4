"""Cross-reference checks of the knowledge: ids resolve and are unique, predicates parse and are
typed, verified facts rest on a primary source, superseded rating systems come last.

Each check is one named step over the validated data; :func:`check_cross_references` runs them
all. ``report(file, location, message)`` records one error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ivig.knowledge.predicates import PredicateSyntaxError, parse

__all__ = ["POLICY_INPUTS", "check_cross_references", "secondary_only_facts"]

Report = Callable[[str, str, str], None]
Origin = dict[int, str]

#: Names a dosing-weight policy rule may test (computed by the dose engine).
POLICY_INPUTS = (
    "age_years",
    "height_cm",
    "weight_kg",
    "sex",
    "pregnant",
    "bmi_kg_per_m2",
    "actual_over_ideal_ratio",
    "actual_below_adjusted",
)


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def _duplicates(items: list[dict[str, Any]], key: str = "id") -> list[str]:
    seen: set[str] = set()
    dups = []
    for item in items:
        value = item.get(key)
        if isinstance(value, str):
            if value in seen:
                dups.append(value)
            seen.add(value)
    return dups


def _records(data: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(collection key, path, record) of every mapping outside the bibliography."""
    for key, value in data.items():
        if key in ("sources", "version") or value is None:
            continue
        for path, node in _walk(value, key):
            yield key, path, node


def _check_source_refs(data: dict[str, Any], origin: Origin, report: Report) -> None:
    source_ids = {s["id"] for s in data.get("sources", [])}
    for dup in _duplicates(data.get("sources", [])):
        report("sources", dup, "duplicate source id")
    for key, path, node in _records(data):
        for j, ref in enumerate(node.get("sources") or []):
            if isinstance(ref, dict) and ref.get("id") not in source_ids:
                report(key, f"{path}.sources[{j}]", f"unknown source id {ref.get('id')!r}")


def secondary_only_facts(data: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(collection, path, source ids) of every ``verified: true`` fact whose sources are all
    ``tier: secondary``."""
    tiers = {s["id"]: s.get("tier", "primary") for s in data.get("sources", [])}
    out = []
    for key, path, node in _records(data):
        refs = node.get("sources")
        if node.get("verified") is not True or not refs:
            continue
        ids = [r["id"] for r in refs if isinstance(r, dict)]
        if ids and all(tiers.get(i) == "secondary" for i in ids):
            out.append((key, path, ids))
    return out


def _check_primary_sources(data: dict[str, Any], origin: Origin, report: Report) -> None:
    for key, path, ids in secondary_only_facts(data):
        report(
            key,
            path,
            f"verified fact rests only on secondary sources ({', '.join(ids)}): cite the label, "
            "guideline or paper itself, or set verified: false",
        )


def _check_findings(data: dict[str, Any], origin: Origin, report: Report) -> None:
    for dup in _duplicates(data.get("findings", []), "name"):
        report("findings", dup, "duplicate finding name")
    for finding in data.get("findings", []):
        if finding["type"] == "enum" and not finding.get("allowed"):
            report("findings", finding["name"], "enum finding needs 'allowed'")
        if finding["type"] in ("int", "float") and "unit" not in finding:
            report("findings", finding["name"], "numeric finding needs a 'unit'")


def _check_evidence_systems(data: dict[str, Any], origin: Origin, report: Report) -> None:
    systems = {s["id"]: s for s in data.get("evidence_systems", [])}
    for dup in _duplicates(data.get("evidence_systems", [])):
        report("evidence_systems.yaml", dup, "duplicate evidence system id")
    for system in systems.values():
        status = system.get("status", "current")
        successor = system.get("superseded_by")
        if status == "superseded" and successor is None:
            report("evidence_systems.yaml", system["id"], "a superseded system needs superseded_by")
        if successor is not None and successor not in systems:
            report("evidence_systems.yaml", system["id"], f"unknown system {successor!r}")
        if status != "current" and "year" not in system:
            report("evidence_systems.yaml", system["id"], f"a {status} system needs its year")
    for jur in data.get("jurisdictions", []):
        for sid in jur["evidence_systems"]:
            system = systems.get(sid)
            if system is None:
                report("jurisdictions.yaml", jur["id"], f"unknown evidence system {sid!r}")
            elif system.get("status", "current") != "current":
                report(
                    "jurisdictions.yaml",
                    jur["id"],
                    f"{sid} is {system['status']}: a jurisdiction lists only current systems "
                    "(ratings of older systems are shown after the current ones)",
                )


def _check_rating_order(
    ind: dict[str, Any], systems: dict[str, Any], file: str, report: Report
) -> None:
    """Ratings of superseded or retired systems come after every current one."""
    old = None
    for rating in ind["evidence"]:
        system = systems.get(rating["system"])
        if system is None:
            continue
        if system.get("status", "current") != "current":
            old = rating["system"]
        elif old is not None:
            report(
                file,
                f"{ind['id']}.evidence",
                f"{old} ({systems[old]['status']}) is listed before the current system "
                f"{rating['system']}: superseded systems come last",
            )
            return


def _check_rating(
    rating: dict[str, Any], systems: dict[str, Any], file: str, loc: str, report: Report
) -> None:
    system = systems.get(rating["system"])
    if system is None:
        report(file, loc, f"unknown system {rating['system']!r}")
    elif rating["level"] not in {lv["id"] for lv in system["levels"]}:
        allowed = ", ".join(lv["id"] for lv in system["levels"])
        report(file, loc, f"level {rating['level']!r} not in {system['id']} ({allowed})")


def _check_indication(ind: dict[str, Any], ctx: dict[str, Any], file: str, report: Report) -> None:
    iid = ind["id"]
    for k, rating in enumerate(ind["evidence"]):
        _check_rating(rating, ctx["systems"], file, f"{iid}.evidence[{k}]", report)
    _check_rating_order(ind, ctx["systems"], file, report)
    for group in ("qualifying", "exclusion"):
        crits = ind.get(group, [])
        for dup in _duplicates(crits):
            report(file, f"{iid}.{group}", f"duplicate criterion id {dup!r}")
        for crit in crits:
            _check_criterion(crit, ctx["findings"], file, f"{iid}.{group}.{crit['id']}", report)
    for dup in _duplicates(ind.get("regimens", [])):
        report(file, f"{iid}.regimens", f"duplicate regimen id {dup!r}")
    for reg in ind.get("regimens", []):
        _check_regimen(reg, file, f"{iid}.regimens.{reg['id']}", report)
    review = ind.get("review")
    if review and ctx["score_ids"]:
        for measure in review["measures"]:
            if measure not in ctx["score_ids"]:
                report(file, f"{iid}.review.measures", f"unknown score id {measure!r}")


def _check_conditions(data: dict[str, Any], origin: Origin, report: Report) -> None:
    conditions = data.get("conditions", [])
    condition_ids = {c["id"] for c in conditions}
    for dup in _duplicates(conditions):
        report("conditions", dup, "duplicate condition id")
    mechanism_ids = {m["id"] for m in data.get("mechanisms", [])}
    ctx = {
        "systems": {s["id"]: s for s in data.get("evidence_systems", [])},
        "findings": {f["name"]: f for f in data.get("findings", [])},
        "score_ids": {s["id"] for s in data.get("scores", [])},
    }
    all_indications: list[dict[str, Any]] = []
    specific_ids: set[str] = set()
    for condition in conditions:
        file = origin.get(id(condition), "conditions")
        cid = condition["id"]
        for spec in condition.get("specific_conditions", []):
            if spec["id"] in condition_ids or spec["id"] in specific_ids:
                report(file, f"specific_conditions.{spec['id']}", "id used twice")
            specific_ids.add(spec["id"])
        for mech in condition.get("mechanisms", []):
            if mech not in mechanism_ids:
                report(file, f"{cid}.mechanisms", f"unknown mechanism id {mech!r}")
        for ind in condition["indications"]:
            all_indications.append(ind)
            if not ind["id"].startswith(cid + "."):
                report(file, ind["id"], f"indication id must start with '{cid}.'")
            _check_indication(ind, ctx, file, report)
    for dup in _duplicates(all_indications):
        report("conditions", dup, "duplicate indication id")


def _check_other_lists(data: dict[str, Any], origin: Origin, report: Report) -> None:
    condition_ids = {c["id"] for c in data.get("conditions", [])}
    for mech in data.get("mechanisms", []):
        for cid in mech.get("conditions", []):
            if cid not in condition_ids:
                report("mechanisms.yaml", mech["id"], f"unknown condition id {cid!r}")
    for entry in data.get("regulatory", []):
        if "condition" in entry and entry["condition"] not in condition_ids:
            report("regulatory.yaml", entry["id"], f"unknown condition id {entry['condition']!r}")
    for key in ("mechanisms", "regulatory", "non_neuro_uses", "jurisdictions"):
        for dup in _duplicates(data.get(key, [])):
            report(f"{key}.yaml", dup, "duplicate id")


def _check_policy_rule(policy_id: str, rule: dict[str, Any], report: Report) -> None:
    for text in rule["when"]:
        try:
            pred = parse(text)
        except PredicateSyntaxError as exc:
            report("dosing.yaml", f"{policy_id}.{rule['id']}", str(exc))
            continue
        if pred.op != "always" and pred.name not in POLICY_INPUTS:
            report(
                "dosing.yaml",
                f"{policy_id}.{rule['id']}",
                f"unknown policy input {pred.name!r}; known: {', '.join(POLICY_INPUTS)}",
            )


def _check_dosing(data: dict[str, Any], origin: Origin, report: Report) -> None:
    dosing = data.get("dosing") or {}
    formula_ids = {f["id"] for f in dosing.get("formulas", [])}
    policy_ids = {p["id"] for p in dosing.get("policies", [])}
    for dup in _duplicates(dosing.get("policies", [])):
        report("dosing.yaml", dup, "duplicate policy id")
    for policy in dosing.get("policies", []):
        if policy["formula"] not in formula_ids:
            report("dosing.yaml", policy["id"], f"unknown formula {policy['formula']!r}")
        for rule in policy["rules"]:
            _check_policy_rule(policy["id"], rule, report)
    for limit in dosing.get("limits", []):
        if limit["min"] > limit["max"]:
            report("dosing.yaml", f"limits.{limit['field']}", "min above max")
    for jur in data.get("jurisdictions", []):
        if jur["default_dosing_weight_policy"] not in policy_ids:
            report(
                "jurisdictions.yaml",
                jur["id"],
                f"unknown dosing policy {jur['default_dosing_weight_policy']!r}",
            )


def _check_criterion(
    crit: dict[str, Any], findings: dict[str, Any], file: str, loc: str, report: Report
) -> None:
    texts = [crit["when"]] if "when" in crit else list(crit.get("any_of", []))
    if ("when" in crit) == ("any_of" in crit):
        report(file, loc, "give exactly one of 'when' or 'any_of'")
        return
    for text in texts:
        try:
            pred = parse(text)
        except PredicateSyntaxError as exc:
            report(file, loc, str(exc))
            continue
        finding = findings.get(pred.name)
        if finding is None:
            report(file, loc, f"undeclared finding {pred.name!r}")
            continue
        values = pred.value if isinstance(pred.value, list) else [pred.value]
        for value in values:
            problem = _type_problem(finding, value)
            if problem:
                report(file, loc, f"{pred.name}: {problem}")


def _number_problem(finding: dict[str, Any], value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"expects a number, got {value!r}"
    low, high = finding.get("min"), finding.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        return f"{value} outside the declared range {low}..{high} {finding.get('unit', '')}"
    return None


def _type_problem(finding: dict[str, Any], value: object) -> str | None:
    kind = finding["type"]
    if kind in ("int", "float"):
        return _number_problem(finding, value)
    if kind == "bool" and not isinstance(value, bool):
        return f"expects true/false, got {value!r}"
    if kind == "enum" and value not in finding.get("allowed", []):
        return f"{value!r} not in {finding.get('allowed')}"
    if kind in ("str", "date") and not isinstance(value, str):
        return f"expects a string, got {value!r}"
    return None


def _check_regimen(reg: dict[str, Any], file: str, loc: str, report: Report) -> None:
    for key in ("dose_g_per_kg", "days", "interval_weeks"):
        rng = reg.get(key)
        if not rng:
            continue
        if rng["min"] > rng["max"]:
            report(file, f"{loc}.{key}", "min above max")
        if "default" in rng and not rng["min"] <= rng["default"] <= rng["max"]:
            report(file, f"{loc}.{key}", "default outside min..max")
    if reg["phase"] == "maintenance" and "interval_weeks" not in reg:
        report(file, loc, "a maintenance regimen needs interval_weeks")
    if reg["days"]["min"] < 1:
        report(file, f"{loc}.days", "at least one day")


def _check_implied_findings(data: dict[str, Any], origin: Origin, report: Report) -> None:
    """An indication's ``implies`` names declared findings with values of their type."""
    findings = {f["name"]: f for f in data.get("findings", [])}
    for condition in data.get("conditions", []):
        for ind in condition.get("indications", []):
            for name, value in ind.get("implies", {}).items():
                loc = f"{ind['id']}.implies.{name}"
                if name not in findings:
                    report("conditions", loc, f"undeclared finding {name!r}")
                elif problem := _type_problem(findings[name], value):
                    report("conditions", loc, problem)


_STEPS = (
    _check_source_refs,
    _check_primary_sources,
    _check_findings,
    _check_evidence_systems,
    _check_conditions,
    _check_other_lists,
    _check_dosing,
    _check_implied_findings,
)


def check_cross_references(data: dict[str, Any], origin: Origin, report: Report) -> None:
    """Every reference resolves, every id is unique, every predicate parses and is typed,
    every verified fact has a primary source, superseded rating systems are listed last."""
    for check in _STEPS:
        check(data, origin, report)
