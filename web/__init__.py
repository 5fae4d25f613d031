"""The coder's workspace in the browser: pages served by the same app as the API (sign-in,
worklist, chart review), their own scripts and styles, no third-party files."""
