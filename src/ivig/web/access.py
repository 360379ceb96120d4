"""Who may see which page and do which action in the web application.

The roles are the registry's; the permissions mirror the REST service's
(``ivig.service.routers``): clinicians and stewards submit requests, stewards authorise,
pharmacists and stewards read the stewardship reports;
nurses, pharmacists and clinicians record infusions and adverse events, and clinicians, nurses
and stewards outcome assessments, nurses, pharmacists and clinicians measured IgG levels, as
the registry enforces; ``admin`` may do everything.
"""

from __future__ import annotations

__all__ = ["ACTIONS", "NAV", "PAGES", "allowed"]

ALL_ROLES = ("clinician", "pharmacist", "nurse", "steward", "admin")

#: page -> roles that may open it
PAGES: dict[str, tuple[str, ...]] = {
    "home": ALL_ROLES,
    "request": ("clinician", "pharmacist", "steward"),
    "patients": ALL_ROLES,
    "dashboard": ("pharmacist", "steward"),
    "knowledge": ALL_ROLES,
}

#: action -> roles that may do it
ACTIONS: dict[str, tuple[str, ...]] = {
    "submit_request": ("clinician", "steward"),
    "authorise": ("steward",),
    "shortage": ("steward",),
    # the care records: the roles ``ivig.registry.care`` enforces
    "record_infusion": ("nurse", "pharmacist", "clinician"),
    "record_outcome": ("clinician", "nurse", "steward"),
    "record_adverse_event": ("nurse", "pharmacist", "clinician"),
    "record_igg_level": ("nurse", "pharmacist", "clinician"),
}

#: navigation entries: (page, path, label)
NAV: tuple[tuple[str, str, str], ...] = (
    ("request", "/app/request/new", "New request"),
    ("patients", "/app/patients", "Patients"),
    ("dashboard", "/app/dashboard", "Stewardship"),
    ("knowledge", "/app/knowledge", "Knowledge"),
)


def allowed(role: str, what: str) -> bool:
    """True when ``role`` may open page ``what`` or do action ``what``."""
    if role == "admin":
        return True
    roles = PAGES.get(what) or ACTIONS.get(what) or ()
    return role in roles
