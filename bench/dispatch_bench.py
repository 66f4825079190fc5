"""Dispatch latency: from "counsellor available" to "counsellor dialled", through the real path.

A caller waits; a counsellor on break becomes available the way the console does it
(`Acd.set_state` then `acd.jobs.request_dispatch`); the RQ worker (a child process, with its
scheduler) runs the ``dispatch`` job, which reserves the pair and enqueues ``place_offer``,
which creates the counsellor's call through the official twilio client pointed at
``TWILIO_API_BASE_URL``: here a minimal HTTP server in this process that records when each
``Calls`` create request arrives. Latency = arrival minus the instant before ``set_state``. The
offer is then cancelled (``offer_failed(canceled)``: the caller keeps their place, the
counsellor goes back on break) and the next sample starts after a random pause, so samples do
not line up with the worker's periodic sweep.

Two workers are measured one after the other in the same run: ``helpline worker`` (the product:
RQ's `SimpleWorker`, jobs run in the worker process) and RQ's default forking `Worker` (a work
horse forked per job: the product before the fix, ``bench/fork_worker.py``).

Breakdown (from the ACD's event stream, wall-clock ms): available → ``offered`` (the dispatch
job reserved), ``offered`` → the REST request (the ``place_offer`` job), the REST request →
``offer_placed`` (the job stored the leg).
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from acd.jobs import request_dispatch
from acd.model import OfferFailure, WaitingCaller
from acd.store import Acd
from bench.common import ratio, summary
from helpline.demo import demo_config_text
from helpline.processes import Child, free_port, product_env
from helpline.redis_server import start_private
from helpline.runtime import Runtime, build_runtime
from helpline.settings import Settings

SAMPLES = 150
COUNSELLOR = "bench1"


class TwilioStandIn(ThreadingHTTPServer):
    """Answers the REST calls the worker makes; remembers when each Calls create arrived."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.arrived = threading.Event()
        self.arrival: tuple[float, float, str] | None = None  # perf_counter, time, rid
        self.creates = 0

    @property
    def url(self) -> str:
        """Base URL for TWILIO_API_BASE_URL."""
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: TwilioStandIn

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        """Calls create: record the arrival; any other POST (ending a leg): completed."""
        now = time.perf_counter(), time.time()
        length = int(self.headers.get("Content-Length", 0))
        form = parse_qs(self.rfile.read(length).decode())
        if self.path.endswith("/Calls.json"):
            self.server.creates += 1
            rid = form.get("Url", [""])[0].rsplit("/", 1)[-1]
            sid = f"CA{self.server.creates:032x}"
            self._answer(201, {"sid": sid, "status": "queued"})
            self.server.arrival = (now[0], now[1], rid)
            self.server.arrived.set()
            return
        sid = self.path.rsplit("/", 1)[-1].removesuffix(".json")
        self._answer(200, {"sid": sid, "status": "completed"})


def _config(tmp: Path) -> Path:
    """The packaged configuration, open all day, offers that never send anyone to break."""
    text = re.sub(r"^max_misses = \d+", "max_misses = 1000", demo_config_text(), flags=re.M)
    path = tmp / "helpline.toml"
    path.write_text(text)
    return path


def _events_since(runtime: Runtime, last_id: str) -> tuple[str, list[dict[str, str]]]:
    entries = runtime.redis.xrange(runtime.keys.events, min=f"({last_id}", max="+")
    if not entries:
        return last_id, []
    return entries[-1][0], [fields for _, fields in entries]


