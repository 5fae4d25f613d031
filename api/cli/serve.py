"""`medcoder serve`: the REST API (migrating the review database first)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from api.cli.common import console, load_settings


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    ssl_certfile: Annotated[
        str | None, typer.Option(help="Serve HTTPS with this certificate (PEM).")
    ] = None,
    ssl_keyfile: Annotated[str | None, typer.Option(help="The certificate's key (PEM).")] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(help="Proxies whose X-Forwarded-For/-Proto are trusted (comma-separated)."),
    ] = None,
) -> None:
    """Serve the workspace at / and the API (docs at /docs); the offline proposer unless an
    LLM is set."""
    import uvicorn

    from review.db import upgrade

    settings = load_settings()
    upgrade(settings.review_database_url)
    # Workers rebuild settings from the environment; pass on what --data-dir style options set.
    if settings.data_dir is not None:
        os.environ.setdefault("MEDCODER_DATA_DIR", str(settings.data_dir))
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise typer.BadParameter("give both --ssl-certfile and --ssl-keyfile, or neither")
    scheme = "https" if ssl_certfile else "http"
    if not _anyone_signs_in(settings.review_database_url):
        console.print(
            "No one can sign in to the workspace yet: create the first lead with "
            "[bold]medcoder users create NAME --role lead --password[/bold]",
            highlight=False,
        )
    console.print(
        f"medcoder on {scheme}://{host}:{port} (workspace at /, API docs at /docs); "
        f"proposer: {settings.llm_mode}; "
        f"database: {settings.review_database_url.split('://')[0]}",
        highlight=False,
    )
    uvicorn.run(
        "web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,  # request lines carry ids only, but keep logs quiet by default
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        proxy_headers=forwarded_allow_ips is not None,
        forwarded_allow_ips=forwarded_allow_ips,
    )


def _anyone_signs_in(url: str) -> bool:
    """Whether some user has a workspace password (a fresh install has none)."""
    from sqlalchemy import select

    from review.db import make_engine, sessions, transaction
    from review.tables import UserRow

    engine = make_engine(url)
    try:
        with transaction(sessions(engine)) as session:
            found = session.scalar(select(UserRow.id).where(UserRow.password_hash.is_not(None)))
    finally:
        engine.dispose()
    return found is not None
