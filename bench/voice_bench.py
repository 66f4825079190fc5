"""``/voice/incoming`` latency: in process (the app's own time), and over HTTP under gunicorn
next to a bare Flask endpoint returning constant TwiML with the same gunicorn settings.

Each request is a new call (a fresh CallSid) signed like Twilio, on a line open around the clock,
so it does the real work: signature check, hours, call record creation (Lua), TwiML rendering.
Run: ``python -m bench voice`` (about a minute on 2 cores).
"""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from helpline.demo import demo_config_text
from helpline.processes import free_port, wait_http
from helpline.redis_server import start_private
from helpline.signature import sign

REQUESTS = 2_000
WARMUP = 200
TOKEN = "bench-auth-token-0123456789"


def _form(n: int) -> dict[str, str]:
    return {
        "CallSid": f"CA{n:032x}", "AccountSid": "AC" + "0" * 32, "From": "+33612345678",
        "To": "+33185083018", "Direction": "inbound", "CallStatus": "ringing",
    }  # fmt: skip


def _summary(name: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p50 = statistics.median(ms)
    p99 = ms[int(len(ms) * 0.99) - 1]
    rate = len(ms) / (sum(ms) / 1000)
    return f"{name:<44} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   {rate:7.0f} req/s (1 client)"


def _env(tmp: Path, redis_url: str, public: str) -> dict[str, str]:
    config = tmp / "bench.toml"
    config.write_text(demo_config_text())
    return {
        **os.environ, "REDIS_URL": redis_url, "HELPLINE_MODE": "demo",
        "HELPLINE_CONFIG": str(config), "TWILIO_AUTH_TOKEN": TOKEN,
        "SECRET_KEY": "bench-secret-key-0123456789abcdef", "PUBLIC_BASE_URL": public,
        "HELPLINE_DATA_DIR": str(tmp / "var"),
    }  # fmt: skip


def in_process(tmp: Path, redis_url: str) -> list[float]:
    """The app through Flask's test client: no sockets, the app's own work only."""
    os.environ.update(_env(tmp, redis_url, "https://helpline.bench"))
    from helpline.app import create_app  # after the environment is set

    client = create_app().test_client()
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
            samples.append(elapsed)
    return samples


def over_http(tmp: Path, redis_url: str, module: str, offset: int) -> list[float]:
    """Gunicorn (2 gthread workers, as `helpline serve`) and one client on loopback."""
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
        if module.startswith("helpline"):
            wait_http(f"{public}/healthz")
        else:
            time.sleep(2)
        session = requests.Session()
        url = f"{public}/voice/incoming"
        samples = []
        for n in range(WARMUP + REQUESTS):
            form = _form(offset + n + 1)
            headers = {"X-Twilio-Signature": sign(TOKEN, url, form)}
            start = time.perf_counter()
            response = session.post(url, data=form, headers=headers, timeout=10)
            elapsed = time.perf_counter() - start
            assert response.status_code == 200, response.status_code
            if n >= WARMUP:
                samples.append(elapsed)
        return samples
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    """Print the three figures."""
    with tempfile.TemporaryDirectory(prefix="bench-voice-") as name:
        tmp = Path(name)
        redis = start_private(tmp / "redis")
        try:
            print(f"/voice/incoming, {REQUESTS} new calls each, after {WARMUP} warm-up requests")
            print(
                _summary("in process (Flask test client, real Redis)", in_process(tmp, redis.url))
            )
            print(_summary("gunicorn: bare Flask, constant TwiML", over_http(
                tmp, redis.url, "bench.bare_app:app", 10_000)))  # fmt: skip
            print(_summary("gunicorn: /voice/incoming (the product)", over_http(
                tmp, redis.url, "helpline.wsgi:app", 20_000)))  # fmt: skip
        finally:
            redis.stop()
