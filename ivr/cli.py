"""``helpline hours``: see, check and change the opening hours (dated exceptions).

Times are ISO 8601; one without an offset is read in the helpline's zone
(``2026-12-24T18:00`` is 18:00 in Paris). Changes are in Redis and apply to the next call in
every process.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import click

from helpline.runtime import Runtime, get_runtime
from ivr import hours_store
from ivr.hours import DAYS, HoursException, Kind, is_open


@click.group()
def hours() -> None:
    """Opening hours: the weekly schedule and dated exceptions."""


@hours.command("show")
def show() -> None:
    """The weekly schedule and every exception, with its id."""
    runtime = get_runtime()
    schedule = hours_store.schedule(runtime.config)
    zone = schedule.zone
    click.echo(f"Weekly schedule ({zone.key}):")
    for weekday, day in enumerate(DAYS):
        click.echo(f"  {day:<10} {schedule.describe(weekday)}")
    exceptions = hours_store.list_exceptions(runtime.redis, runtime.keys)
    click.echo("Exceptions:")
    if not exceptions:
        click.echo("  none")
    for x in exceptions:
        note = f"  {x.note}" if x.note else ""
        click.echo(
            f"  {x.id:>4}  {x.kind.value:<6}  {_local(x.start, zone)} → {_local(x.end, zone)}{note}"
        )


@hours.command("check")
@click.option("--at", "at", default=None, help="ISO 8601 time (default: now).")
def check(at: str | None) -> None:
    """Open or closed at a time, and the next change: "closed — reopens 2026-11-24 09:00 …"."""
    runtime = get_runtime()
    zone = runtime.config.zone
    when = _parse(at, zone, "--at") if at else runtime.clock.now()
    exceptions = hours_store.list_exceptions(runtime.redis, runtime.keys)
    status = is_open(when, hours_store.schedule(runtime.config), exceptions)
    if status.open:
        change = (
            f"closes {_local(status.next_change, zone)}"
            if status.next_change
            else "no closing scheduled"
        )
        click.echo(f"open — {change}")
    else:
        change = (
            f"reopens {_local(status.next_change, zone)}"
            if status.next_change
            else "no reopening scheduled"
        )
        click.echo(f"closed — {change}")


@hours.command("open")
@click.option("--from", "start", required=True, help="ISO 8601 start.")
@click.option("--until", "end", required=True, help="ISO 8601 end.")
@click.option("--note", default="", help="Why (shown by `hours show`).")
def open_(start: str, end: str, note: str) -> None:
    """Open the line from --from until --until (e.g. a late evening); prints the new id."""
    _add(get_runtime(), Kind.OPEN, start, end, note)


@hours.command("close")
@click.option("--from", "start", required=True, help="ISO 8601 start.")
@click.option("--until", "end", required=True, help="ISO 8601 end.")
@click.option("--note", default="", help="Why (shown by `hours show`).")
def close(start: str, end: str, note: str) -> None:
    """Close the line from --from until --until (a day off, an afternoon); prints the new id."""
    _add(get_runtime(), Kind.CLOSED, start, end, note)


@hours.command("clear")
@click.argument("exception_id")
def clear(exception_id: str) -> None:
    """Remove the exception with this id."""
    runtime = get_runtime()
    if not hours_store.remove_exception(runtime.redis, runtime.keys, exception_id):
        raise click.ClickException(f"no exception with id {exception_id}")
    click.echo(f"cleared {exception_id}")


def _add(runtime: Runtime, kind: Kind, start: str, end: str, note: str) -> HoursException:
    zone = runtime.config.zone
    begin, finish = _parse(start, zone, "--from"), _parse(end, zone, "--until")
    if finish <= begin:
        raise click.BadParameter("must be after --from", param_hint="--until")
    exception = hours_store.add_exception(
        runtime.redis, runtime.keys, kind, begin, finish, note.strip()[:200]
    )
    click.echo(exception.id)
    return exception


def _parse(text: str, zone: ZoneInfo, option: str) -> datetime:
    """An ISO 8601 time; without an offset, in the helpline's zone."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint=option) from exc
    return when.replace(tzinfo=zone) if when.tzinfo is None else when


def _local(when: datetime | None, zone: ZoneInfo) -> str:
    """``2026-11-24 09:00 Europe/Paris``."""
    if when is None:
        return "-"
    return f"{when.astimezone(zone):%Y-%m-%d %H:%M} {zone.key}"
