"""Call records in Redis: idempotent creation, TTL, partial saves, status callbacks."""

from __future__ import annotations

from dataclasses import replace

from helpline.clock import FrozenClock
from helpline.runtime import Runtime
from ivr import callstore
from ivr.callrecord import CallerType, CallRecord, Channel, Consent, Language, Step
from ivr.callstore import StatusUpdate
from tests.ivr.conftest import sid


def record(n: int = 1) -> CallRecord:
    return CallRecord(
        call_sid=sid(n),
        caller="h:0123",
        platform="tiktok",
        channel=Channel.APP,
        created_at=1_795_435_200_000,
        step=Step.LANGUAGE,
    )


def events(runtime: Runtime, what: str) -> list[dict[str, str]]:
    return [f for _, f in runtime.redis.xrange(runtime.keys.events) if f["what"] == what]


def test_creating_a_record_twice_keeps_the_first(runtime: Runtime, clock: FrozenClock) -> None:
    """A retried first request finds the record it created; nothing is reset."""
    first = record()
    stored, created = callstore.create(runtime.redis, runtime.keys, first, 3600, clock.now())
    assert created and stored == first
    runtime.redis.hset(runtime.keys.call(sid()), "step", "queued")
    again, created = callstore.create(
        runtime.redis, runtime.keys, replace(first, platform="phone"), 3600, clock.now()
    )
    assert not created
    assert again.step is Step.QUEUED and again.platform == "tiktok"
    assert len(events(runtime, "call_started")) == 1


def test_a_record_expires_after_the_configured_ttl(runtime: Runtime, clock: FrozenClock) -> None:
    """The call record carries the retention TTL from creation on."""
    callstore.create(runtime.redis, runtime.keys, record(), 1234, clock.now())
    assert 1200 < runtime.redis.ttl(runtime.keys.call(sid())) <= 1234


def test_a_record_survives_a_round_trip(runtime: Runtime, clock: FrozenClock) -> None:
    """What is saved is what is loaded."""
    full = replace(
        record(),
        language=Language.EN,
        caller_type=CallerType.PARENT,
        recording_consent=Consent.YES,
        attempts=1,
        times={"language": 5, "consent": 6},
    )
    callstore.create(runtime.redis, runtime.keys, full, 3600, clock.now())
    assert callstore.load(runtime.redis, runtime.keys, sid()) == full
    assert callstore.load(runtime.redis, runtime.keys, sid(2)) is None


def test_saving_writes_only_what_changed(runtime: Runtime, clock: FrozenClock) -> None:
    """The ACD's outcome and the status fields written meanwhile are left alone."""
    before = record()
    callstore.create(runtime.redis, runtime.keys, before, 3600, clock.now())
    key = runtime.keys.call(sid())
    runtime.redis.hset(key, mapping={"outcome": "abandoned", "status": "completed"})
    after = replace(before, step=Step.CONSENT, language=Language.EN)
    assert callstore.changes(before, after) == {"step": "consent", "language": "en"}
    assert callstore.save(runtime.redis, runtime.keys, before, after)
    stored = runtime.redis.hgetall(key)
    assert stored["step"] == "consent" and stored["outcome"] == "abandoned"
    assert stored["status"] == "completed"
    assert not callstore.save(runtime.redis, runtime.keys, after, after)


def test_garbage_in_a_stored_record_reads_as_defaults() -> None:
    """A hand-edited or older record never breaks the flow."""
    loaded = CallRecord.from_hash(
        sid(), {"step": "dancing", "language": "klingon", "attempts": "x", "created_at": "12"}
    )
    assert loaded.step is Step.NEW and loaded.language is Language.FR
    assert loaded.attempts == 0 and loaded.known


def test_status_of_an_unknown_call_writes_nothing(runtime: Runtime, clock: FrozenClock) -> None:
    """No record, no key created."""
    update = callstore.record_status(
        runtime.redis, runtime.keys, sid(9), "completed", 3, 10, clock.now()
    )
    assert update is StatusUpdate.UNKNOWN
    assert runtime.redis.exists(runtime.keys.call(sid(9))) == 0


def test_status_keeps_the_highest_sequence_number(runtime: Runtime, clock: FrozenClock) -> None:
    """Out-of-order and repeated callbacks do not move the status back."""
    callstore.create(runtime.redis, runtime.keys, record(), 3600, clock.now())
    apply = lambda status, seq, duration=None: callstore.record_status(  # noqa: E731
        runtime.redis, runtime.keys, sid(), status, seq, duration, clock.now()
    )
    assert apply("in-progress", 1) is StatusUpdate.APPLIED
    assert apply("completed", 3, 42) is StatusUpdate.APPLIED
    assert apply("ringing", 0) is StatusUpdate.UNCHANGED
    assert apply("completed", 3, 42) is StatusUpdate.UNCHANGED
    assert apply("in-progress", None) is StatusUpdate.UNCHANGED  # the call already ended
    loaded = callstore.load(runtime.redis, runtime.keys, sid())
    assert loaded is not None
    assert (loaded.status, loaded.status_seq, loaded.duration) == ("completed", 3, 42)
    ended = events(runtime, "call_ended")
    assert len(ended) == 1 and ended[0]["duration"] == "42" and ended[0]["call"] == sid()
