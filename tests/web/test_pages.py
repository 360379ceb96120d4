"""The pages over HTTP (FastAPI test client, demonstration registry): sign-in, roles, the
request form and its field errors, the recommendation, authorisation, patient, dashboard and
knowledge pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from ivig.knowledge import KnowledgeBase
from tests._helpers.web import GBS_FORM, TODAY, sign_in

Client = Callable[[str], TestClient]


def _text(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert found, f"no element {element_id}"
    return found.group(1).strip()


def test_pages_redirect_to_sign_in_without_a_session(app: Any) -> None:
    with TestClient(app) as client:
        response = client.get("/app/dashboard", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/app/login?next=/app/dashboard"


def test_an_unknown_token_is_refused_with_a_message(app: Any) -> None:
    with TestClient(app) as client:
        response = sign_in(client, {"token": "nope", "next": "/app"})
    assert response.status_code == 401
    assert "not valid" in response.text


def test_a_forged_session_cookie_is_not_accepted(app: Any) -> None:
    with TestClient(app) as client:
        client.cookies.set("ivig_session", "eyJ1IjoiYWRtaW4ifQ.forged")
        response = client.get("/app", follow_redirects=False)
    assert response.status_code == 303


def test_demo_sign_in_lists_the_registry_users(app: Any) -> None:
    with TestClient(app) as client:
        page = client.get("/app/login").text
        assert 'value="steward"' in page
        response = sign_in(client, {"demo_user": "nurse_ng", "next": "/app"})
        assert "nurse_ng" in response.text and "Sign out" in response.text


def test_sign_in_never_redirects_off_site(app: Any) -> None:
    with TestClient(app) as client:
        response = sign_in(
            client, {"token": "tok-nurse", "next": "https://evil.example/"}, follow_redirects=False
        )
    assert response.headers["location"] == "/app"


@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        ("nurse", ["Patients", "Knowledge"], ["New request", "Stewardship"]),
        ("clinician", ["New request", "Patients", "Knowledge"], ["Stewardship"]),
        ("pharmacist", ["New request", "Stewardship"], []),
        ("steward", ["New request", "Patients", "Stewardship", "Knowledge"], []),
    ],
)
def test_the_navigation_shows_only_what_the_role_may_open(
    client_for: Client, role: str, visible: list[str], hidden: list[str]
) -> None:
    nav = client_for(role).get("/app").text.split("</nav>")[0]
    for label in visible:
        assert f">{label}</a>" in nav
    for label in hidden:
        assert f">{label}</a>" not in nav


def test_a_page_the_role_may_not_open_answers_403(client_for: Client) -> None:
    response = client_for("nurse").get("/app/dashboard")
    assert response.status_code == 403
    assert "may not open" in response.text


def test_every_page_shows_the_knowledge_version_and_disclaimer(
    client_for: Client, kb: KnowledgeBase
) -> None:
    client = client_for("steward")
    for url in ("/app", "/app/request/new", "/app/patients", "/app/dashboard", "/app/knowledge"):
        html = client.get(url).text
        assert _text(html, "knowledge-version") == kb.version
        assert "does not replace the judgement" in html


def test_the_form_shows_the_findings_the_indication_needs_with_units(
    client_for: Client, kb: KnowledgeBase
) -> None:
    html = client_for("clinician").get("/app/request/new?condition=gbs&indication=gbs.initial").text
    assert 'name="findings.able_to_walk_unaided"' in html
    assert 'name="findings.days_since_onset"' in html
    unit = kb.finding("days_since_onset")["unit"]
    assert re.search(rf'for="f-findings-days_since_onset">[^<]*<span class="unit">\({unit}\)', html)
    assert 'for="f-patient-weight_kg">Weight <span class="unit">(kg)</span>' in html


def test_the_condition_is_found_by_synonym(client_for: Client) -> None:
    html = client_for("clinician").get("/app/request/new?condition=Guillain-Barré syndrome").text
    assert 'id="condition-name"' in html
    assert 'name="findings.days_since_onset"' in html


def test_an_unknown_condition_offers_the_nearest(client_for: Client) -> None:
    form = {**GBS_FORM, "condition": "guillain"}
    response = client_for("clinician").post("/app/request", data=form)
    assert response.status_code == 422
    assert 'name="pick_condition" value="gbs"' in response.text


def test_the_gbs_request_gives_the_dose_and_the_rate_table(client_for: Client) -> None:
    """Worked example examples/gbs-non-ambulant.yaml: 2 g/kg over 5 days [efns-2008], adjusted
    weight under the Australian policy [au-lifeblood-abw-2026]: the page shows the core's own
    figures (the same object as ``ivig recommend``)."""
    from ivig.app.recommend import recommend
    from ivig.knowledge import load_knowledge

    kb = load_knowledge()

    data = {
        "patient": {"sex": "male", "age_years": 62, "height_cm": 178, "weight_kg": 85,
                    "labs": {"iga_g_per_l": 1.8, "egfr_ml_per_min_1_73m2": 82}},
        "condition": "gbs", "phase": "induction", "jurisdiction": "au",
        "findings": {"able_to_walk_unaided": False, "days_since_onset": 5},
    }  # fmt: skip
    rec: dict[str, Any] = cast(Any, recommend(kb, data))
    assert rec["dose"] and rec["dosing_weight"] and rec["infusion"]
    html = client_for("clinician").post("/app/request", data=GBS_FORM).text
    assert _text(html, "eligibility-status") == "supported"
    assert _text(html, "total-g") == f"{round(rec['dose']['total_g'], 2):g} g"
    assert _text(html, "dosing-weight") == f"{rec['dosing_weight']['kg']:g} kg"
    rates = html.split('id="rates"')[1].split("</table>")[0]
    for step in rec["infusion"]["steps"]:
        assert f"<strong>{step['rate_ml_per_h']:.1f}</strong>" in rates
    assert html.count('<li class="badge') == len(rec["eligibility"]["evidence"])


def test_an_excluded_product_is_struck_through_with_its_reason(client_for: Client) -> None:
    form = {**GBS_FORM, "patient.risk_factors": "hyperprolinaemia"}
    html = client_for("clinician").post("/app/request", data=form).text
    struck = re.findall(r"<del><strong>([^<]+)</strong></del>", html)
    assert struck, "no excluded product shown"
    assert "excluded" in html


def test_unverified_facts_are_listed_in_plain_words(client_for: Client, kb: KnowledgeBase) -> None:
    """The GBS review plan is unverified [au-nba-updates-2024]: it is listed by the
    indication's name, not its id, and the answer says how many facts are unconfirmed."""
    html = client_for("clinician").post("/app/request", data=GBS_FORM).text
    listed = re.findall(r'<li class="unverified">([^<]*)</li>', html)
    name = next(i["name"] for i in kb.condition("gbs")["indications"] if i["id"] == "gbs.initial")
    assert any(name in item for item in listed), listed
    assert not any("gbs.initial" in item for item in listed)
    answer = html.split('id="answer"')[1].split("</section>")[0]
    assert "not yet confirmed in their source" in answer


