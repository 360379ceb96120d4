"""The web application in a real browser: Debian's Chromium driven by Playwright against a
real uvicorn server on loopback with a temporary demonstration registry.

Skips when Chromium is missing, unless IVIG_REQUIRE_INTEGRATION=1 (CI), where it fails.
Screenshots of each main page go to artifacts/screenshots/; those the README shows (the top of
the recommendation at 1366 x 900, the order sheet, the patient page, the dashboard at 768 px)
to docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from ivig.knowledge import KnowledgeBase
from tests._helpers.web import build_app

CHROMIUM = os.environ.get("IVIG_CHROMIUM", "/usr/bin/chromium")
REQUIRE = os.environ.get("IVIG_REQUIRE_INTEGRATION") == "1"
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
DOCS_SHOTS = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1366, "height": 900}
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
TABLET = {"width": 820, "height": 1180}


def _missing() -> str | None:
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    reason = _missing()
    if reason:
        if REQUIRE:
            pytest.fail(reason + " (IVIG_REQUIRE_INTEGRATION=1)")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


class LiveServer:
    """uvicorn in a thread, on a loopback port bound before it starts."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture(scope="module")
def server(registry_url: str, kb: KnowledgeBase, chromium: Any) -> Iterator[LiveServer]:
    live = LiveServer(build_app(registry_url, kb))
    yield live
    live.stop()


def _page(chromium: Any, server: LiveServer, role: str) -> Any:
    context = chromium.new_context(viewport=TABLET, base_url=server.url)
    page = context.new_page()
    page.goto("/app/login")
    page.get_by_label("API token").fill(f"tok-{role}")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/app")
    return page


def _shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _fill_gbs(page: Any, weight_kg: str) -> None:
    page.goto("/app/request/new")
    page.get_by_label("Condition").fill("gbs")
    page.locator("#f-findings-days_since_onset").wait_for()  # fields fetched for the condition
    page.locator("#f-patient-sex").select_option("male")
    page.locator("#f-patient-age_years").fill("62")
    page.locator("#f-patient-weight_kg").fill(weight_kg)
    page.locator("#f-patient-height_cm").fill("178")
    page.locator("#f-findings-able_to_walk_unaided").select_option("false")
    page.locator("#f-findings-days_since_onset").fill("5")
    page.locator("#f-jurisdiction").select_option("au")


def test_a_clinician_fills_the_gbs_form_and_sees_dose_and_rates(
    chromium: Any, server: LiveServer
) -> None:
    """The GBS example: 2 g/kg over 5 days [efns-2008] on the adjusted weight
    [au-lifeblood-abw-2026]; the page shows the core's figures for the nurse in mL/h."""
    from ivig.app.recommend import recommend
    from ivig.knowledge import load_knowledge

    kb = load_knowledge()

    rec: dict[str, Any] = cast(Any, recommend(kb, {
        "patient": {"sex": "male", "age_years": 62, "height_cm": 178, "weight_kg": 85},
        "condition": "gbs", "phase": "induction", "jurisdiction": "au",
        "findings": {"able_to_walk_unaided": False, "days_since_onset": 5},
    }))  # fmt: skip
    assert rec["dose"] and rec["infusion"]
    page = _page(chromium, server, "clinician")
    _shot(page, "home")
    _fill_gbs(page, "85")
    _shot(page, "request-form")
    page.get_by_role("button", name="Get the recommendation").click()
    page.locator("#total-g").wait_for()
    assert page.locator("#total-g").inner_text() == f"{round(rec['dose']['total_g'], 2):g} g"
    rows = page.locator("#rates tbody tr")
    assert rows.count() == len(rec["infusion"]["steps"])
    first_rate = rec["infusion"]["steps"][0]["rate_ml_per_h"]
    assert rows.nth(0).locator("td.ml-h").text_content() == f"{first_rate:.1f}"
    _shot(page, "recommendation")
    page.set_viewport_size(DESKTOP)
    page.evaluate("window.scrollTo(0, 0)")
    for element in ("#total-g", "#answer-product", "#answer-first-rate"):  # the answer, first
        box = page.locator(element).bounding_box()
        assert box is not None and box["y"] + box["height"] <= DESKTOP["height"], element
    assert page.locator("#answer-first-rate strong").inner_text() == f"{first_rate:.1f}"
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_SHOTS / "recommendation.png"), full_page=False)
    page.context.close()


def test_an_invalid_weight_shows_the_field_error(chromium: Any, server: LiveServer) -> None:
    page = _page(chromium, server, "clinician")
    _fill_gbs(page, "850")
    page.get_by_role("button", name="Get the recommendation").click()
    error = page.locator("#err-patient-weight_kg")
    error.wait_for()
    assert "0.5 to 350" in error.inner_text()
    assert page.locator("#f-patient-weight_kg").get_attribute("aria-invalid") == "true"
    assert page.locator("#f-patient-weight_kg").input_value() == "850"
    _shot(page, "request-form-error")
    page.context.close()


