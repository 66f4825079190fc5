"""The live panel's server-sent events, fed by the ACD's event stream (XREAD BLOCK).

One connection lasts at most ``seconds`` (25 by default), then ends; the browser's EventSource
reconnects by itself after the ``retry:`` delay and gets a fresh snapshot. Under gunicorn's
gthread workers a connection holds one of the worker's threads for its whole life, and the same
threads serve Twilio's webhooks, which must answer within 15 s: so each process serves at most
``limit`` streams at once (`StreamSlots`), and a browser over the limit gets one snapshot and
a longer ``retry:``, which turns it into a slow poll instead of a waiting thread.

Messages: ``event: now`` (the whole panel, `service.now_snapshot`), sent on every ACD event and
every `REFRESH_S` seconds (waiting times grow); ``event: figures`` (an empty nudge: the page
fetches the figures again), at most every `FIGURES_EVERY_S` seconds after a call changed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any, cast

import redis as redis_lib

from dashboard import eventlog, service
from helpline.log import get_logger
from helpline.runtime import Runtime

log = get_logger("dashboard.stream")

STREAM_SECONDS = 25.0
RETRY_MS = 1000
BUSY_RETRY_MS = 5000
BLOCK_MS = 2000
BLOCK_SLACK_S = 3  # the blocking connection's socket timeout is the block plus this
REFRESH_S = 3.0
FIGURES_EVERY_S = 10.0
FIGURE_EVENTS = frozenset({"call_started", "enqueued", "outcome", "call_ended", "accepted"})
DEFAULT_LIMIT = 2


class StreamSlots:
    """How many streams this process serves now, against a limit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.active = 0

    def acquire(self, limit: int) -> bool:
        """Take a slot; False when ``limit`` streams are already running."""
        with self._lock:
            if self.active >= limit:
                return False
            self.active += 1
            return True

    def release(self) -> None:
        """Give a slot back."""
        with self._lock:
            self.active = max(0, self.active - 1)


SLOTS = StreamSlots()


def message(event: str, data: Any, event_id: str | None = None) -> str:
    """One SSE message (JSON data on one line)."""
    lines = [f"id: {event_id}"] if event_id else []
    lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, separators=(",", ":"), ensure_ascii=False))
    return "\n".join(lines) + "\n\n"


def blocking_client(runtime: Runtime) -> Any:
    """A one-connection client for ``XREAD BLOCK``: the runtime's server and database, with a
    socket timeout longer than the block (the runtime's own client times out after 2 s so that
    webhooks answer when Redis is unreachable). The caller disconnects it when done."""
    return runtime.redis_with(max_connections=1, socket_timeout=BLOCK_MS / 1000 + BLOCK_SLACK_S)


def stream(
    runtime: Runtime,
    last_event_id: str | None,
    seconds: float = STREAM_SECONDS,
    limit: int = DEFAULT_LIMIT,
    slots: StreamSlots = SLOTS,
) -> Iterator[str]:
    """The messages of one connection (a generator: the slot is taken when it starts)."""
    redis, key = runtime.redis, runtime.keys.events
    if not slots.acquire(limit):
        yield f"retry: {BUSY_RETRY_MS}\n\n"
        yield message("now", service.now_snapshot(runtime))
        return
    reader = blocking_client(runtime)
    try:
        yield f"retry: {RETRY_MS}\n\n"
        cursor = eventlog.last_id(redis, key)
        yield message("now", service.now_snapshot(runtime), cursor)
        if last_event_id and last_event_id != cursor:
            yield message("figures", {})  # something happened while we were away
        started = last_sent = last_figures = time.monotonic()
        dirty = False
        while True:
            left_ms = int((started + seconds - time.monotonic()) * 1000)
            if left_ms <= 0:
                return
            reply = cast(
                list[tuple[str, list[tuple[str, dict[str, str]]]]],
                reader.xread({key: cursor}, count=500, block=max(1, min(BLOCK_MS, left_ms))),
            )
            changed = False
            for _name, entries in reply or []:
                for entry_id, fields in entries:
                    cursor, changed = entry_id, True
                    dirty = dirty or fields.get("what") in FIGURE_EVENTS
            now = time.monotonic()
            if changed or now - last_sent >= REFRESH_S:
                yield message("now", service.now_snapshot(runtime), cursor)
                last_sent = now
            if dirty and now - last_figures >= FIGURES_EVERY_S:
                yield message("figures", {}, cursor)
                dirty, last_figures = False, now
    except redis_lib.RedisError as exc:
        # The browser reconnects after RETRY_MS; the next connection tries Redis again.
        log.warning("dashboard.stream_redis_error", error=type(exc).__name__)
    except Exception:  # a stream ends, logged; the browser reconnects
        log.exception("dashboard.stream_failed")
    finally:
        pool = getattr(reader, "connection_pool", None)  # a Cluster client has none
        if pool is not None:
            pool.disconnect()
        else:
            reader.close()
        slots.release()
