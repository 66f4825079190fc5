"""``helpline blocklist``: block an abusive caller for a while, list and lift blocks.

A caller is named by a call (``--call <CallSid>``: its record's keyed hash is used) or by the
keyed hash itself (``--caller h:…``), never by a phone number. Every change is audited as
``cli:<user>``.
"""

from __future__ import annotations

import getpass
from datetime import timedelta

import click

from helpline.runtime import get_runtime
from incall import blocklist as store


def _who() -> str:
    return f"cli:{getpass.getuser()}"


@click.group("blocklist")
def blocklist() -> None:
    """Callers kept off the line for a while after abuse (keyed hashes only)."""


@blocklist.command("add")
@click.option("--call", "call_sid", help="CallSid of one of the caller's calls.")
@click.option("--caller", "caller_hash", help="The caller's keyed hash (h:…).")
@click.option("--hours", type=click.IntRange(min=1), help="Duration (default from [incall]).")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
def add(call_sid: str | None, caller_hash: str | None, hours: int | None, reason: str) -> None:
    """Block a caller."""
    if bool(call_sid) == bool(caller_hash):
        raise click.UsageError("give exactly one of --call and --caller")
    runtime = get_runtime()
    hours = hours or runtime.config.incall.block_hours
    try:
        caller = (
            store.caller_of_call(runtime, call_sid)
            if call_sid
            else store.check_hash(caller_hash or "")
        )
        until = runtime.clock.now() + timedelta(hours=hours)
        store.block(runtime, caller, until, _who(), reason, call_sid=call_sid)
    except store.BlocklistError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"blocked {caller} until {until.astimezone(runtime.config.zone):%Y-%m-%d %H:%M}")


@blocklist.command("list")
def list_() -> None:
    """Live blocks, soonest end first."""
    runtime = get_runtime()
    entries = store.entries(runtime)
    if not entries:
        click.echo("no caller is blocked")
    for entry in entries:
        until = entry.until.astimezone(runtime.config.zone)
        click.echo(f"{entry.caller}  until {until:%Y-%m-%d %H:%M}  by {entry.by}  {entry.reason}")


@blocklist.command("remove")
@click.option("--caller", "caller_hash", required=True, help="The caller's keyed hash (h:…).")
@click.option("--reason", default="", help="Why the block is lifted early.")
def remove(caller_hash: str, reason: str) -> None:
    """Lift a block before its end."""
    runtime = get_runtime()
    try:
        lifted = store.unblock(runtime, caller_hash, _who(), reason)
    except store.BlocklistError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("lifted" if lifted else "that caller was not blocked")
