"""Time to serve each web page (target: under 100 ms) with the demonstration registry.

Starts the service with the web pages on a loopback port (uvicorn in a thread, a temporary
SQLite registry seeded with ``seed_demo``), signs in as a steward and fetches each page over
HTTP: once cold (first request after start-up or after a registry change), then RUNS times
(``IVIG_BENCH_RUNS``, default 30).
Prints the cold time, the median and the 95th percentile per page, and the dashboard again
right after a registry change (its cached reports are read afresh).

Each request opens its own connection (``Connection: close``): on this machine a reused
loopback connection to uvicorn/h11 adds a constant ~40 ms to every response, the REST
API's ``/api/health`` included (TCP delayed acknowledgement), which is not the pages' cost.
The ``/api/health`` line is the floor of the HTTP round trip.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

RUNS = int(os.environ.get("IVIG_BENCH_RUNS", "30"))  # fewer on a shared machine
TODAY = dt.date(2026, 11, 22)
GBS_FORM = {
    "condition": "gbs", "phase": "induction", "patient.sex": "male", "patient.age_years": "62",
    "patient.weight_kg": "85", "patient.height_cm": "178", "jurisdiction": "au",
    "findings.able_to_walk_unaided": "false", "findings.days_since_onset": "5",
    "action": "recommend",
}  # fmt: skip


#: the patient whose page shows an IgG curve fitted to a measured level
_FITTED: list[str] = []


def _app(url: str) -> Any:
    from ivig.knowledge import load_knowledge
    from ivig.registry import api
    from ivig.registry.db import make_engine, session_scope, upgrade
    from ivig.service import Settings, StaticToken, create_app
    from ivig.web import mount
    from ivig.web.session import WebConfig

    kb = load_knowledge()
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        api.seed_demo(session, kb, today=TODAY)
    with session_scope(engine) as session:  # a measured trough: the patient page fits the PK
        course = next(c for c in api.reviews_due(session, today=TODAY) if c["patient_ref"])
        api.record_igg_level(
            session, course["course_id"], date=TODAY, kind="trough", igg_g_per_l=8.5,
            actor="nurse_ng", knowledge=kb,
        )  # fmt: skip
        _FITTED.append(course["patient_ref"])
    engine.dispose()
    settings = Settings(
        database_url=url, knowledge=kb, today=lambda: TODAY,
        static_tokens={"bench-steward": StaticToken("steward", "steward"),
                       "bench-clinician": StaticToken("dr_lee", "clinician")},
    )  # fmt: skip
    return mount(create_app(settings), config=WebConfig(secret=b"bench" * 8))


def _serve(app: Any) -> tuple[str, Any]:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server


def _time(client: Any, method: str, url: str, data: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    response = client.request(method, url, data=data)
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{method} {url}: HTTP {response.status_code}")
    return elapsed


def main() -> None:
    import httpx

    with tempfile.TemporaryDirectory(prefix="ivig-web-bench-") as tmp:
        base, server = _app_and_server(f"sqlite:///{Path(tmp) / 'registry.db'}")
        close = {"Connection": "close"}
        with httpx.Client(base_url=base, timeout=30, headers=close) as client:
            client.post("/app/login", data={"token": "bench-steward", "next": "/app"})
            patient = "DEMO-0001"
            pages: list[tuple[str, str, str, dict[str, str] | None]] = [
                ("(floor) REST /api/health", "GET", "/api/health", None),
                ("home", "GET", "/app", None),
                ("new request form", "GET", "/app/request/new?condition=gbs", None),
                ("recommendation (POST form)", "POST", "/app/request", GBS_FORM),
                ("stored request", "GET", "/app/requests/1", None),
                ("order sheet", "GET", "/app/requests/1/order-sheet", None),
                ("patients", "GET", "/app/patients", None),
                ("patient", "GET", f"/app/patients/{patient}", None),
                ("patient, IgG fitted to a level", "GET", f"/app/patients/{_FITTED[0]}", None),
                ("dashboard", "GET", "/app/dashboard", None),
                ("dashboard, shortage mode", "GET", "/app/dashboard?shortage=1", None),
                ("dashboard savings", "GET", "/app/dashboard/savings", None),
                ("knowledge", "GET", "/app/knowledge", None),
                ("knowledge condition", "GET", "/app/knowledge/conditions/gbs", None),
                ("knowledge unverified", "GET", "/app/knowledge/unverified", None),
                ("knowledge sources", "GET", "/app/knowledge/sources", None),
                ("API docs (Swagger UI page)", "GET", "/docs", None),
            ]
            print(f"{'page':32} {'cold ms':>8} {'median ms':>10} {'p95 ms':>8}")
            worst = 0.0
            for name, method, url, data in pages:
                cold = _time(client, method, url, data)
                runs = sorted(_time(client, method, url, data) for _ in range(RUNS))
                median = statistics.median(runs)
                p95 = runs[int(0.95 * (len(runs) - 1))]
                worst = max(worst, p95)
                print(f"{name:32} {cold:8.1f} {median:10.1f} {p95:8.1f}")
            # a registry change (a new request) makes the dashboard read its reports afresh
            with httpx.Client(base_url=base, timeout=30, headers=close) as clinician:
                clinician.post("/app/login", data={"token": "bench-clinician", "next": "/app"})
                _submit(clinician)
            after = _time(client, "GET", "/app/dashboard")
            print(f"{'dashboard after a change':32} {after:8.1f}")
            print(f"slowest p95 of warm pages: {worst:.1f} ms (target < 100 ms)")
        server.should_exit = True


def _submit(client: Any) -> None:
    import html
    import re

    page = client.post("/app/request", data=GBS_FORM).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    body = re.search(r'name="request_json" value="([^"]+)"', page)
    if not (csrf and body):
        raise SystemExit("the recommendation page has no submit form")
    client.post("/app/requests", data={"csrf": csrf.group(1), "patient_ref": "BENCH-1",
                                       "request_json": html.unescape(body.group(1))})  # fmt: skip


def _app_and_server(url: str) -> tuple[str, Any]:
    return _serve(_app(url))


if __name__ == "__main__":
    main()