@pytest.mark.parametrize(
    ("weight", "message"),
    [("900", "0.5 to 350"), ("abc", "not a number"), ("0", "greater than 0"), ("", "required")],
)
def test_an_invalid_weight_shows_the_error_next_to_the_field(
    client_for: Client, weight: str, message: str
) -> None:
    form = {**GBS_FORM, "patient.weight_kg": weight}
    response = client_for("clinician").post("/app/request", data=form)
    assert response.status_code == 422
    error = re.search(r'id="err-patient-weight_kg" role="alert">([^<]*)<', response.text)
    assert error and message in error.group(1).lower().replace("field required", "required")
    assert 'id="f-patient-weight_kg"' in response.text and 'aria-invalid="true"' in response.text


def test_a_bad_finding_value_is_reported_on_the_finding(client_for: Client) -> None:
    form = {**GBS_FORM, "findings.days_since_onset": "-3"}
    response = client_for("clinician").post("/app/request", data=form)
    assert response.status_code == 422
    assert 'id="err-findings-days_since_onset"' in response.text


def test_refresh_keeps_the_values_typed(client_for: Client) -> None:
    form = {**GBS_FORM, "action": "refresh"}
    html = client_for("clinician").post("/app/request", data=form).text
    assert (
        'name="patient.weight_kg" type="number" inputmode="decimal" step="any" value="85"' in html
    )


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_a_clinician_submits_and_a_steward_authorises(client_for: Client) -> None:
    clinician = client_for("clinician")
    html = clinician.post("/app/request", data=GBS_FORM).text
    request_json = re.search(r'name="request_json" value="([^"]+)"', html)
    assert request_json
    import html as html_lib

    body = {"csrf": _csrf(html), "request_json": html_lib.unescape(request_json.group(1)),
            "patient_ref": "WEB-0001"}  # fmt: skip
    response = clinician.post("/app/requests", data=body, follow_redirects=False)
    assert response.status_code == 303
    url = response.headers["location"]
    steward = client_for("steward")
    page = steward.get(url).text
    assert _text(page, "request-status") == "pending"
    assert 'id="authorise-form"' in page
    assert 'id="authorise-form"' not in clinician.get(url).text  # clinicians do not authorise
    decision = {"csrf": _csrf(page), "outcome": "approve", "reason": "criteria met"}
    done = steward.post(url + "/authorise", data=decision)
    assert done.status_code == 200
    assert _text(done.text, "request-status") == "approved"


