"""RQ jobs: dispatch requests, the periodic sweep, and Twilio REST failures retried by RQ then
released."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from rq import SimpleWorker
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client

from acd import jobs, twilio_ops
from acd.model import CounsellorState, GoneResult, ReservationStatus
from helpline.runtime import Runtime
from tests.acd_edges.conftest import redis_down, sid

AMINA_LEG = sid(1)


@pytest.fixture
def worker_queue(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleWorker]:
    """A real (asynchronous) RQ queue and a burst worker; retries without delays."""
    monkeypatch.setattr(runtime, "rq_is_async", True)
    runtime.__dict__.pop("queue", None)  # cached_property: rebuild it asynchronous
    monkeypatch.setattr(jobs, "REST_RETRY_INTERVALS", (0, 0, 0))
    yield SimpleWorker([runtime.queue], connection=runtime.rq_redis)
    runtime.__dict__.pop("queue", None)


def offer_attempts(twilio_http) -> int:
    """Outbound calls the application tried to place."""
    return len(twilio_http.calls_created())


def test_dispatch_offers_every_free_pair(runtime, acd, caller, counsellor, twilio_http) -> None:
    """Two counsellors free, three callers: two offers, the third caller still waits."""
    counsellor("amina")
    counsellor("bruno")
    calls = [caller(n) for n in (1, 2, 3)]
    assert jobs.dispatch() == ["1", "2"]
    assert offer_attempts(twilio_http) == 2
    assert acd.caller_state(calls[2]) == "waiting"
    assert jobs.dispatch() == []


def test_dispatch_requests_are_shared_while_one_is_pending(
    runtime, caller, counsellor, twilio_http
) -> None:
    """A pending dispatch serves later requests; once it starts, a new request gets its own."""
    runtime.redis.set(runtime.keys.dispatch_pending, "1")
    counsellor("amina")
    caller(1)
    assert jobs.request_dispatch(runtime) is False
    assert offer_attempts(twilio_http) == 0
    runtime.redis.delete(runtime.keys.dispatch_pending)
    assert jobs.request_dispatch(runtime) is True  # runs inline in tests
    assert offer_attempts(twilio_http) == 1
    assert runtime.redis.get(runtime.keys.dispatch_pending) is None


def test_a_dispatch_request_never_fails_its_caller(runtime, monkeypatch) -> None:
    """Redis down: False (the sweep will dispatch), no exception in the webhook."""

    monkeypatch.setattr(runtime.redis, "set", redis_down)
    assert jobs.request_dispatch(runtime) is False


def test_sweep_expires_an_unanswered_offer_and_hangs_up_its_leg(
    runtime, acd, clock, caller, counsellor, twilio_http
) -> None:
    """Past offer_timeout + grace: offer_failed(timeout), the ringing leg is ended."""
    counsellor("amina")
    call = caller(1)
    jobs.dispatch()
    clock.advance(runtime.config.acd.offer_timeout + 10)
    done = jobs.sweep()
    assert done["expired"] == 1
    reservation = acd.get_reservation("1")
    assert (reservation.status, reservation.reason) == (ReservationStatus.FAILED, "timeout")
    hangup = twilio_http.requests[-1]
    assert hangup.path.endswith(f"/Calls/{AMINA_LEG}.json")
    assert hangup.data == {"Status": "completed"}
    assert acd.caller_state(call) == "waiting"


def test_sweep_ends_wrap_ups_then_dispatches(
    runtime, acd, clock, caller, counsellor, twilio, twilio_http
) -> None:
    """A counsellor's wrap-up ends and the waiting caller is offered to her at once."""
    counsellor("amina")
    first = caller(1)
    jobs.dispatch()
    acd.accept("1")
    acd.call_ended("1")
    assert acd.get_counsellor("amina").state is CounsellorState.WRAP_UP
    second = caller(2)
    clock.advance(runtime.config.acd.wrap_up + 1)
    done = jobs.sweep()
    assert done["wrapups_ended"] == 1 and done["dispatched"] == 1
    assert acd.get_reservation("2").call_sid == second != first
    assert twilio_http.calls_created()[-1].data["To"] == "client:amina"


