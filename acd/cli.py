"""``helpline counsellors``: add, list, update, set-state, remove."""

from __future__ import annotations

import click

from acd.errors import AcdError
from acd.model import MANUAL_STATES, CounsellorState
from acd.store import Acd, check_endpoint
from helpline.runtime import get_runtime


def _acd() -> Acd:
    return Acd(get_runtime())


def _endpoint(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_endpoint(value)
    except AcdError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.group()
def counsellors() -> None:
    """Counsellors: profiles and states."""


@counsellors.command("add")
@click.argument("counsellor_id")
@click.option("--name", required=True, help="Display name.")
@click.option("--skill", "skills", multiple=True, required=True, help="Repeat for each skill.")
@click.option(
    "--language", "languages", multiple=True, default=("fr",), show_default=True,
    help="Repeat for each language.",
)  # fmt: skip
@click.option(
    "--endpoint", required=True, callback=_endpoint,
    help="client:<identity> (browser softphone) or an E.164 number (+33…).",
)  # fmt: skip
def add(
    counsellor_id: str,
    name: str,
    skills: tuple[str, ...],
    languages: tuple[str, ...],
    endpoint: str,
) -> None:
    """Add a counsellor (offline until they or a duty manager set them available)."""
    try:
        c = _acd().add_counsellor(counsellor_id, name, skills, languages, endpoint)
    except AcdError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"added {c.id} ({c.name}): {', '.join(c.skills)}; {', '.join(c.languages)}")


@counsellors.command("update")
@click.argument("counsellor_id")
@click.option("--name", default=None)
@click.option("--skill", "skills", multiple=True, help="Replaces the skills (repeat).")
@click.option("--language", "languages", multiple=True, help="Replaces the languages (repeat).")
@click.option("--endpoint", default=None, callback=_endpoint)
def update(
    counsellor_id: str,
    name: str | None,
    skills: tuple[str, ...],
    languages: tuple[str, ...],
    endpoint: str | None,
) -> None:
    """Change a counsellor's profile."""
    try:
        c = _acd().update_counsellor(
            counsellor_id,
            name=name,
            skills=skills or None,
            languages=languages or None,
            endpoint=endpoint,
        )
    except AcdError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"updated {c.id} ({c.name}): {', '.join(c.skills)}; {', '.join(c.languages)}")


@counsellors.command("list")
def list_() -> None:
    """Every counsellor with their state."""
    runtime = get_runtime()
    rows = Acd(runtime).list_counsellors()
    if not rows:
        click.echo(
            "no counsellors yet: helpline counsellors add <id> --name … --skill … --endpoint …"
        )
        return
    zone = runtime.config.zone
    header = ("ID", "NAME", "STATE", "SINCE", "SKILLS", "LANG", "ENDPOINT", "CALLS", "MISSED")
    table = [header]
    for c in rows:
        state = c.state.label + (f" ({c.reason})" if c.reason else "")
        table.append(
            (
                c.id,
                c.name,
                state,
                c.state_since.astimezone(zone).strftime("%H:%M"),
                ",".join(c.skills),
                ",".join(c.languages),
                c.endpoint,
                str(c.calls_today),
                str(c.missed),
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@counsellors.command("set-state")
@click.argument("counsellor_id")
@click.argument("state", type=click.Choice([s.label for s in MANUAL_STATES]))
@click.option("--reason", default=None, help="Why, for a break (lunch, training, …).")
@click.option(
    "--force", is_flag=True,
    help="Even on a call or an offer (when a call's end was lost): ends it first.",
)  # fmt: skip
def set_state(counsellor_id: str, state: str, reason: str | None, force: bool) -> None:
    """Set a counsellor available (ends wrap-up early), on break, or offline."""
    try:
        c = _acd().set_state(counsellor_id, CounsellorState.parse(state), reason, force=force)
    except AcdError as exc:
        raise click.ClickException(str(exc)) from exc
    if c.state == CounsellorState.AVAILABLE:
        from acd.jobs import request_dispatch

        request_dispatch(get_runtime())  # offer a waiting caller now, not at the next sweep
    click.echo(f"{c.id}: {c.state.label}" + (f" ({c.reason})" if c.reason else ""))


@counsellors.command("remove")
@click.argument("counsellor_id")
def remove(counsellor_id: str) -> None:
    """Forget a counsellor (refused while they are being offered a call or on one)."""
    try:
        removed = _acd().remove_counsellor(counsellor_id)
    except AcdError as exc:
        raise click.ClickException(str(exc)) from exc
    if not removed:
        raise click.ClickException(f"no counsellor {counsellor_id}")
    click.echo(f"removed {counsellor_id}")
