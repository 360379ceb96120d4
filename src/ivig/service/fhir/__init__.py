"""FHIR R4 in and out: a Bundle becomes a request; a recommendation becomes FHIR resources.

:mod:`.read` (Bundle -> :class:`ivig.contract.Request`), :mod:`.write` (recommendation ->
MedicationRequest and CarePlan), :mod:`.codes` (code systems, LOINC codes, UCUM units).
These work on plain JSON dicts; the tests validate what :mod:`.write` emits with fhir.resources.
"""

__all__: list[str] = []
