"""CDS Hooks 2.0 services: the EHR door of the advisor.

`services` lists the hooks and their prefetch templates; `prefetch` gathers the FHIR data a
call needs; `orders` compares draft orders with the engine's plan; `cards` turns plan and
findings into cards; `config` holds the hospital's settings. FHIR reading and the code maps
live in `cre_advisor.fhir` (shared with other readers of EHR data); the HTTP routes are in
`cre_advisor.web.cds_hooks`, token checks in `cre_advisor.security`.
"""
