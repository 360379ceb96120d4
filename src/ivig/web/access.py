"""Who may see which page and do which action in the web application.

Pages and actions map onto the one permission table, :mod:`ivig.permissions`, which the
registry enforces and the REST service checks: the web application only decides what to show.
"""

from __future__ import annotations

from ivig.permissions import Action
from ivig.permissions import allowed as role_may

__all__ = ["ACTIONS", "NAV", "PAGES", "allowed"]

#: page -> the action of the permission table that opening it needs
PAGES: dict[str, Action] = {
    "home": "read_registry",
    "request": "create_request",
    "patients": "read_registry",
    "dashboard": "read_reports",
    "knowledge": "compute",
}

#: web action -> the action of the permission table
ACTIONS: dict[str, Action] = {
    "submit_request": "create_request",
    "authorise": "authorise",
    "shortage": "shortage",
    "record_infusion": "record_infusion",
    "record_outcome": "record_outcome",
    "record_adverse_event": "record_adverse_event",
    "record_igg_level": "record_igg_level",
}

#: navigation entries: (page, path, label)
NAV: tuple[tuple[str, str, str], ...] = (
    ("request", "/app/request/new", "New request"),
    ("patients", "/app/patients", "Patients"),
    ("dashboard", "/app/dashboard", "Stewardship"),
    ("knowledge", "/app/knowledge", "Knowledge"),
)


def allowed(role: str, what: str) -> bool:
    """True when ``role`` may open page ``what`` or do action ``what`` (unknown: no)."""
    action = PAGES.get(what) or ACTIONS.get(what)
    return action is not None and role_may(role, action)
