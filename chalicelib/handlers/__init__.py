"""HTTP routes and event handlers, one Chalice blueprint per feature. Thin: parse → service → shape."""
