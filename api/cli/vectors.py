"""`medcoder kb publish-vectors`: copy the current KB version's vectors to a Chroma server.

Imported for `medcoder --help`, so the top level holds Typer only: Chroma and the knowledge
base load when the command runs."""

from __future__ import annotations

from typing import Annotated

import typer


def publish_vectors_command(
    chroma_url: Annotated[
        str | None,
        typer.Option(
            "--chroma-url",
            help="http://host:8000 of the Chroma server (default MEDCODER_CHROMA_URL).",
        ),
    ] = None,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Also remove every other KB version's vectors from the server (once no "
            "process serves an older version any more).",
        ),
    ] = False,
) -> None:
    """Publish the current knowledge-base version's vectors to a Chroma server, so the API
    and workers with MEDCODER_CHROMA_URL search them there. Run it after `medcoder kb build`
    and before pointing processes at the new version; publishing again is a no-op, and an
    interrupted publish is redone from the start."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    from api.cli.common import console, fail, load_settings, user_errors
    from retrieval.layout import KBLayout
    from retrieval.vectors import publish_version, published_versions, remove_version

    settings = load_settings()
    url = chroma_url or settings.chroma_url
    if not url:
        fail("give --chroma-url or set MEDCODER_CHROMA_URL (e.g. http://127.0.0.1:8000)", 2)
    with user_errors():
        version = KBLayout(settings.home).current()
        with Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            TaskProgressColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task(f"publishing {version.name}", total=None)
            report = publish_version(
                version / "chroma",
                version.name,
                url,
                lambda done, total: progress.update(task, completed=done, total=total),
            )
        state = "already published" if report.already_published else "published"
        console.print(
            f"{state}: KB version {report.version}, {report.vectors} vectors in "
            f"{report.collections} collections on {url} ({report.seconds:.1f} s)",
            highlight=False,
        )
        if prune:
            for other in published_versions(url):
                if other != version.name:
                    removed = remove_version(url, other)
                    console.print(
                        f"removed KB version {other} ({removed} collections)", highlight=False
                    )
