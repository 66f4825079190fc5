"""The ACD's invariants with warm transfers, through random interleavings on the real Redis.

Callers queue, are offered and answered; counsellors on a call ask for a colleague of another
skill, hand over, keep the caller, or hang up at any moment; colleagues accept, refuse, miss
the offer or leave; callers hang up; time passes and the sweeps run. After every step: nobody
double-booked, a transfer never offered to the counsellor who asked for it, at most one outcome
per call, an answered caller never back in an ordinary queue position, transfer entries only
in their own skill's queue. At the end everything drains: every caller has exactly one
outcome, nobody is left reserved or on a call, no transfer is left running.
"""

from __future__ import annotations

import contextlib

import pytest
import redis as redis_lib
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from acd import routing, transfer
from acd.errors import CounsellorBusy
from acd.model import OfferFailure, WaitingCaller
from acd.store import Acd
from helpline.clock import FrozenClock
from helpline.redis_server import PrivateRedis
from helpline.runtime import Runtime
from helpline.settings import Settings
from tests.acd.test_state_machine import CONFIG, SKILLS

pytestmark = pytest.mark.slow

SIDS = [f"CA{i}" for i in range(1, 7)]
TEAM = {
    "ana": ("psychologist",),
    "ben": ("lawyer",),
    "cleo": ("lawyer",),
    "dan": ("psychologist", "lawyer"),
}
OPEN = ("pending", "accepted")


