"""``ivig db``, ``ivig registry``, ``ivig report`` and ``ivig audit`` end to end (SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ivig.cli import main
from ivig.knowledge import KnowledgeBase
from ivig.registry.orders_gen import generate_order_lines


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> object:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_demo_registry_commands_and_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IVIG_DATABASE_URL", f"sqlite:///{tmp_path / 'r.db'}")
    head = _head_revision()
    assert _json(capsys, ["db", "upgrade", "--json"])["result"]["revision"] == head  # type: ignore[index]
    counts = _json(
        capsys,
        ["registry", "demo", "--patients", "12", "--seed", "3", "--today", "2026-06-01", "--json"],
    )
    assert counts["result"]["requests"] == 12  # type: ignore[index]
    verified = _json(capsys, ["db", "verify-audit", "--json"])
    assert verified["result"]["ok"] is True  # type: ignore[index]
    due = _json(capsys, ["registry", "reviews-due", "--today", "2026-06-01", "--json"])
    assert isinstance(due["result"], list)  # type: ignore[index]
    shortage = _json(capsys, ["registry", "shortage", "--json"])["result"]  # type: ignore[index]
    assert [r["position"] for r in shortage] == list(range(1, len(shortage) + 1))
    csv_path, svg_path = tmp_path / "usage.csv", tmp_path / "usage.svg"
    assert (
        main(["report", "usage", "--by", "month", "--csv", str(csv_path), "--chart", str(svg_path)])
        == 0
    )
    out = capsys.readouterr().out
    assert "knowledge" in out
    assert csv_path.read_text().startswith("month,")
    assert svg_path.read_text().lstrip().startswith("<?xml")
    assert (
        main(["report", "savings", "--policy", "au-2026", "--chart", str(tmp_path / "s.png")]) == 0
    )
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["registry", "requests", "--as", "steward"]) == 0
    assert (
        main(
            ["registry", "authorise", "1", "--outcome", "approve", "--reason", "x", "--as", "nurse"]
        )
        == 2
    )
    assert "needs role: steward" in capsys.readouterr().err


def test_audit_command_json_and_details(
    kb: KnowledgeBase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("".join(generate_order_lines(kb, 300, seed=5, bad_rate=0.05)))
    details = tmp_path / "details.csv"
    result = _json(
        capsys,
        [
            "audit",
            str(orders),
            "--policy",
            "au-2026",
            "--jurisdiction",
            "au",
            "--json",
            "--workers",
            "1",
            "--details",
            str(details),
        ],
    )
    assert result["orders"] + result["bad_rows"] == 300  # type: ignore[index]
    assert result["knowledge_version"] == kb.version  # type: ignore[index]
    assert len(details.read_text().splitlines()) == 301
    assert main(["audit", str(orders), "--on-error", "stop", "--workers", "1"]) == 2
    assert "line" in capsys.readouterr().err
    assert main(["audit", str(orders), "--workers", "1", "--no-progress"]) == 0
    assert "could be saved" in capsys.readouterr().out


def _head_revision() -> str:
    """The newest migration revision shipped (one head: the chain is linear)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "ivig.registry:migrations")
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head
