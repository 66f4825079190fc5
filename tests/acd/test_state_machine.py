"""The ACD against a mirror model, through random interleavings on the real Redis.

Every rule calls the real `Acd` (Lua on the session's redis-server) and the same operation on a
plain-Python model written from the rules in docs/acd.md; `reserve_next` must pick the pair
`acd.routing.select_pair` picks. After every step the Redis state (records, indexes, stream,
counters) must agree with the model and with the invariants: nobody double-booked, indexes in
step with states, one outcome per call. At the end every caller is drained to an outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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

from acd import routing
from acd.errors import CounsellorBusy, CounsellorExists
from acd.model import AcceptResult, CounsellorState, OfferFailure, WaitingCaller
from acd.store import OFFER_GRACE_S, Acd
from helpline.clock import FrozenClock, from_ms, to_ms
from helpline.redis_server import PrivateRedis
from helpline.runtime import Runtime
from helpline.settings import Settings, parse_config

pytestmark = pytest.mark.slow

SKILLS = ("psychologist", "lawyer")
LANGS = ("fr", "en")
CONFIG = parse_config(
    {
        "acd": {
            "skills": list(SKILLS),
            "default_skill": "psychologist",
            "offer_timeout": 20,
            "wrap_up": 60,
            "max_misses": 2,
            "max_waiting": 5,
            "max_wait": 400,
            "skill_relax_after": 120,
        }
    }
)
A = CONFIG.acd
SIDS = [f"CA{i}" for i in range(1, 9)]
CIDS = ["ana", "ben", "cleo", "dan"]
WAITING, OFFERED = "waiting", "offered"


@dataclass
class MCaller:
    sid: str
    platform: str
    skill: str
    language: str
    enqueued: int
    order: int
    relax_at: int
    state: str = WAITING  # waiting | offered | answered | abandoned | overflowed
    rid: str | None = None
    reason: str | None = None


@dataclass
class MCounsellor:
    cid: str
    skills: frozenset[str]
    languages: frozenset[str]
    state: str = "offline"
    reason: str | None = None
    idle_since: int | None = None
    missed: int = 0
    rid: str | None = None
    wrap_until: int | None = None


@dataclass
class MReservation:
    rid: str
    sid: str
    cid: str
    expires: int
    status: str = "pending"
    reason: str | None = None
    leg: str | None = None


@dataclass
class Model:
    callers: dict[str, MCaller] = field(default_factory=dict)
    counsellors: dict[str, MCounsellor] = field(default_factory=dict)
    reservations: dict[str, MReservation] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)

    def outcome(self, sid: str, outcome: str) -> bool:
        if sid in self.outcomes:
            return False
        self.outcomes[sid] = outcome
        return True

    def in_queue(self) -> list[MCaller]:
        return [c for c in self.callers.values() if c.state in (WAITING, OFFERED)]


class AcdMachine(RuleBasedStateMachine):
    """Random operations on the real ACD and on the model, compared step by step."""

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
        self.m = Model()

    def now(self) -> int:
        return to_ms(self.clock.now())

    # -- counsellors ------------------------------------------------------------------------

    @initialize()
    def team(self) -> None:
        """Start with one available psychologist, so that callers can queue."""
        self.acd.add_counsellor("ana", "Ana", ["psychologist"], ["fr"], "client:ana")
        self.m.counsellors["ana"] = MCounsellor(
            "ana", frozenset({"psychologist"}), frozenset({"fr"})
        )
        self.set_state("ana", "available", None)
        self.clock.advance(1)
        self.acd.add_counsellor("ben", "Ben", ["lawyer"], ["fr", "en"], "client:ben")
        self.m.counsellors["ben"] = MCounsellor("ben", frozenset({"lawyer"}), frozenset(LANGS))
        self.set_state("ben", "available", None)

    @rule(
        op=st.sampled_from(["add", "add", "update", "remove"]),
        cid=st.sampled_from(CIDS),
        skills=st.sets(st.sampled_from(SKILLS), min_size=1),
        langs=st.sets(st.sampled_from(LANGS), min_size=1),
    )
    def roster(self, op: str, cid: str, skills: set[str], langs: set[str]) -> None:
        """Counsellors are added, change skills, are removed."""
        if op == "add":
            self.add_counsellor(cid, skills, langs)
        elif op == "update":
            self.update_skills(cid, skills)
        else:
            self.remove_counsellor(cid)

    def add_counsellor(self, cid: str, skills: set[str], langs: set[str]) -> None:
        if cid in self.m.counsellors:
            with pytest.raises(CounsellorExists):
                self.acd.add_counsellor(cid, cid, sorted(skills), sorted(langs), f"client:{cid}")
            return
        c = self.acd.add_counsellor(cid, cid, sorted(skills), sorted(langs), f"client:{cid}")
        assert c.state is CounsellorState.OFFLINE
        self.m.counsellors[cid] = MCounsellor(cid, frozenset(skills), frozenset(langs))

    def update_skills(self, cid: str, skills: set[str]) -> None:
        if cid not in self.m.counsellors:
            return
        self.acd.update_counsellor(cid, skills=sorted(skills))
        self.m.counsellors[cid].skills = frozenset(skills)

    def remove_counsellor(self, cid: str) -> None:
        mc = self.m.counsellors.get(cid)
        if mc is None:
            assert self.acd.remove_counsellor(cid) is False
        elif mc.state in ("reserved", "on_call"):
            with pytest.raises(CounsellorBusy):
                self.acd.remove_counsellor(cid)
        else:
            assert self.acd.remove_counsellor(cid) is True
            del self.m.counsellors[cid]

    @rule(
        cid=st.sampled_from(CIDS),
        state=st.sampled_from(["available", "available", "break", "offline"]),
        reason=st.sampled_from([None, "lunch"]),
    )
    def set_state(self, cid: str, state: str, reason: str | None) -> None:
        mc = self.m.counsellors.get(cid)
        if mc is None:
            return
        if mc.state in ("reserved", "on_call"):
            with pytest.raises(CounsellorBusy):
                self.acd.set_state(cid, state, reason)
            return
        got = self.acd.set_state(cid, state, reason)
        want_reason = (reason or "other") if state == "break" else None
        if (mc.state, mc.reason) != (state, want_reason):
            mc.state, mc.reason = state, want_reason
            mc.wrap_until = None
            if state == "available":
                mc.idle_since = self.now()
                mc.missed = 0
        assert got.state.value == mc.state and got.reason == mc.reason

    # -- callers ----------------------------------------------------------------------------

    @rule(
        sid=st.sampled_from(SIDS),
        priority=st.sampled_from([0, 0, 30, 60, 300]),
        skill=st.sampled_from(SKILLS),
        language=st.sampled_from(["fr", "fr", "en"]),
        ago=st.sampled_from([0, 0, 10, 150]),
        platform=st.sampled_from(["instagram", "tiktok", "phone"]),
    )
    def enqueue(
        self, sid: str, priority: int, skill: str, language: str, ago: int, platform: str
    ) -> None:
        now = self.now()
        enqueued = now - ago * 1000
        result = self.acd.enqueue(
            WaitingCaller(sid, platform, "young", language, skill, priority, from_ms(enqueued))
        )
        existing = self.m.callers.get(sid)
        if existing is not None:
            if existing.state in (WAITING, OFFERED):
                assert result.queued and result.position == self.position(sid)
            elif existing.state == "overflowed" and existing.reason != "max_wait":
                assert not result.queued and result.reason == existing.reason
            elif existing.state == "overflowed":
                assert not result.queued and result.reason == "max_wait"
            else:
                assert not result.queued and result.reason == "duplicate"
            return
        if sid in self.m.outcomes:
            assert not result.queued and result.reason == "duplicate"
            return
        mc = MCaller(
            sid, platform, skill, language, enqueued,
            routing.order_key_ms(enqueued, priority), routing.relax_at_ms(enqueued, 120),
        )  # fmt: skip
        logged_in = [c for c in self.m.counsellors.values() if c.state != "offline"]
        full = len(self.m.in_queue()) >= A.max_waiting
        self.m.callers[sid] = mc
        if not logged_in or full:
            reason = "no_counsellor" if not logged_in else "queue_full"
            mc.state, mc.reason = "overflowed", reason
            self.m.outcome(sid, "overflowed")
            assert not result.queued and result.reason == reason
            event(f"overflow {reason}")
        else:
            assert result.queued and result.position == self.position(sid)

    def position(self, sid: str) -> int:
        ranked = sorted(self.m.in_queue(), key=lambda c: (c.order, c.sid))
        return [c.sid for c in ranked].index(sid) + 1

    @rule(sid=st.sampled_from([*SIDS, "CA-never"]))
    def caller_gone(self, sid: str) -> None:
        got = self.acd.caller_gone(sid)
        mc = self.m.callers.get(sid)
        ended_rid = None
        if mc is not None and mc.state in (WAITING, OFFERED):
            if mc.state == OFFERED:
                event("caller gone during offer")
                assert mc.rid is not None
                r = self.m.reservations[mc.rid]
                r.status, r.reason = "ended", "caller_gone"
                counsellor = self.m.counsellors[r.cid]
                counsellor.state, counsellor.rid = "available", None
                ended_rid = r.rid
            mc.state, mc.rid = "abandoned", None
            assert got.was_waiting
        else:
            assert not got.was_waiting
        assert got.outcome_recorded == self.m.outcome(sid, "abandoned")
        assert got.reservation_id == ended_rid

    # -- dispatch ---------------------------------------------------------------------------

    @rule()
    def reserve_next(self) -> None:
        now = self.now()
        views = [
            routing.CallerView(c.sid, c.skill, c.language, c.order, c.relax_at)
            for c in self.m.callers.values()
            if c.state == WAITING
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
        event(
            "reserved a relaxed caller" if self.m.callers[want[0]].relax_at <= now else "reserved"
        )
        assert got is not None and (got.call_sid, got.counsellor_id) == want
        sid, cid = want
        self.m.callers[sid].state, self.m.callers[sid].rid = OFFERED, got.id
        mc = self.m.counsellors[cid]
        mc.state, mc.rid = "reserved", got.id
        expires = now + (A.offer_timeout + OFFER_GRACE_S) * 1000
        assert to_ms(got.expires_at) == expires
        self.m.reservations[got.id] = MReservation(got.id, sid, cid, expires)

    @rule()
    def dispatch(self) -> None:
        """reserve_next again (the commonest operation of a live system)."""
        self.reserve_next()

    @rule(
        sid=st.sampled_from(SIDS),
        priority=st.sampled_from([0, 60]),
        skill=st.sampled_from(SKILLS),
        language=st.sampled_from(["fr", "en"]),
    )
    def another_caller(self, sid: str, priority: int, skill: str, language: str) -> None:
        """enqueue again (weights the rule choice towards a busy queue)."""
        self.enqueue(sid, priority, skill, language, 0, "phone")

    def has(self, status: str) -> bool:
        return any(r.status == status for r in self.m.reservations.values())

    @precondition(lambda self: self.has("pending"))
    @rule(
        data=st.data(),
        accept=st.sampled_from([True, True, False]),
        reason=st.sampled_from(list(OfferFailure)),
    )
    def answer_an_offer(self, data: st.DataObject, accept: bool, reason: OfferFailure) -> None:
        """A pending offer is accepted or fails."""
        pending = sorted(r.rid for r in self.m.reservations.values() if r.status == "pending")
        if not pending:
            return
        rid = data.draw(st.sampled_from(pending))
        if accept:
            self.accept_rid(rid)
        else:
            self.offer_failed_rid(rid, reason)

    @precondition(lambda self: self.has("accepted"))
    @rule(data=st.data())
    def hang_up_a_call(self, data: st.DataObject) -> None:
        """A bridged call ends."""
        live = sorted(r.rid for r in self.m.reservations.values() if r.status == "accepted")
        if live:
            self.call_ended_rid(data.draw(st.sampled_from(live)))

    def pick_rid(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from([*sorted(self.m.reservations), "999"]))

    @rule(
        data=st.data(),
        op=st.sampled_from(["placed", "accept", "failed", "ended"]),
        reason=st.sampled_from(list(OfferFailure)),
    )
    def replay(self, data: st.DataObject, op: str, reason: OfferFailure) -> None:
        """Any offer-related news about any reservation (late, repeated, unknown)."""
        rid = self.pick_rid(data)
        if op == "placed":
            self.offer_placed(rid)
        elif op == "accept":
            self.accept_rid(rid)
        elif op == "failed":
            self.offer_failed_rid(rid, reason)
        else:
            self.call_ended_rid(rid)

    def offer_placed(self, rid: str) -> None:
        r = self.m.reservations.get(rid)
        ok = r is not None and r.status in ("pending", "accepted")
        assert self.acd.offer_placed(rid, f"CL{rid}") == ok
        if ok and r is not None:
            if r.status == "pending" and r.leg != f"CL{rid}":  # the clock restarts as it rings
                r.expires = max(r.expires, self.now() + (A.offer_timeout + OFFER_GRACE_S) * 1000)
            r.leg = f"CL{rid}"

    def accept_rid(self, rid: str) -> None:
        got = self.acd.accept(rid)
        r = self.m.reservations.get(rid)
        if r is None or r.status == "failed" or (r.status == "ended" and r.reason != "caller_gone"):
            assert got is AcceptResult.STALE
        elif r.status == "ended":
            event("accept after caller gone")
            assert got is AcceptResult.CALLER_GONE
        elif r.status == "accepted":
            assert got is AcceptResult.ACCEPTED
        else:
            assert got is AcceptResult.ACCEPTED
            event("accepted")
            r.status = "accepted"
            mc = self.m.callers[r.sid]
            mc.state, mc.rid = "answered", rid
            self.m.outcome(r.sid, "answered")
            counsellor = self.m.counsellors[r.cid]
            counsellor.state, counsellor.missed = "on_call", 0

    def offer_failed_rid(self, rid: str, reason: OfferFailure) -> None:
        got = self.acd.offer_failed(rid, reason)
        r = self.m.reservations.get(rid)
        assert got == (r is not None and r.status == "pending")
        if got and r is not None:
            event("offer failed")
            self.fail_offer(r, reason.value)

    def fail_offer(self, r: MReservation, reason: str) -> None:
        r.status, r.reason = "failed", reason
        mc = self.m.callers[r.sid]
        mc.state, mc.rid = WAITING, None
        counsellor = self.m.counsellors[r.cid]
        counsellor.rid = None
        never_rang = reason == "not_placed" or (reason == "timeout" and r.leg is None)
        if reason == "canceled" or never_rang:
            counsellor.state = "available"
        else:
            counsellor.missed += 1
            if counsellor.missed >= A.max_misses:
                counsellor.state, counsellor.reason = "break", "missed"
            else:
                counsellor.state, counsellor.idle_since = "available", self.now()

    def call_ended_rid(self, rid: str) -> None:
        got = self.acd.call_ended(rid)
        r = self.m.reservations.get(rid)
        assert got == (r is not None and r.status == "accepted")
        if got and r is not None:
            event("call ended")
            r.status, r.reason = "ended", "completed"
            counsellor = self.m.counsellors[r.cid]
            counsellor.state, counsellor.rid = "wrap_up", None
            counsellor.wrap_until = self.now() + A.wrap_up * 1000

    # -- time and sweeps ----------------------------------------------------------------------

    @rule(seconds=st.sampled_from([1, 5, 20, 30, 61, 130, 420]), sweep=st.booleans())
    def advance(self, seconds: int, sweep: bool) -> None:
        """Time passes; then, as the worker does, maybe every sweep runs."""
        self.clock.advance(seconds)
        if sweep:
            self.expire_offers()
            self.end_wrapups()
            self.overflow()

    @rule(which=st.sampled_from(["offers", "wrapups", "overflow"]))
    def sweep(self, which: str) -> None:
        """One of the worker's periodic sweeps."""
        if which == "offers":
            self.expire_offers()
        elif which == "wrapups":
            self.end_wrapups()
        else:
            self.overflow()

    def expire_offers(self) -> None:
        now = self.now()
        want = sorted(
            r.rid
            for r in self.m.reservations.values()
            if r.status == "pending" and r.expires <= now
        )
        assert sorted(self.acd.expire_offers()) == want
        for rid in want:
            event("offer expired")
            self.fail_offer(self.m.reservations[rid], "timeout")

    def end_wrapups(self) -> None:
        now = self.now()

        want = sorted(
            c.cid
            for c in self.m.counsellors.values()
            if c.state == "wrap_up" and c.wrap_until is not None and c.wrap_until <= now
        )
        assert sorted(self.acd.end_wrapups()) == want
        for cid in want:
            event("wrap-up ended")
            c = self.m.counsellors[cid]
            c.state, c.idle_since, c.wrap_until = "available", now, None

    def overflow(self) -> None:
        now = self.now()
        want = sorted(
            c.sid
            for c in self.m.callers.values()
            if c.state == WAITING and c.enqueued + A.max_wait * 1000 <= now
        )
        assert sorted(self.acd.overflow_waited_too_long()) == want
        for sid in want:
            event("overflow max_wait")
            mc = self.m.callers[sid]
            mc.state, mc.reason = "overflowed", "max_wait"
            self.m.outcome(sid, "overflowed")
            assert self.acd.must_leave(sid)

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def nobody_is_double_booked(self) -> None:
        """At most one open offer or call per caller and per counsellor."""
        open_ = [r for r in self.m.reservations.values() if r.status in ("pending", "accepted")]
        pending = [r for r in open_ if r.status == "pending"]
        assert len({r.sid for r in pending}) == len(pending)
        busy = [r.cid for r in open_ if self.m.counsellors[r.cid].state in ("reserved", "on_call")]
        assert len(set(busy)) == len(busy)
        for rid in self.redis.zrange(self.k.offers, 0, -1):
            assert self.m.reservations[rid].status == "pending"

    @invariant()
    def counsellors_agree_with_the_model(self) -> None:
        """States, idle zsets and logged-in hash follow each counsellor's state."""
        idle_any = dict(self.redis.zrange(self.k.idle("any"), 0, -1, withscores=True))
        states = self.redis.hgetall(self.k.states)
        assert set(self.redis.smembers(self.k.counsellors)) == set(self.m.counsellors)
        for cid, mc in self.m.counsellors.items():
            h = self.redis.hgetall(self.k.counsellor(cid))
            assert h["state"] == mc.state, (cid, h, mc)
            assert h.get("reason") == (mc.reason if mc.state == "break" else None)
            assert int(h["missed"]) == mc.missed
            assert states.get(cid) == (None if mc.state == "offline" else mc.state)
            if mc.state in ("reserved", "on_call"):
                assert h.get("rid") and self.m.reservations[h["rid"]].cid == cid
                want_status = "pending" if mc.state == "reserved" else "accepted"
                assert self.m.reservations[h["rid"]].status == want_status
            else:
                assert "rid" not in h
            for skill in SKILLS:
                for lang in LANGS:
                    score = self.redis.zscore(self.k.idle(skill, lang), cid)
                    serves = skill in mc.skills and lang in mc.languages
                    if mc.state == "available" and serves:
                        assert score == mc.idle_since
                    else:
                        assert score is None
            assert idle_any.get(cid) == (mc.idle_since if mc.state == "available" else None)
        assert set(idle_any) <= set(self.m.counsellors)
        wrapups = set(self.redis.zrange(self.k.wrapups, 0, -1))
        assert wrapups == {c.cid for c in self.m.counsellors.values() if c.state == "wrap_up"}

    @invariant()
    def callers_agree_with_the_model(self) -> None:
        """Waiting callers sit in exactly one queue at their order key; offered ones in none."""
        now = self.now()
        queues = {f"{s}:{lang}": self.k.queue(s, lang) for s in SKILLS for lang in LANGS}
        order = dict(self.redis.zrange(self.k.order, 0, -1, withscores=True))
        assert set(order) == {c.sid for c in self.m.in_queue()}
        assert self.redis.zcard(self.k.waiting) == len(order)
        for sid, mc in self.m.callers.items():
            h = self.redis.hgetall(self.k.caller(sid))
            assert h["state"] == mc.state
            member_of = [
                name for name, key in [*queues.items(), ("any", self.k.queue("any"))]
                if self.redis.zscore(key, sid) is not None
            ]  # fmt: skip
            if mc.state == WAITING:
                assert order[sid] == mc.order  # keeps their place
                assert len(member_of) == 1
                (where,) = member_of
                assert where in ("any", f"{mc.skill}:{mc.language}")
                if where == "any":
                    assert mc.relax_at <= now
                relaxing = self.redis.zscore(self.k.relax, sid)
                assert (relaxing is not None) == (where != "any")
            else:
                assert member_of == [] and self.redis.zscore(self.k.relax, sid) is None
            if mc.state == OFFERED:
                assert h["rid"] == mc.rid and self.m.reservations[mc.rid].status == "pending"

    @invariant()
    def one_outcome_per_call_counted_once(self) -> None:
        """Every outcome is on its call record and counted exactly once per platform."""
        for sid in [*SIDS, "CA-never"]:
            assert self.redis.hget(self.k.call(sid), "outcome") == self.m.outcomes.get(sid)
        stats = self.redis.hgetall(self.k.stats_calls)
        assert sum(int(v) for v in stats.values()) == len(self.m.outcomes)
        outcome_events = [e for _, e in self.redis.xrange(self.k.events) if e["what"] == "outcome"]
        assert len(outcome_events) == len(self.m.outcomes)

    @invariant()
    def reservations_agree_with_the_model(self) -> None:
        for rid, r in self.m.reservations.items():
            h = self.redis.hgetall(self.k.reservation(rid))
            assert h["status"] == r.status and h.get("reason") == r.reason
            assert h.get("counsellor_call_sid") == r.leg
        repaired = [e for _, e in self.redis.xrange(self.k.events) if e["what"] == "repaired"]
        assert repaired == []

    def teardown(self) -> None:
        """Drain: accept or fail every offer, end every call, let everyone go; then each caller
        who reached the ACD has exactly one outcome of answered, abandoned, overflowed."""
        try:
            for r in list(self.m.reservations.values()):
                if r.status == "pending":
                    assert self.acd.accept(r.rid) is AcceptResult.ACCEPTED
                    self.m.outcome(r.sid, "answered")
            for r in self.m.reservations.values():
                self.acd.call_ended(r.rid)
            for sid in self.m.callers:
                self.acd.caller_gone(sid)
                self.m.outcome(sid, "abandoned")
            assert self.redis.zcard(self.k.waiting) == 0
            assert self.redis.zcard(self.k.order) == 0
            assert self.redis.zcard(self.k.offers) == 0
            for sid in self.m.callers:
                outcome = self.redis.hget(self.k.call(sid), "outcome")
                assert outcome in ("answered", "abandoned", "overflowed")
                assert outcome == self.m.outcomes[sid]
            stats = self.redis.hgetall(self.k.stats_calls)
            assert sum(int(v) for v in stats.values()) == len(self.m.outcomes)
            for cid in self.m.counsellors:
                state = self.redis.hget(self.k.counsellor(cid), "state")
                assert state not in ("reserved", "on_call")
        finally:
            self.redis.close()


def test_acd_matches_the_model_under_random_interleavings(redis_server: PrivateRedis) -> None:
    """No double booking, order respected, indexes consistent, one outcome per caller."""
    AcdMachine.url = redis_server.url
    run_state_machine_as_test(
        AcdMachine,
        settings=settings(
            max_examples=100,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
