"""The application layer: one function per use case, the only thing adapters call.

Each function takes the knowledge base and plain input (validated here when it comes from
outside) and returns a typed result (:mod:`ivig.results`). The CLI, the REST service, CDS Hooks,
FHIR, the web application and the batch audit call these and only format what they return; none
composes the core itself (CONTRIBUTING.md, "Layers").

Modules are imported on use so that a fast command (``ivig dose``) loads only what it needs:

* :mod:`ivig.app.recommend` - ``recommend``: eligibility, plan, products, schedule, monitoring;
* :mod:`ivig.app.dose` - ``dose``: dosing weight and dose plan for a condition and phase;
* :mod:`ivig.app.compare` - ``compare``: one patient under every jurisdiction;
* :mod:`ivig.app.order_check` - ``check_order``: an ordered regimen beside the policy plan;
* :mod:`ivig.app.products` - ``rank``, ``schedule``: products for a patient, one day's infusion;
* :mod:`ivig.app.scores` - ``score``, ``score_change``, ``review``;
* :mod:`ivig.app.findings` - which findings the criteria need (forms, missing-finding groups);
* :mod:`ivig.app.registry` - the registry workflow steps that need a recommendation.
"""
