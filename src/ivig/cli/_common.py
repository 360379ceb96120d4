"""Helpers shared by the command modules (output, JSON, the knowledge footer)."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from rich.console import Console

    from ivig.knowledge import KnowledgeBase

__all__ = ["OUTPUT", "console", "emit_json", "kb", "print_footer"]

#: output options set by :func:`ivig.cli.main` from the command line (``--pretty``)
OUTPUT = {"pretty": False}
#: whether :func:`kb` has frozen the start-up objects (it does so once per process)
_STARTUP = {"frozen": False}


def kb() -> KnowledgeBase:
    """The knowledge base (loaded once, from the cache when it is current).

    The first load creates some ten thousand containers that live as long as the process,
    and the cyclic garbage collector would run over them again and again while they are made
    (an eighth of the instructions ``ivig recommend`` executes, under valgrind): it is paused
    for that load, and what exists then is moved to the permanent generation
    (:func:`gc.freeze`), so that later collections skip it. Later calls (the knowledge base is
    loaded by then) leave the collector alone, as does a caller that paused it.
    """
    import gc

    from ivig.knowledge import load_knowledge

    if _STARTUP["frozen"] or not gc.isenabled():
        return load_knowledge()
    gc.disable()
    try:
        return load_knowledge()
    finally:
        _STARTUP["frozen"] = True
        gc.freeze()
        gc.enable()


def emit_json(obj: Any) -> None:
    """Write ``obj`` as JSON to standard output: compact (by :mod:`ivig.cli._json_text`, which
    writes what ``json.dumps`` writes without importing :mod:`json`) unless ``--pretty``."""
    if OUTPUT["pretty"]:
        import json

        text = json.dumps(obj, indent=2, ensure_ascii=False, default=str)
    else:
        from ivig.cli._json_text import dumps

        text = dumps(obj)
    sys.stdout.write(text)
    sys.stdout.write("\n")


def console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def print_footer(out: Console, knowledge: KnowledgeBase) -> None:
    """Knowledge version and the disclaimer, printed under every terminal report."""
    out.print(f"[dim]knowledge {knowledge.version}[/dim]")
    out.print(f"[dim]{knowledge.disclaimer}[/dim]")