def test_a_post_without_the_csrf_token_is_refused(client_for: Client) -> None:
    response = client_for("steward").post(
        "/app/requests/1/authorise", data={"outcome": "approve", "reason": "x"}
    )
    assert response.status_code == 403


def test_the_patient_page_shows_courses_lots_and_charts(client_for: Client) -> None:
    client = client_for("nurse")
    rows = client.get("/app/patients").text
    refs = re.findall(r'href="/app/patients/(DEMO-\d+)"', rows)
    assert refs
    shown = 0
    for ref in refs:
        html = client.get(f"/app/patients/{ref}").text
        if 'class="lot"' in html:
            shown += 1
            assert 'id="igg-' in html and "<svg" in html
            assert "Serum IgG" in html
    assert shown > 0


def test_an_unknown_patient_is_404(client_for: Client) -> None:
    assert client_for("nurse").get("/app/patients/NOBODY").status_code == 404


def test_the_dashboard_lists_pending_requests_and_charts(client_for: Client) -> None:
    html = client_for("steward").get("/app/dashboard").text
    assert 'id="pending"' in html and 'id="usage-month"' in html
    assert 'id="usage-condition"' in html and 'id="savings-box"' in html
    assert f"Today {TODAY.isoformat()}" in html


def test_the_savings_compare_a_policy(client_for: Client, kb: KnowledgeBase) -> None:
    policy = kb.data["dosing"]["policies"][-1]
    html = client_for("pharmacist").get(f"/app/dashboard/savings?policy={policy['id']}").text
    assert f"dosed under <strong>{escape(policy['name'])}</strong>" in html
    fallback = client_for("pharmacist").get("/app/dashboard/savings?policy=nope").text
    first = kb.data["dosing"]["policies"][0]["name"]
    assert f"dosed under <strong>{escape(first)}</strong>" in fallback
    assert 'id="savings-cost"' not in html  # no prices set: grams only


def test_with_a_prices_file_the_dashboard_shows_cost_per_gram(
    kb: KnowledgeBase, registry_url: str, tmp_path: Any
) -> None:
    """examples/prices.csv (product, price_per_g): usage cost, cost per gram and the saving in
    money; a bad price names its line."""
    import dataclasses
    from pathlib import Path

    from tests._helpers.web import build_app

    sample = Path(__file__).resolve().parents[2] / "examples" / "prices.csv"
    app = build_app(registry_url, kb)
    state = app.state.ivig
    state.settings = dataclasses.replace(state.settings, prices_file=str(sample))
    with TestClient(app) as client:
        sign_in(client, {"token": "tok-pharmacist", "next": "/app"})
        html = client.get("/app/dashboard").text
        assert 'id="usage-cost"' in html and "per gram" in html and 'id="prices-hint"' not in html
        saving = client.get("/app/dashboard/savings").text
        assert 'id="savings-cost"' in saving
        bad = tmp_path / "prices.csv"
        bad.write_text("product,price_per_g\nprivigen,free\n")
        state.settings = dataclasses.replace(state.settings, prices_file=str(bad))
        html = client.get("/app/dashboard").text
        assert 'id="prices-error"' in html and "prices line 2 price_per_g" in html


def test_shortage_mode_is_for_stewards_only(client_for: Client) -> None:
    steward = client_for("steward").get("/app/dashboard?shortage=1").text
    assert 'id="triage"' in steward
    pharmacist = client_for("pharmacist").get("/app/dashboard?shortage=1").text
    assert 'id="triage"' not in pharmacist and "Shortage mode" not in pharmacist


