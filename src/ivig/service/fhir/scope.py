"""Whose data it is: only the hook's patient's resources are read.

A prefetch or a FHIR server's search is meant to hold one patient's data, but an EHR can send
more: a search whose ``patient=`` was ignored, a Bundle mixing patients, a Patient resource that
is not the one in ``context.patientId``. Reading another patient's weight would dose this
patient on it, so:

- the Patient used must be the hook's patient (``Patient.id`` equal to ``context.patientId``);
  another Patient is refused by name, never used in its place;
- an Observation, Condition, MedicationRequest or Procedure whose ``subject`` names another
  patient is left out and said in the notes; one without a ``subject`` reference is kept (the
  search that found it was for this patient), and so is one whose ``urn:`` reference points at
  nothing that was sent (it cannot be told apart).

A reference names this patient when it is ``Patient/<id>``, ends in ``/Patient/<id>`` (an
absolute URL) or is the ``fullUrl`` of this patient's Bundle entry (such as a ``urn:uuid``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ivig.errors import InputError, MissingFieldError
from ivig.service.fhir.record import Record, Resource

__all__ = [
    "PATIENT_SCOPED",
    "check_order_patient",
    "own_resources",
    "pick_patient",
    "subject_reference",
]

#: the resources ivig reads that belong to one patient, by the element that names the patient
PATIENT_SCOPED = {
    "Observation": "subject",
    "Condition": "subject",
    "MedicationRequest": "subject",
    "Procedure": "subject",
}


def pick_patient(record: Record, patient_id: str | None) -> Resource:
    """The hook's Patient (``Patient.id == patient_id``); without ``patient_id``, the first.

    A Patient with another id is refused naming both ids: it is not this patient. A Patient
    without an id is used only when it is the one Patient sent (a Bundle entry named by its
    ``fullUrl``), and the notes say so.
    """
    patients = record.of_type("Patient")
    if not patients:
        raise MissingFieldError("Patient", "the request (sex, age)")
    if patient_id is None:
        return patients[0]
    mine = [p for p in patients if p.get("id") == patient_id]
    if mine:
        return mine[0]
    anonymous = [p for p in patients if not isinstance(p.get("id"), str)]
    if len(patients) == 1 and anonymous:
        record.notes.append(
            f"the Patient sent has no id; it is taken to be the hook's patient {patient_id}"
        )
        return anonymous[0]
    others = ", ".join(record.ref(p) for p in patients)
    raise InputError("Patient.id", others, f"the hook's patient {patient_id} (context.patientId)")


def _names(record: Record, patient: Resource) -> set[str]:
    names = set()
    if isinstance(patient.get("id"), str):
        names.add(f"Patient/{patient['id']}")
    full = record.full_urls.get(id(patient))
    if full:
        names.add(full)
    return names


def _is_other(record: Record, patient: Resource, reference: str, names: set[str]) -> bool:
    """True when ``reference`` names someone else than ``patient``: another ``Patient/<id>``
    (or an absolute URL ending so), the ``fullUrl`` of another Patient sent, or a subject that
    is not a Patient. A ``urn:`` reference to nothing sent cannot be told apart and is kept."""
    if reference in names:
        return False
    if reference.startswith("urn:"):
        target = record.resolve(reference)
        return target is not None and target is not patient
    tail = "/".join(reference.rstrip("/").split("/")[-2:])
    return tail not in names


def subject_reference(resource: Mapping[str, Any]) -> str | None:
    """The patient a patient-scoped resource names (``subject.reference``), if it names one."""
    element = PATIENT_SCOPED.get(str(resource.get("resourceType")))
    if element is None:
        return None
    subject = resource.get(element)
    reference = subject.get("reference") if isinstance(subject, dict) else None
    return reference if isinstance(reference, str) and reference else None


def own_resources(
    record: Record, patient: Resource, resources: Sequence[Resource]
) -> tuple[list[Resource], list[str]]:
    """``resources`` without those naming another patient, and a note for each left out."""
    names = _names(record, patient)
    kept: list[Resource] = []
    notes: list[str] = []
    for res in resources:
        reference = subject_reference(res)
        if reference is None or not names or not _is_other(record, patient, reference, names):
            kept.append(res)
            continue
        notes.append(
            f"{record.ref(res)} is for {reference}, not for {record.ref(patient)}: not used"
        )
    return kept, notes


def check_order_patient(record: Record, patient: Resource, order: Mapping[str, Any]) -> None:
    """Refuse an order whose ``subject`` names another patient than the one it is checked for."""
    reference = subject_reference(order)
    names = _names(record, patient)
    if reference is not None and names and _is_other(record, patient, reference, names):
        raise InputError(
            f"{record.ref(order)}.subject", reference, f"the hook's patient {record.ref(patient)}"
        )
