"""The secret behind the CDS cards' prefilled form links (review findings): an empty or short
secret is refused, a CDS process that cannot get one still answers (without the link), the
secret file appears whole, and a sealed token's body is bounded."""

from __future__ import annotations

import json
import logging
import zlib
from pathlib import Path
from typing import Any

import pytest

from ivig.app.form_link import (
    MIN_SECRET_CHARS,
    PrefillError,
    _fernet,
    shared_secret,
    unseal,
)
from ivig.errors import InputError
from ivig.knowledge import KnowledgeBase
from ivig.registry.audit_key import private_file
from ivig.service import Settings, create_app


@pytest.mark.parametrize("secret", ["", "   ", "a", "x" * (MIN_SECRET_CHARS - 1)])
def test_a_short_secret_in_the_environment_is_refused_naming_it(secret: str) -> None:
    with pytest.raises(InputError) as caught:
        shared_secret({"IVIG_WEB_SECRET": secret})
    assert caught.value.field == "IVIG_WEB_SECRET"
    assert caught.value.value == "(hidden)"  # the secret itself is never echoed


def test_an_empty_secret_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "web-secret.key"
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(InputError, match="at least 32 characters"):
        shared_secret({"IVIG_WEB_SECRET_FILE": str(path)})


def test_the_secret_file_is_created_whole_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "web-secret.key"
    first = shared_secret({"IVIG_WEB_SECRET_FILE": str(path)})
    assert len(first) == 64 and oct(path.stat().st_mode & 0o777) == "0o600"
    private_file(path, "something else\n")
    assert shared_secret({"IVIG_WEB_SECRET_FILE": str(path)}) == first
    assert [p.name for p in path.parent.iterdir()] == ["web-secret.key"]  # no temporary left


def test_a_cds_process_without_a_secret_answers_without_the_link(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("IVIG_WEB_SECRET", raising=False)
    monkeypatch.delenv("IVIG_WEB_SECRET_FILE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", "/dev/null/not-a-directory")
    state: Any = create_app(Settings(knowledge=kb, cds_require_jwt=False)).state.ivig
    with caplog.at_level(logging.WARNING, logger="ivig.security"):
        assert state.form_secret() is None
        assert state.form_secret() is None  # asked once, logged once
    assert [r.getMessage() for r in caplog.records].count("form_link_disabled") == 1


def _sealed(secret: bytes, body: bytes) -> str:
    token: bytes = _fernet(secret).encrypt(body)
    return token.decode("ascii")


@pytest.mark.parametrize(
    "body",
    [
        zlib.compress(b"[" + b'["a","b"],' * 100_000 + b'["a","b"]]'),  # inflates past the bound
        zlib.compress(b"[" * 50_000 + b"]" * 50_000),  # nesting past the parser
        zlib.compress(json.dumps({"condition": "gbs"}).encode()),  # not a list of pairs
        zlib.compress(json.dumps([["weight", 85]]).encode()),  # a value that is not text
        b"not zlib",
    ],
)
def test_a_validly_sealed_but_malformed_body_is_refused(body: bytes) -> None:
    secret = b"k" * 32
    with pytest.raises(PrefillError, match="holds no form fields"):
        unseal(_sealed(secret, body), secret)
