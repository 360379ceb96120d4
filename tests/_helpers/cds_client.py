"""A CDS Hooks 2.0 client written from the specification, and the EHR's FHIR server it uses.

The client does what an EHR does: it signs a JWT for every call (``iss``, ``sub``, ``aud`` = the
service URL, ``exp`` five minutes after ``iat``, a fresh ``jti``, the ``kid`` of its JWK Set),
sends ``order-select`` / ``order-sign`` with the draft orders as a Bundle whose entries carry
``fullUrl``s, fills only the prefetch keys it chose to, and gives ``fhirServer`` plus
``fhirAuthorization`` so the service fetches the rest. The FHIR server answers searches on
loopback from a record of resources per patient and logs every query.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
from fastapi import FastAPI, Request, Response

from tests._helpers.service import LiveServer

CORPUS = Path(__file__).parent.parent / "service" / "data" / "corpus"
EHR_TOKEN = "conformance-fhir-token"
_SYSTEM_PARAMS = {"_sort", "_count", "status", "patient", "code", "authoredon", "date"}


def corpus(name: str) -> dict[str, Any]:
    """A Bundle of the corpus (``us_patient``, ``intl_patient``)."""
    bundle: dict[str, Any] = json.loads((CORPUS / f"{name}.json").read_text())
    return bundle


def resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"]]


def searchset(
    found: list[dict[str, Any]], base: str = "", urls: dict[int, str] | None = None
) -> dict[str, Any]:
    """A search-set Bundle; each entry's ``fullUrl`` is the record's own, else on ``base``."""
    entries = []
    for res in found:
        entry: dict[str, Any] = {"resource": res}
        if urls and id(res) in urls:
            entry["fullUrl"] = urls[id(res)]
        elif base and "id" in res:
            entry["fullUrl"] = f"{base}/{res['resourceType']}/{res['id']}"
        entries.append(entry)
    return {"resourceType": "Bundle", "type": "searchset", "total": len(found), "entry": entries}


class Loopback(LiveServer):
    """A uvicorn server for ``app`` in a thread, on a free loopback port."""

    def __init__(self, app: Any) -> None:
        super().__init__(lambda _url: app)


def _subject_matches(res: dict[str, Any], patient: str, ids: dict[str, str]) -> bool:
    ref = (res.get("subject") or {}).get("reference", "")
    return bool(ref) and (ref == f"Patient/{patient}" or ids.get(ref) == patient)


def _code_matches(res: dict[str, Any], tokens: list[str]) -> bool:
    concept = res.get("code") or res.get("medicationCodeableConcept") or {}
    codings = concept.get("coding", [])
    for token in tokens:
        system, _, code = token.partition("|")
        for coding in codings:
            if coding.get("system") == system and (not code or coding.get("code") == code):
                return True
    return False


class EhrFhirServer:
    """An EHR's FHIR API: per-patient records, searched as a real server would."""

    def __init__(self) -> None:
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.full_urls: dict[str, str] = {}  # fullUrl -> patient id
        self.entry_urls: dict[int, str] = {}  # id(resource) -> its fullUrl in the record
        self.calls: list[str] = []
        app = FastAPI()

        @app.get("/fhir/{path:path}")
        def read(path: str, request: Request) -> Any:
            return self._answer(path, request)

        self.server = Loopback(app)
        self.base = self.server.url + "/fhir"

    def add(self, patient: str, bundle: dict[str, Any]) -> None:
        entries = copy.deepcopy(bundle["entry"])
        self.records[patient] = [e["resource"] for e in entries]
        for entry in entries:
            if "fullUrl" in entry:
                self.entry_urls[id(entry["resource"])] = entry["fullUrl"]
            if entry["resource"]["resourceType"] == "Patient" and "fullUrl" in entry:
                self.full_urls[entry["fullUrl"]] = patient

    def _answer(self, path: str, request: Request) -> Any:
        self.calls.append(str(request.url))
        if request.headers.get("authorization") != f"Bearer {EHR_TOKEN}":
            return Response(status_code=401)
        kind, _, rid = path.partition("/")
        if rid:
            for res in self.records.get(rid, []) if kind == "Patient" else []:
                if res["resourceType"] == "Patient":
                    return res
            return Response(status_code=404)
        params = request.query_params
        patient = params.get("patient", "")
        found = [
            r
            for r in self.records.get(patient, [])
            if r["resourceType"] == kind and _subject_matches(r, patient, self.full_urls)
        ]
        if params.get("code"):
            found = [r for r in found if _code_matches(r, params["code"].split(","))]
        if params.get("status"):
            wanted = set(params["status"].split(","))
            found = [r for r in found if r.get("status") in wanted]
        return searchset(found, self.base, self.entry_urls)

    def stop(self) -> None:
        self.server.stop()


