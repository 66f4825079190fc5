"""The package's Lua scripts (``incall/lua/``), registered once per Redis client."""

from __future__ import annotations

import weakref
from functools import cache
from pathlib import Path

import redis as redis_lib
from redis.commands.core import Script

LUA = Path(__file__).with_name("lua")
AUDIT_MAXLEN = 200_000  # the audit stream's approximate cap (as dashboard.audit)

_scripts: weakref.WeakKeyDictionary[redis_lib.Redis, dict[str, Script]] = (
    weakref.WeakKeyDictionary()
)


@cache
def _source(name: str) -> str:
    return (LUA / f"{name}.lua").read_text()


def script(redis: redis_lib.Redis, name: str) -> Script:
    """Script ``name`` registered on ``redis`` (EVALSHA, loaded again if Redis forgot it)."""
    mine = _scripts.setdefault(redis, {})
    if name not in mine:
        mine[name] = redis.register_script(_source(name))
    return mine[name]
