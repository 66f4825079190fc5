"""The event stream: every transition of a call or a counsellor, the single source of figures.

Lua scripts append their own events inside the script (atomically with the change); Python code
uses `append_event`. Fields are flat strings; ``what`` names the transition, ``at`` is ms UTC.
"""

from __future__ import annotations

from datetime import datetime

import redis as redis_lib

from helpline.clock import to_ms
from helpline.keys import Keys

STREAM_MAXLEN = 500_000  # approximate cap (XADD MAXLEN ~); retention also trims by age


def append_event(
    redis: redis_lib.Redis, keys: Keys, what: str, now: datetime, **fields: object
) -> str:
    """Append one event; ``None`` fields are left out. Returns the stream id."""
    body = {"what": what, "at": str(to_ms(now))}
    body.update({k: str(v) for k, v in fields.items() if v is not None})
    return str(redis.xadd(keys.events, body, maxlen=STREAM_MAXLEN, approximate=True))
