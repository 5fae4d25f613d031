"""The `medcoder` command line: one Typer group per command family."""

from __future__ import annotations

import typer

from api.cli import kb

app = typer.Typer(
    name="medcoder",
    help="Computer-assisted ICD-10-CM / ICD-10-PCS coding; a human confirms every code.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(kb.app, name="kb")


if __name__ == "__main__":
    app()
