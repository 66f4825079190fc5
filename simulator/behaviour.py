"""The simulated people: callers who dial in, counsellors who answer the app's calls.

Plain data and seeded random draws, no I/O. A load run's arrivals are drawn up front from
one seeded generator (`plan_arrivals`), so a seed fixes how many callers come, when, from
which platform and how patient they are, whatever the threads' timing later does.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

PLATFORMS = ("phone", "instagram", "messenger", "facebook", "tiktok")
DEFAULT_PLATFORM_MIX = {
    "phone": 0.5,
    "instagram": 0.2,
    "messenger": 0.1,
    "facebook": 0.1,
    "tiktok": 0.1,
}
# How each platform's calls reach the network: the public phone network, an in-app Voice
# SDK call (``client:`` identity with a ``platform`` custom parameter), or a SIP trunk
# (``SipHeader_X-Platform``). A value ``number:+33…`` means a phone call to a number
# dedicated to that platform.
DEFAULT_CHANNELS = {
    "phone": "pstn",
    "instagram": "client",
    "messenger": "client",
    "facebook": "client",
    "tiktok": "client",
}
DEFAULT_CALLER_TYPES = {"young": 0.75, "parent": 0.2, "professional": 0.05}
# The key a caller of each type presses when they do press one (a heuristic: the app's
# menus decide what keys mean; the report shows how often callers pressed anything).
DEFAULT_TYPE_KEYS = {"young": "1", "parent": "2", "professional": "3"}


class Behaviour:
    """What the person on a leg does when the network asks something of them."""

    key_delay = 1.5  # seconds after a <Gather>'s prompts end before the first key
    inter_digit = 0.3  # seconds between two keys
    handle_time = 0.0  # a counsellor's talk time once connected
    answers = True  # a dialled party picks up…
    answer_delay = 0.0  # …after this long
    patience: float | None = None  # a caller's time in queue before hanging up

    def keys_for_gather(self, in_queue: bool = False) -> str | None:
        """Keys pressed at the next <Gather> ("" or None: silence); ``in_queue``: the Gather is
        in a waitUrl document (e.g. a callback offer)."""
        return None


@dataclass
class CallerBehaviour(Behaviour):
    """A caller: a scripted list of keys per <Gather>, or seeded random presses."""

    rng: random.Random = field(default_factory=random.Random)
    script: list[str] | None = None
    press_probability: float = 0.15
    preferred_key: str = "1"
    patience: float | None = None
    key_delay: float = 1.5
    presses: int = 0
    # In a queue: a load caller who accepts a callback presses ``callback_key`` at every
    # waitUrl <Gather> (decided once per caller), and is silent there otherwise.
    accepts_callback: bool = False
    callback_key: str = "1"
    callback_answers: bool | None = None  # picks up the app's callbacks (None: drawn per call)

    def keys_for_gather(self, in_queue: bool = False) -> str | None:
        """The next scripted entry (silence once the script is used up), else a random draw."""
        if self.script is not None:
            keys = self.script.pop(0) if self.script else None
        elif in_queue:
            keys = self.callback_key if self.accepts_callback else None
        else:
            keys = self.preferred_key if self.rng.random() < self.press_probability else None
        if keys:
            self.presses += 1
        return keys or None


@dataclass
class CounsellorBehaviour(Behaviour):
    """A counsellor's phone or softphone: rings, maybe answers, accepts, talks, hangs up."""

    answers: bool = True
    answer_delay: float = 4.0
    handle_time: float = 600.0
    accept_digits: str = "1"
    key_delay: float = 2.0

    def keys_for_gather(self, in_queue: bool = False) -> str | None:
        """Accept the offer."""
        return self.accept_digits or None


@dataclass
class ServiceBehaviour(Behaviour):
    """An emergency or child-protection line (17, 112, 119) brought into a call: it answers
    and stays on the line until hung up (or for ``handle_time``, when finite)."""

    answers: bool = True
    answer_delay: float = 3.0
    handle_time: float = math.inf
    key_delay: float = 2.0


@dataclass
class SupervisorBehaviour(ServiceBehaviour):
    """A duty manager's browser softphone (``client:manager-…``): answers, stays until hung up."""

    answer_delay: float = 2.0


