"""domain room (see docs/architecture in README)."""
