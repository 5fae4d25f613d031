"""The `medcoder` command line: one Typer group per command family."""

from __future__ import annotations

import typer

from api.cli import audit, db, kb, users
from api.cli import eval as eval_cli
from api.cli.cdi import cdi_command
from api.cli.chat import chat_command
from api.cli.code import code
from api.cli.drg import drg_command
from api.cli.learn import learn_command
from api.cli.serve import serve
from api.cli.worker import worker_command

app = typer.Typer(
    name="medcoder",
    help="Computer-assisted ICD-10-CM / ICD-10-PCS coding; a human confirms every code.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(kb.app, name="kb")
app.add_typer(eval_cli.app, name="eval")
app.command("code")(code)
app.command("learn")(learn_command)
app.command("drg")(drg_command)
app.command("cdi")(cdi_command)
app.command("chat")(chat_command)
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="users")
app.add_typer(audit.app, name="audit")
app.command("serve")(serve)
app.command("worker")(worker_command)


if __name__ == "__main__":
    app()