@dataclass
class CallbackBehaviour(Behaviour):
    """A caller picking up the helpline's callback: the same person as on their first call
    (same script of keys, same patience in a queue), with their own pick-up decision."""

    caller: CallerBehaviour = field(default_factory=CallerBehaviour)
    answers: bool = True
    answer_delay: float = 5.0
    key_delay: float = field(init=False)
    patience: float | None = field(init=False)

    def __post_init__(self) -> None:
        self.key_delay = self.caller.key_delay
        self.patience = self.caller.patience

    def keys_for_gather(self, in_queue: bool = False) -> str | None:
        """What the caller presses, continuing their script."""
        return self.caller.keys_for_gather(in_queue)


@dataclass(frozen=True)
class Arrival:
    """One planned caller of a load run."""

    at: float  # simulated seconds after the run starts
    platform: str
    caller_type: str
    patience: float | None
    seed: int


def parse_mix(text: str) -> dict[str, float]:
    """``instagram=0.3,phone=0.5`` → normalised weights; raises ValueError when malformed."""
    mix: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"expected name=weight, got {part!r}")
        weight = float(value)
        if weight < 0 or math.isnan(weight):
            raise ValueError(f"weight of {name.strip()!r} must be a positive number")
        mix[name.strip().lower()] = weight
    return normalise(mix)


def normalise(mix: Mapping[str, float]) -> dict[str, float]:
    """Weights that sum to one; raises ValueError when they are all zero."""
    total = sum(mix.values())
    if not mix or total <= 0:
        raise ValueError("a mix needs at least one positive weight")
    return {k: v / total for k, v in mix.items() if v > 0}


def choose(rng: random.Random, mix: Mapping[str, float]) -> str:
    """A weighted draw, stable for a given generator state."""
    names = sorted(mix)
    return rng.choices(names, weights=[mix[n] for n in names])[0]


def exponential(rng: random.Random, mean: float | None) -> float | None:
    """An exponential draw; None (never) when the mean is unset or not positive."""
    if mean is None or mean <= 0:
        return None
    return rng.expovariate(1.0 / mean)


def handle_time(rng: random.Random, mean: float, distribution: str, sigma: float) -> float:
    """A counsellor's talk time: lognormal (with shape ``sigma``) or exponential, mean ``mean``."""
    if mean <= 0:
        return 0.0
    if distribution == "exponential":
        return rng.expovariate(1.0 / mean)
    if distribution != "lognormal":
        raise ValueError(f"unknown handle-time distribution {distribution!r}")
    mu = math.log(mean) - sigma * sigma / 2
    return rng.lognormvariate(mu, sigma)


def plan_arrivals(
    rng: random.Random,
    rate_per_minute: float,
    duration: float,
    platform_mix: Mapping[str, float],
    caller_types: Mapping[str, float],
    patience_mean: float | None,
) -> list[Arrival]:
    """Poisson arrivals over ``duration`` simulated seconds, each with its own seed."""
    arrivals: list[Arrival] = []
    if rate_per_minute <= 0 or duration <= 0:
        return arrivals
    t = 0.0
    while True:
        t += rng.expovariate(rate_per_minute / 60.0)
        if t >= duration:
            return arrivals
        platform = choose(rng, platform_mix)
        kind = choose(rng, caller_types)
        patience = exponential(rng, patience_mean)
        arrivals.append(Arrival(t, platform, kind, patience, rng.getrandbits(64)))


def caller_address(
    rng: random.Random, platform: str, channel: str, helpline_number: str
) -> tuple[str, str, dict[str, str]]:
    """(From, To, extra first-request parameters) for a caller on ``platform``."""
    if channel == "client":
        identity = f"{platform}-{rng.getrandbits(32):08x}"
        return f"client:{identity}", helpline_number, {"platform": platform}
    number = f"+33{rng.choice('67')}{rng.randrange(10**8):08d}"
    if channel == "sip":
        sip_from = f"sip:{number}@carrier.invalid"
        sip_to = f"sip:{helpline_number.lstrip('+')}@helpline.sip.twilio.com"
        return sip_from, sip_to, {"SipHeader_X-Platform": platform}
    if channel.startswith("number:"):
        return number, channel.removeprefix("number:"), {}
    return number, helpline_number, {}
