"""The Lua scripts of ``partners/lua/``, registered once per Redis client."""

from __future__ import annotations

import weakref
from pathlib import Path

import redis as redis_lib
from redis.commands.core import Script

LUA = Path(__file__).with_name("lua")

_scripts: weakref.WeakKeyDictionary[redis_lib.Redis, dict[str, Script]] = (
    weakref.WeakKeyDictionary()
)


def script(client: redis_lib.Redis, name: str) -> Script:
    """The script ``partners/lua/<name>.lua`` for ``client``."""
    per_client = _scripts.setdefault(client, {})
    if name not in per_client:
        per_client[name] = client.register_script((LUA / f"{name}.lua").read_text())
    return per_client[name]
