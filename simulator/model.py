"""The network's state: call legs, queues and conferences, all guarded by one lock.

One `threading.RLock` guards everything; each leg waits on its own `Condition` built on that
lock, so whoever changes a leg's situation (a REST request, another leg leaving a conference)
wakes it with ``notify_all`` and no lock ordering can deadlock. HTTP never happens under the
lock. A leg's thread only ever blocks in `Leg.sleep`, which raises as soon as a command
(hang-up, redirect, dequeue) arrives or one of the party's own timers (patience, handle time)
expires: that is how hang-ups, redirects and dequeues interrupt a leg promptly.
"""

from __future__ import annotations

import math
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simulator.clock import SimClock

if TYPE_CHECKING:
    from simulator.behaviour import Behaviour

API_VERSION = "2010-04-01"
FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
NEVER = math.inf
# Who a party on each role talks with in a conference: being with one of them is a
# conversation (talk time, the counsellor's handle time); losing them all means being alone.
# A supervisor talks with nobody in that sense: they stay until hung up.
TALKS_WITH: dict[str, frozenset[str]] = {
    "caller": frozenset({"counsellor", "service"}),
    "counsellor": frozenset({"caller"}),
    "service": frozenset({"caller", "counsellor"}),
    "supervisor": frozenset(),
}


def new_sid(prefix: str) -> str:
    """A Twilio-shaped SID: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


# -- commands and signals -------------------------------------------------------------------


@dataclass(frozen=True)
class RedirectCommand:
    """Continue the call with the TwiML at ``url`` (or the inline ``twiml``)."""

    url: str | None
    method: str = "POST"
    twiml: str | None = None
    dequeue: bool = False  # from the Queue Members resource rather than the Calls resource


@dataclass(frozen=True)
class HangupCommand:
    """End the call from outside: ``source`` is api, timeout, parent or stop."""

    source: str
    status: str = "completed"


class LegSignal(Exception):
    """Raised out of `Leg.sleep` to unwind the interpreter."""


class Interrupted(LegSignal):
    """A command arrived for the leg."""

    def __init__(self, command: RedirectCommand | HangupCommand) -> None:
        super().__init__(repr(command))
        self.command = command


class PartyHangup(LegSignal):
    """The simulated person on this leg hung up; ``reason`` names the timer that fired."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- resources ------------------------------------------------------------------------------


@dataclass
class Member:
    """A call waiting in a queue."""

    leg: Leg
    queue: CallQueue
    enqueued_at: float
    date_enqueued: str


@dataclass
class CallQueue:
    """A named Twilio queue; members in FIFO order."""

    sid: str
    friendly_name: str
    max_size: int
    date_created: str
    date_updated: str
    members: list[Member] = field(default_factory=list)

    def position(self, member: Member) -> int:
        """1-based FIFO position, Twilio's QueuePosition."""
        return self.members.index(member) + 1

    def average_wait(self, now: float) -> int:
        """Mean wait of the members present now, whole seconds (Twilio's average_wait_time)."""
        if not self.members:
            return 0
        return int(sum(now - m.enqueued_at for m in self.members) / len(self.members))


@dataclass
class Participant:
    """A leg in a conference."""

    leg: Leg
    conference: Conference
    muted: bool
    hold: bool
    start_on_enter: bool
    end_on_exit: bool
    label: str | None
    joined_at: float
    date_created: str
    removed: bool = False
    had_peer: bool = False  # has talked to the other side in this conference
    coaching: bool = False  # heard only by the leg ``call_sid_to_coach``
    call_sid_to_coach: str | None = None
    connected: bool = True  # False while a REST-created participant's phone rings


