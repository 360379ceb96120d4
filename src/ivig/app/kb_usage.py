"""Use case: which clinical numbers the main recommendations use, and how many are verified.

Issue #19 asks that every number used by the dose, schedule, ranking or monitoring of the five
most used conditions (GBS, CIDP, MMN, MG, dermatomyositis) be verified against a primary source.
:func:`main_path_requests` is the sweep that stands for "used": every indication and regimen of
those conditions, in every jurisdiction, for a set of patients whose risks move the product
ranking, the rates and the monitoring (an ordinary adult, obesity, older age with diabetes and
kidney disease, IgA deficiency with anti-IgA antibodies, heart failure with thrombosis history,
a child). :func:`numbers_used` runs recommendations on a knowledge base that records every
number it reads (:mod:`ivig.knowledge.tracking`); :func:`usage_summary` sets them beside their
``verified`` flags. ``ivig kb paths`` prints it, and ``docs/verification.md`` lists the
unverified facts on these paths first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ivig.vocabulary import JURISDICTIONS

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase
    from ivig.knowledge.verification import MainPaths

__all__ = [
    "MAIN_CONDITIONS",
    "main_path_requests",
    "main_paths",
    "numbers_used",
    "usage_summary",
]

#: the five most used conditions of issue #19
MAIN_CONDITIONS = ("gbs", "cidp", "mmn", "mg", "dermatomyositis")

#: patients whose differences reach the dosing weight, the ranking, the rates and the monitoring
PATIENTS: tuple[dict[str, Any], ...] = (
    {"sex": "male", "age_years": 55, "height_cm": 176, "weight_kg": 80},
    {"sex": "male", "age_years": 60, "height_cm": 172, "weight_kg": 135},
    {
        "sex": "female",
        "age_years": 74,
        "height_cm": 158,
        "weight_kg": 66,
        "labs": {"egfr_ml_per_min_1_73m2": 38, "creatinine_umol_per_l": 130},
        "risk_factors": ["diabetes"],
    },
    {
        "sex": "male",
        "age_years": 41,
        "height_cm": 176,
        "weight_kg": 78,
        "labs": {"iga_g_per_l": 0.02, "anti_iga_antibodies": True},
    },
    {
        "sex": "female",
        "age_years": 68,
        "height_cm": 162,
        "weight_kg": 72,
        "risk_factors": ["heart_failure", "thrombosis_history"],
    },
    {"sex": "female", "age_years": 9, "height_cm": 132, "weight_kg": 28},
)


#: GBS findings that fill the prognostic models (EGRIS, mEGOS at admission), as the bundled
#: GBS example gives them: the GBS recommendation computes the scores from them
GBS_FINDINGS: dict[str, Any] = {
    "able_to_walk_unaided": False,
    "days_since_onset": 5,
    "days_onset_to_admission": 4,
    "facial_or_bulbar_weakness": True,
    "mrc_sum_score": 38,
    "preceding_diarrhoea": False,
}


def main_path_requests(kb: KnowledgeBase) -> Iterator[dict[str, Any]]:
    """Requests for every indication x regimen (and the default choice) of the main
    conditions x jurisdiction x patient."""
    for condition_id in MAIN_CONDITIONS:
        for indication in kb.condition(condition_id)["indications"]:
            regimens = indication.get("regimens", [])
            choices: list[tuple[str, str | None]] = [(r["phase"], r["id"]) for r in regimens]
            choices += [(phase, None) for phase in sorted({r["phase"] for r in regimens})]
            for phase, regimen in choices:
                for jurisdiction in JURISDICTIONS:
                    for patient in PATIENTS:
                        request: dict[str, Any] = {
                            "patient": patient,
                            "condition": condition_id,
                            "indication": indication["id"],
                            "phase": phase,
                            "jurisdiction": jurisdiction,
                        }
                        if regimen is not None:
                            request["regimen"] = regimen
                        if condition_id == "gbs":
                            request["findings"] = GBS_FINDINGS
                        yield request


def numbers_used(kb: KnowledgeBase, requests: Iterable[object]) -> tuple[set[str], int, int]:
    """Paths of the numbers the recommendations for ``requests`` read, with how many requests
    gave a recommendation and how many were refused (an ``IvigError``: not counted)."""
    from ivig.app.recommend import recommend
    from ivig.errors import IvigError
    from ivig.knowledge.tracking import mark_results, tracked_knowledge

    tracked, reads = tracked_knowledge(kb)
    answered = refused = 0
    for request in requests:
        try:
            result = recommend(tracked, request)
        except IvigError:
            refused += 1
            continue
        mark_results(result)
        answered += 1
    return reads, answered, refused


def usage_summary(kb: KnowledgeBase, used: set[str]) -> dict[str, Any]:
    """The used numbers beside their ``verified`` flags: counts, share, per section, and the
    paths of the unverified ones (sorted)."""
    from ivig.knowledge.stats import number_flags

    flags = {path: verified for path, _, verified in number_flags(kb)}
    counted = sorted(p for p in used if p in flags)
    unverified = [p for p in counted if not flags[p]]
    sections: Counter[str] = Counter()
    sections_verified: Counter[str] = Counter()
    for path in counted:
        section = path.split(".", 1)[0].split("[", 1)[0]
        sections[section] += 1
        sections_verified[section] += flags[path]
    return {
        "numbers_used": len(counted),
        "numbers_used_verified": len(counted) - len(unverified),
        "numbers_used_verified_share": (
            round((len(counted) - len(unverified)) / len(counted), 4) if counted else 1.0
        ),
        "by_section": {
            name: {"used": sections[name], "verified": sections_verified[name]}
            for name in sorted(sections)
        },
        "unverified": unverified,
    }


#: the sweep in words, for the report and ``docs/verification.md``
MAIN_DESCRIBED = (
    "The recommendations for GBS, CIDP, MMN, myasthenia gravis and dermatomyositis (every "
    "indication and regimen, in every jurisdiction, for six patients: an adult, obesity, older "
    "age with diabetes and kidney disease, IgA deficiency with anti-IgA antibodies, heart failure "
    "with thrombosis history, a child; GBS with the EGRIS and mEGOS items)"
)


def main_paths(kb: KnowledgeBase) -> MainPaths:
    """What the main sweep reads, for the first section of ``docs/verification.md``."""
    used, _, _ = numbers_used(kb, main_path_requests(kb))
    summary = usage_summary(kb, used)
    return {
        "described": MAIN_DESCRIBED,
        "used": used,
        "numbers_used": summary["numbers_used"],
        "numbers_used_verified": summary["numbers_used_verified"],
    }
