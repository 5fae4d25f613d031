"""api/cli package."""
