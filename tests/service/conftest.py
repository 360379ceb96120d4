"""Fixtures of the service tests: signing keys, a real uvicorn server on loopback, a fake EHR
FHIR server and the ivig service (helpers in ``tests._helpers.service``)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from ivig.knowledge import KnowledgeBase
from ivig.service import create_app
from tests._helpers.cds_client import CdsClient, EhrFhirServer, corpus
from tests._helpers.service import (
    EHR_ISS,
    FHIR_TOKEN,
    LiveServer,
    Signer,
    fake_fhir_app,
    gbs_bundle,
    service_settings,
)

with warnings.catch_warnings():  # starlette warns that its test client wraps httpx
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(autouse=True, scope="session")
def audit_key_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A test audit key and checkpoint file for registries the service tests create."""
    import os

    folder = tmp_path_factory.mktemp("audit-key")
    saved = {k: os.environ.get(k) for k in ("IVIG_AUDIT_KEY", "IVIG_AUDIT_CHECKPOINT_FILE")}
    os.environ["IVIG_AUDIT_KEY"] = "service-test-audit-key-" + "k" * 32
    os.environ["IVIG_AUDIT_CHECKPOINT_FILE"] = str(folder / "checkpoints.json")
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def live_server() -> type[LiveServer]:
    """The :class:`LiveServer` class (a uvicorn server in a thread), for tests that build one."""
    return LiveServer


@pytest.fixture(scope="session")
def es_signer() -> Signer:
    return Signer("ES384", "ehr-es-1")


@pytest.fixture(scope="session")
def rs_signer() -> Signer:
    return Signer("RS384", "ehr-rs-1")


@pytest.fixture(scope="session")
def fhir_server() -> Iterator[LiveServer]:
    bundle = gbs_bundle()
    server = LiveServer(lambda url: fake_fhir_app(bundle, FHIR_TOKEN))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def jwks_server(es_signer: Signer, rs_signer: Signer) -> Iterator[LiveServer]:
    """Publishes the EHR's JWK Set (the ``jwks_url`` of the RS384 issuer)."""

    def make(url: str) -> Any:
        app = FastAPI()
        app.get("/jwks.json")(lambda: rs_signer.jwks)
        return app

    server = LiveServer(make)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live(
    kb: KnowledgeBase, es_signer: Signer, jwks_server: LiveServer, fhir_server: LiveServer
) -> Iterator[LiveServer]:
    """The ivig service on a real loopback port, trusting the test EHR and its FHIR server."""
    jwks_url = f"{jwks_server.url}/jwks.json"
    allowed = {EHR_ISS: (f"{fhir_server.url}/fhir", "http://127.0.0.1:*")}  # EHR test servers
    server = LiveServer(
        lambda url: create_app(
            service_settings(url, es_signer, jwks_url, knowledge=kb, fhir_allowed_bases=allowed)
        )
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def client(kb: KnowledgeBase, es_signer: Signer) -> Iterator[TestClient]:
    """In-process client of an app with no CDS JWT check (REST and FHIR tests)."""
    settings = service_settings(
        "http://testserver", es_signer, None, knowledge=kb, cds_require_jwt=False
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as tc:
        yield tc


@pytest.fixture(scope="module")
def ehr() -> Iterator[EhrFhirServer]:
    """The EHR's FHIR server (one per test module): the US and the international record."""
    server = EhrFhirServer()
    server.add("us1", corpus("us_patient"))
    server.add("in1", corpus("intl_patient"))
    yield server
    server.stop()


@pytest.fixture
def cds(live: Any, es_signer: Signer, ehr: EhrFhirServer) -> CdsClient:
    """The EHR calling the live service's CDS Hooks with its JWTs and FHIR server."""
    return CdsClient(live.url, es_signer, EHR_ISS, ehr)