class TransferMachine(RuleBasedStateMachine):
    """Random operations with transfers on the real ACD; invariants checked after each."""

    url: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.redis = redis_lib.Redis.from_url(self.url, decode_responses=True)
        self.redis.flushall()
        self.clock = FrozenClock()
        runtime = Runtime(
            settings=Settings.from_env({}, mode="test"),
            config=CONFIG,
            redis=self.redis,
            clock=self.clock,
        )
        self.acd = Acd(runtime)
        self.k = runtime.keys
        self.rids: set[str] = set()  # every reservation made
        self.queued: set[str] = set()  # callers who reached the ACD queue

    @initialize()
    def team(self) -> None:
        """Four counsellors, all available."""
        for cid, skills in TEAM.items():
            self.acd.add_counsellor(cid, cid.title(), list(skills), ["fr"], f"client:{cid}")
            self.acd.set_state(cid, "available")
            self.clock.advance(1)

    # -- helpers ----------------------------------------------------------------------------

    def reservation(self, rid: str) -> dict[str, str]:
        return self.redis.hgetall(self.k.reservation(rid))

    def open_reservations(self) -> dict[str, dict[str, str]]:
        found = {rid: self.reservation(rid) for rid in self.rids}
        return {rid: r for rid, r in found.items() if r.get("status") in OPEN}

    def on_call(self) -> list[tuple[str, str]]:
        """(counsellor, rid) of everyone on a call."""
        found = []
        for cid in TEAM:
            c = self.redis.hgetall(self.k.counsellor(cid))
            if c.get("state") == "on_call":
                found.append((cid, c["rid"]))
        return found

    def leg_ended(self, rid: str) -> None:
        """What the offer status webhook does when a counsellor's leg completes (REST aside)."""
        if (
            transfer.owner_left(self.acd, rid) is None
            and transfer.colleague_left(self.acd, rid) is None
        ):
            self.acd.call_ended(rid)

    # -- rules ------------------------------------------------------------------------------

    @rule(sid=st.sampled_from(SIDS), skill=st.sampled_from(SKILLS))
    def enqueue(self, sid: str, skill: str) -> None:
        """A caller queues (a repeated CallSid is a duplicate, ignored)."""
        result = self.acd.enqueue(
            WaitingCaller(sid, "instagram", "young", "fr", skill, 0, self.clock.now())
        )
        if result.queued:
            self.queued.add(sid)

    @rule(cid=st.sampled_from(list(TEAM)), state=st.sampled_from(["available", "break"]))
    def set_state(self, cid: str, state: str) -> None:
        """A counsellor goes on break or comes back (refused while reserved or on a call)."""
        with contextlib.suppress(CounsellorBusy):
            self.acd.set_state(cid, state, reason="pause")

    @rule()
    def reserve(self) -> None:
        """A dispatch: every pair it can make."""
        while (r := self.acd.reserve_next()) is not None:
            self.rids.add(r.id)
            found = transfer.transfer_of(self.acd, r.id)
            if found is not None:
                owner = self.redis.hget(self.k.reservation(found[0]), "counsellor_id")
                assert r.counsellor_id != owner, "a transfer was offered to its own counsellor"

    def pending(self) -> list[str]:
        return sorted(self.redis.zrange(self.k.offers, 0, -1))

    @precondition(lambda self: bool(self.pending()))
    @rule(
        data=st.data(),
        accept=st.booleans(),
        reason=st.sampled_from(
            [OfferFailure.DECLINED, OfferFailure.NO_ANSWER, OfferFailure.TIMEOUT]
        ),
    )
    def answer_an_offer(self, data: st.DataObject, accept: bool, reason: OfferFailure) -> None:
        """The counsellor offered presses 1 or does not take it."""
        rid = data.draw(st.sampled_from(self.pending()))
        if not accept:
            self.acd.offer_failed(rid, reason)
        elif transfer.transfer_of(self.acd, rid) is not None:
            transfer.accept(self.acd, rid)
        else:
            self.acd.accept(rid)

    @precondition(lambda self: bool(self.on_call()))
    @rule(data=st.data(), skill=st.sampled_from(SKILLS))
    def ask_for_a_colleague(self, data: st.DataObject, skill: str) -> None:
        """A counsellor on a call asks for a transfer (refused when one runs, or as B)."""
        cid, _ = data.draw(st.sampled_from(self.on_call()))
        try:
            transfer.start(self.acd, cid, skill)
        except transfer.TransferRefused as exc:
            assert exc.kind in ("running", "not_on_call")

    @precondition(lambda self: bool(self.on_call()))
    @rule(data=st.data(), op=st.sampled_from(["complete", "cancel", "leg_ended"]))
    def counsellor_acts(self, data: st.DataObject, op: str) -> None:
        """Hand over, stay with the caller, or hang up (A or B, at any moment)."""
        cid, rid = data.draw(st.sampled_from(self.on_call()))
        if op == "leg_ended":
            self.leg_ended(rid)
            return
        try:
            if op == "complete":
                transfer.complete(self.acd, cid)
            else:
                transfer.cancel(self.acd, cid)
        except transfer.TransferRefused:
            pass

    def running(self) -> list[str]:
        return sorted(self.redis.hkeys(self.k.transfers))

    @precondition(lambda self: bool(self.running()))
    @rule(data=st.data(), wait=st.sampled_from(["relax", "max_wait"]))
    def counsellor_leaves_the_caller_waiting(self, data: st.DataObject, wait: str) -> None:
        """A hangs up before the colleague comes (or after: the hand-over), then time passes
        up to a limit of a caller waiting alone."""
        xid = data.draw(st.sampled_from(self.running()))
        self.leg_ended(xid[len(transfer.PREFIX) :])
        a = CONFIG.acd
        self.time_passes(a.skill_relax_after if wait == "relax" else a.max_wait)

    @rule(sid=st.sampled_from(SIDS))
    def caller_hangs_up(self, sid: str) -> None:
        """The caller's call ends (any time, any state; repeated news too)."""
        self.acd.caller_gone(sid)

    @rule(seconds=st.sampled_from([5, 30, 70, 130, 1800]))
    def time_passes(self, seconds: int) -> None:
        """Time passes and the sweep runs (a transfer whose caller waits alone relaxes, then
        ends at max_wait)."""
        self.clock.advance(seconds)
        self.acd.expire_offers()
        self.acd.end_wrapups()
        for step in transfer.tick(self.acd):
            assert step.result in ("relaxed", "overflowed")
            event(f"transfer {step.result}")
        self.acd.overflow_waited_too_long()

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def nobody_is_double_booked(self) -> None:
        """One open offer or call per counsellor; one pending offer per caller or transfer;
        a reserved or on-call counsellor points at their own open reservation."""
        open_ = self.open_reservations()
        owners = [r["counsellor_id"] for r in open_.values()]
        assert len(owners) == len(set(owners))
        pending = [r["call_sid"] for r in open_.values() if r["status"] == "pending"]
        assert len(pending) == len(set(pending))
        for cid in TEAM:
            c = self.redis.hgetall(self.k.counsellor(cid))
            if c["state"] in ("reserved", "on_call"):
                r = open_.get(c.get("rid", ""))
                assert r is not None and r["counsellor_id"] == cid
                assert r["status"] == ("pending" if c["state"] == "reserved" else "accepted")

    @invariant()
    def transfers_are_never_offered_to_their_counsellor(self) -> None:
        """Every transfer reservation belongs to someone else than the one who asked."""
        for rid in self.rids:
            r = self.reservation(rid)
            if r.get("kind") == "transfer":
                assert r["counsellor_id"] != r["from"]

    @invariant()
    def at_most_one_outcome_per_call(self) -> None:
        """No call records two outcomes; the counters match the records."""
        seen = [f["call"] for _, f in self.redis.xrange(self.k.events) if f["what"] == "outcome"]
        assert len(seen) == len(set(seen))
        assert not any(transfer.is_transfer(s) for s in seen)
        stats = self.redis.hgetall(self.k.stats_calls)
        assert sum(int(v) for v in stats.values()) == len(seen)

    @invariant()
    def callers_never_go_back_to_an_ordinary_place(self) -> None:
        """An answered caller is in no queue structure; a transfer entry is only ever in its
        own skill's queue, and there only while waiting."""
        pools = [self.k.queue(s, "fr") for s in SKILLS] + [self.k.queue(s, "en") for s in SKILLS]
        ordinary = [self.k.order, self.k.waiting, self.k.relax, self.k.queue(routing.ANY)]
        for sid in SIDS:
            if self.redis.hget(self.k.caller(sid), "state") == "answered":
                for key in ordinary + pools:
                    assert self.redis.zscore(key, sid) is None
        for key in ordinary[:3]:
            assert not any(transfer.is_transfer(m) for m in self.redis.zrange(key, 0, -1))
        live = self.redis.hgetall(self.k.transfers)
        for rid in self.rids:
            for xid in (f"xfer-{rid}",):
                entry = self.redis.hgetall(self.k.caller(xid))
                if not entry:
                    continue
                keys = [*pools, ordinary[3]]
                where = [key for key in keys if self.redis.zscore(key, xid) is not None]
                if entry["state"] != "waiting":
                    assert where == []
                elif entry.get("relaxed") == "1":  # the caller waited alone: any counsellor
                    assert entry["orphan"] == "1" and where == [self.k.queue(routing.ANY)]
                else:
                    assert where == [self.k.queue(entry["skill"], "fr")]
                if entry["state"] in ("waiting", "offered", "joined"):
                    assert live.get(xid) == entry["from_counsellor"]
                else:
                    assert xid not in live

    def teardown(self) -> None:
        """Drain: open offers fail, every call and caller ends; then one outcome each, nobody
        reserved or on a call, no transfer running."""
        try:
            for _ in range(10):
                for rid in self.pending():
                    self.acd.offer_failed(rid, OfferFailure.CANCELED)
                for _cid, rid in self.on_call():
                    self.leg_ended(rid)
                for sid in SIDS:
                    self.acd.caller_gone(sid)
                self.reserve()
            assert self.pending() == [] and self.on_call() == []
            for cid in TEAM:
                state = self.redis.hget(self.k.counsellor(cid), "state")
                assert state not in ("reserved", "on_call")
            for sid in self.queued:
                outcome = self.redis.hget(self.k.call(sid), "outcome")
                assert outcome in ("answered", "abandoned", "overflowed")
            for rid in self.rids:
                state = self.redis.hget(self.k.transfer_entry(rid), "state")
                assert state in (None, "completed", "canceled")
            assert self.redis.zcard(self.k.order) == 0
        finally:
            self.redis.close()


def test_transfers_keep_the_acd_invariants(redis_server: PrivateRedis) -> None:
    """No double booking, no transfer to its own counsellor, one outcome per caller, nobody
    put back in an ordinary queue position, nobody left reserved."""
    TransferMachine.url = redis_server.url
    run_state_machine_as_test(
        TransferMachine,
        settings=settings(
            max_examples=80,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
