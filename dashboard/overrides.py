"""Runtime overrides of ``[acd]``: overflow limits and per-platform priority, set by managers.

Stored in one hash (``keys.acd_overrides``), every field optional, a missing field meaning "as
in the configuration":

| field | meaning | range |
|---|---|---|
| ``max_waiting`` | overflow above this many waiting callers | 1-500 |
| ``max_wait`` | overflow after this many seconds of waiting | 60-7200 |
| ``priority.platform.<tag>`` | head start (s) for a platform of ``[platforms] known`` | 0-3600 |

The parsing (`parse`) and the merge into an `AcdSection` (`apply`) are pure, so that the ACD
and the voice flow can read the overrides with one HGETALL and these two calls. Until they do
(see docs/dashboard.md, "What the ACD must read"), the values are stored and shown but change
nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import cast

import redis as redis_lib
from redis.commands.core import Script

from acd.overrides import (  # noqa: F401 - re-exported for the dashboard's callers
    LIMITS,
    PRIORITY_PREFIX,
    PRIORITY_RANGE,
    AcdOverrides,
    _whole,
    apply,
    parse,
)
from dashboard.audit import AUDIT_MAXLEN

LUA = Path(__file__).with_name("lua")
#: The ACD and the voice flow apply the overrides (``acd.overrides.effective``).
ACD_READS_OVERRIDES = True


class OverrideError(ValueError):
    """A value a manager typed is out of range; the message says so in French."""


def validate_form(form: Mapping[str, str], known_platforms: tuple[str, ...]) -> dict[str, str]:
    """Fields to write from the settings form: a value, or '' to go back to the configuration.

    Raises `OverrideError` for a value out of range."""
    changes: dict[str, str] = {}
    names = {name: LIMITS[name] for name in LIMITS}
    names.update({PRIORITY_PREFIX + tag: PRIORITY_RANGE for tag in known_platforms})
    for name, (low, high) in names.items():
        if name not in form:
            continue
        text = form[name].strip()
        if text == "":
            changes[name] = ""
            continue
        if _whole(text, low, high) is None:
            raise OverrideError(f"« {name} » doit être un nombre entier de {low} à {high}.")
        changes[name] = str(int(text))
    return changes


@cache
def _source() -> str:
    return (LUA / "set_overrides.lua").read_text(encoding="utf-8")


_registered: list[Script] = []


def _script(redis: redis_lib.Redis) -> Script:
    """The script, registered once per process (each call passes its own client)."""
    if not _registered:
        _registered.append(redis.register_script(_source()))
    return _registered[0]


def load(redis: redis_lib.Redis, overrides_key: str) -> dict[str, str]:
    """The stored hash, as is."""
    return cast(dict[str, str], redis.hgetall(overrides_key))


def save(
    redis: redis_lib.Redis,
    overrides_key: str,
    audit_key: str,
    now_ms: int,
    who: str,
    changes: Mapping[str, str],
) -> tuple[bool, dict[str, str], dict[str, str]]:
    """Write ``changes`` ('' removes a field) and audit them in one script.

    (changed, before, after)."""
    args: list[str | int] = [now_ms, who, AUDIT_MAXLEN, "acd"]
    for name, value in sorted(changes.items()):
        args += [name, value]
    changed, before, after = _script(redis)(
        keys=[overrides_key, audit_key], args=args, client=redis
    )
    return bool(int(changed)), _object(before), _object(after)


def _object(text: object) -> dict[str, str]:
    value = json.loads(str(text))
    return value if isinstance(value, dict) else {}
