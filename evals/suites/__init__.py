"""Evaluation suites: each loads cases (chart text, metadata, gold codes)."""
