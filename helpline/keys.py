"""Every Redis key name in the project lives here, and only here.

All keys of one helpline share the hash tag ``{<helpline id>}`` so that a Lua script touching
several of them also runs on Redis Cluster. A test (tests/test_keys.py) pins the exact strings.

| key (after ``hl:{3018}:``)   | type   | written by                | TTL / lifetime                          |
|------------------------------|--------|---------------------------|-----------------------------------------|
| ``call:<CallSid>``           | hash   | ivr (record), acd (outcome)| ``privacy.call_record_ttl`` from config |
| ``hours:exceptions``         | hash   | ivr.hours_store (CLI, dashboard) | none; cleared by ``hours clear``   |
| ``hours:seq``                | string | ivr.hours_store           | none (id counter)                       |
| ``acd:queue:<skill>``        | zset   | acd Lua; CallSid scored by order key (ms, lower first) | while waiting |
| ``acd:queue:any``            | zset   | acd Lua; callers whose skill was relaxed | while waiting            |
| ``acd:relax``                | zset   | acd Lua; CallSid scored by time its skill relaxes (ms) | while waiting |
| ``acd:waiting``              | zset   | acd Lua; every waiting CallSid by enqueue time (ms) | while waiting    |
| ``acd:caller:<CallSid>``     | hash   | acd Lua; waiting caller (platform, skill, priority…) | until outcome + TTL |
| ``acd:counsellors``          | set    | acd Lua; ids of known counsellors | none                            |
| ``acd:counsellor:<id>``      | hash   | acd Lua; profile and state | none                                   |
| ``acd:idle:<skill>``         | zset   | acd Lua; available counsellor ids by idle-since (ms) | while available |
| ``acd:reservation:<rid>``    | hash   | acd Lua; pending or accepted offer | TTL after it ends              |
| ``acd:offers``               | zset   | acd Lua; open reservation ids by expiry (ms) | while open           |
| ``acd:wrapups``              | zset   | acd Lua; counsellor ids by wrap-up end (ms) | while in wrap-up      |
| ``acd:seq``                  | string | acd Lua; reservation id counter | none                              |
| ``acd:handle_times``         | list   | acd Lua; recent handle times (s), capped | none                      |
| ``acd:twilio_queue_sid``     | string | acd (first waitUrl request) | none                                  |
| ``events``                   | stream | every transition (acd, ivr); capped with MAXLEN ~ | capped          |
| ``worker:heartbeat``         | string | the RQ worker process (ms) | 60 s                                   |
| ``announcement``             | string | duty managers; played to waiting callers | optional expiry         |
| ``stats:calls``              | hash   | outcome recording; ``<platform>:<outcome>`` → count | none          |
"""

# ruff: noqa: E501 - the key table reads best unwrapped
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    """Key names for one helpline. ``Keys("3018").call("CA1")`` → ``hl:{3018}:call:CA1``."""

    helpline: str

    @property
    def prefix(self) -> str:
        """Common prefix with the cluster hash tag."""
        return f"hl:{{{self.helpline}}}:"

    # ivr
    def call(self, call_sid: str) -> str:
        """Call record hash."""
        return f"{self.prefix}call:{call_sid}"

    @property
    def hours_exceptions(self) -> str:
        """Dated opening-hours exceptions, id → JSON."""
        return f"{self.prefix}hours:exceptions"

    @property
    def hours_seq(self) -> str:
        """Counter for hours exception ids."""
        return f"{self.prefix}hours:seq"

    # acd
    def queue(self, skill: str) -> str:
        """Waiting callers needing ``skill`` (``any`` once relaxed), by order key."""
        return f"{self.prefix}acd:queue:{skill}"

    @property
    def relax(self) -> str:
        """Waiting callers by the time their skill requirement relaxes."""
        return f"{self.prefix}acd:relax"

    @property
    def waiting(self) -> str:
        """Every waiting caller by enqueue time."""
        return f"{self.prefix}acd:waiting"

    def caller(self, call_sid: str) -> str:
        """A waiting caller's ACD record."""
        return f"{self.prefix}acd:caller:{call_sid}"

    @property
    def counsellors(self) -> str:
        """Ids of known counsellors."""
        return f"{self.prefix}acd:counsellors"

    def counsellor(self, counsellor_id: str) -> str:
        """A counsellor's profile and state."""
        return f"{self.prefix}acd:counsellor:{counsellor_id}"

    def idle(self, skill: str) -> str:
        """Available counsellors having ``skill`` by idle-since."""
        return f"{self.prefix}acd:idle:{skill}"

    def reservation(self, reservation_id: str) -> str:
        """One offer of a caller to a counsellor."""
        return f"{self.prefix}acd:reservation:{reservation_id}"

    @property
    def offers(self) -> str:
        """Open reservations by expiry."""
        return f"{self.prefix}acd:offers"

    @property
    def wrapups(self) -> str:
        """Counsellors in wrap-up by its end."""
        return f"{self.prefix}acd:wrapups"

    @property
    def seq(self) -> str:
        """Reservation id counter."""
        return f"{self.prefix}acd:seq"

    @property
    def handle_times(self) -> str:
        """Recent handle times in seconds, newest first."""
        return f"{self.prefix}acd:handle_times"

    @property
    def twilio_queue_sid(self) -> str:
        """The QueueSid Twilio gave the helpline's queue."""
        return f"{self.prefix}acd:twilio_queue_sid"

    # shared
    @property
    def events(self) -> str:
        """The event stream: every transition, the single source of figures."""
        return f"{self.prefix}events"

    @property
    def worker_heartbeat(self) -> str:
        """Last time (ms) the worker said it was alive."""
        return f"{self.prefix}worker:heartbeat"

    @property
    def stats_calls(self) -> str:
        """Counters of finished calls per ``<platform>:<outcome>``."""
        return f"{self.prefix}stats:calls"

    @property
    def announcement(self) -> str:
        """Temporary announcement for waiting callers."""
        return f"{self.prefix}announcement"
