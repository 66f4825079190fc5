"""The ACD's state machine extended to virtual hold, against the mirror model.

`CallbackMachine` is `tests.acd.test_state_machine.AcdMachine` (every rule and invariant of the
plain ACD) plus: callers ask to be called back at random, callback offers are accepted through
`Callbacks.accept`, callback legs are placed, answered or fail (late, repeated and stray news
included), and callback deadlines pass. After every step: a virtual caller keeps their order
key, the callback indexes follow the model, the sealed number exists exactly while a callback
can still happen, nobody is double-booked, one outcome per call. At the end everyone is drained
and no counsellor is left reserved or on a call.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule, run_state_machine_as_test

from acd import routing
from acd.callback import Callbacks
from acd.model import AcceptResult
from acd.store import OFFER_GRACE_S, Acd
from helpline.redis_server import PrivateRedis
from helpline.runtime import Runtime
from helpline.settings import Settings
from tests.acd import test_state_machine as base
from tests.acd.test_state_machine import OFFERED, SIDS, WAITING, AcdMachine, Model, MReservation

pytestmark = pytest.mark.slow

CONFIG = replace(
    base.CONFIG,
    acd=replace(base.CONFIG.acd, callback_retry_after=60, callback_attempts=2, callback_ttl=1800),
)
A = CONFIG.acd
CALLING = "calling"
NUMBER = "+33612345678"
LEGS = ["CB1", "CB2"]


@dataclass
class Virtual:
    """What the model knows of a caller who asked to be called back."""

    until: int  # deadline (ms)
    tries: int = 0
    retry_at: int | None = None  # next attempt not before (ms), while in the retry index


class CallbackModel(Model):
    """A caller being called back still counts in the queue (order, waiting, max_waiting)."""

    def in_queue(self) -> list[base.MCaller]:
        return [c for c in self.callers.values() if c.state in (WAITING, OFFERED, CALLING)]


class CallbackMachine(AcdMachine):
    """The plain ACD machine with virtual hold."""

    def __init__(self) -> None:
        super().__init__()
        runtime = Runtime(
            settings=Settings.from_env({}, mode="test"),
            config=CONFIG,
            redis=self.redis,
            clock=self.clock,
        )
        self.acd = Acd(runtime)
        self.callbacks = Callbacks(self.acd)
        self.m = CallbackModel()
        self.virtual: dict[str, Virtual] = {}
        self.cb_rids: set[str] = set()  # reservations of virtual callers
        self.cb_status: dict[str, str] = {}  # rid -> dialling | answered | failed | counsellor_gone
        self.cb_leg: dict[str, str] = {}

    # -- asking ---------------------------------------------------------------------------------

    @rule(sid=st.sampled_from([*SIDS, "CA-never"]))
    def ask_callback(self, sid: str) -> None:
        """A caller presses the callback key (any time: repeated, too late, while offered)."""
        got = self.callbacks.request(sid, NUMBER)
        mc = self.m.callers.get(sid)
        if sid in self.virtual:
            assert got == "ok"
        elif mc is not None and mc.state == OFFERED:
            assert got == "offered"
        elif mc is not None and mc.state == WAITING:
            assert got == "ok"
            event("callback requested")
            self.virtual[sid] = Virtual(until=self.now() + A.callback_ttl * 1000)
        else:
            assert got == "not_waiting"

    @precondition(lambda self: any(c.state == WAITING for c in self.m.callers.values()))
    @rule(data=st.data())
    def a_waiting_caller_asks(self, data: st.DataObject) -> None:
        """A caller who is waiting asks (weights the rule choice towards virtual callers)."""
        waiting = sorted(c.sid for c in self.m.callers.values() if c.state == WAITING)
        self.ask_callback(data.draw(st.sampled_from(waiting)))

    @precondition(
        lambda self: any(self.m.reservations[rid].status == "pending" for rid in self.cb_rids)
    )
    @rule(data=st.data())
    def a_counsellor_takes_a_callback(self, data: st.DataObject) -> None:
        """A pending callback offer is accepted."""
        pending = sorted(r for r in self.cb_rids if self.m.reservations[r].status == "pending")
        self.accept_rid(data.draw(st.sampled_from(pending)))

    @precondition(lambda self: CALLING in {c.state for c in self.m.callers.values()})
    @rule(
        data=st.data(),
        answer=st.booleans(),
        leg=st.sampled_from(LEGS),
        reason=st.sampled_from(["no-answer", "busy", "no_number"]),
    )
    def a_callback_rings(self, data: st.DataObject, answer: bool, leg: str, reason: str) -> None:
        """A caller being called back picks up, or not (no number left: missed at once)."""
        calling = sorted(c.rid or "" for c in self.m.callers.values() if c.state == CALLING)
        rid = data.draw(st.sampled_from(calling))
        self.placed(rid, leg)
        if answer:
            self.answered(rid, leg)
        else:
            self.failed(rid, leg, reason, reason == "no_number")

    @precondition(lambda self: any(c.state == WAITING for c in self.m.callers.values()))
    @rule(cid=st.sampled_from(["ana", "ben"]))
    def a_counsellor_comes_back_and_is_offered(self, cid: str) -> None:
        """A counsellor becomes available and a dispatch follows (moves callers along)."""
        mc = self.m.counsellors.get(cid)
        if mc is not None and mc.state not in ("reserved", "on_call", "available"):
            self.set_state(cid, "available", None)
        self.reserve_next()

    @rule(
        sid=st.sampled_from(SIDS),
        cid=st.sampled_from(["ana", "ben"]),
        answer=st.sampled_from([True, False, False]),
        leg=st.sampled_from(LEGS),
    )
    def a_callback_story(self, sid: str, cid: str, answer: bool, leg: str) -> None:
        """Several steps at once, each one checked like the rules: a caller who has waited a
        while asks for a callback, a counsellor comes back and takes the next callback offer,
        and that callback is answered or not (the other rules interleave between stories)."""
        self.enqueue(sid, 0, "psychologist", "fr", 150, "phone")
        mc = self.m.callers.get(sid)
        if mc is not None and mc.state == WAITING:
            self.ask_callback(sid)
        self.a_counsellor_comes_back_and_is_offered(cid)
        for rid in sorted(self.cb_rids):
            if self.m.reservations[rid].status == "pending":
                self.accept_rid(rid)
                self.placed(rid, leg)
                if answer:
                    self.answered(rid, leg)
                else:
                    self.failed(rid, leg, "no-answer", False)
                break

    @precondition(lambda self: any(v.retry_at is not None for v in self.virtual.values()))
    @rule()
    def a_retry_comes_due(self) -> None:
        """Time for the callbacks waiting for a retry (then the next reserve takes them)."""
        self.clock.advance(A.callback_retry_after)
        self.reserve_next()

    @rule(sid=st.sampled_from([*SIDS, "CA-never"]))
    def caller_gone(self, sid: str) -> None:
        """The end of a virtual caller's own call changes nothing; others as the base model."""
        if sid not in self.virtual:
            super().caller_gone(sid)
            return
        got = self.acd.caller_gone(sid)
        assert not got.was_waiting and not got.outcome_recorded and got.reservation_id is None
        event("virtual caller's call ended")

    # -- dispatch -------------------------------------------------------------------------------

    @rule()
    def reserve_next(self) -> None:
        """As the base rule, with callers waiting for a retry out of reach until it is due."""
        now = self.now()
        for v in self.virtual.values():
            if v.retry_at is not None and v.retry_at <= now:
                v.retry_at = None  # reserve moves them back first thing
        views = [
            routing.CallerView(c.sid, c.skill, c.language, c.order, c.relax_at)
            for c in self.m.callers.values()
            if c.state == WAITING and not self.in_retry(c.sid)
        ]
        idle = [
            routing.CounsellorView(c.cid, c.skills, c.languages, c.idle_since or 0)
            for c in self.m.counsellors.values()
            if c.state == "available"
        ]
        want = routing.select_pair(views, idle, now)
        got = self.acd.reserve_next()
        if want is None:
            assert got is None
            return
        assert got is not None and (got.call_sid, got.counsellor_id) == want
        sid, cid = want
        assert got.callback == (sid in self.virtual)
        if got.callback:
            event("callback offered to a counsellor")
            self.cb_rids.add(got.id)
        self.m.callers[sid].state, self.m.callers[sid].rid = OFFERED, got.id
        mc = self.m.counsellors[cid]
        mc.state, mc.rid = "reserved", got.id
        expires = now + (A.offer_timeout + OFFER_GRACE_S) * 1000
        self.m.reservations[got.id] = MReservation(got.id, sid, cid, expires)

    def in_retry(self, sid: str) -> bool:
        v = self.virtual.get(sid)
        return v is not None and v.retry_at is not None

    def accept_rid(self, rid: str) -> None:
        """A counsellor's 1: a callback offer goes to `Callbacks.accept`, never `Acd.accept`."""
        if rid not in self.cb_rids:
            super().accept_rid(rid)
            return
        got = self.callbacks.accept(rid)
        r = self.m.reservations[rid]
        if r.status == "pending":
            assert got == "calling"
            event("callback accepted")
            r.status = "accepted"
            self.cb_status[rid] = "dialling"
            self.m.callers[r.sid].state = CALLING
            counsellor = self.m.counsellors[r.cid]
            counsellor.state, counsellor.missed = "on_call", 0
        elif r.status == "accepted":
            assert got == "calling"
        else:
            assert got == "stale"

    # -- the callback leg -----------------------------------------------------------------------

    @precondition(lambda self: bool(self.cb_rids))
    @rule(
        data=st.data(),
        op=st.sampled_from(["placed", "answered", "answered", "failed", "failed"]),
        leg=st.sampled_from(LEGS),
        reason=st.sampled_from(["no-answer", "busy", "failed", "canceled", "machine"]),
        final=st.sampled_from([False, False, False, True]),
    )
    def callback_news(self, data: st.DataObject, op: str, leg: str, reason: str, final: bool):
        """News of a callback leg, about any callback reservation (late, repeated, stray)."""
        rid = data.draw(st.sampled_from([*sorted(self.cb_rids), "999"]))
        if op == "placed":
            self.placed(rid, leg)
        elif op == "answered":
            self.answered(rid, leg)
        else:
            self.failed(rid, leg, reason, final)

    def stray(self, rid: str, leg: str) -> bool:
        known = self.cb_leg.get(rid)
        return known is not None and known != leg

    def placed(self, rid: str, leg: str) -> None:
        r = self.m.reservations.get(rid)
        ok = (
            r is not None
            and r.status == "accepted"
            and self.cb_status.get(rid) == "dialling"
            and not self.stray(rid, leg)
        )
        assert self.callbacks.placed(rid, leg) == ok
        if ok:
            self.cb_leg[rid] = leg

    def answered(self, rid: str, leg: str) -> None:
        got = self.callbacks.answered(rid, leg)
        r = self.m.reservations.get(rid)
        if r is None or self.stray(rid, leg):
            assert got == "stale"
            return
        if self.cb_status.get(rid) == "answered":
            assert got == "answered"
            return
        mc = self.m.callers[r.sid]
        if mc.state != CALLING or mc.rid != rid:
            assert got == "stale"
            return
        self.cb_leg[rid] = leg
        if r.status != "accepted":
            assert got == "counsellor_gone"
            event("callback answered after the counsellor left")
            self.cb_status[rid] = "counsellor_gone"
            self.back_to_retry(mc)
            return
        assert got == "answered"
        event("callback answered")
        self.cb_status[rid] = "answered"
        mc.state = "answered"
        self.m.outcome(mc.sid, "answered")

    def failed(self, rid: str, leg: str, reason: str, final: bool) -> None:
        got = self.callbacks.failed(rid, leg, reason, final=final)
        r = self.m.reservations.get(rid)
        if r is None or self.stray(rid, leg):
            assert got == "noop"
            return
        mc = self.m.callers[r.sid]
        if mc.state != CALLING or mc.rid != rid or self.cb_status.get(rid) != "dialling":
            assert got == "noop"
            return
        self.cb_status[rid] = "failed"
        if r.status == "accepted":
            r.status, r.reason = "ended", "callback_failed"
            counsellor = self.m.counsellors[r.cid]
            if counsellor.state == "on_call" and counsellor.rid == rid:
                counsellor.state, counsellor.rid = "available", None  # idle-since kept
        v = self.virtual[mc.sid]
        v.tries += 1
        if final or v.tries >= A.callback_attempts:
            assert got == "missed"
            event("callback missed")
            mc.state, mc.rid, mc.reason = "abandoned", None, "callback_missed"
            self.m.outcome(mc.sid, "abandoned")
        else:
            assert got == "retry"
            event("callback retried")
            self.back_to_retry(mc)

    def back_to_retry(self, mc: base.MCaller) -> None:
        retry_at = self.now() + A.callback_retry_after * 1000
        mc.state, mc.rid = WAITING, None
        mc.relax_at = min(mc.relax_at, retry_at)
        self.virtual[mc.sid].retry_at = retry_at

    # -- sweeps ---------------------------------------------------------------------------------

    def overflow(self) -> None:
        """max_wait never drops a virtual caller; callback_ttl ends their wait instead."""
        now = self.now()
        want = sorted(
            c.sid
            for c in self.m.callers.values()
            if c.state == WAITING
            and c.sid not in self.virtual
            and c.enqueued + A.max_wait * 1000 <= now
        )
        assert sorted(self.acd.overflow_waited_too_long()) == want
        for sid in want:
            mc = self.m.callers[sid]
            mc.state, mc.reason = "overflowed", "max_wait"
            self.m.outcome(sid, "overflowed")
        self.expire_callbacks()

    @rule()
    def expire_callbacks(self) -> None:
        """The sweep's callback deadline: waiting virtual callers past it are missed."""
        now = self.now()
        want = sorted(
            sid
            for sid, v in self.virtual.items()
            if self.m.callers[sid].state == WAITING and v.until <= now
        )
        assert sorted(self.callbacks.expire_due()) == want
        for sid in want:
            event("callback expired")
            mc = self.m.callers[sid]
            mc.state, mc.reason = "abandoned", "callback_expired"
            self.virtual[sid].retry_at = None
            self.m.outcome(sid, "abandoned")

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def callers_agree_with_the_model(self) -> None:
        """Waiting callers in one queue at their order key (or, awaiting a retry, in none);
        offered and calling ones in none; all of them keep their order key."""
        now = self.now()
        queues = {f"{s}:{lang}": self.k.queue(s, lang) for s in base.SKILLS for lang in base.LANGS}
        order = dict(self.redis.zrange(self.k.order, 0, -1, withscores=True))
        assert set(order) == {c.sid for c in self.m.in_queue()}
        assert self.redis.zcard(self.k.waiting) == len(order)
        for sid, mc in self.m.callers.items():
            h = self.redis.hgetall(self.k.caller(sid))
            assert h["state"] == mc.state, (sid, h, mc)
            member_of = [
                name for name, key in [*queues.items(), ("any", self.k.queue("any"))]
                if self.redis.zscore(key, sid) is not None
            ]  # fmt: skip
            if mc.state in (WAITING, OFFERED, CALLING):
                assert order[sid] == mc.order  # keeps their place
            if mc.state == WAITING and not self.in_retry(sid):
                assert len(member_of) == 1
                (where,) = member_of
                assert where in ("any", f"{mc.skill}:{mc.language}")
                if where == "any":
                    assert mc.relax_at <= now
                assert (self.redis.zscore(self.k.relax, sid) is not None) == (where != "any")
            else:
                assert member_of == [] and self.redis.zscore(self.k.relax, sid) is None
            if mc.state in (OFFERED, CALLING):
                assert h["rid"] == mc.rid

    @invariant()
    def callbacks_agree_with_the_model(self) -> None:
        """The callback indexes follow the model; the sealed number exists exactly while a
        callback can still happen, and never in clear."""
        live = {
            sid for sid in self.virtual if self.m.callers[sid].state in (WAITING, OFFERED, CALLING)
        }
        deadlines = dict(self.redis.zrange(self.k.callbacks, 0, -1, withscores=True))
        assert set(deadlines) == live
        for sid in live:
            assert deadlines[sid] == self.virtual[sid].until
        retry = dict(self.redis.zrange(self.k.callback_retry, 0, -1, withscores=True))
        assert retry == {
            sid: v.retry_at
            for sid, v in self.virtual.items()
            if v.retry_at is not None and sid in live
        }
        for sid in [*SIDS, "CA-never"]:
            token = self.redis.get(self.k.callback_number(sid))
            assert (token is not None) == (sid in live)
            assert token is None or NUMBER not in token
            if token is not None:
                assert self.callbacks.number(sid) == NUMBER
        missed = set(self.redis.zrange(self.k.callbacks_missed, 0, -1))
        assert missed == {
            sid
            for sid in self.virtual
            if self.m.callers[sid].reason in ("callback_missed", "callback_expired")
            and self.m.callers[sid].state == "abandoned"
        }

    @invariant()
    def reservations_agree_with_the_model(self) -> None:
        """As the base machine, plus the callback leg's status and CallSid."""
        super().reservations_agree_with_the_model()
        for rid in self.cb_rids:
            h = self.redis.hgetall(self.k.reservation(rid))
            assert h.get("callback") == "1"
            assert h.get("callback_status") == self.cb_status.get(rid)
            assert h.get("callback_call_sid") == self.cb_leg.get(rid)

    def teardown(self) -> None:
        """Drain every offer and callback, end every call, let time pass the deadlines: every
        caller ends with one outcome, nobody left in a queue, no counsellor stuck."""
        try:
            for r in list(self.m.reservations.values()):
                if r.status == "pending" and r.rid in self.cb_rids:
                    assert self.callbacks.accept(r.rid) == "calling"
                    self.cb_status[r.rid] = "dialling"
                elif r.status == "pending":
                    assert self.acd.accept(r.rid) is AcceptResult.ACCEPTED
            for rid in sorted(self.cb_rids):
                if self.cb_status.get(rid) == "dialling":
                    leg = self.cb_leg.get(rid, "CB9")
                    assert self.callbacks.answered(rid, leg) in ("answered", "counsellor_gone")
            for r in self.m.reservations.values():
                self.acd.call_ended(r.rid)
            for sid in self.m.callers:
                self.acd.caller_gone(sid)
            self.clock.advance(A.callback_ttl + 1)
            self.callbacks.expire_due()
            for key in (self.k.waiting, self.k.order, self.k.offers, self.k.callbacks):
                assert self.redis.zcard(key) == 0
            assert self.redis.zcard(self.k.callback_retry) == 0
            for sid in self.m.callers:
                assert self.redis.exists(self.k.callback_number(sid)) == 0
                outcome = self.redis.hget(self.k.call(sid), "outcome")
                assert outcome in ("answered", "abandoned", "overflowed")
            outcomes = [e for _, e in self.redis.xrange(self.k.events) if e["what"] == "outcome"]
            assert len(outcomes) == len({e["call"] for e in outcomes})
            stats = self.redis.hgetall(self.k.stats_calls)
            assert sum(int(v) for v in stats.values()) == len(outcomes)
            for cid in self.m.counsellors:
                state = self.redis.hget(self.k.counsellor(cid), "state")
                assert state not in ("reserved", "on_call")
        finally:
            self.redis.close()


def test_virtual_hold_matches_the_model_under_random_interleavings(
    redis_server: PrivateRedis,
) -> None:
    """Place kept, one outcome, nobody double-booked, no counsellor stuck, number deleted."""
    CallbackMachine.url = redis_server.url
    run_state_machine_as_test(
        CallbackMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=50,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
