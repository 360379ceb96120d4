"""The Jinja2 environment of the web pages (templates shipped in ``ivig/web/templates``).

Autoescaping is on. Number filters are those of :mod:`ivig.render.html` (from
:mod:`ivig.render.fmt`), so the pages show the same figures as the terminal and the order sheet;
the order sheet's own template (``ivig/render/templates``) is found here too, so the web page
and ``ivig recommend --html`` print the same sheet.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivig.render.fmt import grams, num
from ivig.render.html import FILTERS
from ivig.render.html import TEMPLATES as SHEET_TEMPLATES
from ivig.web.glossary import word

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = ["TEMPLATES", "environment", "render_page"]

TEMPLATES = Path(__file__).parent / "templates"


def _maybe(value: object, fmt: str = "") -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, float) and fmt == "g":
        return grams(value)
    return num(value)


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The shared environment (templates compiled once per process)."""
    from jinja2 import (
        ChoiceLoader,
        Environment,
        FileSystemLoader,
        StrictUndefined,
        select_autoescape,
    )

    env = Environment(
        loader=ChoiceLoader(
            [FileSystemLoader(str(TEMPLATES)), FileSystemLoader(str(SHEET_TEMPLATES))]
        ),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.filters["maybe"] = _maybe
    env.filters["label"] = word
    return env


def render_page(name: str, context: dict[str, Any]) -> str:
    """The HTML of template ``name`` with ``context``."""
    return environment().get_template(name).render(**context)
