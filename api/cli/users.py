"""`medcoder users`: create API users (the key is printed once) and list them."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from api.cli.common import console, fail, load_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from review.actors import Actor

app = typer.Typer(help="API users and their keys.")


@contextmanager
def _review_session() -> Iterator[Session]:
    """One transaction on the migrated review database; a review error is one line."""
    # Imported here: SQLAlchemy and the review tables are no cost of other commands' start.
    from review.db import make_engine, sessions, transaction, upgrade
    from review.errors import ReviewError

    url = load_settings().review_database_url
    upgrade(url)
    engine = make_engine(url)
    try:
        with transaction(sessions(engine)) as session:
            yield session
    except ReviewError as error:
        fail(error.detail)
    finally:
        engine.dispose()


def _operator() -> Actor:
    from review.actors import Actor

    # The person at the server's shell acts with lead rights; the audit row names them.
    return Actor(user_id=None, name=f"cli:{getpass.getuser()}", role="lead")


_ExpiresDays = Annotated[
    int | None,
    typer.Option(help="Days until the key stops working; default MEDCODER_KEY_DAYS, else never."),
]


def _days(given: int | None) -> int | None:
    return given if given is not None else load_settings().key_days


@app.command("create")
def create_command(
    name: Annotated[str, typer.Argument(help="User name, unique.")],
    role: Annotated[Literal["coder", "lead", "auditor"], typer.Option(help="Role.")] = "coder",
    expires_days: _ExpiresDays = None,
    password: Annotated[
        bool,
        typer.Option(
            "--password", help="Ask for a password (twice) to sign in to the workspace at /."
        ),
    ] = False,
) -> None:
    """Create a user; prints the API key once (only its hash is kept). With --password the
    user can also sign in to the browser workspace."""
    from review.sign_in import set_password
    from review.users import create_user, key_expiry

    secret = _ask_password() if password else None
    with _review_session() as session:
        expires_at = key_expiry(_days(expires_days))
        user, key = create_user(
            session, name=name, role=role, actor=_operator(), expires_at=expires_at
        )
        if secret is not None:
            set_password(session, name=user.name, password=secret, actor=_operator())
        user_id = user.id
    console.print(f"created {role} {name!r} (id {user_id}); API key, shown once:", highlight=False)
    print(key)
    if secret is not None:
        console.print(f"{name!r} signs in to the workspace with that password", highlight=False)


def _ask_password() -> str:
    """Prompted twice, never echoed; a password never goes on the command line (shell
    history, process list)."""
    from review.sign_in import MIN_PASSWORD

    secret: str = typer.prompt(
        f"Password (at least {MIN_PASSWORD} characters)",
        hide_input=True,
        confirmation_prompt=True,
    )
    if len(secret) < MIN_PASSWORD:
        fail(f"a password has at least {MIN_PASSWORD} characters")
    return secret


@app.command("set-password")
def set_password_command(
    name: Annotated[str, typer.Argument(help="User name.")],
) -> None:
    """Set (or reset) a user's workspace password, asked for twice; their sessions end."""
    from review.sign_in import set_password

    secret = _ask_password()
    with _review_session() as session:
        set_password(session, name=name, password=secret, actor=_operator())
    console.print(f"password set for {name!r}; sessions they held have ended", highlight=False)


@app.command("list")
def list_command() -> None:
    """List users (never their keys)."""
    from rich.table import Table

    from review.users import list_users

    table = Table("id", "name", "role", "key starts", "active", "key expires", "created")
    with _review_session() as session:
        for user in list_users(session):
            expires = f"{user.key_expires_at:%Y-%m-%d %H:%M}" if user.key_expires_at else "never"
            table.add_row(
                str(user.id),
                user.name,
                user.role,
                user.key_prefix,
                "yes" if user.active else "no",
                expires,
                f"{user.created_at:%Y-%m-%d}",
            )
    console.print(table)


@app.command("deactivate")
def deactivate_command(user_id: Annotated[int, typer.Argument(help="User id.")]) -> None:
    """Deactivate a user's key (a running server honours it within its key cache, 2 s;
    the API's POST /users/{id}/deactivate acts at once)."""
    from review.users import deactivate_user

    with _review_session() as session:
        name = deactivate_user(session, user_id=user_id, actor=_operator()).name
    console.print(f"deactivated {name!r} (id {user_id})", highlight=False)


@app.command("rotate")
def rotate_command(
    user_id: Annotated[int, typer.Argument(help="User id.")], expires_days: _ExpiresDays = None
) -> None:
    """Give a user a new key (printed once); the old key stops working."""
    from review.users import key_expiry, rotate_key

    with _review_session() as session:
        expires_at = key_expiry(_days(expires_days))
        user, key = rotate_key(session, user_id=user_id, actor=_operator(), expires_at=expires_at)
        name = user.name
    console.print(f"new key for {name!r} (id {user_id}), shown once:", highlight=False)
    print(key)
