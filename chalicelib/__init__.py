"""Taskhall back end: handlers → services → (domain, store, adapters)."""