def test_the_dashboard_follows_registry_changes(client_for: Client) -> None:
    steward = client_for("steward")
    before = steward.get("/app/dashboard").text.count('href="/app/requests/')
    clinician = client_for("clinician")
    html = clinician.post("/app/request", data=GBS_FORM).text
    import html as html_lib

    request_json = re.search(r'name="request_json" value="([^"]+)"', html)
    assert request_json
    body = html_lib.unescape(request_json.group(1))
    form = {"csrf": _csrf(html), "patient_ref": "WEB-0002", "request_json": body}
    clinician.post("/app/requests", data=form)
    after = steward.get("/app/dashboard").text.count('href="/app/requests/')
    assert after == before + 1


def test_the_knowledge_browser_finds_conditions_by_code(
    client_for: Client, kb: KnowledgeBase
) -> None:
    cond = kb.condition("gbs")
    code = cond["codes"][0]["code"]
    html = client_for("nurse").get(f"/app/knowledge?q={code}").text
    assert 'href="/app/knowledge/conditions/gbs"' in html.split('id="matches"')[1]


def test_the_knowledge_pages_show_sources_and_unverified(client_for: Client) -> None:
    client = client_for("nurse")
    condition = client.get("/app/knowledge/conditions/gbs").text
    assert "/app/knowledge/sources#src-efns-2008" in condition
    sources = client.get("/app/knowledge/sources").text
    assert 'id="src-efns-2008"' in sources
    unverified = client.get("/app/knowledge/unverified").text
    assert "Unverified facts" in unverified
    assert client.get("/app/knowledge/products/privigen").status_code == 200
    assert client.get("/app/knowledge/products/nope").status_code == 404


def test_the_stored_order_sheet_prints(client_for: Client) -> None:
    """The sheet's print stylesheet is a file of this server (the pages allow no inline style)."""
    client = client_for("pharmacist")
    html = client.get("/app/requests/1/order-sheet").text
    assert '<link rel="stylesheet" href="/app/order-sheet.css">' in html and "<style" not in html
    css = client.get("/app/order-sheet.css")
    assert css.headers["content-type"].startswith("text/css")
    assert "@page" in css.text and "@media print" in css.text


def test_static_files_are_served_and_nothing_else(app: Any) -> None:
    with TestClient(app) as client:
        assert client.get("/app/static/app.css").headers["content-type"].startswith("text/css")
        assert client.get("/app/static/..%2Fdeps.py").status_code == 404
        assert client.get("/app/static/nope.js").status_code == 404


def test_the_pages_work_without_a_registry(kb: KnowledgeBase) -> None:
    from tests._helpers.web import build_app

    with TestClient(build_app(None, kb)) as client:
        sign_in(client, {"token": "tok-clinician", "next": "/app"})
        html = client.post("/app/request", data=GBS_FORM).text
        assert 'id="total-g"' in html and 'id="submit-form"' not in html
        assert client.get("/app/patients").status_code == 404


def _active_course(client: TestClient) -> tuple[str, int, str]:
    """A demonstration patient with an active course: (reference, course id, page HTML)."""
    rows = client.get("/app/patients").text
    for ref in re.findall(r'href="/app/patients/(DEMO-\d+)"', rows):
        html = client.get(f"/app/patients/{ref}").text
        found = re.search(r'id="inf-(\d+)-form"', html)
        if found:
            return ref, int(found.group(1)), html
    raise AssertionError("no demonstration patient with an active course")


def _infusion(html: str, course_id: int, **changes: str) -> dict[str, str]:
    selected = rf'id="f-inf-{course_id}-product".*?<option value="([^"]+)" selected'
    product = re.search(selected, html, re.S)
    assert product
    form = {"csrf": _csrf(html), "date": TODAY.isoformat(), "product": product.group(1),
            "lot_number": "LOT-WEB-4711", "grams": "30", "rate_ml_per_h": "120",
            "duration_min": "180", "reactions": "mild headache"}  # fmt: skip
    return {**form, **changes}


