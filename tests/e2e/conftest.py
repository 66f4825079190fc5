"""End-to-end fixtures: gunicorn, an RQ worker, a private Redis and the simulator, as real
processes and sockets — the same `start_local` that `helpline demo` runs."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from acd.store import Acd
from helpline.demo import LocalProduct, demo_config_text, start_local

SPEED = 20.0  # a simulated minute is three real seconds


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of this folder as end-to-end."""
    for item in items:
        if "tests/e2e" in str(item.path):
            item.add_marker(pytest.mark.e2e)


def e2e_config() -> str:
    """Open around the clock; at most 4 callers waiting; short wrap-up."""
    text = demo_config_text()
    text = re.sub(r"^max_waiting = \d+", "max_waiting = 4", text, flags=re.M)
    return re.sub(r"^wrap_up = \d+", "wrap_up = 20", text, flags=re.M)


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProduct]:
    """The product running against the simulator for a module's tests."""
    local = start_local(
        Path(tmp_path_factory.mktemp("e2e")),
        e2e_config(),
        web_workers=2,
        speed=SPEED,
        seed=7,
        answer_delay=4.0,
        handle_time_mean=60.0,
        handle_time_distribution="exponential",
        no_answer_probability=0.0,
        patience_mean=None,
        counsellors={"client:nobody": {"answers": False}},
    )
    yield local
    local.stop()


def eventually(check: Callable[[], object], timeout: float = 30.0, every: float = 0.1) -> object:
    """Poll ``check`` until it returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(every)
        value = check()
    assert value, f"still {value!r} after {timeout} s"
    return value


@pytest.fixture
def local(product: LocalProduct) -> LocalProduct:
    """The running product with no live call and the helpline's state wiped (RQ's own keys,
    with the worker's periodic sweep, are kept)."""
    from simulator.core import CallHandle

    live = [leg for leg in product.sim.callers if leg.live]
    for leg in live:
        CallHandle(product.sim, leg).hangup()
    for leg in live:
        leg.done.wait(30)
    product.sim.dispatcher.drain(10)  # their last status callbacks, before the wipe
    redis = product.runtime.redis
    keys = list(redis.scan_iter(match=f"{product.runtime.keys.prefix}*", count=1000))
    if keys:
        redis.delete(*keys)
    return product


@pytest.fixture
def team(local: LocalProduct) -> Callable[..., str]:
    """Add a counsellor in a given state (available by default)."""
    acd = Acd(local.runtime)

    def add(cid: str, state: str = "available", reason: str | None = None) -> str:
        acd.add_counsellor(cid, cid.title(), ["psychologist"], ["fr", "en"], f"client:{cid}")
        acd.set_state(cid, state, reason)
        return cid

    return add
