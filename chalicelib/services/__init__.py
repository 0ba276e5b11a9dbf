"""services room (see docs/architecture in README)."""
