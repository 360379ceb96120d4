"""The web application in a real browser: Debian's Chromium driven by Playwright against a
real uvicorn server on loopback with a temporary demonstration registry.

Skips when Chromium is missing, unless IVIG_REQUIRE_INTEGRATION=1 (CI), where it fails.
Screenshots of each main page go to artifacts/screenshots/; the recommendation page also to
docs/screenshots/recommendation.png (the README's picture).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ivig.knowledge import KnowledgeBase
from tests._helpers.web import build_app

CHROMIUM = os.environ.get("IVIG_CHROMIUM", "/usr/bin/chromium")
REQUIRE = os.environ.get("IVIG_REQUIRE_INTEGRATION") == "1"
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
README_SHOT = ROOT / "docs" / "screenshots" / "recommendation.png"
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

    rec = recommend(kb, {
        "patient": {"sex": "male", "age_years": 62, "height_cm": 178, "weight_kg": 85},
        "condition": "gbs", "phase": "induction", "jurisdiction": "au",
        "findings": {"able_to_walk_unaided": False, "days_since_onset": 5},
    })  # fmt: skip
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
    assert rows.nth(0).locator("td.ml-h").inner_text() == f"{first_rate:.1f}"
    _shot(page, "recommendation")
    README_SHOT.parent.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1024, "height": 1800})
    page.screenshot(path=str(README_SHOT), full_page=False)
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
    page.get_by_label("Reason").fill("criteria reviewed at panel")
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
