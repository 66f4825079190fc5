"""Simulated time: every duration the network plays runs ``speed`` times faster than real time.

Simulated and real time coincide at ``origin`` (epoch seconds), the same rule as the
application's scaled clock, so a simulator and an app given one origin and speed agree on
timestamps. Durations are measured on the monotonic clock, timestamps on the wall clock.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import format_datetime


class SimClock:
    """Simulated seconds since the simulator started, and simulated wall-clock dates."""

    def __init__(self, speed: float = 1.0, origin: float | None = None) -> None:
        if not speed > 0:
            raise ValueError("speed must be positive")
        self.speed = float(speed)
        self.origin = time.time() if origin is None else float(origin)
        self._mono0 = time.monotonic()

    def now(self) -> float:
        """Simulated seconds elapsed since the clock was made."""
        return (time.monotonic() - self._mono0) * self.speed

    def real(self, sim_seconds: float) -> float:
        """Real seconds that ``sim_seconds`` of simulated time take."""
        return max(0.0, sim_seconds) / self.speed

    def datetime(self) -> datetime:
        """Simulated date and time, aware, in UTC."""
        real = time.time()
        return datetime.fromtimestamp(self.origin + (real - self.origin) * self.speed, UTC)

    def rfc2822(self) -> str:
        """The simulated date in the RFC 2822 form Twilio uses in resources and callbacks."""
        return format_datetime(self.datetime())
