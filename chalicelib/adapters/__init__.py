"""adapters room (see docs/architecture in README)."""
