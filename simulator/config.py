"""Everything a simulator run can be told, in one dataclass (all durations in simulated seconds)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulator.behaviour import (
    DEFAULT_CALLER_TYPES,
    DEFAULT_CHANNELS,
    DEFAULT_PLATFORM_MIX,
    DEFAULT_TYPE_KEYS,
)
from simulator.faults import FaultConfig

DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
ALL_CALL_EVENTS = ("initiated", "ringing", "answered", "completed")


@dataclass
class SimConfig:
    """How the simulated network and its people behave."""

    # The application, as configured on a Twilio number.
    voice_url: str = ""
    status_callback_url: str | None = None
    fallback_url: str | None = None
    voice_method: str = "POST"
    fallback_method: str = "POST"
    # Real Twilio sends only ``completed`` to a number's status callback unless told more;
    # the default here is every event, which exercises the app's order-tolerance.
    status_callback_events: tuple[str, ...] = ALL_CALL_EVENTS
    helpline_number: str = "+33800003018"
    twiml_app_sid: str = "AP" + "0" * 32  # ApplicationSid of in-app (Voice SDK) calls

    # The REST API: credentials the application's twilio client must present.
    account_sid: str = DEFAULT_ACCOUNT_SID
    auth_token: str = "simulator-auth-token"  # noqa: S105 - a local test credential
    api_keys: dict[str, str] = field(default_factory=dict)  # SK… sid → secret, also accepted
    port: int = 0  # 0: any free port on 127.0.0.1

    # Time.
    speed: float = 1.0
    clock_origin: float | None = None  # epoch seconds where simulated = real (default: now)
    webhook_timeout: float = 15.0  # real seconds, as Twilio's 15 s

    # Sounds.
    say_chars_per_second: float = 15.0
    play_default_seconds: float = 30.0
    play_seconds: dict[str, float] = field(default_factory=dict)  # URL fragment → seconds

    # Callers.
    seed: int | None = None
    platform_mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_PLATFORM_MIX))
    platform_channels: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CHANNELS))
    caller_types: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_CALLER_TYPES))
    caller_type_keys: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TYPE_KEYS))
    patience_mean: float | None = 180.0  # exponential; None: callers never give up
    press_probability: float = 0.15  # chance a caller presses a key at a <Gather>
    caller_key_delay: float = 1.5
    lonely_timeout: float = 120.0  # alone in a conference that never starts → hang up
    alone_hangup_delay: float = 3.0  # the other side left the conversation → hang up

    # Counsellors (any outbound leg to client:… or to a number that is not the helpline's).
    answer_delay: float = 4.0  # mean; each draw is uniform in [0.5, 1.5] x mean
    no_answer_probability: float = 0.0
    accept_digits: str = "1"
    handle_time_mean: float = 600.0
    handle_time_distribution: str = "lognormal"  # or exponential
    handle_time_sigma: float = 0.5
    # Per counsellor, by the address the app dials ("client:bruno", "+336…"): fields of
    # CounsellorBehaviour to force, e.g. {"client:bruno": {"answers": False}}.
    counsellors: dict[str, dict[str, Any]] = field(default_factory=dict)

    # Services a counsellor brings into a call (safeguarding escalation): outbound legs to
    # these numbers are answered by a service that stays on the line until hung up. Values
    # are fields of ServiceBehaviour to force, e.g. {"+33122334455": {"answer_delay": 8}}.
    services: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {"17": {}, "112": {}, "119": {}}
    )
    service_answer_delay: float = 3.0
    # Duty managers' softphones (supervisor listening): answer and stay until hung up.
    supervisor_prefix: str = "client:manager-"
    supervisor_answer_delay: float = 2.0

    # Virtual hold. At a <Gather> in a waitUrl document (the callback offer), a load caller
    # presses ``callback_key`` with this probability (drawn once per caller); scripted
    # callers press what their script says.
    callback_accept_probability: float = 0.0
    callback_key: str = "1"
    # An outbound leg to the number a simulated caller called from is that caller's phone:
    # they pick up with this probability, after ``callback_answer_delay`` (uniform in 0.5-1.5 x).
    callback_answer_probability: float = 1.0
    callback_answer_delay: float = 5.0
    # Per caller number (their From): fields of CallbackBehaviour to force, e.g.
    # {"+33612345678": {"answers": False}}.
    callbacks: dict[str, dict[str, Any]] = field(default_factory=dict)

    # Report.
    service_level_seconds: float = 60.0
    max_call_seconds: float = 4 * 3600.0  # Twilio's default maximum call duration

    # Faults to inject (simulator/faults.py; all off by default; may change while running).
    faults: FaultConfig = field(default_factory=FaultConfig)

    def validate(self) -> None:
        """Refuse settings that cannot work, naming the problem."""
        if not self.speed > 0:
            raise ValueError("speed must be positive")
        if not 0 <= self.no_answer_probability <= 1:
            raise ValueError("no_answer_probability must be between 0 and 1")
        if not 0 <= self.press_probability <= 1:
            raise ValueError("press_probability must be between 0 and 1")
        for name in ("callback_accept_probability", "callback_answer_probability"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        timing = {"answers", "answer_delay"}
        overrides = (
            ("counsellor", self.counsellors, timing | {"handle_time", "accept_digits"}),
            ("service", self.services, timing | {"handle_time"}),
            ("callback", self.callbacks, timing),
        )
        for kind, table, allowed in overrides:
            for address, fields_ in table.items():
                unknown_fields = set(fields_) - allowed
                if unknown_fields:
                    raise ValueError(f"{kind} {address}: unknown fields {sorted(unknown_fields)}")
        if self.handle_time_distribution not in {"lognormal", "exponential"}:
            raise ValueError("handle_time_distribution must be lognormal or exponential")
        if not self.account_sid.startswith("AC") or len(self.account_sid) != 34:
            raise ValueError("account_sid must look like AC followed by 32 characters")
        unknown = set(self.status_callback_events) - set(ALL_CALL_EVENTS)
        if unknown:
            raise ValueError(f"unknown status callback events: {sorted(unknown)}")
        self.faults.validate()
