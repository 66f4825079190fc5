"""The one clock. Every `now` in the project comes from a `Clock`; UTC inside."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        """Current time, aware, in UTC."""
        return datetime.now(UTC)


@dataclass
class FrozenClock:
    """A clock that only moves when told to (tests, simulations)."""

    current: datetime = field(default_factory=lambda: datetime(2026, 11, 23, 12, 0, tzinfo=UTC))

    def now(self) -> datetime:
        """The frozen time."""
        return self.current

    def advance(self, seconds: float) -> datetime:
        """Move forward by `seconds` and return the new time."""
        self.current = self.current + timedelta(seconds=seconds)
        return self.current

    def set(self, when: datetime) -> None:
        """Jump to `when` (must be aware)."""
        if when.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.current = when.astimezone(UTC)


@dataclass
class ScaledClock:
    """Time running ``speed`` times faster than real time from ``origin`` (demo, simulations).

    Every process given the same origin and speed tells the same time, so the web app, the
    worker and the simulator agree on waits, offer timeouts and wrap-ups.
    """

    speed: float
    origin: float  # epoch seconds at which simulated and real time coincide

    def now(self) -> datetime:
        """Simulated time, aware, in UTC."""
        real = datetime.now(UTC).timestamp()
        return datetime.fromtimestamp(self.origin + (real - self.origin) * self.speed, UTC)


def to_ms(when: datetime) -> int:
    """Milliseconds since the epoch, the unit Lua scripts receive in ARGV."""
    return int(when.timestamp() * 1000)


def from_ms(ms: int | float | str) -> datetime:
    """Inverse of `to_ms`."""
    return datetime.fromtimestamp(int(ms) / 1000, UTC)
