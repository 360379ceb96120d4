"""Pure computation over the knowledge base: no I/O, no web, database, FHIR or plotting."""
