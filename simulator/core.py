"""The simulator: a REST server, the network's state, and the people who call and answer.

sim = Simulator(SimConfig(voice_url="http://127.0.0.1:8000/voice/incoming", speed=20))
base_url = sim.start()            # TWILIO_API_BASE_URL for the application
call = sim.place_call(platform="instagram", digits=["1"], patience=120)
result = call.wait(timeout=30)    # outcome, transcript (the Say texts heard), …
report = sim.run_load(rate=4, duration=600, drain=60)
sim.stop()
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from simulator import report as reports
from simulator.behaviour import (
    Behaviour,
    CallbackBehaviour,
    CallerBehaviour,
    CounsellorBehaviour,
    ServiceBehaviour,
    SupervisorBehaviour,
    caller_address,
    handle_time,
    normalise,
    plan_arrivals,
)
from simulator.clock import SimClock
from simulator.config import SimConfig
from simulator.interpreter import Interpreter
from simulator.model import Conference, HangupCommand, Leg, Network, new_sid
from simulator.rest import create_rest_app
from simulator.webhooks import Dispatcher, Webhooks

log = logging.getLogger("simulator")

HOST = "127.0.0.1"  # never listen beyond this machine


class _QuietRequestHandler(WSGIRequestHandler):
    """No access-log line per REST request (the simulator logs calls, not HTTP)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Say nothing."""


_UNSET: Any = object()


@dataclass(frozen=True)
class CallResult:
    """What happened to one simulated caller."""

    sid: str
    platform: str
    status: str
    outcome: str
    transcript: list[str]
    queue_results: list[str]
    wait_seconds: float | None
    talk_seconds: float
    connected_to: str | None
    app_error: int | None
    ended_by: str | None
    end_reason: str | None
    events: list[tuple[float, str]]
    # The application's callbacks to this caller (virtual hold): one dict per leg with its
    # sid, status, answered and connected (to a counsellor).
    callbacks: list[dict[str, Any]] = dataclasses.field(default_factory=list)


class CallHandle:
    """A call placed with `Simulator.place_call`."""

    def __init__(self, sim: Simulator, leg: Leg) -> None:
        self._sim = sim
        self.leg = leg
        self.sid = leg.sid

    @property
    def done(self) -> bool:
        """The call has ended."""
        return self.leg.done.is_set()

    @property
    def transcript(self) -> list[str]:
        """The Say texts the caller has heard so far, in order."""
        with self._sim.net.lock:
            return list(self.leg.transcript)

    def wait(self, timeout: float | None = None) -> CallResult:
        """Block until the call ends (``timeout`` real seconds); raises TimeoutError."""
        if not self.leg.done.wait(timeout):
            raise TimeoutError(f"call {self.sid} still live after {timeout} s")
        return self.result()

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> bool:
        """Poll until ``predicate(handle)`` is true (real seconds); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.01)
        return bool(predicate(self))

    def result(self) -> CallResult:
        """A snapshot of the call as it is now."""
        return self._sim.result(self.leg)

    def hangup(self) -> None:
        """The caller hangs up now."""
        self.leg.set_timer("hangup", self._sim.clock.now())

    @property
    def callbacks(self) -> list[Leg]:
        """The legs the application placed to call this caller back, in order."""
        with self._sim.net.lock:
            return list(self.leg.callbacks)


