"""Helpers of the service tests: the EHR's signing keys, a real uvicorn server on loopback, a fake
EHR FHIR server, and hook requests built from the bundled GBS example bundle."""

from __future__ import annotations

import copy
import datetime as dt
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI, Request, Response

from ivig.service import CdsIssuer, Settings, StaticToken

DATA = Path(__file__).parents[1] / "service" / "data"
TODAY = dt.date(2026, 11, 22)
EHR_ISS = "https://ehr.example.org"
FHIR_TOKEN = "fhir-access-token-1"
TOKENS = {
    "tok-clinician": StaticToken("cara", "clinician"),
    "tok-pharmacist": StaticToken("phil", "pharmacist"),
    "tok-steward": StaticToken("stef", "steward"),
    "tok-admin": StaticToken("ada", "admin"),
}


GBS_REQUEST: dict[str, Any] = {
    "patient": {"sex": "male", "age_years": 62, "height_cm": 178, "weight_kg": 85},
    "condition": "gbs",
    "phase": "induction",
    "findings": {"able_to_walk_unaided": False, "days_since_onset": 5},
    "jurisdiction": "au",
}


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer tok-{role}"}


class Signer:
    """An EHR's signing key and its JWK Set."""

    def __init__(self, alg: str, kid: str) -> None:
        self.alg, self.kid = alg, kid
        if alg.startswith("ES"):
            self.key: Any = ec.generate_private_key(ec.SECP384R1())
            jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        else:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        self.jwk = {**jwk, "kid": kid, "use": "sig", "alg": alg}

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk]}

    def token(self, aud: str | list[str], *, iss: str = EHR_ISS, **changes: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": iss,
            "aud": aud,
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        }
        headers = {"kid": self.kid, "typ": "JWT", **changes.pop("headers", {})}
        claims.update(changes)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, self.key, algorithm=self.alg, headers=headers)


def bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class LiveServer:
    """A uvicorn server in a thread, on a port bound before the app is built."""

    def __init__(self, make_app: Callable[[str], Any]) -> None:
        self.sock = bound_socket()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.app = make_app(self.url)
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})
        self.thread.daemon = True
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def gbs_bundle() -> dict[str, Any]:
    bundle: dict[str, Any] = json.loads((DATA / "gbs_bundle.json").read_text())
    return bundle


def resources_of(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }


def _observations(bundle: dict[str, Any], *codes: str) -> dict[str, Any]:
    found = [
        o
        for o in resources_of(bundle, "Observation")
        if any(c["code"] in codes for c in o["code"]["coding"])
    ]
    found.sort(key=lambda o: o.get("effectiveDateTime", ""), reverse=True)
    return searchset(found)


def gbs_prefetch(bundle: dict[str, Any] | None = None) -> dict[str, Any]:
    bundle = bundle or gbs_bundle()
    return {
        "patient": resources_of(bundle, "Patient")[0],
        "weight": _observations(bundle, "29463-7"),
        "height": _observations(bundle, "8302-2"),
        "iga": _observations(bundle, "2458-8"),
        "creatinine": None,
        "egfr": _observations(bundle, "98979-8"),
        "findings": _observations(bundle, "able_to_walk_unaided"),
        "conditions": searchset(resources_of(bundle, "Condition")),
        "igOrders": searchset([]),
    }


def hook_request(
    hook: str = "order-select", *, prefetch: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    bundle = gbs_bundle()
    order = resources_of(bundle, "MedicationRequest")[0]
    context: dict[str, Any] = {
        "userId": "Practitioner/dr-1",
        "patientId": "p1",
        "draftOrders": searchset([order]),
    }
    if hook == "order-select":
        context["selections"] = ["MedicationRequest/mr1"]
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
        "prefetch": gbs_prefetch(bundle) if prefetch is None else prefetch,
    }
    body.update(extra)
    return body


def _observation_search(bundle: dict[str, Any], code_param: str) -> dict[str, Any]:
    """``Observation?code=...``: listed codes, or every code of a ``system|`` token."""
    tokens = [c.split("|", 1) for c in code_param.split(",") if "|" in c]
    codes = [code for _, code in tokens if code]
    systems = {system for system, code in tokens if not code}
    if not systems:
        return _observations(bundle, *codes)
    return searchset(
        [
            o
            for o in resources_of(bundle, "Observation")
            if any(c["system"] in systems for c in o["code"]["coding"])
        ]
    )


def _search(bundle: dict[str, Any], path: str, params: Mapping[str, str]) -> Any:
    """A search of patient p1's resources; anything else finds nothing or is not found."""
    if params.get("patient") != "p1":
        return searchset([])
    if path == "Observation":
        return _observation_search(bundle, params.get("code", ""))
    if path in ("Condition", "MedicationRequest"):
        return searchset([r for r in resources_of(bundle, path) if r.get("status") != "draft"])
    return Response(status_code=404)


def fake_fhir_app(bundle: dict[str, Any], token: str) -> Any:
    """An EHR FHIR server that answers the prefetch queries for patient p1 (bearer ``token``)."""
    app = FastAPI()
    calls: list[str] = []
    app.state.calls = calls

    @app.get("/fhir/{path:path}")
    def read(path: str, request: Request) -> Any:
        calls.append(str(request.url))
        if request.headers.get("authorization") != f"Bearer {token}":
            return Response(status_code=401)
        if path == "Patient/p1":
            return resources_of(bundle, "Patient")[0]
        return _search(bundle, path, request.query_params)

    return app


def service_settings(url: str, es_signer: Signer, jwks_url: str | None, **changes: Any) -> Settings:
    issuers = [CdsIssuer(EHR_ISS, jwks=es_signer.jwks, jwks_url=jwks_url)]
    values: dict[str, Any] = {
        "public_base_url": url,
        "cds_issuers": tuple(issuers),
        "static_tokens": TOKENS,
        "cors_origins": ("https://ehr.example.org",),
        "jurisdiction": "au",
        "today": lambda: TODAY,
    }
    values.update(changes)
    return Settings(**values)


def deep_copy(obj: Any) -> Any:
    return copy.deepcopy(obj)
