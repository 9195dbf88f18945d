"""The web doors: REST API, bedside pages and (added by their features) CDS Hooks and review."""
