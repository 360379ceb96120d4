"""The web adapter's pure parts: sessions, form parsing, SVG charts, access, the cache."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivig.app.findings import needed_findings
from ivig.core.recommend import PATIENT_FACTS
from ivig.knowledge import KnowledgeBase
from ivig.web import access, forms, svg
from ivig.web.session import WebConfig, check_csrf, csrf_token, read_session, sign_session

CONFIG = WebConfig(secret=b"k" * 32)


def test_a_signed_session_reads_back() -> None:
    cookie = sign_session(CONFIG, "steward", "steward", "registry", now=1000.0)
    user = read_session(CONFIG, cookie, now=1001.0)
    assert user is not None and (user.username, user.role) == ("steward", "steward")
    assert user.may("steward") and not user.may("nurse")


def test_an_expired_session_is_refused() -> None:
    cookie = sign_session(CONFIG, "a", "nurse", "static", now=0.0)
    assert read_session(CONFIG, cookie, now=10**9) is None


def test_a_session_signed_with_another_secret_is_refused() -> None:
    cookie = sign_session(WebConfig(secret=b"other"), "a", "admin", "static")
    assert read_session(CONFIG, cookie) is None


@given(st.integers(min_value=0, max_value=200), st.characters(codec="ascii"))
def test_any_change_to_a_cookie_breaks_it(position: int, char: str) -> None:
    cookie = sign_session(CONFIG, "nurse_ng", "nurse", "registry", now=0.0)
    n = position % len(cookie)
    changed = cookie[:n] + char + cookie[n + 1 :]
    if changed != cookie:
        assert read_session(CONFIG, changed, now=1.0) is None


def test_csrf_tokens_belong_to_their_session() -> None:
    one = sign_session(CONFIG, "a", "steward", "static")
    two = sign_session(CONFIG, "a", "steward", "static")
    assert check_csrf(CONFIG, one, csrf_token(CONFIG, one))
    assert not check_csrf(CONFIG, two, csrf_token(CONFIG, one))
    assert not check_csrf(CONFIG, one, None)


def test_admin_may_do_everything_and_nurses_not_authorise() -> None:
    assert all(access.allowed("admin", what) for what in [*access.PAGES, *access.ACTIONS])
    assert not access.allowed("nurse", "authorise")
    assert access.allowed("steward", "authorise")


def test_the_form_becomes_the_request(kb: KnowledgeBase) -> None:
    form = {
        "condition": ["Guillain-Barré syndrome"], "phase": ["induction"],
        "patient.sex": ["female"], "patient.age_years": ["40"], "patient.weight_kg": ["70,5"],
        "patient.labs.anti_iga_antibodies": ["false"], "patient.pregnant": ["on"],
        "patient.risk_factors": ["diabetes", "renal_impairment"],
        "findings.days_since_onset": ["5"], "findings.unknown_thing": ["1"],
        "formulary": ["privigen"],
    }  # fmt: skip
    request, errors = forms.parse_form(kb, form)
    assert errors == {}
    assert request["condition"] == "gbs"
    assert request["patient"]["weight_kg"] == 70.5
    assert request["patient"]["labs"] == {"anti_iga_antibodies": False}
    assert request["patient"]["pregnant"] is True
    assert request["patient"]["risk_factors"] == ["diabetes", "renal_impairment"]
    assert request["findings"] == {"days_since_onset": 5}
    assert request["formulary"] == ["privigen"]


def test_text_in_a_number_field_is_an_error_with_the_unit(kb: KnowledgeBase) -> None:
    request, errors = forms.parse_form(kb, {"patient.height_cm": ["tall"]})
    assert "height_cm" not in request["patient"]
    assert errors == {"patient.height_cm": "'tall' is not a number; enter a number in cm"}


def test_needed_findings_skip_what_the_patient_already_says(kb: KnowledgeBase) -> None:
    names = needed_findings(kb, "gbs", "gbs.initial")
    assert "days_since_onset" in names
    assert not set(names) & set(PATIENT_FACTS)
    every = needed_findings(kb, "gbs")
    assert set(names) <= set(every)
    assert needed_findings(kb, None) == []


def test_needed_findings_follow_the_phase_and_what_the_indication_implies(
    kb: KnowledgeBase,
) -> None:
    """Maintenance CIDP asks nothing of the initial-only indications' re-induction; naming
    mg.crisis does not ask whether the patient is in crisis (issue 14)."""
    assert "myasthenic_crisis" not in needed_findings(kb, "mg", "mg.crisis")
    induction = needed_findings(kb, "gbs", phase="induction")
    one_off = needed_findings(kb, "gbs", phase="one_off")
    assert "treatment_related_fluctuation" in one_off
    assert "treatment_related_fluctuation" not in induction


def test_every_condition_gives_typed_finding_fields(kb: KnowledgeBase) -> None:
    for cond in kb.conditions():
        for field in forms.finding_fields(kb, needed_findings(kb, cond["id"])):
            assert field.kind in ("bool", "int", "float", "enum", "str")
            assert field.kind != "enum" or field.allowed


def test_problems_are_grouped_by_field() -> None:
    problems = [
        {"field": "patient.weight_kg", "message": "too big"},
        {"field": "patient.risk_factors[1]", "message": "unknown"},
        {"field": "patient.weight_kg", "message": "again"},
    ]
    assert forms.errors_by_field(problems) == {
        "patient.weight_kg": "too big; again",
        "patient.risk_factors": "unknown",
    }


@given(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.floats(min_value=1e-3, max_value=1e6, allow_nan=False),
)
def test_ticks_cover_the_range(low: float, span: float) -> None:
    ticks = svg.nice_ticks(low, low + span)
    assert ticks[0] <= low + 1e-6 * span and ticks[-1] >= low + span - 1e-6 * span
    assert ticks == sorted(ticks)


def test_a_line_chart_has_a_title_band_and_points() -> None:
    series = [svg.Series("IgG <total>", [(dt.date(2026, 1, 1), 8.0), (dt.date(2026, 1, 15), 14.0)])]
    out = svg.line_chart(series, title="IgG", y_label="g/L", band=svg.Band(10, 12, "trough"))
    assert out.startswith("<svg") and out.endswith("</svg>")
    assert 'role="img"' in out and "<title" in out
    assert out.count("<circle") == 2 and 'class="band"' in out
    assert "IgG &lt;total&gt;" in out and "2026-01-01" in out


def test_charts_without_data_say_so() -> None:
    assert "no data" in svg.line_chart([], title="t", y_label="y")
    assert "no data" in svg.bar_chart([], title="t", unit="g")


def test_bars_are_proportional() -> None:
    out = svg.bar_chart([("a", 10.0), ("b", 5.0)], title="t", unit="g", width=400)
    widths = [
        float(w) for w in __import__("re").findall(r'<rect x="\d+" y="\d+" width="([\d.]+)"', out)
    ]
    assert len(widths) == 2
    assert widths[0] == pytest.approx(2 * widths[1])


def test_a_long_bar_label_is_written_in_full_above_its_bar() -> None:
    """The label starts at the left margin (never cut at the edge) and is whole when it fits."""
    label = "Chronic inflammatory demyelinating polyradiculoneuropathy"
    out = svg.bar_chart([(label, 10.0)], title="t", unit="g", width=640)
    found = __import__("re").search(r'<text x="(\d+)" y="\d+">([^<]+)</text><rect', out)
    assert found is not None
    assert int(found.group(1)) >= 0 and found.group(2) == label
