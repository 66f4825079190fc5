"""Several processes share the work, on the Cluster: two web process groups (gunicorn) behind a
round-robin proxy and two RQ workers, ``REDIS_URL=redis+cluster://…`` and RQ on a plain server
(``RQ_REDIS_URL``), answering simulated calls. Nobody is offered twice at once, every caller is
answered exactly once, and both web processes and both workers took part."""

from __future__ import annotations

import http.client
import itertools
import os
import re
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from rq import Worker

from acd.store import Acd
from helpline.demo import demo_config_text
from helpline.processes import Stack, free_port, product_env
from helpline.redis_cluster import LocalCluster
from helpline.redis_server import PrivateRedis
from helpline.runtime import build_runtime
from helpline.settings import Settings

pytestmark = pytest.mark.slow

CALLS = 8
TEAM = ("amina", "bruno", "chloe")
TIMEOUT = 120.0  # real seconds for every call to end (the machine may be busy)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class RoundRobin(ThreadingHTTPServer):
    """A reverse proxy sending each request to the next backend in turn (as a load balancer
    in front of several web process groups would); counts the requests each one got."""

    daemon_threads = True

    def __init__(self, backends: list[str]) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.backends = backends
        self.hits = dict.fromkeys(backends, 0)
        self._next = itertools.cycle(backends)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def pick(self) -> str:
        with self._lock:
            backend = next(self._next)
            self.hits[backend] += 1
            return backend


class _Forward(BaseHTTPRequestHandler):
    server: RoundRobin

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        target = urlsplit(self.server.pick())
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
        finally:
            conn.close()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _forward

    def log_message(self, *args: Any) -> None:  # quiet
        pass


@pytest.fixture
def proxy() -> Iterator[RoundRobin]:
    """Two backend ports behind one public URL."""
    server = RoundRobin([f"http://127.0.0.1:{free_port()}" for _ in range(2)])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def replay_never_double_books(events: list[dict[str, str]]) -> int:
    """Walk the stream: no counsellor or caller ever in two open offers/calls; offers made."""
    by_counsellor: dict[str, str] = {}
    by_caller: dict[str, str] = {}
    parties: dict[str, tuple[str, str]] = {}
    for e in events:
        what, rid = e["what"], e.get("reservation")
        if what == "offered":
            assert e["counsellor"] not in by_counsellor and e["call"] not in by_caller, e
            by_counsellor[e["counsellor"]] = by_caller[e["call"]] = rid or ""
            parties[rid or ""] = (e["call"], e["counsellor"])
        elif what == "accepted":
            by_caller.pop(e["call"], None)
        elif rid and what in ("offer_failed", "call_ended", "caller_gone"):  # the ACD's ends
            sid, cid = parties[rid]
            assert by_counsellor.pop(cid) == rid
            by_caller.pop(sid, None)
    return len(parties)


def test_two_web_groups_and_two_workers_share_the_calls_on_a_cluster(
    tmp_path: Path, cluster: LocalCluster, redis_server: PrivateRedis, proxy: RoundRobin
) -> None:
    """Every caller answered once, never two offers at once, every process did some of it."""
    from simulator.config import SimConfig
    from simulator.core import Simulator

    cluster.flushall()
    config = tmp_path / "helpline.toml"
    config.write_text(re.sub(r"^wrap_up = \d+", "wrap_up = 5", demo_config_text(), flags=re.M))
    sim = Simulator(
        SimConfig(
            voice_url=f"{proxy.url}/voice/incoming",
            status_callback_url=f"{proxy.url}/voice/status",
            fallback_url=f"{proxy.url}/voice/fallback",
            auth_token="local-" + secrets.token_hex(16),
            speed=40.0,
            seed=11,
            answer_delay=2.0,
            handle_time_mean=20.0,
            handle_time_distribution="exponential",
            no_answer_probability=0.0,
            patience_mean=None,
        )
    )
    sim.start()
    env = product_env(
        os.environ,
        REDIS_URL=cluster.url,
        RQ_REDIS_URL=redis_server.url,
        HELPLINE_MODE="demo",
        HELPLINE_CONFIG=str(config),
        HELPLINE_DATA_DIR=str(tmp_path),
        PUBLIC_BASE_URL=proxy.url,
        SECRET_KEY=secrets.token_hex(32),
        **sim.app_environment(),
    )
    runtime = build_runtime(Settings.from_env(env))
    runtime.rq_redis.flushall()
    stack = Stack(env, tmp_path / "logs")
    try:
        for i, backend in enumerate(proxy.backends):
            port = str(urlsplit(backend).port)
            stack.spawn(f"web{i}", "serve", "--host", "127.0.0.1", "--port", port, "--workers", "1")
        for i in range(2):
            stack.start_worker(f"worker{i}")
        from helpline.processes import wait_http

        for i, backend in enumerate(proxy.backends):
            wait_http(f"{backend}/healthz", stack.children[i])
        acd = Acd(runtime)
        for cid in TEAM:
            acd.add_counsellor(cid, cid.title(), ["psychologist"], ["fr", "en"], f"client:{cid}")
            acd.set_state(cid, "available")

        calls = [sim.place_call(platform="phone", digits=[]) for _ in range(CALLS)]
        results = [call.wait(TIMEOUT) for call in calls]
        workers = Worker.all(queue=runtime.queue)
        done_by = [w.successful_job_count for w in workers]
    finally:
        sim.stop()
        stack.stop()

    assert [r.outcome for r in results] == ["answered"] * CALLS
    assert all(r.connected_to in TEAM for r in results)
    events = [e for _, e in runtime.redis.xrange(runtime.keys.events)]
    assert replay_never_double_books(events) >= CALLS
    accepted = [e["call"] for e in events if e["what"] == "accepted"]
    assert sorted(accepted) == sorted(r.sid for r in results)  # each caller answered once
    outcomes = [runtime.redis.hget(runtime.keys.call(r.sid), "outcome") for r in results]
    assert outcomes == ["answered"] * CALLS
    assert len(done_by) == 2 and min(done_by) > 0, done_by  # both workers ran jobs
    assert min(proxy.hits.values()) > CALLS, proxy.hits  # both web groups answered webhooks
