"""Small parts of the service: JWT verification rules, card summaries, prefetch templates,
settings from the environment, the ``serve`` command, and a cheap ``import ivig.service``."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivig.service import CdsIssuer, Settings
from ivig.service.cds.cards import SUMMARY_MAX, summary
from ivig.service.cds.gather import fill_template
from ivig.service.security import JwtVerifier, ReplayCache, Unauthorized, bearer_token
from tests._helpers.service import EHR_ISS, LiveServer, Signer

AUD = "https://ivig.example.org"


def _verify(verifier: JwtVerifier, token: str) -> dict[str, Any]:
    return asyncio.run(verifier.verify(token, [AUD]))


def test_static_jwks_verifies_es384(es_signer: Signer) -> None:
    verifier = JwtVerifier([CdsIssuer(EHR_ISS, jwks=es_signer.jwks)])
    assert _verify(verifier, es_signer.token(AUD))["iss"] == EHR_ISS


def test_an_allowed_jku_is_fetched_and_others_refused(
    rs_signer: Signer, jwks_server: LiveServer
) -> None:
    url = f"{jwks_server.url}/jwks.json"
    verifier = JwtVerifier([CdsIssuer(EHR_ISS, jku_allowed=(url,))])
    assert _verify(verifier, rs_signer.token(AUD, headers={"jku": url}))["aud"] == AUD
    with pytest.raises(Unauthorized, match="jku"):
        _verify(verifier, rs_signer.token(AUD, headers={"jku": "https://evil.example.org/k"}))


def test_an_unreachable_jwks_is_unauthorized(rs_signer: Signer) -> None:
    verifier = JwtVerifier([CdsIssuer(EHR_ISS, jwks_url="http://127.0.0.1:9/jwks.json")])
    with pytest.raises(Unauthorized):
        _verify(verifier, rs_signer.token(AUD))


def test_aud_may_be_a_list(es_signer: Signer) -> None:
    verifier = JwtVerifier([CdsIssuer(EHR_ISS, jwks=es_signer.jwks)])
    assert _verify(verifier, es_signer.token([AUD, "https://other.example.org"]))


def test_replay_cache_forgets_expired_tokens() -> None:
    now = [1000.0]
    cache = ReplayCache(clock=lambda: now[0])
    assert cache.check_and_add("iss", "a", 1010)
    assert not cache.check_and_add("iss", "a", 1010)
    now[0] = 1011
    assert cache.check_and_add("iss", "a", 1020)


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("Basic abc", None),
        ("Bearer ", None),
        (None, None),
    ],
)
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


@given(st.text(max_size=400))
def test_summaries_stay_under_140_characters(text: str) -> None:
    out = summary(text)
    assert len(out) <= SUMMARY_MAX < 140
    if len(" ".join(text.split())) <= SUMMARY_MAX:
        assert out == " ".join(text.split())


def test_prefetch_tokens_are_filled_from_the_context() -> None:
    context = {"patientId": "p1", "userId": "Practitioner/dr-1"}
    assert fill_template("Patient/{{context.patientId}}", context) == "Patient/p1"
    assert fill_template("Practitioner/{{userPractitionerId}}", context) == "Practitioner/dr-1"
    assert fill_template("Encounter/{{context.encounterId}}", context) is None


def test_settings_from_the_environment() -> None:
    env = {
        "IVIG_PUBLIC_URL": "https://ivig.example.org",
        "IVIG_CORS_ORIGINS": "https://a.example.org, https://b.example.org",
        "IVIG_CDS_ISSUERS": '[{"iss": "https://ehr", "jwks_url": "https://ehr/jwks"}]',
        "IVIG_JURISDICTION": "uk",
    }
    settings = Settings.from_env(env)
    assert settings.cors_origins == ("https://a.example.org", "https://b.example.org")
    assert settings.cds_issuers[0].jwks_url == "https://ehr/jwks"
    assert settings.knowledge_url == "https://ivig.example.org/api/kb"


def test_bad_issuer_json_names_the_variable() -> None:
    from ivig.errors import InputError

    with pytest.raises(InputError, match="IVIG_CDS_ISSUERS"):
        Settings.from_env({"IVIG_CDS_ISSUERS": "[not json"})


def test_serve_builds_settings_without_a_registry() -> None:
    from ivig.cli.serve import build_settings

    args = argparse.Namespace(
        host="127.0.0.1", port=8123, public_url=None, demo=False, no_registry=True
    )
    settings, tokens = build_settings(args)
    assert settings.public_base_url == "http://127.0.0.1:8123"
    assert settings.database_url is None and tokens == {}
    assert settings.cds_require_jwt


def test_serve_help_lists_the_options() -> None:
    from ivig.cli import main

    with pytest.raises(SystemExit) as done:
        main(["serve", "--help"])
    assert done.value.code == 0


def test_importing_the_service_package_is_cheap() -> None:
    code = "import sys, ivig.service; print('fastapi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_demo_tokens_give_one_token_per_role(tmp_path: Any, kb: Any) -> None:
    import ivig.registry.api  # noqa: F401  (the registry must import)
    from ivig.cli.serve import demo_tokens

    tokens = demo_tokens(f"sqlite:///{tmp_path / 'demo.db'}", kb)
    assert {t.role for t in tokens.values()} == {
        "clinician",
        "pharmacist",
        "nurse",
        "steward",
        "admin",
    }


def test_oauth_bearer_jwts_carry_the_role(kb: Any, es_signer: Signer) -> None:
    import warnings

    from ivig.service import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    settings = Settings(
        public_base_url=AUD,
        knowledge=kb,
        oauth_issuers=(CdsIssuer(EHR_ISS, jwks=es_signer.jwks),),
    )
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    body = {
        "sex": "male",
        "age_years": 62,
        "weight_kg": 85,
        "condition": "gbs",
        "phase": "induction",
    }

    def call(**claims: Any) -> int:
        token = es_signer.token(AUD, sub="u-1", **claims)
        response = client.post("/api/dose", json=body, headers={"Authorization": f"Bearer {token}"})
        status_code: int = response.status_code
        return status_code

    assert call(roles=["clinician"]) == 200
    assert call(roles=["visitor"]) == 401
    assert call() == 401
    token = es_signer.token(AUD, sub="u-1", roles=["clinician"])
    headers = {"Authorization": f"Bearer {token}"}
    # without a registry the registry endpoints are not mounted
    assert client.get("/api/registry/users", headers=headers).status_code == 404
