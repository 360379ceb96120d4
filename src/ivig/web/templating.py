"""The Jinja2 environment of the web pages (templates shipped in ``ivig/web/templates``).

Autoescaping is on. Number filters are those of :mod:`ivig.render.fmt`, so the pages show the
same figures as the terminal and the order sheet.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivig.render.fmt import grams, minutes, ml_per_h, num

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = ["TEMPLATES", "environment", "render_page"]

TEMPLATES = Path(__file__).parent / "templates"


def _label(text: object) -> str:
    return str(text or "").replace("_", " ")


def _maybe(value: object, fmt: str = "") -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, float) and fmt == "g":
        return grams(value)
    return num(value)


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The shared environment (templates compiled once per process)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=num, grams=grams, ml_per_h=ml_per_h, minutes=minutes, label=_label, maybe=_maybe
    )
    return env


def render_page(name: str, context: dict[str, Any]) -> str:
    """The HTML of template ``name`` with ``context``."""
    return environment().get_template(name).render(**context)
