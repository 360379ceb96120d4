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
from tests._helpers.service import (
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
def live(kb: KnowledgeBase, es_signer: Signer, jwks_server: LiveServer) -> Iterator[LiveServer]:
    """The ivig service on a real loopback port, trusting the test EHR."""
    jwks_url = f"{jwks_server.url}/jwks.json"
    server = LiveServer(
        lambda url: create_app(service_settings(url, es_signer, jwks_url, knowledge=kb))
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
