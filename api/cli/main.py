"""The `medcoder` command line: one Typer group per command family."""

from __future__ import annotations

import typer

from api.cli import kb
from api.cli.code import code
from api.cli.learn import learn_command

app = typer.Typer(
    name="medcoder",
    help="Computer-assisted ICD-10-CM / ICD-10-PCS coding; a human confirms every code.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(kb.app, name="kb")
app.command("code")(code)
app.command("learn")(learn_command)


if __name__ == "__main__":
    app()