def measure(runtime: Runtime, standin: TwilioStandIn, samples: int) -> dict[str, Any]:
    """Run ``samples`` available → dialled measurements; the figures (ms)."""
    acd = Acd(runtime)
    acd.add_counsellor(COUNSELLOR, "Bench", ["psychologist"], ["fr"], f"client:{COUNSELLOR}")
    acd.set_state(COUNSELLOR, "break", "bench")
    acd.enqueue(
        WaitingCaller(
            call_sid="CA" + "b" * 32, platform="phone", caller_type="young", language="fr",
            skill="psychologist", priority=0, enqueued_at=runtime.clock.now(),
        )
    )  # fmt: skip
    rng = random.Random(3)
    total: list[float] = []
    to_offered: list[float] = []
    to_rest: list[float] = []
    to_placed: list[float] = []
    last_id = "0-0"
    for _ in range(samples):
        last_id, _ = _events_since(runtime, last_id)
        standin.arrived.clear()
        wall0, t0 = time.time(), time.perf_counter()
        acd.set_state(COUNSELLOR, "available")
        request_dispatch(runtime)
        if not standin.arrived.wait(30):
            raise RuntimeError("the worker never dialled the counsellor")
        assert standin.arrival is not None
        arrived, arrived_wall, rid = standin.arrival
        total.append((arrived - t0) * 1000)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            reservation = acd.get_reservation(rid)
            if reservation is not None and reservation.counsellor_call_sid:
                break
            time.sleep(0.002)
        last_id, events = _events_since(runtime, last_id)
        at = {e["what"]: int(e["at"]) / 1000 for e in events if e.get("reservation") == rid}
        if "offered" in at and "offer_placed" in at:
            to_offered.append((at["offered"] - wall0) * 1000)
            to_rest.append((arrived_wall - at["offered"]) * 1000)
            to_placed.append((at["offer_placed"] - arrived_wall) * 1000)
        acd.offer_failed(rid, OfferFailure.CANCELED)  # the caller keeps their place
        acd.set_state(COUNSELLOR, "break", "bench")
        time.sleep(rng.uniform(0.05, 0.25))
    return {
        "available_to_dialled_ms": summary(total),
        "available_to_offered_ms": summary(to_offered),
        "offered_to_rest_request_ms": summary(to_rest),
        "rest_request_to_offer_placed_ms": summary(to_placed),
    }


WORKERS = {
    "product": ["-m", "helpline", "worker"],  # what production runs
    "forking": ["-m", "bench.fork_worker"],  # RQ's default Worker, as before the fix
}


def run_worker(kind: str, samples: int = SAMPLES) -> dict[str, Any]:
    """Start Redis, the stand-in and one worker of ``kind``; measure; stop everything."""
    with tempfile.TemporaryDirectory(prefix="bench-dispatch-") as name:
        tmp = Path(name)
        redis = start_private(tmp / "redis")
        standin = TwilioStandIn()
        threading.Thread(target=standin.serve_forever, daemon=True).start()
        worker: Child | None = None
        try:
            env = product_env(
                os.environ,
                REDIS_URL=redis.url,
                HELPLINE_MODE="demo",
                HELPLINE_CONFIG=str(_config(tmp)),
                HELPLINE_DATA_DIR=str(tmp / "var"),
                PUBLIC_BASE_URL=f"http://127.0.0.1:{free_port()}",
                SECRET_KEY="bench-secret-key-0123456789abcdef",
                TWILIO_AUTH_TOKEN="bench-auth-token-0123456789",
                TWILIO_API_BASE_URL=standin.url,
            )
            runtime = build_runtime(Settings.from_env(env))
            log_path = tmp / f"{kind}.log"
            with log_path.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, *WORKERS[kind]], env=env, stdout=out,
                    stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
            worker = Child(kind, process, log_path)
            deadline = time.monotonic() + 90
            while b"Listening on" not in log_path.read_bytes():
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"worker did not start:\n{worker.log_tail()}")
                time.sleep(0.1)
            return measure(runtime, standin, samples)
        finally:
            if worker is not None:
                worker.stop()
            standin.shutdown()
            standin.server_close()
            redis.stop()


def run(samples: int = SAMPLES) -> dict[str, Any]:
    """Both workers, one after the other; the figures and the forking/product ratios."""
    figures: dict[str, Any] = {kind: run_worker(kind, samples) for kind in WORKERS}
    product = figures["product"]["available_to_dialled_ms"]
    forking = figures["forking"]["available_to_dialled_ms"]
    figures["ratio_forking_over_product"] = {
        "p50": ratio(forking["p50"], product["p50"]),
        "p99": ratio(forking["p99"], product["p99"]),
    }
    return figures


def main() -> dict[str, Any]:
    """Run, print, return the figures."""
    print(f"dispatch: counsellor available → counsellor dialled (ms), {SAMPLES} samples per worker")
    figures = run()
    for kind, label in (("product", "helpline worker"), ("forking", "RQ forking Worker (before)")):
        print(f"  {label}")
        for name, s in figures[kind].items():
            print(f"    {name:<34} p50 {s['p50']:7.1f}  p99 {s['p99']:7.1f}  mean {s['mean']:7.1f}")
    r = figures["ratio_forking_over_product"]
    print(f"  forking / product: p50 x{r['p50']:.1f}, p99 x{r['p99']:.1f}")
    return figures


if __name__ == "__main__":
    main()