class CdsClient:
    """An EHR calling ivig's CDS services (``signer`` has ``key``, ``alg``, ``kid``)."""

    def __init__(
        self,
        service_base: str,
        signer: Any,
        iss: str,
        fhir: EhrFhirServer,
        *,
        expires_in: int | None = 300,
    ) -> None:
        self.base = service_base.rstrip("/")
        self.signer = signer
        self.iss = iss
        self.fhir = fhir
        #: ``fhirAuthorization.expires_in`` (``None``: left out, as some EHRs do)
        self.expires_in = expires_in

    def token(self, url: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.iss,
            "sub": "ehr-cds-client",
            "aud": url,
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        }
        headers = {"kid": self.signer.kid, "typ": "JWT"}
        return jwt.encode(claims, self.signer.key, algorithm=self.signer.alg, headers=headers)

    def discovery(self) -> dict[str, Any]:
        url = self.base + "/cds-services"
        response = httpx.get(url, headers={"Authorization": f"Bearer {self.token(url)}"})
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found

    def service_for(self, hook: str) -> str:
        services = self.discovery()["services"]
        return str(next(s["id"] for s in services if s["hook"] == hook))

    def call(
        self,
        hook: str,
        patient: str,
        drafts: list[dict[str, Any]],
        *,
        prefetch: dict[str, Any] | None = None,
        draft_urls: list[str] | None = None,
        selections: list[str] | None = None,
    ) -> httpx.Response:
        """Call the service for ``hook`` with ``drafts`` (fullUrls given or urn:uuid made); on
        order-select every draft is selected unless ``selections`` says which."""
        urls = draft_urls or [f"urn:uuid:{uuid.uuid4()}" for _ in drafts]
        context: dict[str, Any] = {
            "userId": "Practitioner/pr-1",
            "patientId": patient,
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"fullUrl": u, "resource": d} for u, d in zip(urls, drafts, strict=True)],
            },
        }
        if hook == "order-select":
            context["selections"] = selections or [
                f"MedicationRequest/{d['id']}" if "id" in d else u
                for u, d in zip(urls, drafts, strict=True)
            ]
        authorization: dict[str, Any] = {
            "access_token": EHR_TOKEN,
            "token_type": "Bearer",
            "scope": "patient/*.read",
            "subject": "ivig-cds",
        }
        if self.expires_in is not None:
            authorization["expires_in"] = self.expires_in
        body = {
            "hook": hook,
            "hookInstance": str(uuid.uuid4()),
            "fhirServer": self.fhir.base,
            "fhirAuthorization": authorization,
            "context": context,
            "prefetch": prefetch or {},
        }
        url = f"{self.base}/cds-services/{self.service_for(hook)}"
        return httpx.post(
            url, json=body, headers={"Authorization": f"Bearer {self.token(url)}"}, timeout=30
        )


def ivig_draft(**changes: Any) -> dict[str, Any]:
    """A draft normal-IVIG order as an EHR writes it (every element a prescriber fills)."""
    draft: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": "draft-1",
        "status": "draft",
        "intent": "order",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                        "code": "inpatient",
                    }
                ]
            }
        ],
        "priority": "urgent",
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": "1000001",
                    "display": "immune globulin intravenous (human) 100 MG/ML Injectable Solution",
                }
            ]
        },
        "subject": {"reference": "Patient/us1"},
        "authoredOn": "2026-11-22",
        "requester": {"reference": "Practitioner/pr-1"},
        "performer": {"reference": "Organization/infusion-centre"},
        "reasonReference": [{"reference": "Condition/us-gbs"}],
        "note": [{"text": "Prescriber: check IgA before the first dose"}],
        "dosageInstruction": [
            {
                "text": "as directed",
                "patientInstruction": "Tell the nurse about any headache",
                "route": {"coding": [{"system": "http://snomed.info/sct", "code": "47625008"}]},
            }
        ],
        "dispenseRequest": {"numberOfRepeatsAllowed": 0, "quantity": {"value": 5}},
        "substitution": {"allowedBoolean": True},
    }
    draft.update(changes)
    return draft


def dosed(draft: dict[str, Any], grams_per_day: float, days: int) -> dict[str, Any]:
    """``draft`` with a dose of ``grams_per_day`` daily for ``days`` days."""
    out = copy.deepcopy(draft)
    out["dosageInstruction"][0].update(
        {
            "timing": {"repeat": {"count": days, "frequency": 1, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [
                {
                    "doseQuantity": {
                        "value": grams_per_day,
                        "unit": "g",
                        "system": "http://unitsofmeasure.org",
                        "code": "g",
                    }
                }
            ],
        }
    )
    return out
