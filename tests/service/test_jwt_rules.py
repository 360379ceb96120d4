"""JWT rules of the CDS Hooks verifier (one parse, numeric dates, bounded lifetime) and the
in-memory replay cache (constant work per call, bounded size)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import pytest

from ivig.service import CdsIssuer, Settings
from ivig.service.replay import MemoryReplayCache
from ivig.service.routers.cds_hooks import FhirAuthorization
from ivig.service.security import JwtVerifier, Unauthorized, parse_jwt

AUD = "https://ivig.example.org"
ISS = "https://ehr.example.org"


def _verifier(signer: Any, **kwargs: Any) -> JwtVerifier:
    return JwtVerifier([CdsIssuer(ISS, jwks=signer.jwks)], **kwargs)


def _verify(verifier: JwtVerifier, token: str) -> dict[str, Any]:
    return asyncio.run(verifier.verify(token, [AUD]))


def test_a_five_minute_token_passes_and_a_longer_one_is_refused(es_signer: Any) -> None:
    """CDS Hooks 2.0 (security): exp should be at most 5 minutes after iat."""
    verifier = _verifier(es_signer, max_lifetime_s=300.0)
    now = int(time.time())
    assert _verify(verifier, es_signer.token(AUD, iat=now, exp=now + 300))
    with pytest.raises(Unauthorized, match="lifetime"):
        _verify(verifier, es_signer.token(AUD, iat=now, exp=now + 301))
    unbounded = _verifier(es_signer, max_lifetime_s=None)
    assert _verify(unbounded, es_signer.token(AUD, iat=now, exp=now + 3600))


@pytest.mark.parametrize("claim", ["exp", "iat"])
@pytest.mark.parametrize("value", ["4000000000", True, None])
def test_exp_and_iat_must_be_numbers(es_signer: Any, claim: str, value: object) -> None:
    verifier = _verifier(es_signer)
    with pytest.raises(Unauthorized, match=claim):
        _verify(verifier, es_signer.token(AUD, **{claim: value}))


def test_a_token_not_yet_valid_or_issued_in_the_future_is_refused(es_signer: Any) -> None:
    verifier = _verifier(es_signer)
    now = int(time.time())
    with pytest.raises(Unauthorized, match="iat"):
        _verify(verifier, es_signer.token(AUD, iat=now + 120, exp=now + 300))
    with pytest.raises(Unauthorized, match="not yet valid"):
        _verify(verifier, es_signer.token(AUD, nbf=now + 120))


@pytest.mark.parametrize(
    "token", ["", "a.b", "a.b.c.d", "!!.??.##", "e30.e30", "W10.e30.AA", "e30.W10.AA"]
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(Unauthorized, match="not a JWT"):
        parse_jwt(token)


def test_a_token_is_decoded_once_into_header_and_claims(es_signer: Any) -> None:
    token = es_signer.token(AUD)
    header, claims, signing_input, signature = parse_jwt(token)
    head, payload, _ = token.split(".")
    assert header["kid"] == es_signer.kid
    assert claims == json.loads(base64.urlsafe_b64decode(payload + "=="))
    assert signing_input == f"{head}.{payload}".encode()
    assert len(signature) == 96  # ES384: r and s of 48 bytes


def test_a_tampered_payload_fails_the_signature(es_signer: Any) -> None:
    verifier = _verifier(es_signer)
    head, _, sig = es_signer.token(AUD).split(".")
    forged = base64.urlsafe_b64encode(
        json.dumps({"iss": ISS, "aud": AUD, "iat": 1, "exp": 4_000_000_000, "jti": "f"}).encode()
    )
    with pytest.raises(Unauthorized, match="Signature"):
        _verify(verifier, f"{head}.{forged.decode().rstrip('=')}.{sig}")


def test_memory_replay_cache_stays_small_under_sustained_load() -> None:
    """100,000 tokens living 5 minutes at 50 per second: only the live ones are kept."""
    now = [1_000_000.0]
    cache = MemoryReplayCache(clock=lambda: now[0])
    for i in range(100_000):
        now[0] += 0.02
        assert cache.check_and_add("iss", f"jti-{i}", now[0] + 300)
    assert len(cache) <= 300 * 50 + 50
    assert not cache.check_and_add("iss", "jti-99999", now[0] + 300)


def test_memory_replay_cache_forgets_after_a_long_idle_gap() -> None:
    now = [1000.0]
    cache = MemoryReplayCache(clock=lambda: now[0])
    assert cache.check_and_add("iss", "a", 1010)
    assert not cache.check_and_add("iss", "a", 1010)
    now[0] = 10_000_000.0
    assert cache.check_and_add("iss", "b", now[0] + 10)
    assert len(cache) == 1
    assert cache.check_and_add("iss", "a", now[0] + 10)


def test_token_lifetime_setting_from_the_environment() -> None:
    from ivig.errors import InputError

    assert Settings().cds_max_token_lifetime_s == 300.0
    env = {"IVIG_CDS_MAX_TOKEN_LIFETIME_S": "120"}
    assert Settings.from_env(env).cds_max_token_lifetime_s == 120.0
    with pytest.raises(InputError, match="IVIG_CDS_MAX_TOKEN_LIFETIME_S"):
        Settings.from_env({"IVIG_CDS_MAX_TOKEN_LIFETIME_S": "-1"})


def test_fhir_authorization_without_expires_in_is_accepted() -> None:
    """CDS Hooks 2.0: a prefetch that suffices never needs the token, so its lifetime is moot."""
    auth = FhirAuthorization.model_validate(
        {"access_token": "t", "token_type": "Bearer", "scope": "patient/*.read", "subject": "s"}
    )
    assert auth.expires_in is None


def test_an_oauth_access_token_may_be_presented_again(es_signer: Any) -> None:
    """OAuth2 bearer tokens are reused for their lifetime; only CDS Hooks JWTs are one-time."""
    oauth = _verifier(es_signer, require_jti=False)
    token = es_signer.token(AUD)
    assert _verify(oauth, token) == _verify(oauth, token)
    cds = _verifier(es_signer)
    assert _verify(cds, token)
    with pytest.raises(Unauthorized, match="replayed"):
        _verify(cds, token)
