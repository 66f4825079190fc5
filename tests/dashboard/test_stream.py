"""The live panel's server-sent events: bounded connections fed by the event stream."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import redis as redis_lib
from flask import Flask

from acd.model import CounsellorState, WaitingCaller
from acd.store import Acd
from dashboard import stream
from helpline.clock import FrozenClock
from helpline.runtime import Runtime
from tests.console.conftest import Session


def parse(message: str) -> tuple[str | None, dict]:
    """(event name, data) of one SSE message."""
    name, data = None, {}
    for line in message.strip().splitlines():
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            data = json.loads(line[len("data: ") :])
    return name, data


def test_a_new_caller_is_pushed_at_once(runtime: Runtime, acd: Acd, clock: FrozenClock) -> None:
    """retry, a snapshot, then a fresh snapshot as soon as the ACD writes an event."""
    acd.add_counsellor("bruno", "Bruno", ["psychologist"], ["fr"], "client:bruno")
    acd.set_state("bruno", CounsellorState.BREAK, "pause")
    slots = stream.StreamSlots()
    messages = stream.stream(runtime, None, seconds=5, limit=1, slots=slots)
    assert next(messages) == f"retry: {stream.RETRY_MS}\n\n"
    name, data = parse(next(messages))
    assert (name, data["waiting"]) == ("now", [])
    assert slots.active == 1
    sid = "CA" + "7" * 32
    acd.enqueue(WaitingCaller(sid, "instagram", "young", "fr", "psychologist", 0, clock.now()))
    name, data = parse(next(messages))
    assert name == "now"
    assert [w["platform_label"] for w in data["waiting"]] == ["Instagram"]
    acd.caller_gone(sid)
    name, data = parse(next(messages))
    assert data["waiting"] == []
    messages.close()
    assert slots.active == 0  # the slot comes back when the connection ends


def test_connections_beyond_the_limit_get_one_snapshot_and_a_longer_retry(runtime: Runtime) -> None:
    """A process never ties up more than ``limit`` threads in streams."""
    slots = stream.StreamSlots()
    assert slots.acquire(1)
    messages = list(stream.stream(runtime, None, seconds=5, limit=1, slots=slots))
    assert messages[0] == f"retry: {stream.BUSY_RETRY_MS}\n\n"
    assert parse(messages[1])[0] == "now"
    assert len(messages) == 2 and slots.active == 1


def test_a_connection_ends_by_itself(runtime: Runtime) -> None:
    """After ``seconds``, the generator ends (the browser reconnects)."""
    messages = list(stream.stream(runtime, None, seconds=0.2, limit=1, slots=stream.StreamSlots()))
    assert [parse(m)[0] for m in messages[1:]] == ["now"]


def test_reconnecting_after_missed_events_refreshes_the_figures(runtime: Runtime, acd: Acd) -> None:
    """A Last-Event-ID older than the stream's end means the figures may be stale."""
    acd.add_counsellor("bruno", "Bruno", ["psychologist"], ["fr"], "client:bruno")
    messages = list(stream.stream(runtime, "1-0", seconds=0.1, limit=1, slots=stream.StreamSlots()))
    assert [parse(m)[0] for m in messages[1:3]] == ["now", "figures"]


def test_the_stream_endpoint_answers_event_stream(app: Flask, manager: Session) -> None:
    """text/event-stream, not buffered by a proxy, ending within the configured time."""
    app.config["DASHBOARD_STREAM_SECONDS"] = 0.2
    with manager.client.get("/dashboard/stream") as response:
        body = response.get_data(as_text=True)
        assert response.mimetype == "text/event-stream"
        assert response.headers["X-Accel-Buffering"] == "no"
    assert body.startswith("retry: ") and "event: now" in body


def test_waiting_times_are_refreshed_without_events(
    runtime: Runtime, acd: Acd, clock: FrozenClock, monkeypatch
) -> None:
    """Every REFRESH_S a new snapshot carries the grown waits."""
    monkeypatch.setattr(stream, "REFRESH_S", 0.0)
    monkeypatch.setattr(stream, "BLOCK_MS", 10)
    acd.add_counsellor("bruno", "Bruno", ["psychologist"], ["fr"], "client:bruno")
    acd.set_state("bruno", CounsellorState.BREAK, "pause")
    sid = "CA" + "8" * 32
    acd.enqueue(WaitingCaller(sid, "phone", "young", "fr", "psychologist", 0, clock.now()))
    messages = stream.stream(runtime, None, seconds=5, limit=1, slots=stream.StreamSlots())
    next(messages)
    assert parse(next(messages))[1]["waiting"][0]["waited_s"] == 0
    clock.advance(timedelta(seconds=42).total_seconds())
    assert parse(next(messages))[1]["waiting"][0]["waited_s"] == 42
    messages.close()


def test_blocking_reads_outlast_the_runtimes_short_socket_timeout(
    runtime: Runtime, redis_server, monkeypatch
) -> None:
    """Production's client times out after 2 s, as long as a block: the stream reads on its
    own connection, so it keeps going instead of ending at the first quiet block."""
    short = redis_lib.Redis.from_url(redis_server.url, decode_responses=True, socket_timeout=0.3)
    quick = replace(runtime, redis=short)
    monkeypatch.setattr(stream, "BLOCK_MS", 600)
    monkeypatch.setattr(stream, "REFRESH_S", 0.0)
    try:
        messages = list(
            stream.stream(quick, None, seconds=1.5, limit=1, slots=stream.StreamSlots())
        )
    finally:
        short.close()
    assert [parse(m)[0] for m in messages[1:]].count("now") >= 3
