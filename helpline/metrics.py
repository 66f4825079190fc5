"""Prometheus metrics: webhook count and latency per route (per process, or multiprocess under
gunicorn via PROMETHEUS_MULTIPROC_DIR), and finished calls per platform and outcome (from Redis,
so every process reports the same figures)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from helpline.runtime import Runtime

WEBHOOKS = Counter("helpline_webhook_requests", "Webhook and page requests", ["route", "status"])
LATENCY = Histogram(
    "helpline_webhook_seconds",
    "Time to answer a request",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15),
)


class RedisFiguresCollector:
    """Reads the shared counters from Redis at scrape time."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Any]:
        """Calls per platform and outcome; callers waiting now."""
        calls = CounterMetricFamily(
            "helpline_calls",
            "Finished calls by platform and outcome",
            labels=["platform", "outcome"],
        )
        waiting = GaugeMetricFamily("helpline_waiting_callers", "Callers waiting in the ACD")
        keys = self.runtime.keys
        try:
            counts = self.runtime.redis.hgetall(keys.stats_calls)
            waiting_now = self.runtime.redis.zcard(keys.waiting)
        except Exception:  # noqa: BLE001 - metrics must not fail the scrape
            return
        for field, value in sorted(counts.items()):
            platform, _, outcome = field.partition(":")
            calls.add_metric([platform, outcome], float(value))
        waiting.add_metric([], float(waiting_now))
        yield calls
        yield waiting


def render(runtime: Runtime) -> bytes:
    """The /metrics body."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY  # process-local metrics
        return generate_latest(registry) + generate_latest(_redis_registry(runtime))
    registry.register(RedisFiguresCollector(runtime))  # type: ignore[arg-type]
    return generate_latest(registry)


def _redis_registry(runtime: Runtime) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(RedisFiguresCollector(runtime))  # type: ignore[arg-type]
    return registry
