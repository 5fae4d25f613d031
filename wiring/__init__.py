"""Composition: the settings and the one place that builds the adapters they select, shared by
every edge (HTTP API, CLI, queue workers)."""
