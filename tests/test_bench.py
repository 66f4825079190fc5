"""The benchmarks' helpers (no timing here: figures belong to ``python -m bench``), and the
worker setting the dispatch benchmark led to."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import redis as redis_lib

from bench import __main__ as bench_main
from bench.acd_bench import CountingRedis, _acd, _fill, _team, one_cycle
from bench.common import percentile, ratio, summary, write_json
from bench.dispatch_bench import TwilioStandIn
from helpline.clock import FrozenClock
from helpline.demo import demo_config_text
from helpline.redis_server import PrivateRedis
from helpline.runtime import build_runtime
from helpline.settings import Settings
from helpline.twilio_client import make_client


def test_percentile_is_the_nearest_rank() -> None:
    """p50 of 1..100 is 50, p99 is 99, p100 the largest and p0 the smallest."""
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.99) == 99
    assert percentile(values, 1.0) == 100
    assert percentile(values, 0.0) == 1


def test_percentile_refuses_no_values_and_a_quantile_out_of_range() -> None:
    """An empty sample or a quantile outside [0, 1] is an error, not a made-up figure."""
    with pytest.raises(ValueError):
        percentile([], 0.5)
    with pytest.raises(ValueError):
        percentile([1.0], 1.5)


def test_summary_gives_p50_p99_mean_and_count() -> None:
    """A summary of 1..200 has p50 100, p99 198, mean 100.5 and n 200."""
    assert summary([float(v) for v in range(1, 201)]) == {
        "p50": 100.0,
        "p99": 198.0,
        "mean": 100.5,
        "n": 200.0,
    }


def test_a_ratio_over_zero_is_none() -> None:
    """A ratio is a division, and None rather than an error when the denominator is zero."""
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(3.0, 0.0) is None


def test_make_bench_runs_every_benchmark_but_the_slow_erlang_one() -> None:
    """`python -m bench` with no name runs acd, dispatch and voice; erlang only when named."""
    assert bench_main.default() == ["acd", "dispatch", "voice"]
    assert "erlang" in bench_main.available()


def test_an_unknown_benchmark_name_is_refused() -> None:
    """A typo in a benchmark name exits with 2 and runs nothing."""
    assert bench_main.main(["nope"]) == 2


def test_figures_are_written_as_json(tmp_path: Path) -> None:
    """Each benchmark's figures land in <dir>/<name>.json, readable back."""
    path = write_json("acd", {"cycle": {"cycles_per_s": 12.5}}, tmp_path / "bench")
    assert path == tmp_path / "bench" / "acd.json"
    assert json.loads(path.read_text()) == {"cycle": {"cycles_per_s": 12.5}}


def test_the_benchmarked_cycle_takes_a_call_from_enqueue_to_the_end_of_wrap_up(
    redis_server: PrivateRedis, redis: redis_lib.Redis
) -> None:
    """One bench cycle answers a caller and leaves the counsellor available again, in 10
    round trips (the count the raw-Redis comparison repeats)."""
    client = CountingRedis.from_url(redis_server.url, decode_responses=True)
    clock = FrozenClock()
    acd = _acd(client, clock)
    _team(acd, clock, 5)
    _fill(acd, 0, 3, clock.now())
    assert one_cycle(acd, clock, 100)  # the first run also loads the scripts
    before = client.round_trips
    assert one_cycle(acd, clock, 101)
    assert client.round_trips - before == 10
    callers = ["CA00000000", "CA00000001", "CA00000002", "CA00000100", "CA00000101"]
    assert [acd.caller_state(sid) for sid in callers].count("answered") == 2
    assert {c.state.value for c in acd.list_counsellors()} == {"available"}
    assert acd.waiting_count() == 3  # each cycle's own caller took the answered one's place


def test_the_twilio_stand_in_records_when_a_counsellor_is_dialled() -> None:
    """A Calls create through the official client reaches the stand-in, which records the
    reservation from the offer's URL and answers a CallSid."""
    standin = TwilioStandIn()
    threading.Thread(target=standin.serve_forever, daemon=True).start()
    try:
        client = make_client("AC" + "0" * 32, "token", standin.url)
        call = client.calls.create(
            to="client:amina", from_="+33185083018", url="http://app.test/voice/offer/42"
        )
        assert call.sid.startswith("CA")
        assert standin.arrived.is_set()
        assert standin.arrival is not None and standin.arrival[2] == "42"
    finally:
        standin.shutdown()
        standin.server_close()


def test_the_worker_runs_jobs_in_its_own_process_without_forking(
    redis_server: PrivateRedis, redis: redis_lib.Redis, tmp_path: Path
) -> None:
    """`helpline worker` runs a job in the worker process itself (no work horse per job: the
    fork made each dispatch 4-6 times slower, docs/performance.md)."""
    config = tmp_path / "helpline.toml"
    config.write_text(demo_config_text())
    env = {
        **os.environ, "REDIS_URL": redis_server.url, "HELPLINE_MODE": "demo",
        "HELPLINE_CONFIG": str(config), "HELPLINE_DATA_DIR": str(tmp_path / "var"),
        "SECRET_KEY": "test-secret-key-0123456789abcdef", "TWILIO_AUTH_TOKEN": "test-token",
    }  # fmt: skip
    job = build_runtime(Settings.from_env(env)).queue.enqueue("os.getpid", result_ttl=60)
    worker = subprocess.Popen(
        [sys.executable, "-m", "helpline", "worker", "--burst"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert worker.wait(timeout=60) == 0
    assert job.latest_result() is not None
    assert job.return_value() == worker.pid
