"""The conformance tests: one module per area, shared exchanges in helpers.py."""
