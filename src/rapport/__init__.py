"""Rapport: a messaging server for professional networks."""

__version__ = "0.1.0"
