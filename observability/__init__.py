"""Prometheus metrics: what the registry counts, how it is exposed, and who may scrape it."""
