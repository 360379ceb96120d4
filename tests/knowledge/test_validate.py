"""The validator loads every file and reports every error with its file and path.

Broken copies of the bundled data prove that each kind of error is caught.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from ivig.errors import KnowledgeValidationError
from ivig.knowledge.loader import load_knowledge
from ivig.knowledge.validate import DATA_DIR, validate_directory


def test_bundled_knowledge_has_no_errors() -> None:
    data, errors = validate_directory()
    assert errors == []
    assert data["version"].startswith(data["meta"]["date"] + "+")


@pytest.fixture
def broken(tmp_path: Path) -> Callable[[str, str, str], list[str]]:
    """Copy the data, replace ``old`` by ``new`` in one file, validate, return the errors."""

    def run(relpath: str, old: str, new: str) -> list[str]:
        root = tmp_path / "data"
        if root.exists():
            shutil.rmtree(root)
        shutil.copytree(DATA_DIR, root)
        target = root / relpath
        text = target.read_text()
        assert old in text, f"fixture text not found in {relpath}"
        target.write_text(text.replace(old, new, 1))
        return validate_directory(root)[1]

    return run


def _has(errors: list[str], *parts: str) -> bool:
    return any(all(p in e for p in parts) for e in errors)


def test_unknown_source_id(broken: Callable[[str, str, str], list[str]]) -> None:
    errors = broken("conditions/gbs.yaml", "sources: [aan-gbs-2003]", "sources: [no-such-source]")
    assert _has(errors, "conditions", "unknown source id 'no-such-source'")


def test_missing_source(broken: Callable[[str, str, str], list[str]]) -> None:
    errors = broken(
        "dosing.yaml",
        "    sources: [{id: au-nba-ddw-calculator, locator: "
        '"IBW (Devine) and dose determining weight"}]\n',
        "",
    )
    assert _has(errors, "dosing.yaml", "formulas[0].sources", "Field required")


def test_unknown_unit(broken: Callable[[str, str, str], list[str]]) -> None:
    errors = broken(
        "dosing.yaml", "{field: weight_kg, unit: kg,", "{field: weight_kg, unit: stone,"
    )
    assert _has(errors, "dosing.yaml", "limits[0].unit")


def test_unknown_finding_in_predicate(broken: Callable[[str, str, str], list[str]]) -> None:
    errors = broken("conditions/gbs.yaml", '"able_to_walk_unaided == false"', '"can_walk == false"')
    assert _has(
        errors,
        "conditions/gbs.yaml",
        "gbs.initial.qualifying.unable-to-walk",
        "undeclared finding 'can_walk'",
    )


def test_predicate_value_of_wrong_type(broken: Callable[[str, str, str], list[str]]) -> None:
    errors = broken(
        "conditions/gbs.yaml", '"able_to_walk_unaided == false"', '"able_to_walk_unaided == 3"'
    )
    assert _has(errors, "able_to_walk_unaided", "expects true/false")


def test_out_of_range_number(broken: Callable[[str, str, str], list[str]]) -> None:
    errors = broken("dosing.yaml", "adjusted_factor: 0.4", "adjusted_factor: 4")
    assert _has(errors, "dosing.yaml", "formulas[0].adjusted_factor", "less than or equal to 1")
    errors = broken(
        "conditions/gbs.yaml",
        "dose_g_per_kg: {min: 2, max: 2, default: 2}",
        "dose_g_per_kg: {min: 2, max: 1}",
    )
    assert _has(errors, "gbs.initial.regimens.gbs-2g-5d.dose_g_per_kg", "min above max")


def test_duplicate_id(broken: Callable[[str, str, str], list[str]]) -> None:
    errors = broken("conditions/gbs.yaml", "id: gbs.mild\n", "id: gbs.initial\n")
    assert _has(errors, "duplicate indication id", "gbs.initial")


def test_unknown_evidence_level(broken: Callable[[str, str, str], list[str]]) -> None:
    errors = broken("conditions/gbs.yaml", "level: red,", "level: purple,")
    assert _has(errors, "gbs.initial.evidence", "'purple' not in uk_dh_colour")


def test_unknown_field_is_refused(broken: Callable[[str, str, str], list[str]]) -> None:
    errors = broken(
        "conditions/gbs.yaml",
        "group: peripheral_neuropathy",
        "group: peripheral_neuropathy\ncolour: red",
    )
    assert _has(errors, "conditions/gbs.yaml", "colour", "Extra inputs are not permitted")


def test_malformed_yaml_names_the_line(broken: Callable[[str, str, str], list[str]]) -> None:
    errors = broken("meta.yaml", "title:", "title: [unclosed")
    assert _has(errors, "meta.yaml", "line", "malformed YAML")


def test_loader_raises_with_every_error(tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(DATA_DIR, root)
    gbs = root / "conditions/gbs.yaml"
    gbs.write_text(
        gbs.read_text().replace("[aan-gbs-2003]", "[nope-1]").replace("[efns-2008]", "[nope-2]")
    )
    with pytest.raises(KnowledgeValidationError) as info:
        load_knowledge(str(root), use_cache=False)
    assert any("nope-1" in e for e in info.value.errors)
    assert any("nope-2" in e for e in info.value.errors)


def test_verified_fact_on_secondary_sources_only_fails(
    broken: Callable[[str, str, str], list[str]],
) -> None:
    """A verified fact whose only source is ``tier: secondary`` (us-order-form-120, an unnamed
    hospital order form on studyres.com) is refused."""
    errors = broken(
        "dosing.yaml",
        "sources: [us-order-form-120]\n    verified: false",
        "sources: [us-order-form-120]\n    verified: true",
    )
    assert _has(errors, "dosing", "policies[2]", "rests only on secondary sources (us-order-form")


def test_secondary_source_beside_a_primary_one_is_allowed(
    broken: Callable[[str, str, str], list[str]],
) -> None:
    """The secondary source may stay as a locator when a primary source is cited too."""
    errors = broken(
        "dosing.yaml",
        "sources: [us-order-form-120]\n    verified: false",
        "sources: [us-order-form-120, efns-2008]\n    verified: true",
    )
    assert not _has(errors, "secondary")


def test_source_needs_a_tier(broken: Callable[[str, str, str], list[str]]) -> None:
    errors = broken("sources/criteria.yaml", "  tier: secondary\n", "")
    assert _has(errors, "sources/criteria.yaml", "tier", "Field required")


def test_jurisdiction_listing_a_superseded_system_fails(
    broken: Callable[[str, str, str], list[str]],
) -> None:
    """A superseded rating system (NBA role in therapy, 2012) is not a jurisdiction's system."""
    errors = broken(
        "jurisdictions.yaml",
        "evidence_systems: [au_nba_category]",
        "evidence_systems: [au_nba_category, au_nba_role]",
    )
    assert _has(errors, "jurisdictions.yaml", "au", "au_nba_role is superseded")


def test_superseded_rating_listed_first_fails(
    broken: Callable[[str, str, str], list[str]],
) -> None:
    """Within an indication, a superseded system's rating may not precede a current one."""
    errors = broken(
        "conditions/mmn.yaml",
        '      - {system: seed_reviews, level: first_line, note: "Seed 003: the only',
        "      - {system: au_nba_role, level: established, sources: [au-nba-qrg], verified: true}\n"
        '      - {system: seed_reviews, level: first_line, note: "Seed 003: the only',
    )
    assert _has(errors, "mmn.induction.evidence", "au_nba_role (superseded)", "come last")


def test_superseded_system_needs_its_successor(
    broken: Callable[[str, str, str], list[str]],
) -> None:
    errors = broken("evidence_systems.yaml", "  superseded_by: au_nba_category\n", "")
    assert _has(errors, "evidence_systems.yaml", "au_nba_role", "needs superseded_by")