def test_a_nurse_records_an_infusion_and_its_lot_shows(client_for: Client) -> None:
    nurse = client_for("nurse")
    ref, course_id, html = _active_course(nurse)
    assert f'for="f-inf-{course_id}-lot_number">Lot (batch) number' in html
    url = f"/app/patients/{ref}/courses/{course_id}/infusions"
    # the demonstration course has used its authorised grams: the registry refuses a further
    # infusion unless the form gives an override reason, which the dashboard then shows
    refused = nurse.post(url, data=_infusion(html, course_id))
    assert refused.status_code == 422
    assert "override_reason" in refused.text
    reason = {"override_reason": "second bag ordered by Dr A after review"}
    # a nurse may record infusions but not one beyond the authorisation (ivig.permissions)
    assert nurse.post(url, data=_infusion(refused.text, course_id, **reason)).status_code == 403
    pharmacist = client_for("pharmacist")
    html = pharmacist.get(f"/app/patients/{ref}").text
    form = _infusion(html, course_id, **reason)
    response = pharmacist.post(url, data=form, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/app/patients/{ref}")
    page = pharmacist.get(response.headers["location"]).text
    assert '<td class="lot">LOT-WEB-4711</td>' in page
    assert "mild headache" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("grams", "-5", "grams: -5.0 g is not allowed"), ("grams", "abc", "not a number"),
     ("lot_number", "", "required")],
)  # fmt: skip
def test_a_bad_infusion_value_is_shown_next_to_its_field(
    client_for: Client, field: str, value: str, message: str
) -> None:
    nurse = client_for("nurse")
    ref, course_id, html = _active_course(nurse)
    url = f"/app/patients/{ref}/courses/{course_id}/infusions"
    form = _infusion(html, course_id, **{"lot_number": "LOT-NOT-STORED", field: value})
    response = nurse.post(url, data=form)
    assert response.status_code == 422
    error = re.search(rf'id="err-inf-{course_id}-{field}" role="alert">([^<]*)<', response.text)
    assert error and message in error.group(1)
    if field != "lot_number":  # the values typed are kept
        assert 'name="lot_number" type="text" value="LOT-NOT-STORED"' in response.text
    assert "LOT-NOT-STORED</td>" not in nurse.get(f"/app/patients/{ref}").text


def test_a_role_that_may_not_record_an_infusion_gets_403(client_for: Client) -> None:
    nurse = client_for("nurse")
    ref, course_id, html = _active_course(nurse)
    steward = client_for("steward")
    page = steward.get(f"/app/patients/{ref}").text
    assert 'id="inf-' not in page  # no infusion form for stewards
    form = {**_infusion(html, course_id), "csrf": _csrf(page)}
    url = f"/app/patients/{ref}/courses/{course_id}/infusions"
    assert steward.post(url, data=form).status_code == 403


def test_a_care_form_without_the_csrf_token_is_refused(client_for: Client) -> None:
    nurse = client_for("nurse")
    ref, course_id, html = _active_course(nurse)
    form = {k: v for k, v in _infusion(html, course_id).items() if k != "csrf"}
    url = f"/app/patients/{ref}/courses/{course_id}/infusions"
    assert nurse.post(url, data=form).status_code == 403


def test_a_clinician_records_an_outcome_and_a_bad_score_is_named(
    client_for: Client, kb: KnowledgeBase
) -> None:
    clinician = client_for("clinician")
    ref, course_id, html = _active_course(clinician)
    score = next(s for s in kb.data["scores"] if s["id"] == "mrs")
    grade = score["items"][0]["choices"][1]["value"]
    url = f"/app/patients/{ref}/courses/{course_id}/outcomes"
    form = {"csrf": _csrf(html), "score_id": "mrs", "date": TODAY.isoformat(),
            "timing": "routine", "value": str(grade)}  # fmt: skip
    assert clinician.post(url, data=form, follow_redirects=False).status_code == 303
    assert f"<td>{escape(score['name'])}</td>" in clinician.get(f"/app/patients/{ref}").text
    items = {**form, "score_id": "incat", "value": "", "items": "arm = 1\nleg = 2"}
    assert clinician.post(url, data=items, follow_redirects=False).status_code == 303
    bad_items = clinician.post(url, data={**items, "items": "arm 1"})
    assert bad_items.status_code == 422
    assert f'id="err-out-{course_id}-items"' in bad_items.text
    bad = clinician.post(url, data={**form, "score_id": "no-such-score"})
    assert bad.status_code == 422
    assert f'id="err-out-{course_id}-score_id"' in bad.text


