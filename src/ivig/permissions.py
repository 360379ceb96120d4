"""Roles and what each may do: the one permission table.

The registry enforces it (``ivig.registry.users.require_permission``), the REST service checks it
before calling the registry (``ivig.service.auth.require_permission``), the web application shows
only the pages and forms it allows (``ivig.web.access``) and the CLI's registry commands go
through the registry. ``tests/test_permissions.py`` drives every action through all four.

Choices (Ig stewardship practice): a pharmacist may create a request as well as a clinician (in
many hospitals the pharmacist enters the request from the prescriber's order); only a steward
authorises; the clinician or the steward reviews a course; whoever gives the Ig (nurse,
pharmacist, clinician) records infusions and adverse events, but only a pharmacist, clinician or
steward may record one past the authorisation or with another product (with a reason); reports
are for pharmacists and stewards; ``admin`` may do everything.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["ACTIONS", "PERMISSIONS", "ROLES", "Action", "Role", "allowed", "roles_for"]

Role = Literal["clinician", "pharmacist", "nurse", "steward", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)

Action = Literal[
    "compute",
    "read_registry",
    "create_request",
    "authorise",
    "start_course",
    "stop_course",
    "record_infusion",
    "override_authorisation",
    "record_igg_level",
    "record_adverse_event",
    "record_outcome",
    "review_course",
    "trial_off",
    "read_reports",
    "shortage",
    "read_audit_log",
    "manage_users",
    "cds_feedback",
]
ACTIONS: tuple[Action, ...] = get_args(Action)

_EVERYONE: tuple[Role, ...] = ROLES

#: action -> the roles that may do it (``admin`` is added by :func:`roles_for`)
PERMISSIONS: dict[Action, tuple[Role, ...]] = {
    "compute": _EVERYONE,
    "read_registry": _EVERYONE,
    "create_request": ("clinician", "pharmacist", "steward"),
    "authorise": ("steward",),
    "start_course": ("clinician", "pharmacist", "nurse", "steward"),
    "stop_course": ("clinician", "steward"),
    "record_infusion": ("nurse", "pharmacist", "clinician"),
    #: record an infusion past the authorisation (expiry, grams) or substitute the product,
    #: with a reason the audit and the dashboard show
    "override_authorisation": ("pharmacist", "clinician", "steward"),
    #: a measured serum IgG (trough, peak, baseline) of a course
    "record_igg_level": ("nurse", "pharmacist", "clinician"),
    "record_adverse_event": ("nurse", "pharmacist", "clinician"),
    "record_outcome": ("clinician", "nurse", "steward"),
    "review_course": ("clinician", "steward"),
    "trial_off": ("clinician", "steward"),
    "read_reports": ("pharmacist", "steward"),
    "shortage": ("steward",),
    "read_audit_log": ("steward",),
    "manage_users": ("admin",),
    "cds_feedback": _EVERYONE,
}


def roles_for(action: Action) -> tuple[Role, ...]:
    """The roles that may do ``action``, ``admin`` included."""
    roles = PERMISSIONS[action]
    return roles if "admin" in roles else (*roles, "admin")


def allowed(role: str, action: Action) -> bool:
    """True when ``role`` may do ``action``."""
    return role in roles_for(action)