def test_a_steward_authorises_a_pending_request(chromium: Any, server: LiveServer) -> None:
    page = _page(chromium, server, "steward")
    page.get_by_role("link", name="Stewardship", exact=True).click()
    page.locator("#pending").wait_for()
    _shot(page, "dashboard")
    page.locator("#pending tbody a[href^='/app/requests/']").first.click()
    assert page.locator("#request-status").inner_text() == "pending"
    assert page.locator("#a-outcome").input_value() == ""  # the decision has no default
    page.get_by_label("Reason").fill("criteria reviewed at panel")
    page.get_by_role("button", name="Record the decision").click()
    assert page.locator("#request-status").inner_text() == "pending"  # refused without one
    page.locator("#a-outcome").select_option("approve")
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_url("**authorised=1")
    assert page.locator("#request-status").inner_text() == "approved"
    _shot(page, "request-authorised")
    page.context.close()


def test_charts_render_on_the_dashboard_and_patient_page(chromium: Any, server: LiveServer) -> None:
    page = _page(chromium, server, "steward")
    page.goto("/app/dashboard")
    bars = page.locator("#usage-month rect")
    assert bars.count() > 1
    assert page.locator("#usage-month").bounding_box()["width"] > 200
    page.goto("/app/patients")
    _shot(page, "patients")
    links = page.locator("#patients tbody a[href^='/app/patients/']")
    for n in range(links.count()):
        page.goto(links.nth(n).get_attribute("href"))
        igg = page.locator("svg[id^='igg-']")
        if igg.count():
            assert igg.first.locator("polyline").count() >= 1
            assert igg.first.bounding_box()["height"] > 50
            _shot(page, "patient")
            break
        page.goto("/app/patients")
    else:
        pytest.fail("no patient with an IgG chart")
    page.goto("/app/knowledge")
    _shot(page, "knowledge")
    page.context.close()