def test_a_pharmacist_records_an_adverse_event_and_a_bad_severity_is_named(
    client_for: Client,
) -> None:
    pharmacist = client_for("pharmacist")
    ref, _course_id, _ = _active_course(client_for("nurse"))
    html = pharmacist.get(f"/app/patients/{ref}").text
    assert 'id="ae-form"' in html and 'id="inf-' in html
    url = f"/app/patients/{ref}/adverse-events"
    form = {"csrf": _csrf(html), "date": TODAY.isoformat(), "event_type": "aseptic meningitis",
            "severity": "moderate", "outcome": "resolving", "lot_number": "LOT-AE-9"}  # fmt: skip
    assert pharmacist.post(url, data=form, follow_redirects=False).status_code == 303
    assert "aseptic meningitis" in pharmacist.get(f"/app/patients/{ref}").text
    bad = pharmacist.post(url, data={**form, "severity": "extreme"})
    assert bad.status_code == 422
    assert 'id="err-ae-severity"' in bad.text and "extreme" in bad.text
    steward = client_for("steward")
    assert 'id="ae-form"' not in steward.get(f"/app/patients/{ref}").text
    assert steward.post(url, data=form).status_code == 403


def test_a_nurse_records_a_measured_igg_and_the_chart_is_fitted_to_it(
    client_for: Client, kb: KnowledgeBase
) -> None:
    """A trough level is stored, listed, and the PK model is fitted to it (MAP over the
    population's variability [pk.yaml populations]); the form gives the registry's messages."""
    nurse = client_for("nurse")
    ref, course_id, html = _active_course(nurse)
    assert f'id="igg-{course_id}-form"' in html
    url = f"/app/patients/{ref}/courses/{course_id}/igg-levels"
    form = {"csrf": _csrf(html), "date": TODAY.isoformat(), "kind": "trough",
            "igg_g_per_l": "9.4", "note": "before the infusion"}  # fmt: skip
    assert nurse.post(url, data=form, follow_redirects=False).status_code == 303
    page = nurse.get(f"/app/patients/{ref}").text
    table = page.split(f'id="igg-levels-{course_id}"')[1].split("</table>")[0]
    assert f"<td>{TODAY.isoformat()}</td><td>trough</td><td>9.4</td>" in table
    chart = page.split(f'id="igg-{course_id}"')[1].split("</svg>")[0]
    assert "fitted to the measured levels" in chart and "measured IgG" in chart
    limit = kb.limit("igg_g_per_l")
    assert limit is not None
    bad = nurse.post(url, data={**form, "igg_g_per_l": str(limit["max"] + 50)})
    assert bad.status_code == 422
    assert f'id="err-igg-{course_id}-igg_g_per_l"' in bad.text
    assert f"{limit['min']:g} to {limit['max']:g}" in bad.text
    text = nurse.post(url, data={**form, "igg_g_per_l": "nine"})
    assert text.status_code == 422 and "not a number" in text.text
    steward = client_for("steward")
    assert f'id="igg-{course_id}-form"' not in steward.get(f"/app/patients/{ref}").text
    assert steward.post(url, data=form).status_code == 403


def test_no_patient_shows_a_trough_band_of_another_population(
    client_for: Client, kb: KnowledgeBase
) -> None:
    """The immunodeficiency label troughs (Privigen, [pk.yaml references]) are not a target
    for a neurology patient: a band is shown only with a reference of the patient's own
    condition population, and the knowledge base has none yet, so every course says so."""
    from ivig.app.patient import choose_population

    client = client_for("pharmacist")
    foreign = [
        r["description"]
        for r in kb.data["pk"]["references"]
        if r["kind"] == "trough" and r["population"] == choose_population(kb, None)[0]["id"]
    ]
    assert foreign  # the label troughs exist and must not be shown
    rows = client.get("/app/patients").text
    shown = 0
    for ref in re.findall(r'href="/app/patients/(DEMO-\d+)"', rows):
        html = client.get(f"/app/patients/{ref}").text
        assert not any(escape(d) in html for d in foreign), ref
        shown += html.count('id="band-note-')
    assert shown > 0


