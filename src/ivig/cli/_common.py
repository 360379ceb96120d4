"""Helpers shared by the command modules (output, JSON, the knowledge footer)."""

from __future__ import annotations

import json
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from rich.console import Console

    from ivig.knowledge import KnowledgeBase

__all__ = ["console", "emit_json", "kb", "print_footer"]


def kb() -> KnowledgeBase:
    """The knowledge base (loaded once, from the cache when it is current)."""
    from ivig.knowledge import load_knowledge

    return load_knowledge()


def emit_json(obj: Any) -> None:
    """Write ``obj`` as indented JSON to standard output."""
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False, default=str))
    sys.stdout.write("\n")


def console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def print_footer(out: Console, knowledge: KnowledgeBase) -> None:
    """Knowledge version and the disclaimer, printed under every terminal report."""
    out.print(f"[dim]knowledge {knowledge.version}[/dim]")
    out.print(f"[dim]{knowledge.disclaimer}[/dim]")