class Simulator:
    """Twilio's stand-in: REST API in, signed webhooks out, simulated callers and counsellors."""

    def __init__(self, config: SimConfig | None = None, **overrides: Any) -> None:
        config = dataclasses.replace(config or SimConfig(), **overrides)
        config.validate()
        self.config = config
        self.clock = SimClock(config.speed, config.clock_origin)
        self.net = Network(self.clock, config.account_sid)
        self.net.alone_hangup_delay = config.alone_hangup_delay
        self.net.lonely_timeout = config.lonely_timeout
        self.webhooks = Webhooks(config.auth_token, config.webhook_timeout)
        self.dispatcher = Dispatcher(self.webhooks)
        self.net.notify = self.dispatcher.submit
        self.rng = random.Random(config.seed)
        self._counsellor_rng = random.Random(self.rng.getrandbits(64))
        self.callers: list[Leg] = []
        self._server: BaseWSGIServer | None = None
        self._server_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.port: int | None = None

    # -- the REST server ------------------------------------------------------------------

    def start(self) -> str:
        """Start the REST API on 127.0.0.1 and return its base URL."""
        if self._server is None:
            app = create_rest_app(self)
            self._server = make_server(
                HOST, self.config.port, app, threaded=True, request_handler=_QuietRequestHandler
            )
            self.port = self._server.server_port
            self._server_thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},  # a prompt shutdown
                name="sim-rest",
                daemon=True,
            )
            self._server_thread.start()
            log.info("rest_api_listening url=%s", self.base_url)
        return self.base_url

    @property
    def base_url(self) -> str:
        """What the app's TWILIO_API_BASE_URL must be."""
        if self.port is None:
            raise RuntimeError("the simulator is not started")
        return f"http://{HOST}:{self.port}"

    def app_environment(self) -> dict[str, str]:
        """Environment for an application process that should use this simulator."""
        return {
            "TWILIO_API_BASE_URL": self.base_url,
            "TWILIO_ACCOUNT_SID": self.config.account_sid,
            "TWILIO_AUTH_TOKEN": self.config.auth_token,
            "HELPLINE_CLOCK_SPEED": repr(self.config.speed),
            "HELPLINE_CLOCK_ORIGIN": repr(self.clock.origin),
        }

    def stop(self, timeout: float = 5.0) -> None:
        """Hang up every live leg, send pending callbacks, stop the REST server."""
        self._stopping.set()
        with self.net.lock:
            legs = list(self.net.calls.values())
            for leg in legs:
                if leg.live:
                    leg.command(HangupCommand("stop"))
        deadline = time.monotonic() + timeout
        for leg in legs:
            if leg.thread is not None:
                leg.thread.join(max(0.0, deadline - time.monotonic()))
        self.dispatcher.close(max(0.5, deadline - time.monotonic()))
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._server_thread is not None:
                self._server_thread.join(timeout)
            self._server = None

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- legs -----------------------------------------------------------------------------

    def spawn(self, leg: Leg) -> None:
        """Register a leg and start its thread."""
        with self.net.lock:
            self.net.calls[leg.sid] = leg
            leg.set_timer("max-duration", leg.created_at + self.config.max_call_seconds)
        leg.thread = threading.Thread(
            target=Interpreter(self, leg).run, name=f"leg-{leg.sid[:10]}", daemon=True
        )
        leg.thread.start()

    def new_outbound_leg(
        self,
        *,
        to: str,
        from_: str,
        direction: str,
        parent: Leg | None = None,
        url: str | None = None,
        method: str = "POST",
        twiml: str | None = None,
        fallback_url: str | None = None,
        fallback_method: str = "POST",
        status_callback: str | None = None,
        status_callback_method: str = "POST",
        status_callback_events: frozenset[str] = frozenset({"completed"}),
        timeout: float = 60.0,
        start: bool = True,
    ) -> Leg:
        """A call the application places (REST) or dials (TwiML): a counsellor's phone.

        With ``start=False`` the caller must `spawn` it (the REST API first answers with the
        call as created, status ``queued``).
        """
        with self.net.lock:
            role, behaviour, called_back = self._answering_party(to)
            leg = Leg(
                net=self.net,
                sid=new_sid("CA"),
                direction=direction,
                from_=from_,
                to=to,
                role=role,
                behaviour=behaviour,
                created_at=self.clock.now(),
                date_created=self.clock.rfc2822(),
                parent_sid=parent.sid if parent else None,
                url=url,
                method=method,
                twiml=twiml,
                fallback_url=fallback_url,
                fallback_method=fallback_method,
                status_callback=status_callback,
                status_callback_method=status_callback_method,
                status_callback_events=status_callback_events,
                timeout=timeout,
            )
            if parent is not None:
                parent.children.append(leg)
            if called_back is not None:
                leg.callback_of = called_back.sid
                leg.platform, leg.caller_type = called_back.platform, called_back.caller_type
                called_back.callbacks.append(leg)
                log.info("callback_placed call_sid=%s caller=%s", leg.sid, called_back.sid)
        if start:
            self.spawn(leg)
        return leg

    def _caller_at(self, address: str) -> Leg | None:
        """The latest simulated caller who called from ``address`` (lock held)."""
        for leg in reversed(self.callers):
            if leg.from_ == address:
                return leg
        return None

    def _answering_party(self, to: str) -> tuple[str, Behaviour, Leg | None]:
        """Who picks up an outbound leg to ``to``: (role, behaviour, caller called back).

        The number a simulated caller called from is that caller's phone (a callback); a
        configured service number is a service (17, 112, 119…); ``client:manager-…`` is a duty
        manager's softphone; anything else is a counsellor's phone (lock held).
        """
        cfg, rng = self.config, self._counsellor_rng
        caller = self._caller_at(to)
        behaviour: Behaviour
        if caller is not None:
            first = caller.behaviour
            behaviour = CallbackBehaviour(
                caller=first if isinstance(first, CallerBehaviour) else CallerBehaviour(),
                answers=rng.random() < cfg.callback_answer_probability,
                answer_delay=cfg.callback_answer_delay * rng.uniform(0.5, 1.5),
            )
            if isinstance(first, CallerBehaviour) and first.callback_answers is not None:
                behaviour.answers = first.callback_answers
            for name, value in cfg.callbacks.get(to, {}).items():
                setattr(behaviour, name, value)
            return "caller", behaviour, caller
        if to in cfg.services:
            behaviour = ServiceBehaviour(answer_delay=cfg.service_answer_delay)
            for name, value in cfg.services[to].items():
                setattr(behaviour, name, value)
            return "service", behaviour, None
        if cfg.supervisor_prefix and to.startswith(cfg.supervisor_prefix):
            return "supervisor", SupervisorBehaviour(answer_delay=cfg.supervisor_answer_delay), None
        behaviour = CounsellorBehaviour(
            answers=rng.random() >= cfg.no_answer_probability,
            answer_delay=cfg.answer_delay * rng.uniform(0.5, 1.5),
            handle_time=handle_time(
                rng, cfg.handle_time_mean, cfg.handle_time_distribution, cfg.handle_time_sigma
            ),
            accept_digits=cfg.accept_digits,
        )
        for name, value in cfg.counsellors.get(to, {}).items():
            setattr(behaviour, name, value)
        return "counsellor", behaviour, None

    def place_call(
        self,
        *,
        platform: str = "phone",
        from_: str | None = None,
        to: str | None = None,
        params: dict[str, str] | None = None,
        digits: Iterable[str] | None = None,
        patience: float | None = None,
        hangup_after: float | None = None,
        caller_type: str | None = None,
        channel: str | None = None,
        seed: int | None = None,
        callback_answers: bool | None = None,
    ) -> CallHandle:
        """Place one inbound call to the Voice URL.

        ``digits``: what the caller presses at each <Gather>, in order ("" = silence; silence
        once the list is used up); without it the caller presses at random like load callers.
        ``patience``: seconds in a queue before hanging up (None: never). ``hangup_after``:
        the caller hangs up that many seconds after dialling, wherever they are. ``params``
        are added to the first request (Voice SDK custom parameters, SIP headers).
        ``callback_answers``: whether this caller picks up the app's callbacks (None: drawn
        with ``callback_answer_probability``).
        """
        cfg = self.config
        if not cfg.voice_url:
            raise ValueError("the simulator has no voice_url to call")
        with self.net.lock:
            call_seed = self.rng.getrandbits(64) if seed is None else seed
        rng = random.Random(call_seed)
        kind = caller_type or "young"
        way = channel or cfg.platform_channels.get(platform, "client")
        address_from, address_to, extra = caller_address(rng, platform, way, cfg.helpline_number)
        extra.update(params or {})
        behaviour = CallerBehaviour(
            rng=rng,
            script=None if digits is None else list(digits),
            press_probability=cfg.press_probability,
            preferred_key=cfg.caller_type_keys.get(kind, "1"),
            patience=patience,
            key_delay=cfg.caller_key_delay,
            callback_key=cfg.callback_key,
            callback_answers=callback_answers,
        )
        if cfg.callback_accept_probability > 0:  # no draw at 0: seeded runs stay as they were
            behaviour.accepts_callback = rng.random() < cfg.callback_accept_probability
        with self.net.lock:
            now = self.clock.now()
            leg = Leg(
                net=self.net,
                sid=new_sid("CA"),
                direction="inbound",
                from_=from_ or address_from,
                to=to or address_to,
                role="caller",
                behaviour=behaviour,
                created_at=now,
                date_created=self.clock.rfc2822(),
                extra_params=extra,
                status="ringing",
                url=cfg.voice_url,
                method=cfg.voice_method,
                fallback_url=cfg.fallback_url,
                fallback_method=cfg.fallback_method,
                status_callback=cfg.status_callback_url,
                status_callback_events=frozenset(cfg.status_callback_events),
                platform=platform,
                caller_type=kind,
            )
            self.callers.append(leg)
            if hangup_after is not None:
                leg.timers["script"] = now + hangup_after
        log.info("call_placed call_sid=%s platform=%s", leg.sid, platform)
        self.spawn(leg)
        return CallHandle(self, leg)

    def leg_ended(self, leg: Leg) -> None:
        """Called by a leg's thread once it has ended."""
        log.info(
            "call_ended call_sid=%s role=%s status=%s by=%s",
            leg.sid,
            leg.role,
            leg.status,
            leg.ended_by,
        )

    # -- load -----------------------------------------------------------------------------

    def run_load(
        self,
        rate: float,
        duration: float,
        drain: float = 60.0,
        *,
        platform_mix: dict[str, float] | None = None,
        caller_types: dict[str, float] | None = None,
        patience_mean: float | None = _UNSET,
    ) -> dict[str, Any]:
        """Poisson arrivals at ``rate`` per simulated minute for ``duration`` simulated
        seconds, then wait up to ``drain`` real seconds for the calls to end; the report."""
        cfg = self.config
        mix = normalise(platform_mix or cfg.platform_mix)
        kinds = normalise(caller_types or cfg.caller_types)
        mean = cfg.patience_mean if patience_mean is _UNSET else patience_mean
        with self.net.lock:
            arrivals = plan_arrivals(self.rng, rate, duration, mix, kinds, mean)
        start = self.clock.now()
        handles: list[CallHandle] = []
        for arrival in arrivals:
            delay = self.clock.real(start + arrival.at - self.clock.now())
            if self._stopping.wait(delay):
                break
            handles.append(
                self.place_call(
                    platform=arrival.platform,
                    caller_type=arrival.caller_type,
                    patience=arrival.patience,
                    seed=arrival.seed,
                )
            )
        deadline = time.monotonic() + drain
        for handle in handles:
            handle.leg.done.wait(max(0.0, deadline - time.monotonic()))
        return self.report(h.leg for h in handles)

    def start_load(
        self, rate: float, duration: float, drain: float = 60.0, **kwargs: Any
    ) -> Future[dict[str, Any]]:
        """`run_load` on a background thread; the future's result is the report."""
        future: Future[dict[str, Any]] = Future()

        def work() -> None:
            try:
                future.set_result(self.run_load(rate, duration, drain, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to whoever awaits the future
                future.set_exception(exc)

        threading.Thread(target=work, name="sim-load", daemon=True).start()
        return future

    # -- results --------------------------------------------------------------------------

    def record(self, leg: Leg) -> reports.CallerRecord:
        """The report's view of one caller."""
        with self.net.lock:
            behaviour = leg.behaviour
            callbacks = list(leg.callbacks)
            connected = [cb.connected_at for cb in callbacks if cb.connected_at is not None]
            return reports.CallerRecord(
                sid=leg.sid,
                platform=leg.platform,
                caller_type=leg.caller_type,
                arrived_at=leg.created_at,
                ended_at=leg.ended_at,
                ended_by=leg.ended_by,
                enqueued_at=leg.enqueued_at,
                connected_at=leg.connected_at,
                dial_started_at=leg.dial_started_at,
                talk_seconds=leg.talk_seconds,
                hung_up_in_queue=leg.hung_up_in_queue,
                left_queue_at=leg.left_queue_at,
                app_error=leg.app_error,
                pressed_keys=bool(getattr(behaviour, "presses", 0)),
                pressed_in_queue=leg.pressed_in_queue,
                callbacks_placed=len(callbacks),
                callbacks_answered=sum(1 for cb in callbacks if cb.answered_at is not None),
                callbacks_unanswered=sum(
                    1 for cb in callbacks if not cb.live and cb.answered_at is None
                ),
                callback_connected_at=min(connected) if connected else None,
                callback_talk_seconds=sum(cb.talk_seconds for cb in callbacks),
            )

    def result(self, leg: Leg) -> CallResult:
        """A snapshot of one caller's call."""
        rec = self.record(leg)
        with self.net.lock:
            return CallResult(
                sid=leg.sid,
                platform=leg.platform,
                status=leg.status,
                outcome=reports.outcome(rec),
                transcript=list(leg.transcript),
                queue_results=list(leg.queue_results),
                wait_seconds=reports.wait(rec),
                talk_seconds=round(leg.talk_seconds, 3),
                connected_to=leg.connected_to,
                app_error=leg.app_error,
                ended_by=leg.ended_by,
                end_reason=leg.end_reason,
                events=list(leg.events),
                callbacks=[
                    {
                        "sid": cb.sid,
                        "status": cb.status,
                        "answered": cb.answered_at is not None,
                        "connected": cb.connected_at is not None,
                        "transcript": list(cb.transcript),
                    }
                    for cb in leg.callbacks
                ],
            )

    def counsellor_legs(self, role: str = "counsellor") -> dict[str, int]:
        """How the legs the application placed towards counsellors (or ``role``) went."""
        with self.net.lock:
            legs = [
                leg
                for leg in self.net.calls.values()
                if leg.role == role and leg.direction != "inbound"
            ]
            counts = {
                "placed": len(legs),
                "answered": sum(1 for leg in legs if leg.answered_at is not None),
                "connected": sum(1 for leg in legs if leg.connected_at is not None),
                "no_answer": sum(1 for leg in legs if leg.status == "no-answer"),
                "canceled": sum(1 for leg in legs if leg.status == "canceled"),
                "live": sum(1 for leg in legs if leg.live),
            }
            return counts

    # -- in-call tools: conferences, who hears whom --------------------------------------

    def conference(self, ref: str) -> Conference | None:
        """A conference by SID, else the live one (or latest) with that friendly name."""
        with self.net.lock:
            conf = self.net.conference_by_ref(ref)
            if conf is None:
                named = [c for c in self.net.conferences.values() if c.friendly_name == ref]
                conf = named[-1] if named else None
            return conf

    def who_hears(self, ref: str) -> dict[str, set[str]]:
        """Now, in conference ``ref`` (SID or name): speaker CallSid → CallSids hearing them."""
        conf = self.conference(ref)
        if conf is None:
            return {}
        return {sid: set(heard) for sid, heard in self.net.hearing(conf).items()}

    def legs_to(self, address: str) -> list[Leg]:
        """The outbound legs placed to ``address`` (``client:amina``, ``17``…), oldest first."""
        with self.net.lock:
            return [
                leg
                for leg in self.net.calls.values()
                if leg.to == address and leg.direction != "inbound"
            ]

    def hangup_leg(self, sid: str) -> None:
        """The person on leg ``sid`` (a counsellor, a service, a manager) hangs up now."""
        with self.net.lock:
            leg = self.net.calls[sid]
        leg.set_timer("hangup", self.clock.now())

    def network_counters(self) -> dict[str, int]:
        """Webhook failures, fallbacks used, status callbacks sent and failed, …"""
        with self.net.lock:
            counters = dict(self.net.stats)
        counters["status_callbacks_sent"] = self.dispatcher.sent
        counters["status_callbacks_failed"] = self.dispatcher.failed
        return counters

    def report(self, legs: Iterable[Leg] | None = None) -> dict[str, Any]:
        """The report over ``legs`` (default: every caller placed so far)."""
        chosen = list(self.callers if legs is None else legs)
        return reports.build(
            [self.record(leg) for leg in chosen],
            self.config.service_level_seconds,
            network=self.network_counters(),
            counsellor_legs=self.counsellor_legs(),
            other_legs={
                "service_legs": self.counsellor_legs("service"),
                "supervisor_legs": self.counsellor_legs("supervisor"),
            },
        )

    def report_text(self, legs: Iterable[Leg] | None = None) -> str:
        """`report` as readable text."""
        return reports.render(self.report(legs))
