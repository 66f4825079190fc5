"""The duty managers' figures, computed from the event stream: pure functions, no Redis.

The events are the ones the ACD's Lua scripts and the voice flow append (``helpline.events``);
this module only reads their ``what``, ``at`` (ms) and a few fields. `calls_from_events` folds
them into one `Call` per CallSid; `summarise` and `report` count those calls.

Definitions (docs/dashboard.md repeats them for managers):

- A call is **offered** when it reached the ACD: it has an ``enqueued`` event, or an outcome
  ``answered``/``abandoned``/``overflowed``/``error`` that carries a ``wait`` (a caller
  overflowed on entry, when the queue was full or nobody was logged in, has no ``enqueued``
  event but an outcome with ``wait`` 0). Its **arrival** is the time of the ``enqueued`` event,
  else the outcome's time minus the wait. A call is counted in the period (and the hour) of
  its arrival, whatever happened to it later.
- **answered**, **abandoned**, **overflowed**, **error**: offered calls by their one outcome;
  **waiting**: offered calls without an outcome yet. A caller who hangs up before reaching the
  queue (during the menus) is not offered: the ``abandoned`` outcome the ACD records for them
  carries no wait.
- **Service level** within T seconds: answered calls whose wait was at most T, divided by the
  offered calls whose fate within T is known: every call with an outcome, plus the calls still
  waiting that have already waited more than T. Short abandons count against it.
- **ASA**: mean wait of the answered calls. **AHT**: mean handle time (talk, from the ACD's
  ``call_ended`` event, plus the wrap-up the counsellor actually took, from their leaving the
  ``wrap_up`` state) of the answered calls whose wrap-up is over.
- A **warm transfer** is not a new call: the colleague's part (``call_ended`` of the transfer
  entry ``xfer-<rid>``, and their wrap-up) is added to the caller's call, so a transferred
  call's handle time is every counsellor's talk and wrap-up on it, counted once, and its wait
  stays the one of its single ``answered`` outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from helpline.clock import from_ms, to_ms

#: Outcomes of calls that reached the ACD (``closed`` calls never did).
QUEUE_OUTCOMES = ("answered", "abandoned", "overflowed", "error")
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class Event:
    """One entry of the event stream."""

    id: str
    what: str
    at: int  # ms UTC, from the injected clock of the process that wrote it
    fields: Mapping[str, str]

    def get(self, name: str) -> str | None:
        """A field, or None when absent or empty."""
        value = self.fields.get(name)
        return value if value else None

    def number(self, name: str) -> int | None:
        """A whole-number field, or None."""
        value = self.fields.get(name)
        try:
            return int(value) if value not in (None, "") else None
        except ValueError:
            return None


def parse_event(entry_id: str, fields: Mapping[str, str]) -> Event | None:
    """An event from a stream entry; None for an entry without ``what`` or a usable ``at``."""
    what = fields.get("what")
    try:
        at = int(fields.get("at", ""))
    except ValueError:
        return None
    if not what:
        return None
    return Event(entry_id, what, at, dict(fields))


@dataclass
class Call:
    """What the events say about one call."""

    call_sid: str
    platform: str = "unknown"
    started_ms: int | None = None  # call_started (the voice flow's first webhook)
    enqueued_ms: int | None = None  # the ACD's enqueued event
    caller_type: str | None = None
    language: str | None = None
    skill: str | None = None
    outcome: str | None = None
    outcome_ms: int | None = None
    reason: str | None = None
    wait_s: int | None = None  # the outcome's wait
    counsellor: str | None = None
    talk_s: int | None = None  # every counsellor's talk on the call (a transfer's included)
    wrap_s: int | None = None  # the wrap-ups taken after it (None before the call ends)
    wraps_open: int = 0  # wrap-ups after this call still going on
    legs_open: int = 0  # counsellors still on this call (A and B during a transfer)

    @property
    def arrived_ms(self) -> int | None:
        """When the call reached the ACD; None for a call that never did."""
        if self.enqueued_ms is not None:
            return self.enqueued_ms
        if self.outcome in QUEUE_OUTCOMES and self.wait_s is not None and self.outcome_ms:
            return self.outcome_ms - self.wait_s * 1000
        return None

    @property
    def offered(self) -> bool:
        """The call reached the ACD."""
        return self.arrived_ms is not None

    @property
    def handle_s(self) -> int | None:
        """Talk plus wrap-up, once both are known (every counsellor's part over)."""
        if self.talk_s is None or self.wrap_s is None or self.wraps_open or self.legs_open:
            return None
        return self.talk_s + self.wrap_s


def calls_from_events(events: Iterable[Event]) -> dict[str, Call]:
    """One `Call` per CallSid, from events in stream order (the first outcome wins)."""
    calls: dict[str, Call] = {}
    on_call: dict[str, str] = {}  # counsellor id → CallSid of their last accepted call
    wrap_open: dict[str, tuple[str | None, int]] = {}  # counsellor → (CallSid, wrap-up start)
    transfers: dict[str, str] = {}  # transfer entry id (xfer-<rid>) → the caller's CallSid

    def call(sid: str) -> Call:
        found = calls.get(sid)
        if found is None:
            found = calls[sid] = Call(sid)
        return found

    for e in events:
        sid = e.get("call")
        cid = e.get("counsellor")
        xid = e.get("transfer")
        if xid and sid and e.what in ("transfer_requested", "transfer"):
            transfers.setdefault(xid, sid)
        if sid in transfers:  # the colleague's part of a transferred call is the call's
            sid = transfers[sid]
        if e.what == "call_started" and sid:
            c = call(sid)
            c.started_ms = c.started_ms if c.started_ms is not None else e.at
            c.platform = e.get("platform") or c.platform
        elif e.what == "enqueued" and sid:
            c = call(sid)
            if c.enqueued_ms is None:
                c.enqueued_ms = e.at
            c.platform = e.get("platform") or c.platform
            c.caller_type = e.get("caller_type") or c.caller_type
            c.language = e.get("language") or c.language
            c.skill = e.get("skill") or c.skill
        elif e.what == "outcome" and sid:
            c = call(sid)
            if c.outcome is None:
                c.outcome = e.get("outcome")
                c.outcome_ms = e.at
                c.wait_s = e.number("wait")
                c.reason = e.get("reason")
                c.platform = e.get("platform") or c.platform
        elif e.what == "accepted" and sid and cid:
            c = call(sid)
            c.counsellor = cid
            c.legs_open += 1
            on_call[cid] = sid
        elif e.what == "transfer_joined" and sid and e.get("to"):
            call(sid).legs_open += 1
            on_call[str(e.get("to"))] = sid  # the colleague is on the caller's call now
        elif e.what == "call_ended" and sid and e.get("reservation") and cid:
            # The ACD's call_ended (the voice flow's has no reservation): talk time, added up
            # over the counsellors of a transferred call. Its counsellor_state event (to
            # wrap_up, or straight to available) came just before.
            c = call(sid)
            c.talk_s = (c.talk_s or 0) + (e.number("talk") or 0)
            c.wrap_s = c.wrap_s or 0
            c.legs_open = max(0, c.legs_open - 1)
            opened = wrap_open.get(cid)
            if opened is not None and opened[0] == sid:
                c.wraps_open += 1
        elif e.what in ("counsellor_state", "counsellor_removed") and cid:
            state, before = e.get("state"), e.get("from")
            if state == "wrap_up":
                wrap_open[cid] = (on_call.get(cid), e.at)
            elif before == "wrap_up" and cid in wrap_open:
                wrapped, since = wrap_open.pop(cid)
                if wrapped is not None and wrapped in calls:
                    c = calls[wrapped]
                    c.wrap_s = (c.wrap_s or 0) + max(0, (e.at - since) // 1000)
                    c.wraps_open = max(0, c.wraps_open - 1)
    return calls


@dataclass(frozen=True)
class Figures:
    """Counts and sums for one set of offered calls (see the module's definitions)."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    overflowed: int = 0
    errors: int = 0
    waiting: int = 0
    answered_within: int = 0
    sl_base: int = 0  # the service level's denominator
    wait_answered_s: int = 0  # sum of the answered calls' waits
    handled: int = 0  # answered calls whose handle time is known
    handle_s: int = 0  # sum of their handle times
    talk_s: int = 0  # sum of their talk times

    @property
    def service_level(self) -> float | None:
        """Share in [0, 1]; None without any call to judge."""
        return self.answered_within / self.sl_base if self.sl_base else None

    @property
    def asa(self) -> float | None:
        """Average speed of answer, seconds."""
        return self.wait_answered_s / self.answered if self.answered else None

    @property
    def aht(self) -> float | None:
        """Average handle time (talk + wrap-up), seconds."""
        return self.handle_s / self.handled if self.handled else None

    @property
    def abandonment(self) -> float | None:
        """Abandoned calls over offered calls that have an outcome."""
        ended = self.offered - self.waiting
        return self.abandoned / ended if ended else None


def summarise(calls: Iterable[Call], now_ms: int, threshold_s: int) -> Figures:
    """The figures of ``calls`` (offered calls; others are ignored) at ``now_ms``."""
    n = {
        "offered": 0,
        "answered": 0,
        "abandoned": 0,
        "overflowed": 0,
        "errors": 0,
        "waiting": 0,
        "answered_within": 0,
        "sl_base": 0,
        "wait_answered_s": 0,
        "handled": 0,
        "handle_s": 0,
        "talk_s": 0,
    }
    for c in calls:
        arrived = c.arrived_ms
        if arrived is None:
            continue
        n["offered"] += 1
        if c.outcome is None:
            n["waiting"] += 1
            if now_ms - arrived > threshold_s * 1000:
                n["sl_base"] += 1
            continue
        n["sl_base"] += 1
        if c.outcome == "answered":
            wait = c.wait_s or 0
            n["answered"] += 1
            n["wait_answered_s"] += wait
            if wait <= threshold_s:
                n["answered_within"] += 1
            handle = c.handle_s
            if handle is not None:
                n["handled"] += 1
                n["handle_s"] += handle
                n["talk_s"] += c.talk_s or 0
        elif c.outcome == "abandoned":
            n["abandoned"] += 1
        elif c.outcome == "overflowed":
            n["overflowed"] += 1
        else:
            n["errors"] += 1
    return Figures(**n)


def arrived_between(calls: Iterable[Call], start_ms: int, end_ms: int) -> list[Call]:
    """Offered calls that arrived in ``[start_ms, end_ms)``."""
    return [c for c in calls if (a := c.arrived_ms) is not None and start_ms <= a < end_ms]


@dataclass(frozen=True)
class Report:
    """Figures of one period: in all, per platform, per hour (local hours of the zone)."""

    start: datetime
    end: datetime
    threshold_s: int
    total: Figures
    by_platform: Mapping[str, Figures]  # most offered first
    by_hour: Sequence[tuple[datetime, Figures]]  # local hour start (aware, in the zone)
    received: int = 0  # calls that started in the period (open or not)
    closed: int = 0  # of which, calls that found the line closed
    before_queue: int = 0  # callers who hung up before reaching the queue
    platforms_received: Mapping[str, int] = field(default_factory=dict)


def hour_starts(start: datetime, end: datetime, zone: ZoneInfo) -> list[datetime]:
    """Local hour starts covering ``[start, end)``, aware in ``zone`` (DST-safe: UTC steps)."""
    if end <= start:
        return []
    local = start.astimezone(zone)
    # The start of the local hour (wall time), then steps of one hour in UTC: aware arithmetic
    # in one zone is wall-clock arithmetic in Python and would skip or repeat DST hours.
    trimmed = timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
    cursor = (local - trimmed).astimezone(UTC)
    hours = []
    while cursor < end:
        hours.append(cursor.astimezone(zone))
        cursor += timedelta(hours=1)
    return hours


def report(
    calls: Mapping[str, Call] | Iterable[Call],
    start: datetime,
    end: datetime,
    now: datetime,
    threshold_s: int,
    zone: ZoneInfo,
    *,
    hourly: bool = True,
) -> Report:
    """Figures of the calls that arrived in ``[start, end)``, seen at ``now``."""
    pool = list(calls.values()) if isinstance(calls, Mapping) else list(calls)
    start_ms, end_ms, now_ms = to_ms(start), to_ms(end), to_ms(now)
    chosen = arrived_between(pool, start_ms, end_ms)
    per_platform: dict[str, list[Call]] = {}
    for c in chosen:
        per_platform.setdefault(c.platform, []).append(c)
    by_platform = {
        p: summarise(cs, now_ms, threshold_s)
        for p, cs in sorted(per_platform.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    }
    by_hour: list[tuple[datetime, Figures]] = []
    if hourly:
        for hour in hour_starts(start, end, zone):
            lo = to_ms(hour)
            hi = min(lo + HOUR_MS, end_ms)
            in_hour = arrived_between(chosen, max(lo, start_ms), hi)
            by_hour.append((hour, summarise(in_hour, now_ms, threshold_s)))
    started = [c for c in pool if c.started_ms is not None and start_ms <= c.started_ms < end_ms]
    platforms_received: dict[str, int] = {}
    for c in started:
        platforms_received[c.platform] = platforms_received.get(c.platform, 0) + 1
    return Report(
        start=start,
        end=end,
        threshold_s=threshold_s,
        total=summarise(chosen, now_ms, threshold_s),
        by_platform=by_platform,
        by_hour=by_hour,
        received=len(started),
        closed=sum(1 for c in started if c.outcome == "closed"),
        before_queue=sum(1 for c in started if c.outcome == "abandoned" and not c.offered),
        platforms_received=platforms_received,
    )


def estimate_patience(calls: Iterable[Call], min_abandons: int = 3) -> tuple[float, int] | None:
    """Mean patience (seconds) of callers and the abandons it rests on, or None when fewer
    than ``min_abandons`` callers abandoned.

    Patience is taken as exponential (as Erlang A does); its maximum-likelihood mean with
    right-censoring is the total time callers spent waiting (abandoned callers: until they hung
    up; answered and overflowed ones: until then, which only says their patience was longer)
    divided by the number of abandons.
    """
    exposure = 0
    abandons = 0
    for c in calls:
        if c.arrived_ms is None or c.outcome is None or c.wait_s is None:
            continue
        exposure += c.wait_s
        if c.outcome == "abandoned":
            abandons += 1
    if abandons < min_abandons:
        return None
    return exposure / abandons, abandons


def local_day_bounds(day: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Local midnight of ``day``'s date in ``zone`` and the next one (aware, in the zone)."""
    local = day.astimezone(zone)
    start = datetime(local.year, local.month, local.day, tzinfo=zone)
    following = start.date() + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=zone)
    return start, end


def when(ms: int, zone: ZoneInfo) -> datetime:
    """A stored ms instant in the helpline's zone."""
    return from_ms(ms).astimezone(zone)
