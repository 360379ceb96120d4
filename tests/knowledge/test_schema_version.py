"""The knowledge base states its schema version in meta.yaml and the loader refuses data of
another version with one clear error (before validating, and whatever the cache holds)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ivig.cli import main
from ivig.errors import KnowledgeValidationError
from ivig.knowledge import loader
from ivig.knowledge.first_load import SchemaVersionError
from ivig.knowledge.loader import SCHEMA_VERSION, load_knowledge
from ivig.knowledge.validate import DATA_DIR, validate_directory

LINE = f"schema_version: {SCHEMA_VERSION}\n"


def _data_with_meta(tmp_path: Path, line: str) -> Path:
    """A copy of the bundled data whose meta.yaml has ``line`` instead of its schema version."""
    root = tmp_path / "data"
    shutil.copytree(DATA_DIR, root)
    meta = root / "meta.yaml"
    text = meta.read_text()
    assert LINE in text
    meta.write_text(text.replace(LINE, line))
    return root


def test_the_bundled_data_is_of_the_version_the_code_reads() -> None:
    kb = load_knowledge()
    assert kb.data["meta"]["schema_version"] == SCHEMA_VERSION
    assert isinstance(SCHEMA_VERSION, int) and SCHEMA_VERSION >= 1


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        (f"schema_version: {SCHEMA_VERSION + 1}\n", f"schema_version is {SCHEMA_VERSION + 1}"),
        ("schema_version: 0\n", "schema_version is 0"),
        (f'schema_version: "{SCHEMA_VERSION}"\n', f"schema_version is '{SCHEMA_VERSION}'"),
        ("schema_version: true\n", "schema_version is True"),
        ("", "schema_version is missing"),
    ],
)
def test_data_of_another_schema_version_is_refused(tmp_path: Path, line: str, shown: str) -> None:
    root = _data_with_meta(tmp_path, line)
    with pytest.raises(SchemaVersionError) as info:
        load_knowledge(str(root), use_cache=False)
    assert isinstance(info.value, KnowledgeValidationError)
    [message] = info.value.errors
    assert message.startswith(str(root / "meta.yaml"))
    assert shown in message
    assert f"reads knowledge-base schema version {SCHEMA_VERSION}" in message
    assert info.value.expected == SCHEMA_VERSION


def test_kb_validate_refuses_data_of_another_schema_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _data_with_meta(tmp_path, f"schema_version: {SCHEMA_VERSION + 1}\n")
    assert main(["kb", "validate", str(root)]) == 2
    err = capsys.readouterr().err
    assert f"schema_version is {SCHEMA_VERSION + 1}" in err and "meta.yaml" in err


def test_the_validator_requires_the_schema_version(tmp_path: Path) -> None:
    root = _data_with_meta(tmp_path, "")
    errors = validate_directory(root)[1]
    assert any("meta.yaml" in e and "schema_version" in e for e in errors), errors


def test_newer_code_does_not_trust_data_cached_by_older_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache written by code of schema version N is not used by code of version N + 1."""
    monkeypatch.setenv("IVIG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("IVIG_NO_CACHE", raising=False)
    root = tmp_path / "data"
    shutil.copytree(DATA_DIR, root)
    assert load_knowledge(str(root)).data["meta"]["schema_version"] == SCHEMA_VERSION
    assert list((tmp_path / "cache").glob("kb-*.marshal"))
    monkeypatch.setattr(loader, "_loaded", {})
    monkeypatch.setattr(loader, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(SchemaVersionError, match=f"schema_version is {SCHEMA_VERSION};"):
        load_knowledge(str(root))
