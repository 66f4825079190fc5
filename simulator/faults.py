"""Faults the simulated network can inject: a failing, slow or silent REST API, and status
callbacks sent twice, late or out of order.

Twilio itself does all of these now and then (5xx answers, requests that time out after the
call was created, callbacks retried or overtaking each other), so the application must take
them in its stride; `python -m faults` (see docs/reliability.md) plays them under load.

Everything is off by default. The settings live in `SimConfig.faults` (a `FaultConfig`) and
are read at every request and callback, so a running simulator can have faults switched on and
off (``sim.config.faults.rest_error_rate = 0.3``). Durations here are **real** seconds, like
network latencies and the application's HTTP timeouts, not simulated ones.

The hooks are small on purpose: `install(app, sim)` (called where the REST app is built)
registers `RestFaults` as a ``before_request``/``after_request`` pair and hands `CallbackFaults`
to the status-callback dispatcher, which passes each callback through `CallbackFaults.take`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, request

if TYPE_CHECKING:
    from simulator.core import Simulator

Callback = tuple[str, str, dict[str, str]]  # url, method, params: what the dispatcher sends
Put = Callable[[Callback], None]

#: A held-back callback is let go at the latest after this many real seconds.
REORDER_MAX_HOLD_S = 2.0
ERROR_STATUSES = (500, 502, 503, 504)
RATES = ("rest_error_rate", "rest_timeout_rate", "callback_duplicate_rate", "callback_reorder_rate")


@dataclass
class FaultConfig:
    """What goes wrong, and how often (rates are probabilities per request or callback)."""

    rest_error_rate: float = 0.0  # REST requests answered ``rest_error_status`` (not processed)
    rest_error_status: int = 503
    rest_timeout_rate: float = 0.0  # REST requests processed, answer held ``rest_timeout_s``
    rest_timeout_s: float = 15.0  # longer than the app's Twilio client timeout (10 s)
    rest_delay_s: float = 0.0  # every REST answer this much later (a slow API)
    callback_duplicate_rate: float = 0.0  # status callbacks sent twice
    callback_delay_s: float = 0.0  # status callbacks sent up to this much later (uniform)
    callback_reorder_rate: float = 0.0  # callbacks held back until the next one has gone
    seed: int | None = None
    counters: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def validate(self) -> None:
        """Refuse settings that cannot work, naming the problem."""
        for name in RATES:
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"faults.{name} must be between 0 and 1")
        for name in ("rest_timeout_s", "rest_delay_s", "callback_delay_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"faults.{name} must not be negative")
        if self.rest_error_status not in ERROR_STATUSES:
            raise ValueError(f"faults.rest_error_status must be one of {ERROR_STATUSES}")

    def clear(self) -> None:
        """Switch every fault off (the counters stay)."""
        for name in (*RATES, "rest_delay_s", "callback_delay_s"):
            setattr(self, name, 0.0)

    def count(self, what: str) -> None:
        """One more fault of kind ``what`` injected."""
        self.counters[what] = self.counters.get(what, 0) + 1


class RestFaults:
    """The REST side: errors and slowness before a request is served, timeouts after."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.lock = threading.Lock()

    def _draw(self) -> float:
        with self.lock:
            return self.rng.random()

    def before(self) -> Response | None:
        """A 5xx in Twilio's error shape instead of serving the request, or a delay."""
        cfg = self.config
        if cfg.rest_delay_s > 0:
            cfg.count("rest_delayed")
            time.sleep(cfg.rest_delay_s)
        if cfg.rest_error_rate and self._draw() < cfg.rest_error_rate:
            cfg.count("rest_errors")
            status = cfg.rest_error_status
            body = {
                "code": 20500,
                "message": "Internal Server Error (injected)",
                "more_info": "https://www.twilio.com/docs/errors/20500",
                "status": status,
            }
            response = jsonify(body)
            response.status_code = status
            return response
        request.environ["simulator.fault_hold"] = bool(
            cfg.rest_timeout_rate and self._draw() < cfg.rest_timeout_rate
        )
        return None

    def after(self, response: Response) -> Response:
        """Hold the answer of a request that was served: the client gives up waiting, although
        the resource was created or changed (the worst kind of timeout)."""
        if request.environ.get("simulator.fault_hold"):
            self.config.count("rest_timeouts")
            time.sleep(self.config.rest_timeout_s)
        return response


class CallbackFaults:
    """The callback side: duplicates, delays and reordering, in front of the dispatcher."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self.rng = random.Random(None if config.seed is None else config.seed + 1)
        self.lock = threading.Lock()
        self.pending: dict[int, tuple[threading.Timer, Callback]] = {}  # token → timer, item
        self.held: list[int] = []  # tokens of callbacks waiting to be overtaken
        self.tokens = 0

    def take(self, item: Callback, put: Put) -> bool:
        """Deal with one callback; False lets the dispatcher queue it as usual."""
        cfg = self.config
        with self.lock:
            rates = cfg.callback_duplicate_rate or cfg.callback_reorder_rate
            idle = not (rates or cfg.callback_delay_s or self.pending)
            if idle:
                return False
            copies = 1
            if cfg.callback_duplicate_rate and self.rng.random() < cfg.callback_duplicate_rate:
                cfg.count("callbacks_duplicated")
                copies = 2
            hold = bool(cfg.callback_reorder_rate) and self.rng.random() < cfg.callback_reorder_rate
            delays = [self.rng.uniform(0, cfg.callback_delay_s) for _ in range(copies)]
            overtaken, self.held = self.held, []
        for n, delay in enumerate(delays):
            if hold and n == 0:
                cfg.count("callbacks_reordered")
                token = self._later(item, put, REORDER_MAX_HOLD_S)
                with self.lock:
                    self.held.append(token)
            elif delay > 0:
                cfg.count("callbacks_delayed")
                self._later(item, put, delay)
            else:
                put(item)
        for token in overtaken:  # this callback went first: now send them
            self._fire(token, put)
        return True

    def _later(self, item: Callback, put: Put, delay: float) -> int:
        with self.lock:
            self.tokens += 1
            token = self.tokens
            timer = threading.Timer(delay, self._fire, (token, put))
            timer.daemon = True
            self.pending[token] = (timer, item)
        timer.start()
        return token

    def _fire(self, token: int, put: Put) -> None:
        """Send one delayed or held-back callback, once."""
        with self.lock:
            entry = self.pending.pop(token, None)
            if token in self.held:
                self.held.remove(token)
        if entry is not None:
            entry[0].cancel()
            put(entry[1])

    def flush(self, put: Put) -> None:
        """Send at once everything held back or delayed (the dispatcher is draining)."""
        with self.lock:
            tokens = sorted(self.pending)
        for token in tokens:
            self._fire(token, put)


def install(app: Flask, sim: Simulator) -> None:
    """Put the faults of ``sim.config.faults`` in front of its REST API and its callbacks."""
    config: FaultConfig = sim.config.faults
    rest = RestFaults(config)
    app.before_request(rest.before)  # after authentication: registered later
    app.after_request(rest.after)
    sim.dispatcher.faults = CallbackFaults(config)


def counters(sim: Any) -> dict[str, int]:
    """How many faults of each kind a simulator injected so far."""
    return dict(sim.config.faults.counters)
