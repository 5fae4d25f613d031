"""Proposers decide which candidate codes to suggest; all share the `Proposer` protocol."""