def test_a_provisional_plan_says_so_first_with_what_to_confirm(
    client_for: Client, kb: KnowledgeBase
) -> None:
    """GBS without its findings: the plan is provisional (``plan_status``), the answer and the
    order sheet say so at the top with the criteria to confirm, in words, not ids."""
    from ivig.app.recommend import recommend
    from ivig.render.html import render_order_sheet

    form = {k: v for k, v in GBS_FORM.items() if not k.startswith("findings.")}
    data = {"patient": {"sex": "male", "age_years": 62, "height_cm": 178, "weight_kg": 85,
                        "labs": {"iga_g_per_l": 1.8, "egfr_ml_per_min_1_73m2": 82}},
            "condition": "gbs", "phase": "induction", "jurisdiction": "au"}  # fmt: skip
    rec: dict[str, Any] = cast(Any, recommend(kb, data))
    assert rec["plan_status"] == "provisional" and rec["to_confirm"]
    html = client_for("clinician").post("/app/request", data=form).text
    answer = html.split('id="answer"')[1].split("</section>")[0]
    assert 'id="answer-provisional"' in answer and 'id="total-g"' in answer
    assert "days since onset" in answer and "days_since_onset" not in answer
    sheet = render_order_sheet(rec)
    assert 'id="sheet-provisional"' in sheet
    assert sheet.count("before authorisation confirm") == 0  # the warning is not repeated


def test_an_outcome_is_scored_item_by_item_from_the_score_definition(
    client_for: Client, kb: KnowledgeBase
) -> None:
    """The item-by-item form lists the score's own items and choices; the registry computes
    the total from them (the score record's method); a value outside the choices is refused."""
    clinician = client_for("clinician")
    ref, course_id, html = _active_course(clinician)
    links = re.findall(
        rf'href="(/app/patients/{ref}/courses/{course_id}/outcomes/new\?score=[^"]+)"', html
    )
    summed = [u for u in links if kb.score(u.rsplit("=", 1)[1])["method"] == "sum"]
    url = (summed or links)[0]
    score = kb.score(url.rsplit("=", 1)[1])
    form_page = clinician.get(url).text
    for item in score["items"]:
        assert f'name="item.{item["id"]}"' in form_page
    form = {"csrf": _csrf(form_page), "score_id": score["id"], "date": TODAY.isoformat(),
            "timing": "routine"}  # fmt: skip
    chosen = {}
    for item in score["items"]:
        value = item["choices"][-1]["value"] if item.get("choices") else item.get("min", 0)
        chosen[item["id"]] = value
        form[f"item.{item['id']}"] = str(value)
    post = f"/app/patients/{ref}/courses/{course_id}/outcomes"
    assert clinician.post(post, data=form, follow_redirects=False).status_code == 303
    from ivig.core.scores import compute_score

    result = compute_score(kb, score["id"], chosen)
    total = result["total"] if score["method"] != "class" else result["rank"]
    page = clinician.get(f"/app/patients/{ref}").text
    assert f"<td>{escape(score['name'])}</td><td>{total:g}</td>" in page
    if score["items"][0].get("choices"):
        bad = {**form, f"item.{score['items'][0]['id']}": "99"}
        refused = clinician.post(post, data=bad)
        assert refused.status_code == 422 and "99" in refused.text
        assert f'id="items-{course_id}-form"' in refused.text  # the item form again


def test_sign_in_needs_the_token_of_this_browsers_sign_in_page(app: Any) -> None:
    """Login CSRF (issue 17, left from the last round): a form posted from another site, or a
    token lifted from another browser's page, starts no session; the refusal page carries a
    fresh token, so signing in again from it works."""
    from tests._helpers.web import login_token

    with TestClient(app) as victim, TestClient(app) as attacker:
        bare = victim.post("/app/login", data={"token": "tok-nurse", "next": "/app"})
        assert bare.status_code == 403 and "ivig_session" not in bare.cookies
        assert "has expired or came from elsewhere" in bare.text
        lifted = login_token(attacker)  # valid, but bound to the attacker's nonce cookie
        victim.cookies.set("ivig_login", "x" * 24, path="/app/login")
        crossed = victim.post(
            "/app/login", data={"token": "tok-nurse", "next": "/app", "login_csrf": lifted}
        )
        assert crossed.status_code == 403 and "ivig_session" not in crossed.cookies
        retry = sign_in(victim, {"token": "tok-nurse", "next": "/app"}, follow_redirects=False)
        assert retry.status_code == 303 and "ivig_session" in retry.cookies
