"""Which numbers the main recommendations read (issue 19): the tracking knowledge base, the
sweep, the summary and ``ivig kb paths``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ivig.app.kb_usage import (
    MAIN_CONDITIONS,
    main_path_requests,
    main_paths,
    numbers_used,
    usage_summary,
)
from ivig.app.recommend import recommend
from ivig.knowledge import KnowledgeBase
from ivig.knowledge.stats import compute_stats, number_flags
from ivig.knowledge.tracking import _wrap, mark_results, tracked_knowledge
from ivig.knowledge.verification import main_path_facts, unverified_facts

ROOT = Path(__file__).resolve().parents[2]
IVIG = str(Path(sys.executable).parent / "ivig")

GBS: dict[str, Any] = {
    "patient": {"sex": "male", "age_years": 62, "height_cm": 178, "weight_kg": 85},
    "condition": "gbs",
    "phase": "induction",
    "findings": {"able_to_walk_unaided": False, "days_since_onset": 5},
    "jurisdiction": "au",
}


def test_a_read_is_noted_by_key_get_iteration_slice_and_copy() -> None:
    reads: set[str] = set()
    data = _wrap({"a": {"x": 1, "y": [2, 3, 4], "z": 5.5, "n": "text"}, "b": {"w": 7}}, "", reads)
    a = data["a"]
    assert reads == set()  # reaching a record reads none of its numbers
    assert a["x"] == 1 and reads == {"a.x"}
    assert a.get("z") == 5.5 and a.get("missing", 9) == 9
    assert list(a["y"][1:]) == [3, 4]
    assert reads == {"a.x", "a.z", "a.y[1]", "a.y[2]"}
    assert a["y"][-3] == 2 and "a.y[0]" in reads
    copied = {**data["b"]}
    assert copied == {"w": 7} and "b.w" in reads
    assert 3 in data["a"]["y"] and sorted(data["a"]["y"]) == [2, 3, 4]


def test_a_record_handed_on_whole_counts_as_read() -> None:
    reads: set[str] = set()
    data = _wrap({"p": {"rates": [{"max": 8}], "v": 2}}, "", reads)
    mark_results({"products": [data["p"]], "other": ("x", 1)})
    assert reads == {"p.rates[0].max", "p.v"}


def test_the_tracked_knowledge_gives_the_same_recommendation(kb: KnowledgeBase) -> None:
    """Tracking must not change what is computed: same JSON for three different requests."""
    tracked, reads = tracked_knowledge(kb)
    requests = [GBS, {**GBS, "patient": {**GBS["patient"], "weight_kg": 140}}]
    requests.append(next(r for r in main_path_requests(kb) if r["condition"] == "cidp"))
    for request in requests:
        plain = json.dumps(recommend(kb, request), sort_keys=True, default=str)
        seen = json.dumps(recommend(tracked, request), sort_keys=True, default=str)
        assert plain == seen
    assert reads


def test_the_sweep_covers_every_regimen_of_the_main_conditions(kb: KnowledgeBase) -> None:
    requests = list(main_path_requests(kb))
    regimens = {r.get("regimen") for r in requests}
    for condition in MAIN_CONDITIONS:
        for indication in kb.condition(condition)["indications"]:
            for regimen in indication.get("regimens", []):
                assert regimen["id"] in regimens
    assert {r["jurisdiction"] for r in requests} == {j["id"] for j in kb.data["jurisdictions"]}


def test_the_numbers_read_are_those_the_plan_shows(kb: KnowledgeBase) -> None:
    """The GBS plan's dose per kg and its product's first rate step are read; a product the
    ranking never reaches a number of (the discontinued Carimune NF) is not."""
    used, answered, refused = numbers_used(kb, [GBS])
    assert (answered, refused) == (1, 0)
    rec = recommend(kb, GBS)
    assert rec["dose"] is not None and rec["infusion"] is not None
    conditions = kb.data["conditions"]
    c = next(i for i, cond in enumerate(conditions) if cond["id"] == "gbs")
    regimen = rec["dose"]["regimen"]["id"]
    indication = conditions[c]["indications"][0]
    r = next(i for i, reg in enumerate(indication["regimens"]) if reg["id"] == regimen)
    assert f"conditions[{c}].indications[0].regimens[{r}].dose_g_per_kg.default" in used
    products = kb.data["products"]
    p = next(i for i, prod in enumerate(products) if prod["id"] == rec["infusion"]["product"])
    assert any(path.startswith(f"products[{p}].iv_rates[") for path in used)
    carimune = next(i for i, prod in enumerate(products) if prod["id"] == "carimune-nf")
    assert not any(path.startswith(f"products[{carimune}].") for path in used)


def test_the_summary_adds_up_and_names_each_unverified_fact(kb: KnowledgeBase) -> None:
    used, _, _ = numbers_used(kb, main_path_requests(kb))
    summary = usage_summary(kb, used)
    flags = {path: verified for path, _, verified in number_flags(kb)}
    assert summary["numbers_used"] == len(used & set(flags))
    assert summary["numbers_used_verified"] + len(summary["unverified"]) == summary["numbers_used"]
    assert sum(s["used"] for s in summary["by_section"].values()) == summary["numbers_used"]
    assert all(not flags[p] for p in summary["unverified"])
    facts = main_path_facts(kb, used)
    paths = [f["path"] for f in facts]
    for number in summary["unverified"]:  # every unverified number read has its fact listed
        assert any(number.startswith(p) and number[len(p)] in ".[" for p in paths), number
    everywhere = {f["path"] for f in unverified_facts(kb)}
    assert set(paths) <= everywhere
    assert compute_stats(kb)["numbers"] > summary["numbers_used"]


def test_docs_verification_md_opens_with_the_main_paths(kb: KnowledgeBase) -> None:
    main = main_paths(kb)
    text = (ROOT / "docs" / "verification.md").read_text()
    assert "## On the main paths" in text
    assert f"read {main['numbers_used']} clinical numbers; {main['numbers_used_verified']}" in text


@pytest.mark.parametrize("json_out", [False, True])
def test_ivig_kb_paths_for_a_request_file(json_out: bool) -> None:
    cmd = [IVIG, "kb", "paths", "examples/gbs-non-ambulant.yaml", *(["--json"] * json_out)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    if json_out:
        data = json.loads(out)
        assert data["requests"] == 1 and data["refused"] == 0
        assert data["numbers_used_verified"] + len(data["unverified"]) == data["numbers_used"]
        assert all({"where", "why", "settle", "path"} <= set(f) for f in data["facts"])
    else:
        assert "1 request file(s): 1 answered, 0 refused" in out
        assert "Numbers read:" in out and "Unverified numbers read, by fact" in out
