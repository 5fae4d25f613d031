"""`medcoder db`: the review database's migrations."""

from __future__ import annotations

import typer

from api.cli.common import console, load_settings
from review.db import current_revision, upgrade

app = typer.Typer(help="The review database (SQLite by default, or MEDCODER_DATABASE_URL).")


@app.command("upgrade")
def upgrade_command() -> None:
    """Apply every pending migration."""
    url = load_settings().review_database_url
    upgrade(url)
    console.print(f"database at revision {current_revision(url)}", highlight=False)


@app.command("current")
def current_command() -> None:
    """Print the applied migration revision."""
    console.print(current_revision(load_settings().review_database_url) or "none")
