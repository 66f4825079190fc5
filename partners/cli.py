"""``helpline platforms``: the platform registry and its API keys.

helpline platforms list
helpline platforms keys add <platform> [--label TEXT] [--days N]
helpline platforms keys list [--platform TAG]
helpline platforms keys revoke <key-id>
"""

from __future__ import annotations

from datetime import datetime

import click

from helpline.runtime import get_runtime
from partners import apikeys
from partners.apikeys import ApiKeyError
from partners.limits import active_calls
from partners.registry import partner_platforms


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


@click.group()
def platforms() -> None:
    """Partner platforms (registry, API keys)."""


@platforms.command("list")
def list_platforms() -> None:
    """The partner platforms: name, priority, limits, keys, calls in progress."""
    runtime = get_runtime()
    now = runtime.clock.now()
    keys = apikeys.list_keys(runtime)
    for entry in partner_platforms(runtime.config):
        active = sum(
            1 for k in keys if k.platform == entry.id and k.state(now) is apikeys.KeyState.ACTIVE
        )
        lim = entry.limits
        click.echo(
            f"{entry.id:<12} {entry.name:<14} priority={entry.priority} keys={active} "
            f"calls_now={active_calls(runtime, entry.id)} "
            f"tokens/min={lim.tokens_per_minute} page/min={lim.page_tokens_per_minute} "
            f"calls/min={lim.calls_per_minute} max_calls={lim.max_concurrent_calls}"
        )


@platforms.group()
def keys() -> None:
    """API keys: several per platform (rotation), shown once, stored hashed."""


@keys.command("add")
@click.argument("platform")
@click.option("--label", default="", help="A note for humans (team, environment).")
@click.option(
    "--days", type=int, default=None, help="Lifetime in days (default from [partners]; 0: none)."
)
def add_key(platform: str, label: str, days: int | None) -> None:
    """Issue a key for PLATFORM and print it once."""
    try:
        issued = apikeys.issue(get_runtime(), platform, label=label, lifetime_days=days)
    except ApiKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    key = issued.key
    click.echo(issued.secret)
    click.echo(
        f"key id {key.id} for {key.platform}, expires {_when(key.expires_at)}. "
        "Store it now: it is not kept and cannot be shown again.",
        err=True,
    )


@keys.command("list")
@click.option("--platform", default=None, help="Only this platform's keys.")
def list_keys(platform: str | None) -> None:
    """Every key: id, platform, state, dates, label (never the secret)."""
    runtime = get_runtime()
    now = runtime.clock.now()
    found = apikeys.list_keys(runtime, platform)
    if not found:
        click.echo("no keys")
        return
    for key in found:
        click.echo(
            f"{key.id}  {key.platform:<12} {key.state(now).value:<8} "
            f"created {_when(key.created_at)}  expires {_when(key.expires_at)}  "
            f"revoked {_when(key.revoked_at)}  last used {_when(key.last_used_at)}  {key.label}"
        )


@keys.command("revoke")
@click.argument("key_id")
def revoke_key(key_id: str) -> None:
    """Revoke the key KEY_ID (the 12 hex digits after hlk_): it stops working at once."""
    try:
        done = apikeys.revoke(get_runtime(), key_id.strip().lower())
    except ApiKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"revoked {key_id}" if done else f"{key_id} was already revoked")
