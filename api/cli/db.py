"""`medcoder db`: the review database's migrations, and housekeeping."""

from __future__ import annotations

import typer

from api.cli.common import console, load_settings

app = typer.Typer(help="The review database (SQLite by default, or MEDCODER_DATABASE_URL).")


@app.command("upgrade")
def upgrade_command() -> None:
    """Apply every pending migration."""
    from review.db import current_revision, upgrade

    url = load_settings().review_database_url
    upgrade(url)
    console.print(f"database at revision {current_revision(url)}", highlight=False)


@app.command("housekeeping")
def housekeeping_command() -> None:
    """Remove old evaluation runs and expired Idempotency-Key answers once (the API also
    does it every MEDCODER_HOUSEKEEPING_INTERVAL_S), and print how many of each."""
    # Lazily: the services import the whole agent, which other db commands do not need.
    from api.housekeeping import run_housekeeping
    from api.services import Services
    from review.db import upgrade

    settings = load_settings()
    upgrade(settings.review_database_url)
    services = Services.from_settings(settings)
    try:
        counts = run_housekeeping(services)
    finally:
        services.close()
    for name, count in counts.items():
        console.print(f"{name}: {count}", highlight=False)


@app.command("current")
def current_command() -> None:
    """Print the applied migration revision."""
    from review.db import current_revision

    console.print(current_revision(load_settings().review_database_url) or "none")