@dataclass
class Conference:
    """A conference room; a new one (new SID) each time a name is reused after it ended."""

    sid: str
    friendly_name: str
    date_created: str
    date_updated: str
    status: str = "init"  # init, in-progress, completed
    participants: dict[str, Participant] = field(default_factory=dict)
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: frozenset[str] = frozenset()
    sequence: int = 0
    reason_ended: str | None = None
    call_sid_ending: str | None = None
    # REST-created participants whose phone is still ringing (they join when answered).
    pending: dict[str, Participant] = field(default_factory=dict)
    # Who could hear whom, after every change: (simulated time, event, speaker CallSid →
    # CallSids of the legs hearing them). See `Network.hearing`.
    hearing_log: list[tuple[float, str, dict[str, frozenset[str]]]] = field(default_factory=list)

    @property
    def started(self) -> bool:
        """Audio is being mixed: at least two participants, one of them starting it."""
        return self.status == "in-progress"


# -- legs -----------------------------------------------------------------------------------


@dataclass
class Leg:
    """One call leg and everything the simulator tracks about it."""

    net: Network
    sid: str
    direction: str  # inbound, outbound-api, outbound-dial
    from_: str
    to: str
    role: str  # caller, counsellor
    behaviour: Behaviour
    created_at: float
    date_created: str
    parent_sid: str | None = None
    extra_params: dict[str, str] = field(default_factory=dict)  # first request only
    status: str = "queued"
    url: str | None = None
    method: str = "POST"
    twiml: str | None = None
    fallback_url: str | None = None
    fallback_method: str = "POST"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: frozenset[str] = frozenset({"completed"})
    timeout: float = 60.0
    sequence: int = 0
    answered_at: float | None = None
    start_time: str | None = None
    ended_at: float | None = None
    end_time: str | None = None
    date_updated: str = ""
    # what the party heard, and a log of what happened
    transcript: list[str] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)
    # control
    pending: deque[RedirectCommand | HangupCommand] = field(default_factory=deque)
    timers: dict[str, float] = field(default_factory=dict)
    member: Member | None = None
    participant: Participant | None = None
    joining: Participant | None = None  # a REST-created participant, until answered
    children: list[Leg] = field(default_factory=list)
    thread: threading.Thread | None = None
    done: threading.Event = field(default_factory=threading.Event)
    cond: threading.Condition = field(init=False)
    # outcome bookkeeping (callers)
    platform: str = "phone"
    caller_type: str | None = None
    enqueued_at: float | None = None
    queue_results: list[str] = field(default_factory=list)
    left_queue_at: float | None = None
    hung_up_in_queue: bool = False
    connected_at: float | None = None
    connected_to: str | None = None
    talk_started: float | None = None
    talk_seconds: float = 0.0
    handle_timer_set: bool = False
    ended_by: str | None = None  # caller (the simulated party), line, api, error, stop
    end_reason: str | None = None
    app_error: int | None = None
    dial_started_at: float | None = None
    pressed_in_queue: bool = False  # pressed a key at a waitUrl <Gather> (a callback offer)
    callback_of: str | None = None  # on a callback leg: the CallSid of the first call
    callbacks: list[Leg] = field(default_factory=list)  # on a caller's leg: the app's callbacks

    def __post_init__(self) -> None:
        self.cond = threading.Condition(self.net.lock)
        self.date_updated = self.date_created

    # -- state read by the interpreter --------------------------------------------------

    @property
    def live(self) -> bool:
        """Not yet ended."""
        return self.status not in FINAL_STATUSES

    @property
    def identity(self) -> str:
        """Who the leg reaches: a client identity or a number."""
        return self.to.removeprefix("client:")

    def log(self, what: str) -> None:
        """Append to the leg's event log (simulated time)."""
        self.events.append((round(self.net.clock.now(), 3), what))

    def duration(self) -> int:
        """Whole seconds from answer to end (Twilio's CallDuration)."""
        if self.answered_at is None:
            return 0
        end = self.ended_at if self.ended_at is not None else self.net.clock.now()
        return round(end - self.answered_at)

    # -- control ------------------------------------------------------------------------

    def command(self, command: RedirectCommand | HangupCommand) -> None:
        """Deliver a command; the leg's thread acts on it at once (call with the lock held)."""
        if isinstance(command, HangupCommand):
            # A hang-up supersedes anything not yet acted on.
            self.pending.clear()
        self.pending.append(command)
        self.cond.notify_all()

    def set_timer(self, name: str, at: float) -> None:
        """The party hangs up at simulated time ``at`` unless the timer is cleared first."""
        with self.cond:
            self.timers[name] = at
            self.cond.notify_all()

    def clear_timer(self, name: str) -> None:
        """Forget a timer."""
        with self.cond:
            self.timers.pop(name, None)

    def check(self) -> None:
        """Raise the signal that is due, if any (lock held)."""
        if self.pending:
            raise Interrupted(self.pending.popleft())
        now = self.net.clock.now()
        due = [(at, name) for name, at in self.timers.items() if at <= now]
        if due:
            _, name = min(due)
            del self.timers[name]
            raise PartyHangup(name)

    def sleep(self, seconds: float, until: Callable[[], bool] | None = None) -> bool:
        """Let ``seconds`` of simulated time pass; False if ``until()`` became true first.

        Raises `Interrupted` or `PartyHangup` the moment a command or a timer is due.
        """
        clock = self.net.clock
        end = clock.now() + max(0.0, seconds)
        with self.cond:
            while True:
                self.check()
                if until is not None and until():
                    return False
                now = clock.now()
                if now >= end:
                    return True
                wake = min([end, *self.timers.values()])
                # A small margin so that a timer due at `wake` is due when we look again.
                self.cond.wait(min(clock.real(wake - now) + 0.0005, 3600.0))