def test_the_form_is_usable_from_the_keyboard(chromium: Any, server: LiveServer) -> None:
    page = _page(chromium, server, "clinician")
    page.goto("/app/request/new")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    tag = page.evaluate("document.activeElement.id")
    assert tag == "f-condition"
    unlabeled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select')]
              .filter(e => !e.labels || e.labels.length === 0).map(e => e.name)"""
    )
    assert unlabeled == []
    page.context.close()


#: what a person types into each field of the GBS request, found by Tab; a select is set with
#: the keys a person presses on it (type-ahead or arrows), never programmatically
_TYPED_GBS: dict[str, list[str]] = {
    "f-patient-sex": ["m", "a", "l", "e"],
    "f-patient-age_years": list("62"),
    "f-patient-weight_kg": list("85"),
    "f-patient-height_cm": list("178"),
    "f-findings-able_to_walk_unaided": ["ArrowDown", "ArrowDown"],  # not known, yes, no
    "f-findings-days_since_onset": ["5"],
}


#: whether the element focused before the last Tab was the last control Tab can reach
_LEFT_FROM_LAST = """() => {
  const reachable = [...document.querySelectorAll('a[href], button, input, select, textarea')]
    .filter(e => !e.disabled && e.tabIndex >= 0 && e.getClientRects().length > 0);
  return reachable.length > 0 && reachable[reachable.length - 1] === window.__before;
}"""


def test_a_person_typing_with_the_keyboard_loses_nothing(
    chromium: Any, server: LiveServer, kb: KnowledgeBase
) -> None:
    """Typed condition, Tab at once, then every field by Tab and keystrokes: focus never falls to
    the page, every value stays in its field and reaches the recommendation (the GBS example,
    2 g/kg [efns-2008] on the adjusted weight [au-lifeblood-abw-2026])."""
    from ivig.app.recommend import recommend

    rec: dict[str, Any] = cast(Any, recommend(kb, {
        "patient": {"sex": "male", "age_years": 62, "height_cm": 178, "weight_kg": 85},
        "condition": "gbs", "phase": "induction", "jurisdiction": "au",
        "findings": {"able_to_walk_unaided": False, "days_since_onset": 5},
    }))  # fmt: skip
    page = _page(chromium, server, "clinician")
    page.goto("/app/request/new")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-condition"
    page.keyboard.type("gbs", delay=60)
    pending = dict(_TYPED_GBS)
    for _ in range(120):  # Tab round the page until every field has been typed into
        page.evaluate("() => { window.__before = document.activeElement; }")
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.id")
        if page.evaluate("document.activeElement.tagName") == "BODY":
            # Tab off the last control leaves the document (a browser moves on to its own bar)
            # and the next Tab starts again at the top; anywhere else focus was lost.
            assert page.evaluate(_LEFT_FROM_LAST), "focus fell to the page mid-form"
            continue
        keys = pending.pop(focused, None)
        for key in keys or []:
            page.keyboard.press(key)
        if keys:
            page.wait_for_timeout(400)  # the condition's fields may arrive meanwhile
            assert page.evaluate("document.activeElement.id") == focused
        if not pending:
            break
    assert not pending, f"never reached by Tab: {sorted(pending)}"
    values = page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('#request-form [id^=f-]')]"
        ".map(e => [e.id, e.value]))"
    )
    assert values["f-condition"] == "gbs"
    assert values["f-patient-sex"] == "male"
    assert values["f-patient-weight_kg"] == "85"
    assert values["f-findings-able_to_walk_unaided"] == "false"
    assert values["f-findings-days_since_onset"] == "5"
    page.locator("#f-jurisdiction").focus()
    page.keyboard.type("Aus")  # type-ahead to Australia
    page.locator("#submit-request").focus()
    page.keyboard.press("Enter")
    page.locator("#total-g").wait_for()
    assert page.locator("#eligibility-status").inner_text() == rec["eligibility"]["status"]
    assert page.locator("#total-g").inner_text() == f"{round(rec['dose']['total_g'], 2):g} g"
    assert page.locator("#dosing-weight").inner_text() == f"{rec['dosing_weight']['kg']:g} kg"
    assert page.locator("#miss-h").count() == 0  # nothing typed went missing
    page.context.close()


def _pdf_pages(pdf: bytes) -> int:
    """Pages of a PDF: its page objects (``/Type /Page``, not ``/Pages``)."""
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))


def test_the_gbs_order_sheet_prints_on_one_a4_page(
    chromium: Any, server: LiveServer, kb: KnowledgeBase
) -> None:
    """ "Print the order sheet" prints the order, not the page: one A4 page with the patient,
    weight, date, dose, product, rates per day and signature lines (the GBS example, 2 g/kg
    over 5 days [efns-2008])."""
    from ivig.app.recommend import recommend

    rec: dict[str, Any] = cast(Any, recommend(kb, {
        "patient": {"sex": "male", "age_years": 62, "height_cm": 178, "weight_kg": 85},
        "condition": "gbs", "phase": "induction", "jurisdiction": "au",
        "findings": {"able_to_walk_unaided": False, "days_since_onset": 5},
    }))  # fmt: skip
    page = _page(chromium, server, "clinician")
    _fill_gbs(page, "85")
    page.get_by_role("button", name="Get the recommendation").click()
    page.locator("#total-g").wait_for()
    page.emulate_media(media="print")
    sheet = page.locator("#order-sheet")
    assert sheet.is_visible()
    assert not page.locator("#answer").is_visible()
    text = sheet.inner_text()
    for expected in (
        "Patient identifier", "Sex", "male", "62 years", "178 cm", "85 kg",
        f"{rec['dosing_weight']['kg']:g} kg", rec["dose"]["regimen"]["label"],
        rec["infusion"]["product_name"], "Prescriber", "Pharmacist", "Nurse", "Date and time",
    ):  # fmt: skip
        assert expected in text, expected
    assert page.locator("#sheet-date").inner_text() == "2026-11-22"
    assert page.locator("#sheet-days tbody tr").count() == len(rec["dose"]["days"])
    rates = page.locator("#sheet-rates tbody tr td b").all_inner_texts()
    assert rates == [f"{s['rate_ml_per_h']:.1f}" for s in rec["infusion"]["steps"]]
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    assert _pdf_pages(pdf) == 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "order-sheet.pdf").write_bytes(pdf)
    page.emulate_media(media="screen")
    page.context.close()


def test_a_stored_request_prints_its_sheet_with_the_patient(
    chromium: Any, server: LiveServer
) -> None:
    page = _page(chromium, server, "pharmacist")
    page.goto("/app/requests/1")
    ref = page.locator(".crumbs a").first.inner_text().removeprefix("Patient ").strip()
    page.goto("/app/requests/1/order-sheet")
    assert page.locator("#sheet-patient").inner_text() == ref
    assert _pdf_pages(page.pdf(format="A4", prefer_css_page_size=True)) == 1
    page.set_viewport_size({"width": 900, "height": 1270})
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_SHOTS / "order-sheet.png"), full_page=True)
    page.context.close()


@pytest.mark.parametrize(
    ("path", "rendered"), [("/docs", ".swagger-ui .info"), ("/redoc", ".api-info")]
)
def test_the_api_docs_load_with_no_request_to_another_host(
    chromium: Any, server: LiveServer, path: str, rendered: str
) -> None:
    """Swagger UI and ReDoc come from the package: every request that reaches the network
    (scripts, styles, fonts, favicon, the OpenAPI document) goes to this server, and the page
    renders. ReDoc's bundle links its maker's logo on a CDN; the page's Content-Security-Policy
    stops that one inside the browser, so it never reaches the network."""
    from urllib.parse import urlsplit

    context = chromium.new_context(viewport=TABLET, base_url=server.url)
    here = urlsplit(server.url).netloc
    seen: list[str] = []
    outside: list[str] = []

    def through(route: Any) -> None:  # every request the page sends to the network
        url = route.request.url
        seen.append(url)
        if urlsplit(url).netloc != here:
            outside.append(url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", through)
    page = context.new_page()
    page.goto(path)
    page.locator(rendered).first.wait_for(timeout=20000)
    page.wait_for_load_state("networkidle")
    assert outside == []
    assert any(u.endswith("/openapi.json") for u in seen)
    fonts = page.evaluate("() => [...document.fonts].map(f => f.family)")
    assert not any("Montserrat" in f or "Roboto" in f for f in fonts)
    context.close()


def test_the_dashboard_fits_768_px_without_horizontal_scroll(
    chromium: Any, server: LiveServer
) -> None:
    page = _page(chromium, server, "steward")
    page.set_viewport_size({"width": 768, "height": 1024})
    page.goto("/app/dashboard")
    page.locator("#savings").wait_for()  # the savings box, loaded into the page
    wide = page.evaluate("document.documentElement.scrollWidth")
    culprits = page.evaluate(
        """() => [...document.querySelectorAll('main *')]
           .filter(e => e.getBoundingClientRect().right > 768 && !e.closest('.table-wrap'))
           .slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)"""
    )
    assert wide <= 768, f"page is {wide} px wide at 768 px: {culprits}"
    labels = page.locator("#usage-condition text").all_text_contents()
    assert not any(t.startswith(("hronic", "…")) for t in labels)
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#use-h").scroll_into_view_if_needed()
    page.screenshot(path=str(DOCS_SHOTS / "dashboard-768.png"), full_page=False)
    page.context.close()


def test_a_nurse_records_a_trough_and_sees_the_fitted_curve(
    chromium: Any, server: LiveServer
) -> None:
    """The measured-IgG form on the patient page: the level is listed and the chart gains the
    curve fitted to it."""
    page = _page(chromium, server, "nurse")
    page.goto("/app/patients")
    links = page.locator("#patients tbody a[href^='/app/patients/']")
    for n in range(links.count()):
        page.goto(links.nth(n).get_attribute("href"))
        forms = page.locator("form[id^='igg-'][id$='-form']")
        if forms.count() and page.locator("svg[id^='igg-']").count():
            break
        page.goto("/app/patients")
    else:
        pytest.fail("no patient with an active course and an IgG chart")
    form = forms.first
    form_id = form.get_attribute("id")
    course_id = form_id.split("-")[1]
    page.locator(f"#{form_id}").locator("xpath=..").locator("summary").click()
    page.locator(f"#f-igg-{course_id}-igg_g_per_l").click()
    page.keyboard.type("8.6")
    page.locator(f"#{form_id} button[type=submit]").click()
    page.wait_for_url("**recorded=igg")
    table = page.locator(f"#igg-levels-{course_id}")
    assert "8.6" in table.inner_text()
    assert page.locator(f"#igg-{course_id} polyline").count() >= 2  # predicted and fitted
    page.set_viewport_size({"width": 1366, "height": 900})
    page.locator(f"#igg-{course_id}").scroll_into_view_if_needed()
    section = page.locator(f"section:has(#course-{course_id})")
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    section.screenshot(path=str(DOCS_SHOTS / "patient-igg.png"))
    page.context.close()


def test_the_comparison_of_jurisdictions_fits_a_laptop_screen(
    chromium: Any, server: LiveServer
) -> None:
    """From the recommendation, one click compares every jurisdiction; the table fits 1366 px
    without horizontal scrolling of the page."""
    page = _page(chromium, server, "clinician")
    page.set_viewport_size({"width": 1366, "height": 900})
    _fill_gbs(page, "85")
    page.get_by_role("button", name="Get the recommendation").click()
    page.get_by_role("button", name="Compare every jurisdiction for this patient").click()
    page.locator("#compare-table").wait_for()
    assert page.locator("#compare-table tbody tr").count() > 1
    assert page.locator("#cmp-au").inner_text().startswith("Australia")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    _shot(page, "compare")
    page.context.close()