def test_the_sweep_frees_a_counsellor_whose_call_ended_without_a_status_callback(
    runtime, acd, clock, caller, counsellor, twilio_http
) -> None:
    """Redis was down when the leg's ``completed`` came (Twilio never sends it again): once
    the call is a check period old, the sweep asks Twilio, and a call that is over is ended
    as the callback would have ended it; a live call is left alone and asked about once per
    period."""
    counsellor("amina")
    caller(1)
    jobs.dispatch()
    acd.accept("1")
    assert acd.get_counsellor("amina").state is CounsellorState.ON_CALL
    fetches = lambda: [r for r in twilio_http.requests if r.method == "GET"]  # noqa: E731
    assert jobs.sweep()["calls_checked"] == 0  # a call just started: not asked about
    clock.advance(jobs.CALL_CHECK_EVERY_S + 1)
    assert jobs.sweep()["calls_checked"] == 1
    assert fetches()[-1].path.endswith(f"/Calls/{AMINA_LEG}.json")
    assert acd.get_counsellor("amina").state is CounsellorState.ON_CALL  # Twilio: still up
    twilio_http.statuses[AMINA_LEG] = "completed"
    assert jobs.sweep()["calls_checked"] == 0  # asked once per period
    runtime.redis.delete(runtime.keys.call_check("1"))  # the period has passed
    assert jobs.sweep()["calls_checked"] == 1
    assert acd.get_counsellor("amina").state is CounsellorState.WRAP_UP
    assert acd.get_reservation("1").status is ReservationStatus.ENDED
    assert jobs.check_call("1") == "over"  # a late check changes nothing


def test_a_call_twilio_no_longer_knows_is_over(
    runtime, acd, clock, caller, counsellor, twilio_http
) -> None:
    """A 404 for the counsellor's leg: the call is over."""
    counsellor("amina")
    caller(1)
    jobs.dispatch()
    acd.accept("1")
    twilio_http.fail_next = [404]
    assert jobs.check_call("1") == "ended"
    assert acd.get_counsellor("amina").state is CounsellorState.WRAP_UP


def test_a_failing_check_is_retried_and_changes_nothing(
    runtime, acd, caller, counsellor, twilio_http
) -> None:
    """Twilio answering 503: the job raises (RQ retries); the counsellor stays on the call."""
    counsellor("amina")
    caller(1)
    jobs.dispatch()
    acd.accept("1")
    twilio_http.fail_next = [503]
    with pytest.raises(Exception, match="fake failure"):
        jobs.check_call("1")
    assert acd.get_counsellor("amina").state is CounsellorState.ON_CALL


def test_sweep_overflows_callers_past_max_wait(runtime, acd, clock, caller, counsellor) -> None:
    """Waited max_wait: overflowed (their waitUrl will answer <Leave/>)."""
    counsellor("amina", state="break")
    call = caller(1)
    clock.advance(runtime.config.acd.max_wait + 1)
    assert jobs.sweep()["overflowed"] == 1
    assert acd.caller_state(call) == "overflowed"


def test_the_sweep_is_scheduled_once_per_slot_whatever_the_number_of_workers(runtime) -> None:
    """Fixed job ids per time slot: a second worker's scheduling of the same slot is refused."""
    t = 1_800_000_000.5
    assert jobs.schedule_sweep(runtime, now=t) is True
    assert jobs.schedule_sweep(runtime, now=t + 0.1) is False  # another worker, same slot
    assert jobs.schedule_sweep(runtime, now=t + jobs.SWEEP_EVERY_S) is True  # next slot
    assert jobs.schedule_sweep(runtime, now=t + jobs.SWEEP_EVERY_S + 1) is False
    registry = ScheduledJobRegistry(queue=runtime.queue)
    assert len(registry.get_job_ids()) == 2


def test_start_periodic_and_each_sweep_schedule_the_next_one(runtime) -> None:
    """The worker starts the chain; a sweep schedules its successor before working."""
    registry = ScheduledJobRegistry(queue=runtime.queue)
    jobs.start_periodic(runtime)
    jobs.start_periodic(runtime)  # a second worker starting
    assert len(registry.get_job_ids()) == 1
    jobs.sweep()
    jobs.dispatch()  # re-arms a broken chain; a no-op on a live one
    assert 1 <= len(registry.get_job_ids()) <= 2  # the same slot, or the next one


def test_the_demos_faster_clock_sweeps_more_often(runtime, monkeypatch) -> None:
    """At 10x, offers time out ten times sooner: sweeps every second (RQ's resolution)."""
    assert jobs.sweep_every(runtime) == jobs.SWEEP_EVERY_S
    monkeypatch.setattr(runtime, "settings", replace(runtime.settings, clock_speed=10.0))
    assert jobs.sweep_every(runtime) == 1.0


def test_twilio_failures_are_retried_by_rq_until_the_offer_is_placed(
    runtime, acd, caller, counsellor, twilio_http, worker_queue
) -> None:
    """Two 500s then success: three attempts, the leg is on the reservation."""
    counsellor("amina")
    caller(1)
    twilio_http.fail_next = [500, 500]
    jobs.request_dispatch(runtime)
    worker_queue.work(burst=True)
    assert offer_attempts(twilio_http) == 3
    reservation = acd.get_reservation("1")
    assert reservation.status is ReservationStatus.PENDING
    assert reservation.counsellor_call_sid == sid(1)


