"""Benchmarks of flask-consent-banner: ``make bench`` runs ``python -m bench.run``."""
