"""Verifiers: check submissions (PROTOCOL.md section 6) and vote."""