# -- the network ----------------------------------------------------------------------------


class Network:
    """Every live and finished resource of one simulator, and the rules that tie them."""

    def __init__(self, clock: SimClock, account_sid: str) -> None:
        self.clock = clock
        self.account_sid = account_sid
        self.lock = threading.RLock()
        self.calls: dict[str, Leg] = {}
        self.queues: dict[str, CallQueue] = {}
        self.conferences: dict[str, Conference] = {}
        self._live_conferences: dict[str, Conference] = {}
        # Conference status callbacks go out through this hook (set by the simulator).
        self.notify: Callable[[str, str, dict[str, str]], None] = lambda url, method, p: None
        self.alone_hangup_delay = 3.0
        self.lonely_timeout = 120.0
        self.stats: dict[str, int] = {
            "webhook_failures": 0,
            "fallback_used": 0,
            "wait_url_errors": 0,
        }

    def count(self, name: str, n: int = 1) -> None:
        """Add to a network-wide counter."""
        with self.lock:
            self.stats[name] = self.stats.get(name, 0) + n

    # -- queues -------------------------------------------------------------------------

    def queue_named(self, name: str, create: bool) -> CallQueue | None:
        """The queue with this friendly name, created on demand as <Enqueue> does."""
        with self.lock:
            for q in self.queues.values():
                if q.friendly_name == name:
                    return q
            if not create:
                return None
            return self.create_queue(name, 1000)

    def create_queue(self, name: str, max_size: int) -> CallQueue:
        """A new queue."""
        with self.lock:
            stamp = self.clock.rfc2822()
            q = CallQueue(new_sid("QU"), name, max_size, stamp, stamp)
            self.queues[q.sid] = q
            return q

    def enqueue(self, leg: Leg, q: CallQueue) -> Member | None:
        """Put ``leg`` at the back of ``q``; None when the queue is full."""
        with self.lock:
            if len(q.members) >= q.max_size:
                return None
            member = Member(leg, q, self.clock.now(), self.clock.rfc2822())
            q.members.append(member)
            q.date_updated = member.date_enqueued
            leg.member = member
            if leg.enqueued_at is None:
                leg.enqueued_at = member.enqueued_at
            return member

    def dequeue(self, member: Member) -> bool:
        """Take ``member`` out of its queue; False if it had already left."""
        with self.lock:
            q = member.queue
            if member not in q.members:
                return False
            q.members.remove(member)
            q.date_updated = self.clock.rfc2822()
            if member.leg.member is member:
                member.leg.member = None
            member.leg.left_queue_at = self.clock.now()
            member.leg.clear_timer("patience")
            return True

    # -- conferences --------------------------------------------------------------------

    def live_conference(self, name: str, attrs: dict[str, Any], create: bool) -> Conference | None:
        """The live conference called ``name``; a new one when ``create`` and there is none.

        The first participant's ``status_callback*`` attributes become the conference's.
        """
        with self.lock:
            conf = self._live_conferences.get(name)
            if conf is None and create:
                stamp = self.clock.rfc2822()
                conf = Conference(new_sid("CF"), name, stamp, stamp)
                conf.status_callback = attrs.get("status_callback")
                conf.status_callback_method = attrs.get("status_callback_method", "POST")
                conf.status_callback_events = attrs.get("status_callback_events", frozenset())
                self.conferences[conf.sid] = conf
                self._live_conferences[name] = conf
            return conf

    def conference_by_ref(self, ref: str) -> Conference | None:
        """A conference by SID (any), else the live one with that friendly name."""
        with self.lock:
            return self.conferences.get(ref) or self._live_conferences.get(ref)

    def new_participant(self, leg: Leg, conf: Conference, attrs: dict[str, Any]) -> Participant:
        """A participant record for ``leg`` (not yet in the conference)."""
        return Participant(
            leg=leg,
            conference=conf,
            muted=attrs.get("muted", False),
            hold=attrs.get("hold", False),
            start_on_enter=attrs.get("start_on_enter", True),
            end_on_exit=attrs.get("end_on_exit", False),
            label=attrs.get("label"),
            joined_at=self.clock.now(),
            date_created=self.clock.rfc2822(),
            coaching=attrs.get("coaching", False),
            call_sid_to_coach=attrs.get("call_sid_to_coach"),
        )

    def join_conference(self, leg: Leg, name: str, attrs: dict[str, Any]) -> Participant:
        """Add ``leg`` to the live conference called ``name`` (created on demand)."""
        with self.lock:
            conf = self.live_conference(name, attrs, create=True)
            assert conf is not None
            p = self.new_participant(leg, conf, attrs)
            self._admit(p)
            return p

    def add_pending(self, leg: Leg, conf: Conference, attrs: dict[str, Any]) -> Participant:
        """A REST-created participant: listed as ringing until its leg answers (`admit`)."""
        with self.lock:
            p = self.new_participant(leg, conf, attrs)
            p.connected = False
            conf.pending[leg.sid] = p
            leg.joining = p
            return p

    def admit(self, p: Participant) -> bool:
        """A REST-created participant's leg answered: it joins; False if the conference ended."""
        with self.lock:
            conf = p.conference
            conf.pending.pop(p.leg.sid, None)
            p.leg.joining = None
            if conf.status == "completed" or p.removed:
                p.removed = True
                return False
            p.connected = True
            p.joined_at = self.clock.now()
            self._admit(p)
            return True

    def drop_pending(self, p: Participant) -> None:
        """A REST-created participant's leg ended before answering."""
        with self.lock:
            p.conference.pending.pop(p.leg.sid, None)
            p.removed = True
            if p.leg.joining is p:
                p.leg.joining = None

    def _admit(self, p: Participant) -> None:
        conf, leg = p.conference, p.leg
        conf.participants[leg.sid] = p
        leg.participant = p
        self._conference_event(conf, "join", "participant-join", p)
        if (
            not conf.started
            and len(conf.participants) >= 2
            and any(x.start_on_enter for x in conf.participants.values())
        ):
            conf.status = "in-progress"
            self._conference_event(conf, "start", "conference-start")
        self._presence(conf)
        self._log_hearing(conf, f"join {leg.sid}")

    def leave_conference(self, p: Participant, kicked: bool = False) -> None:
        """Take a participant out (hang-up or kick); may end the conference."""
        with self.lock:
            if p.removed:
                return
            conf = p.conference
            self._remove(p)
            self._conference_event(conf, "leave", "participant-leave", p)
            if p.end_on_exit or not conf.participants:
                if p.end_on_exit:
                    why = "participant-with-end-conference-on-exit-"
                else:
                    why = "last-participant-"
                self.end_conference(conf, why + ("kicked" if kicked else "left"), p.leg.sid)
            else:
                self._presence(conf)
                self._log_hearing(conf, f"leave {p.leg.sid}")

    def end_conference(self, conf: Conference, reason: str, ending_sid: str | None) -> None:
        """End a conference: every remaining participant continues after its <Dial>."""
        with self.lock:
            if conf.status == "completed":
                return
            for p in list(conf.participants.values()):
                self._remove(p)
                self._conference_event(conf, "leave", "participant-leave", p)
            for p in list(conf.pending.values()):
                # Still ringing when the conference ended: the call is cancelled.
                self.drop_pending(p)
                if p.leg.live:
                    p.leg.command(HangupCommand("conference-ended", "canceled"))
            conf.status = "completed"
            self._log_hearing(conf, "end")
            conf.reason_ended = reason
            conf.call_sid_ending = ending_sid
            conf.date_updated = self.clock.rfc2822()
            if self._live_conferences.get(conf.friendly_name) is conf:
                del self._live_conferences[conf.friendly_name]
            self._conference_event(conf, "end", "conference-end")

    def _remove(self, p: Participant) -> None:
        conf = p.conference
        p.removed = True
        conf.participants.pop(p.leg.sid, None)
        if p.leg.participant is p:
            p.leg.participant = None
        self._stop_talking(p.leg)
        p.leg.clear_timer("lonely")
        p.leg.cond.notify_all()

    def _stop_talking(self, leg: Leg) -> None:
        if leg.talk_started is not None:
            leg.talk_seconds += self.clock.now() - leg.talk_started
            leg.talk_started = None

    def _presence(self, conf: Conference) -> None:
        """Who is talking to whom now; sets the parties' timers (handle time, being alone)."""
        now = self.clock.now()
        parts = list(conf.participants.values())
        for p in parts:
            leg = p.leg
            partners = TALKS_WITH.get(leg.role, frozenset())
            if not partners:
                continue  # a supervisor stays until hung up, whoever is there
            peers = [o.leg for o in parts if o is not p and o.leg.role in partners]
            if conf.started and peers:
                p.had_peer = True
                leg.clear_timer("lonely")
                if leg.role in ("caller", "counsellor"):
                    if leg.talk_started is None:
                        leg.talk_started = now
                    # Answered means caller and counsellor together (a service alone is not).
                    humans = [o for o in peers if o.role in ("caller", "counsellor")]
                    if leg.connected_at is None and humans:
                        leg.connected_at = now
                        leg.connected_to = (
                            humans[0].identity if leg.role == "caller" else humans[0].sid
                        )
                handle = leg.behaviour.handle_time
                if leg.role in ("counsellor", "service") and not leg.handle_timer_set:
                    leg.handle_timer_set = True
                    if handle != math.inf:
                        leg.set_timer("handle", now + handle)
            else:
                self._stop_talking(leg)
                if p.had_peer:
                    # Was talking, now alone: hang up shortly.
                    leg.set_timer("lonely", now + self.alone_hangup_delay)
                elif "lonely" not in leg.timers:
                    leg.set_timer("lonely", now + self.lonely_timeout)
            leg.cond.notify_all()

    def bridge(self, caller: Leg, callee: Leg) -> None:
        """A <Dial> to a number or client was answered: the two parties talk."""
        with self.lock:
            now = self.clock.now()
            for a, b in ((caller, callee), (callee, caller)):
                a.talk_started = now
                # Answered means reaching a counsellor (a service dialled directly is not).
                if a.connected_at is None and "counsellor" in (a.role, b.role):
                    a.connected_at = now
                    a.connected_to = b.identity if a.role == "caller" else b.sid
            handle = callee.behaviour.handle_time
            if callee.role in ("counsellor", "service") and not callee.handle_timer_set:
                callee.handle_timer_set = True
                if handle != math.inf:
                    callee.set_timer("handle", now + handle)

    def unbridge(self, *legs: Leg) -> None:
        """A bridged <Dial> ended."""
        with self.lock:
            for leg in legs:
                self._stop_talking(leg)

    def set_participant(
        self,
        p: Participant,
        muted: bool | None,
        hold: bool | None,
        coaching: bool | None = None,
        call_sid_to_coach: str | None = None,
    ) -> None:
        """Mute, hold or make a participant coach one leg (Participants resource)."""
        with self.lock:
            conf = p.conference
            live = p.connected and not p.removed
            if muted is not None and muted != p.muted:
                p.muted = muted
                if live:
                    event = "participant-mute" if muted else "participant-unmute"
                    self._conference_event(conf, "mute", event, p)
            if hold is not None and hold != p.hold:
                p.hold = hold
                if live:
                    event = "participant-hold" if hold else "participant-unhold"
                    self._conference_event(conf, "hold", event, p)
            if coaching is not None or call_sid_to_coach is not None:
                before = (p.coaching, p.call_sid_to_coach)
                if coaching is False:
                    p.coaching, p.call_sid_to_coach = False, None
                else:
                    p.coaching = True
                    p.call_sid_to_coach = call_sid_to_coach or p.call_sid_to_coach
                if live and before != (p.coaching, p.call_sid_to_coach):
                    self._conference_event(conf, "modify", "participant-modify", p)
            if live:
                self._log_hearing(conf, f"update {p.leg.sid}")

    def hearing(self, conf: Conference) -> dict[str, frozenset[str]]:
        """Who hears whom now: speaker CallSid → CallSids of the legs that hear them.

        Nothing is mixed before the conference starts. A muted or held participant is heard
        by nobody; a held one hears nobody either (hold music). A coaching participant is
        heard only by the leg it coaches. Everyone else is heard by every other participant.
        """
        with self.lock:
            parts = list(conf.participants.values())
            heard: dict[str, frozenset[str]] = {}
            for speaker in parts:
                if not conf.started or speaker.muted or speaker.hold:
                    heard[speaker.leg.sid] = frozenset()
                    continue
                heard[speaker.leg.sid] = frozenset(
                    listener.leg.sid
                    for listener in parts
                    if listener is not speaker
                    and not listener.hold
                    and (not speaker.coaching or listener.leg.sid == speaker.call_sid_to_coach)
                )
            return heard

    def _log_hearing(self, conf: Conference, event: str) -> None:
        conf.hearing_log.append((round(self.clock.now(), 3), event, self.hearing(conf)))

    def _conference_event(
        self, conf: Conference, kind: str, event: str, p: Participant | None = None
    ) -> None:
        conf.date_updated = self.clock.rfc2822()
        if not conf.status_callback or kind not in conf.status_callback_events:
            return
        params = {
            "ConferenceSid": conf.sid,
            "FriendlyName": conf.friendly_name,
            "AccountSid": self.account_sid,
            "SequenceNumber": str(conf.sequence),
            "Timestamp": self.clock.rfc2822(),
            "StatusCallbackEvent": event,
        }
        conf.sequence += 1
        if p is not None:
            params.update(
                CallSid=p.leg.sid,
                Muted=str(p.muted).lower(),
                Hold=str(p.hold).lower(),
                Coaching=str(p.coaching).lower(),
                EndConferenceOnExit=str(p.end_on_exit).lower(),
                StartConferenceOnEnter=str(p.start_on_enter).lower(),
            )
            if p.label:
                params["ParticipantLabel"] = p.label
            if p.coaching and p.call_sid_to_coach:
                params["CallSidToCoach"] = p.call_sid_to_coach
        if kind == "end":
            params["ReasonConferenceEnded"] = conf.reason_ended or ""
            if conf.call_sid_ending:
                params["CallSidEndingConference"] = conf.call_sid_ending
        self.notify(conf.status_callback, conf.status_callback_method, params)