def test_an_offer_twilio_keeps_refusing_is_released_after_the_last_retry(
    runtime, acd, caller, counsellor, twilio_http, worker_queue
) -> None:
    """Four failures: RQ records the job as failed; offer_failed(failed), the caller keeps their
    place, and the counsellor, whose phone never rang, counts no miss: the next dispatch offers
    her the same caller again (Twilio answers this time)."""
    counsellor("amina")
    call = caller(1)
    twilio_http.fail_next = [500] * 4
    jobs.request_dispatch(runtime)
    worker_queue.work(burst=True)
    assert offer_attempts(twilio_http) == 5
    reservation = acd.get_reservation("1")
    assert (reservation.status, reservation.reason) == (ReservationStatus.FAILED, "not_placed")
    assert acd.position(call) == 1
    again = acd.get_reservation("2")
    assert (again.call_sid, again.counsellor_id, again.status) == (call, "amina", "pending")
    assert acd.get_counsellor("amina").missed == 0
    assert len(FailedJobRegistry(queue=runtime.queue)) == 1


def test_a_permanent_twilio_error_is_not_retried(
    runtime, acd, caller, counsellor, twilio_http, worker_queue
) -> None:
    """A 400 (bad endpoint) will not get better: released after one attempt."""
    counsellor("amina")
    caller(1)
    twilio_http.fail_next = [400]
    jobs.request_dispatch(runtime)
    worker_queue.work(burst=True)
    assert offer_attempts(twilio_http) == 1
    reservation = acd.get_reservation("1")
    assert (reservation.status, reservation.reason) == (ReservationStatus.FAILED, "failed")
    c = acd.get_counsellor("amina")  # a miss: set aside, not rung again and again
    assert (c.state, c.reason, c.missed) == (CounsellorState.BREAK, "missed", 1)


def test_an_offer_over_before_it_is_placed_is_not_dialled(
    runtime, acd, caller, counsellor, twilio_http
) -> None:
    """The caller hung up between reservation and dial: no call to the counsellor."""
    counsellor("amina")
    call = caller(1)
    reservation = acd.reserve_next()
    acd.caller_gone(call)
    assert jobs.place_offer(reservation.id) is None
    assert offer_attempts(twilio_http) == 0


def test_an_offer_ending_while_twilio_dials_hangs_up_the_new_leg(
    runtime, acd, caller, counsellor, twilio_http, monkeypatch
) -> None:
    """The caller hangs up during calls.create: the leg just created is ended."""
    counsellor("amina")
    call = caller(1)
    reservation = acd.reserve_next()
    real = twilio_ops.place_offer_call

    def dial_while_caller_leaves(rt, offer):
        leg = real(rt, offer)
        acd.caller_gone(call)
        return leg

    monkeypatch.setattr(twilio_ops, "place_offer_call", dial_while_caller_leaves)
    assert jobs.place_offer(reservation.id) is None
    hangup = twilio_http.requests[-1]
    assert hangup.path.endswith(f"/Calls/{AMINA_LEG}.json")
    assert hangup.data == {"Status": "completed"}


def test_after_caller_gone_ends_the_ringing_leg_and_dispatches(
    runtime, acd, caller, counsellor, twilio_http
) -> None:
    """What the voice flow's status callback should do with `caller_gone`'s answer."""
    counsellor("amina")
    counsellor("bruno", state="break")
    first, second = caller(1), caller(2)
    jobs.dispatch()  # first → amina
    gone = acd.caller_gone(first)
    assert gone == GoneResult(True, True, "1", AMINA_LEG)
    jobs.after_caller_gone(runtime, gone)
    assert twilio_http.requests[-2].data == {"Status": "completed"}
    assert acd.get_reservation("2").call_sid == second  # amina, free again, gets the next


def test_ending_a_leg_that_is_already_over_is_fine(runtime, twilio_http) -> None:
    """Twilio answers 404 for a finished call: nothing to do."""
    twilio_http.fail_next = [404]
    assert jobs.end_leg(AMINA_LEG, "1") is False


def test_rest_calls_made_inside_a_webhook_have_a_short_timeout(runtime) -> None:
    """with_timeout: same account and transport, each request limited to the given seconds."""
    seen: list[float | None] = []

    class Recorder(HttpClient):
        def request(self, method, url, params=None, data=None, headers=None, auth=None,
                    timeout=None, allow_redirects=False):  # fmt: skip
            seen.append(timeout)
            return Response(200, '{"call_sid": "CA1", "queue_sid": "QU1"}')

    client = Client("AC" + "0" * 32, "token", http_client=Recorder(logger=None, is_async=False))
    quick = twilio_ops.with_timeout(client, 3.0)
    quick.queues("QU1").members("CA1").update(url="https://x.test/b", method="POST")
    assert seen == [3.0]
    assert quick.account_sid == client.account_sid
