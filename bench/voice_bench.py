"""``/voice/incoming``: latency in process (the app's own time), then throughput and latency
over HTTP under gunicorn next to a bare Flask endpoint returning constant TwiML with the same
gunicorn settings (2 gthread workers x 4 threads, as ``helpline serve``), with one client and
with several client processes at once; and the Enqueue waitUrl in process.

Each request is a new call (a fresh CallSid) signed like Twilio, on a line open around the clock,
so it does the real work: signature check, hours, call record creation (Lua), TwiML rendering.
Both servers run at once and each phase alternates between them in rounds, so the ratios
(product / bare) are taken within the same run under the same load. Run:
``python -m bench voice``.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis as redis_lib
import requests

from acd.model import WaitingCaller
from acd.store import Acd
from bench.common import ratio, summary
from helpline.demo import demo_config_text
from helpline.processes import free_port, wait_http
from helpline.redis_server import start_private
from helpline.signature import sign
from ivr.twiml import QUEUE_WAIT_PATH

REQUESTS = 2_000  # per phase (one client; all clients together)
WARMUP = 200
CLIENTS = 4  # client processes of the concurrent phase
ROUNDS = 5  # each phase alternates bare and product in this many rounds
WAITING = 1_000  # callers in the queue for the waitUrl figures
TOKEN = "bench-auth-token-0123456789"


def _form(n: int) -> dict[str, str]:
    return {
        "CallSid": f"CA{n:032x}", "AccountSid": "AC" + "0" * 32, "From": "+33612345678",
        "To": "+33185083018", "Direction": "inbound", "CallStatus": "ringing",
    }  # fmt: skip


def _env(tmp: Path, redis_url: str, public: str) -> dict[str, str]:
    config = tmp / "bench.toml"
    # room for the waitUrl figures' WAITING callers (the packaged limit is 40)
    text = re.sub(r"^max_waiting = \d+", "max_waiting = 100000", demo_config_text(), flags=re.M)
    config.write_text(text)
    return {
        **os.environ, "REDIS_URL": redis_url, "HELPLINE_MODE": "demo",
        "HELPLINE_CONFIG": str(config), "TWILIO_AUTH_TOKEN": TOKEN,
        "SECRET_KEY": "bench-secret-key-0123456789abcdef", "PUBLIC_BASE_URL": public,
        "HELPLINE_DATA_DIR": str(tmp / "var"),
    }  # fmt: skip


def in_process(tmp: Path, redis_url: str) -> dict[str, Any]:
    """The app through Flask's test client: no sockets, the app's own work only (ms)."""
    os.environ.update(_env(tmp, redis_url, "https://helpline.bench"))
    from helpline.app import create_app  # after the environment is set

    app = create_app()
    client = app.test_client()
    logging.getLogger().setLevel(logging.WARNING)  # one log line per call would dominate
    url = "https://helpline.bench/voice/incoming"
    samples = []
    for n in range(WARMUP + REQUESTS):
        form = _form(n + 1)
        headers = {"X-Twilio-Signature": sign(TOKEN, url, form)}
        start = time.perf_counter()
        response = client.post("/voice/incoming", data=form, headers=headers)
        elapsed = time.perf_counter() - start
        assert response.status_code == 200, response.status_code
        if n >= WARMUP:
            samples.append(elapsed * 1000)
    runtime = app.extensions["helpline"]
    record = runtime.keys.call(_form(WARMUP + 1)["CallSid"])
    figures = summary(samples)
    figures["call_record_bytes"] = float(
        redis_lib.Redis.from_url(redis_url).memory_usage(record, samples=0) or 0
    )
    figures["wait"] = wait_url(runtime, client)
    return figures


def wait_url(runtime: Any, client: Any) -> dict[str, Any]:
    """The Enqueue waitUrl, which Twilio requests again for every waiting caller each time
    the hold music ends: with an announcement due (position, estimated wait: the slot is new)
    and without (music only), for WAITING callers of which one counsellor serves (ms)."""
    acd = Acd(runtime)
    acd.add_counsellor("bench1", "Bench", ["psychologist"], ["fr"], "client:bench1")
    acd.set_state("bench1", "available")  # no worker runs here: nobody is reserved
    sids = [_form(n + 1)["CallSid"] for n in range(WAITING)]
    for sid in sids:
        acd.enqueue(
            WaitingCaller(
                call_sid=sid, platform="phone", caller_type="young", language="fr",
                skill="psychologist", priority=0, enqueued_at=runtime.clock.now(),
            )
        )  # fmt: skip
    every = runtime.config.acd.announce_every
    url = "https://helpline.bench" + QUEUE_WAIT_PATH
    samples: dict[str, list[float]] = {"announce": [], "music": []}
    for n in range(REQUESTS // 2):
        sid = sids[(n * 7919) % WAITING]
        slot = n // WAITING + 1  # a new announcement slot on each visit of the same caller
        for kind, queue_time in (("announce", slot * every), ("music", slot * every + 1)):
            form = {"CallSid": sid, "QueueSid": "QU" + "a" * 32, "QueueTime": str(queue_time)}
            headers = {"X-Twilio-Signature": sign(TOKEN, url, form)}
            start = time.perf_counter()
            response = client.post(QUEUE_WAIT_PATH, data=form, headers=headers)
            samples[kind].append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.status_code
            assert (b"<Say" in response.data) == (kind == "announce"), response.data
    return {kind: summary(values) for kind, values in samples.items()}


def _client_run(url: str, first: int, count: int, barrier: Any, out: Any) -> None:
    """One client: ``count`` new calls in sequence; its latencies (ms) and wall time."""
    session = requests.Session()
    for n in range(first, first + 20):  # its own warm-up: the connection, the server's threads
        form = _form(n)
        session.post(url, data=form, headers={"X-Twilio-Signature": sign(TOKEN, url, form)})
    if barrier is not None:
        barrier.wait()
    samples = []
    wall = time.perf_counter()
    for n in range(first + 20, first + 20 + count):
        form = _form(n)
        headers = {"X-Twilio-Signature": sign(TOKEN, url, form)}
        start = time.perf_counter()
        response = session.post(url, data=form, headers=headers, timeout=10)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    out.put((samples, time.perf_counter() - wall))


def _phase(url: str, clients: int, count: int, offset: int) -> tuple[list[float], float]:
    """``count`` calls from ``clients`` processes started together: latencies (ms), wall (s)."""
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(clients) if clients > 1 else None
    out = ctx.Queue()
    each = count // clients
    procs = [
        ctx.Process(target=_client_run, args=(url, offset + i * 100_000, each, barrier, out))
        for i in range(clients)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    return [s for got, _ in results for s in got], max(wall for _, wall in results)


@contextlib.contextmanager
def _gunicorn(tmp: Path, redis_url: str, module: str) -> Iterator[str]:
    """Gunicorn as `helpline serve` runs it (2 gthread workers x 4 threads); its URL."""
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    args = [
        sys.executable, "-m", "gunicorn", module, "--bind", f"127.0.0.1:{port}",
        "--workers", "2", "--worker-class", "gthread", "--threads", "4",
    ]  # fmt: skip
    server = subprocess.Popen(
        args, env=_env(tmp, redis_url, public), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_http(f"{public}/healthz", timeout=90)
        yield f"{public}/voice/incoming"
    finally:
        server.terminate()
        server.wait(10)


def over_http(tmp: Path, redis_url: str) -> dict[str, Any]:
    """Both servers up at once; one client, then CLIENTS client processes, each phase in
    ROUNDS rounds alternating bare and product, so that load swings hit both alike."""
    modules = {"bare": "bench.bare_app:app", "product": "helpline.wsgi:app"}
    figures: dict[str, Any] = {name: {} for name in modules}
    with contextlib.ExitStack() as stack:
        urls = {n: stack.enter_context(_gunicorn(tmp, redis_url, m)) for n, m in modules.items()}
        for p, (phase, clients) in enumerate((("one", 1), ("many", CLIENTS))):
            samples: dict[str, list[float]] = {name: [] for name in modules}
            wall = dict.fromkeys(modules, 0.0)
            for r in range(ROUNDS):
                for k, name in enumerate(modules):
                    offset = (k + 1) * 100_000_000 + p * 10_000_000 + r * 1_000_000
                    got, seconds = _phase(urls[name], clients, REQUESTS // ROUNDS, offset)
                    samples[name] += got
                    wall[name] += seconds
            for name in modules:
                f = summary(samples[name])
                f["clients"] = clients
                f["req_per_s"] = len(samples[name]) / wall[name]
                figures[name][phase] = f
    return figures


def run() -> dict[str, Any]:
    """Measure in process, then both servers over HTTP, on one private Redis; the figures."""
    with tempfile.TemporaryDirectory(prefix="bench-voice-") as name:
        tmp = Path(name)
        redis = start_private(tmp / "redis")
        try:
            figures: dict[str, Any] = {"in_process_ms": in_process(tmp, redis.url)}
            figures.update(over_http(tmp, redis.url))
        finally:
            redis.stop()
    for phase in ("one", "many"):
        bare, product = figures["bare"][phase], figures["product"][phase]
        figures[f"ratio_{phase}"] = {
            "throughput_bare_over_product": ratio(bare["req_per_s"], product["req_per_s"]),
            "p50_product_over_bare": ratio(product["p50"], bare["p50"]),
            "p99_product_over_bare": ratio(product["p99"], bare["p99"]),
        }
    return figures


def render(figures: dict[str, Any]) -> str:
    """The printed table."""
    ip = figures["in_process_ms"]
    lines = [
        f"/voice/incoming, {REQUESTS} new calls per server and phase, in {ROUNDS} rounds "
        "alternating the servers (each client warms up first)",
        f"in process (Flask test client, real Redis): p50 {ip['p50']:.2f} ms, "
        f"p99 {ip['p99']:.2f} ms; a call record takes {ip['call_record_bytes']:.0f} bytes",
        f"waitUrl in process, {WAITING:,} waiting: announcement p50 "
        f"{ip['wait']['announce']['p50']:.2f} ms, p99 {ip['wait']['announce']['p99']:.2f} ms; "
        f"music only p50 {ip['wait']['music']['p50']:.2f} ms, "
        f"p99 {ip['wait']['music']['p99']:.2f} ms",
        f"{'gunicorn 2 gthread workers x 4 threads':<40}{'clients':>8}{'req/s':>9}"
        f"{'p50 ms':>9}{'p99 ms':>9}",
    ]
    for phase in ("one", "many"):
        for name in ("bare", "product"):
            f = figures[name][phase]
            label = "bare Flask, constant TwiML" if name == "bare" else "/voice/incoming (product)"
            lines.append(
                f"{label:<40}{f['clients']:>8}{f['req_per_s']:>9,.0f}{f['p50']:>9.2f}"
                f"{f['p99']:>9.2f}"
            )
        r = figures[f"ratio_{phase}"]
        lines.append(
            f"{'  ratio (throughput bare/product; p50, p99 product/bare)':<57}"
            f"{r['throughput_bare_over_product']:>9.2f}{r['p50_product_over_bare']:>9.2f}"
            f"{r['p99_product_over_bare']:>9.2f}"
        )
    return "\n".join(lines)


def main() -> dict[str, Any]:
    """Run, print, return the figures."""
    figures = run()
    print(render(figures))
    return figures


if __name__ == "__main__":
    main()
