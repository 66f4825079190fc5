"""``helpline counsellors`` (placeholder; the ACD fills it)."""

import click


@click.group()
def counsellors() -> None:
    """Counsellors."""
