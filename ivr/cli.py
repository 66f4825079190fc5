"""``helpline hours`` (placeholder; the call flow fills it)."""

import click


@click.group()
def hours() -> None:
    """Opening hours."""
