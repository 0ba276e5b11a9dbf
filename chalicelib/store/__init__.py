"""store room (see docs/architecture in README)."""
