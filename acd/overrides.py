"""Duty managers' runtime overrides of ``[acd]``: overflow limits and per-platform priority.

Stored in one hash (``keys.acd_overrides``, written by the dashboard), every field optional, a
missing field meaning "as in the configuration":

| field | meaning | range |
|---|---|---|
| ``max_waiting`` | overflow above this many waiting callers | 1-500 |
| ``max_wait`` | overflow after this many seconds of waiting | 60-7200 |
| ``priority.platform.<tag>`` | head start (s) for a platform of ``[platforms] known`` | 0-3600 |

`parse` and `apply` are pure; `effective` reads the hash once and applies it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import cast

from helpline.runtime import Runtime
from helpline.settings import AcdSection

PRIORITY_PREFIX = "priority.platform."
LIMITS: dict[str, tuple[int, int]] = {"max_waiting": (1, 500), "max_wait": (60, 7200)}
PRIORITY_RANGE = (0, 3600)


@dataclass(frozen=True)
class AcdOverrides:
    """What the managers changed (None / absent: the configuration's value)."""

    max_waiting: int | None = None
    max_wait: int | None = None
    platform_priority: Mapping[str, int] = field(default_factory=dict)

    def as_fields(self) -> dict[str, str]:
        """The stored form."""
        fields: dict[str, str] = {}
        if self.max_waiting is not None:
            fields["max_waiting"] = str(self.max_waiting)
        if self.max_wait is not None:
            fields["max_wait"] = str(self.max_wait)
        for tag, value in sorted(self.platform_priority.items()):
            fields[PRIORITY_PREFIX + tag] = str(value)
        return fields


def _whole(text: str, low: int, high: int) -> int | None:
    try:
        value = int(text)
    except (TypeError, ValueError):
        return None
    return value if low <= value <= high else None


def parse(raw: Mapping[str, str], known_platforms: tuple[str, ...]) -> AcdOverrides:
    """Overrides from the hash; a malformed or out-of-range field is ignored (config wins)."""
    priority: dict[str, int] = {}
    for name, text in raw.items():
        if name.startswith(PRIORITY_PREFIX):
            tag = name[len(PRIORITY_PREFIX) :]
            value = _whole(text, *PRIORITY_RANGE)
            if tag in known_platforms and value is not None:
                priority[tag] = value
    return AcdOverrides(
        max_waiting=_whole(raw.get("max_waiting", ""), *LIMITS["max_waiting"]),
        max_wait=_whole(raw.get("max_wait", ""), *LIMITS["max_wait"]),
        platform_priority=priority,
    )


def apply(acd: AcdSection, overrides: AcdOverrides) -> AcdSection:
    """The ``[acd]`` section with the overrides in force."""
    by_platform = dict(acd.priority.get("platform", {}))
    by_platform.update(overrides.platform_priority)
    return replace(
        acd,
        max_waiting=acd.max_waiting if overrides.max_waiting is None else overrides.max_waiting,
        max_wait=acd.max_wait if overrides.max_wait is None else overrides.max_wait,
        priority={**acd.priority, "platform": by_platform},
    )


def effective(runtime: Runtime) -> AcdSection:
    """``[acd]`` with the overrides in force now (one HGETALL; none stored: the config)."""
    raw = cast(dict[str, str], runtime.redis.hgetall(runtime.keys.acd_overrides))
    if not raw:
        return runtime.config.acd
    return apply(runtime.config.acd, parse(raw, runtime.config.platforms.known))
