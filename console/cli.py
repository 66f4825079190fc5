"""``helpline users``: console logins for counsellors and duty managers."""

from __future__ import annotations

import sys

import click

from console.users import (
    LOGIN_RULE,
    MIN_PASSWORD_LENGTH,
    Role,
    User,
    UserError,
    Users,
    normalise_login,
    valid_login,
)
from helpline.runtime import get_runtime


def _users() -> Users:
    return Users(get_runtime())


def _read_password(from_stdin: bool) -> str:
    """One line from stdin, or typed twice without echo."""
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    password: str = click.prompt(
        f"Password (at least {MIN_PASSWORD_LENGTH} characters)",
        hide_input=True,
        confirmation_prompt="Repeat the password",
    )
    return password


@click.group()
def users() -> None:
    """Console logins (counsellors and duty managers)."""


@users.command("add")
@click.argument("login")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--counsellor-id", default=None, help="ACD counsellor id (default: the login).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (one line).")
def add(login: str, role: str, counsellor_id: str | None, password_stdin: bool) -> None:
    """Create a console login."""
    accounts = _users()
    # Check what can be checked before asking for a password typed twice.
    if not valid_login(normalise_login(login)):
        raise click.ClickException(LOGIN_RULE)
    if accounts.get(login) is not None:
        raise click.ClickException(f"the login {normalise_login(login)!r} already exists")
    password = _read_password(password_stdin)
    try:
        user = accounts.add(login, role, password, counsellor_id=counsellor_id)
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created {user.login} ({user.role.value})")
    if user.counsellor_id:
        _warn_unknown_counsellor(user)


def _warn_unknown_counsellor(user: User) -> None:
    """The ACD profile may come later; say so rather than refuse."""
    from acd.store import Acd

    if Acd(get_runtime()).get_counsellor(user.counsellor_id or "") is None:
        click.echo(
            f"note: no ACD counsellor {user.counsellor_id!r} yet; add one with "
            f"`helpline counsellors add {user.counsellor_id} …`",
            err=True,
        )


@users.command("list")
def list_() -> None:
    """Show every login (never a password hash)."""
    rows = _users().list()
    if not rows:
        click.echo("no console users")
        return
    header = ("login", "role", "counsellor", "created (UTC)", "status")
    table = [header] + [
        (
            u.login,
            u.role.value,
            u.counsellor_id or "-",
            u.created_at.strftime("%Y-%m-%d %H:%M"),
            "disabled" if u.disabled else "active",
        )
        for u in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@users.command("disable")
@click.argument("login")
def disable(login: str) -> None:
    """Stop a login and end its open sessions."""
    if not _users().disable(login):
        raise click.ClickException(f"no console user {login!r}")
    click.echo(f"disabled {login.strip().lower()}")


@users.command("enable")
@click.argument("login")
def enable(login: str) -> None:
    """Let a disabled login in again."""
    if not _users().enable(login):
        raise click.ClickException(f"no console user {login!r}")
    click.echo(f"enabled {login.strip().lower()}")


@users.command("passwd")
@click.argument("login")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (one line).")
def passwd(login: str, password_stdin: bool) -> None:
    """Set a new password (ends the login's open sessions)."""
    accounts = _users()
    if accounts.get(login) is None:
        raise click.ClickException(f"no console user {login!r}")
    password = _read_password(password_stdin)
    try:
        changed = accounts.set_password(login, password)
    except UserError as exc:
        raise click.ClickException(str(exc)) from exc
    if not changed:
        raise click.ClickException(f"no console user {login!r}")
    click.echo(f"password changed for {login.strip().lower()}; open sessions ended")
