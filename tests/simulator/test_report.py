"""The report's figures: exact on hand-made records, reproducible on a seeded load."""

from __future__ import annotations

import json

from click.testing import CliRunner

from simulator.cli import simulate
from simulator.report import CallerRecord, build, outcome, render
from tests.simulator.conftest import ACCOUNT_SID, AUTH_TOKEN


def record(sid: str, platform: str = "phone", **fields) -> CallerRecord:
    """A finished call with sensible defaults."""
    base = {
        "sid": sid,
        "platform": platform,
        "caller_type": "young",
        "arrived_at": 0.0,
        "ended_at": 500.0,
        "ended_by": "line",
        "enqueued_at": None,
        "connected_at": None,
        "dial_started_at": None,
        "talk_seconds": 0.0,
        "hung_up_in_queue": False,
        "left_queue_at": None,
        "app_error": None,
    }
    base.update(fields)
    return CallerRecord(**base)


RECORDS = [
    record("a1", "instagram", enqueued_at=10.0, connected_at=40.0, talk_seconds=300.0),
    record("a2", enqueued_at=0.0, connected_at=90.0, talk_seconds=100.0, ended_by="caller"),
    record("ab", enqueued_at=5.0, ended_at=65.0, ended_by="caller", hung_up_in_queue=True),
    record("cl"),
    record("ov", "tiktok", enqueued_at=3.0, left_queue_at=200.0),
    record("er", app_error=11200, ended_by="error"),
    record("lv", ended_at=None, ended_by=None, enqueued_at=1.0),
]


def test_each_call_has_exactly_one_outcome() -> None:
    """The outcomes of the hand-made calls, in order."""
    assert [outcome(r) for r in RECORDS] == [
        "answered",
        "answered",
        "abandoned",
        "closed_or_ended_before_queue",
        "ended_from_queue",
        "application_error",
        "no_outcome",
    ]


def test_report_figures_follow_their_definitions() -> None:
    """SL over offered, ASA from first enqueue, AHT from talk time, per platform too."""
    report = build(RECORDS, threshold=60)
    assert report["offered"] == 7 and report["answered"] == 2 and report["abandoned"] == 1
    assert report["ended_by_line"] == {
        "closed_or_ended_before_queue": 1,
        "ended_from_queue": 1,
    }
    assert report["application_errors"] == 1 and report["no_outcome"] == 1
    assert report["answered_within_threshold"] == 1
    assert report["service_level"] == round(1 / 7, 4)
    assert report["asa_seconds"] == 60.0  # (30 + 90) / 2
    assert report["aht_seconds"] == 200.0  # (300 + 100) / 2
    assert report["abandon_wait_mean_seconds"] == 60.0
    assert report["per_platform"]["instagram"]["service_level"] == 1.0
    assert report["per_platform"]["tiktok"]["ended_by_line"]["ended_from_queue"] == 1
    text = render(report)
    assert "WARNING: 1 caller(s) left without an outcome" in text
    assert "instagram" in text and "SL60s" in text


def _closed_for_phone_queue_for_apps(app) -> None:
    def voice(hit):
        if hit.form["From"].startswith("client:"):
            return '<Response><Enqueue waitUrl="">support</Enqueue></Response>'
        return "<Response><Say>Le 3018 est ferme.</Say><Hangup/></Response>"

    app.docs["/voice"] = voice


def test_a_seeded_load_gives_the_same_calls_and_figures_twice(app, make_sim) -> None:
    """Same seed, same arrivals: phone calls closed, in-app callers abandon, none left over."""
    _closed_for_phone_queue_for_apps(app)
    reports = []
    for _ in range(2):
        sim = make_sim(seed=2026, speed=300.0, patience_mean=20.0)
        reports.append(sim.run_load(rate=20, duration=90, drain=15))
    first, second = reports
    assert first["offered"] == second["offered"] > 10
    per_platform = {p: f["offered"] for p, f in first["per_platform"].items()}
    assert per_platform == {p: f["offered"] for p, f in second["per_platform"].items()}
    for report in reports:
        assert report["no_outcome"] == 0 and report["application_errors"] == 0
        phone = report["per_platform"]["phone"]
        assert phone["ended_by_line"]["closed_or_ended_before_queue"] == phone["offered"]
        in_app = report["offered"] - phone["offered"]
        assert report["abandoned"] == in_app > 0
        assert report["service_level"] == 0.0 and report["abandon_wait_mean_seconds"] > 0


def test_stopping_with_calls_still_live_reports_them_without_an_outcome(app, sim) -> None:
    """A caller still waiting when the run stops is counted, never silently dropped."""
    app.docs["/voice"] = '<Response><Enqueue waitUrl="">support</Enqueue></Response>'
    caller = sim.place_call()
    assert caller.wait_for(lambda h: h.leg.member is not None)
    assert sim.report()["no_outcome"] == 1
    sim.stop()
    assert caller.done and sim.report()["no_outcome"] == 1


def test_cli_runs_a_load_and_prints_one_json_report(app, tmp_path) -> None:
    """`simulate --json` prints the report as one JSON object; --port-file tells the URL."""
    port_file = tmp_path / "sim-url"
    _closed_for_phone_queue_for_apps(app)
    result = CliRunner().invoke(
        simulate,
        [
            "--voice-url", app.url("/voice"),
            "--account-sid", ACCOUNT_SID,
            "--auth-token", AUTH_TOKEN,
            "--rate", "30", "--duration", "40", "--drain", "15",
            "--speed", "300", "--seed", "5", "--patience", "10",
            "--platform-mix", "phone=1,instagram=1",
            "--json", "--strict", "--port-file", str(port_file),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["offered"] > 0 and report["no_outcome"] == 0
    assert set(report["per_platform"]) <= {"phone", "instagram"}
    assert "TWILIO_API_BASE_URL" in result.stderr
    assert port_file.read_text().startswith("http://127.0.0.1:")


def test_cli_refuses_a_malformed_platform_mix(app) -> None:
    """A wrong --platform-mix is a usage error naming the problem."""
    result = CliRunner().invoke(
        simulate, ["--voice-url", app.url("/voice"), "--platform-mix", "phone"]
    )
    assert result.exit_code == 2 and "name=weight" in result.output
