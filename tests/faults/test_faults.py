"""Fault runs, CI size: each scenario of `python -m faults` played briefly against the real
processes (gunicorn, an RQ worker under a supervisor, Redis with AOF, the simulator), then
the invariants: no caller lost, none without an outcome, no counsellor stuck, no double
booking. The figures (times to normal service) belong to docs/reliability.md, not here."""

from __future__ import annotations

from pathlib import Path

import pytest

from faults.runner import QUICK, SCENARIOS, run_scenario

pytestmark = pytest.mark.e2e

#: What each scenario must have injected for its run to prove anything.
EVIDENCE = {
    "worker-kill": "worker_kills",
    "web-kill": "web_worker_kills",
    "redis-restart": "redis_crashes",
    "rest-5xx": "rest_errors",
    "rest-timeout": "rest_timeouts",
    "rest-slow": "rest_delayed",
    "callbacks": "callbacks_delayed",
    "no-answer": None,  # counted below from the offers that rang out
}


@pytest.mark.timeout(150)
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_service_keeps_its_invariants_under_each_fault(name: str, tmp_path: Path) -> None:
    """No caller lost or left without an outcome, no counsellor stuck or double-booked."""
    figures = run_scenario(SCENARIOS[name], QUICK, tmp_path, seed=7)
    evidence = EVIDENCE[name]
    if evidence is None:
        assert figures["acd_events"].get("offer_failed:no-answer", 0) > 0
    else:
        assert figures["injected"].get(evidence, 0) > 0, figures["injected"]
    assert figures["callers"] > 0 and figures["during_fault"] > 0
    assert figures["violations"] == [], figures["lost_calls"]
