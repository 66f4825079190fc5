"""``helpline dashboard``: retention now, and the dashboard's CSV exports on the command line.

Exports from here are audited as ``cli:<user>`` (the operating-system user), like a manager's
from the web page.
"""

from __future__ import annotations

import getpass
import json

import click

from dashboard import audit, exports, jobs, service
from helpline.runtime import get_runtime


def _day(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        exports.parse_day(value)
    except ValueError as exc:
        raise click.BadParameter("a date YYYY-MM-DD", ctx=ctx, param=param) from exc
    return value


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in this environment (containers)
        return "cli"


@click.group()
def dashboard() -> None:
    """The duty managers' dashboard: retention, exports."""


@dashboard.command("retention")
def retention_now() -> None:
    """Delete events and audit entries older than the configured retention, now."""
    summary = jobs.run_retention(get_runtime())
    click.echo(json.dumps(summary, indent=2))


def _export(kind: str, first: str, last: str | None) -> None:
    runtime = get_runtime()
    start = exports.parse_day(first)
    end = exports.parse_day(last) if last else start
    try:
        if kind == "calls":
            text, count = service.calls_csv(runtime, start, end)
        else:
            text, count = service.daily_csv(runtime, start, end)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    audit.record(
        runtime.redis,
        runtime.keys,
        runtime.clock.now(),
        _who(),
        f"export.{kind}",
        f"{start}..{end}",
        {},
        {"rows": count},
    )
    click.echo(text, nl=False)


@dashboard.command("export-calls")
@click.option("--from", "first", required=True, callback=_day, help="First local day.")
@click.option("--to", "last", default=None, callback=_day, help="Last local day (default: --from).")
def export_calls(first: str, last: str | None) -> None:
    """Calls as CSV on stdout (no number, no pseudonym, no CallSid)."""
    _export("calls", first, last)


@dashboard.command("export-daily")
@click.option("--from", "first", required=True, callback=_day, help="First local day.")
@click.option("--to", "last", default=None, callback=_day, help="Last local day (default: --from).")
def export_daily(first: str, last: str | None) -> None:
    """Daily figures per platform as CSV on stdout."""
    _export("daily", first, last)
