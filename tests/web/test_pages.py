"""The pages over HTTP (FastAPI test client, demonstration registry): sign-in, roles, the
request form and its field errors, the recommendation, authorisation, patient, dashboard and
knowledge pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ivig.knowledge import KnowledgeBase
from web.conftest import GBS_FORM, TODAY

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
        response = client.post("/app/login", data={"token": "nope", "next": "/app"})
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
        response = client.post("/app/login", data={"demo_user": "nurse_ng", "next": "/app"})
        assert "nurse_ng" in response.text and "Sign out" in response.text


def test_sign_in_never_redirects_off_site(app: Any) -> None:
    with TestClient(app) as client:
        response = client.post(
            "/app/login",
            data={"token": "tok-nurse", "next": "https://evil.example/"},
            follow_redirects=False,
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
    from ivig.cli.recommend import build_recommendation

    data = {
        "patient": {"sex": "male", "age_years": 62, "height_cm": 178, "weight_kg": 85,
                    "labs": {"iga_g_per_l": 1.8, "egfr_ml_per_min_1_73m2": 82}},
        "condition": "gbs", "phase": "induction", "jurisdiction": "au",
        "findings": {"able_to_walk_unaided": False, "days_since_onset": 5},
    }  # fmt: skip
    rec = build_recommendation(data)
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


def test_unverified_facts_are_highlighted(client_for: Client) -> None:
    html = client_for("clinician").post("/app/request", data=GBS_FORM).text
    assert 'class="warn unverified"' in html  # the GBS review plan is unverified


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
    policy = kb.data["dosing"]["policies"][-1]["id"]
    html = client_for("pharmacist").get(f"/app/dashboard/savings?policy={policy}").text
    assert f"Under <strong>{policy}</strong>" in html
    fallback = client_for("pharmacist").get("/app/dashboard/savings?policy=nope").text
    assert f"Under <strong>{kb.data['dosing']['policies'][0]['id']}</strong>" in fallback


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
    html = client_for("pharmacist").get("/app/requests/1/order-sheet").text
    assert "@media print" in html


def test_static_files_are_served_and_nothing_else(app: Any) -> None:
    with TestClient(app) as client:
        assert client.get("/app/static/app.css").headers["content-type"].startswith("text/css")
        assert client.get("/app/static/..%2Fdeps.py").status_code == 404
        assert client.get("/app/static/nope.js").status_code == 404


def test_the_pages_work_without_a_registry(kb: KnowledgeBase) -> None:
    from web.conftest import build_app

    with TestClient(build_app(None, kb)) as client:
        client.post("/app/login", data={"token": "tok-clinician", "next": "/app"})
        html = client.post("/app/request", data=GBS_FORM).text
        assert 'id="total-g"' in html and 'id="submit-form"' not in html
        assert client.get("/app/patients").status_code == 404
