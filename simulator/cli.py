"""``simulate``: a load of simulated calls against a running application, then the report.

The lead attaches `simulate` to the ``helpline`` command; `run` is the plain function behind it.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import click

from simulator.behaviour import parse_mix
from simulator.config import ALL_CALL_EVENTS, DEFAULT_ACCOUNT_SID, SimConfig
from simulator.core import Simulator
from simulator.faults import FaultConfig
from simulator.report import render


def run(
    config: SimConfig,
    rate: float,
    duration: float,
    drain: float,
    start_delay: float = 0.0,
    announce: Any = None,
    port_file: str | None = None,
) -> dict[str, Any]:
    """Start a simulator, run the load, stop, and return the report."""
    sim = Simulator(config)
    base_url = sim.start()
    if port_file:
        Path(port_file).write_text(base_url + "\n", encoding="utf-8")
    if announce is not None:
        announce(
            f"simulator REST API on {base_url} (TWILIO_API_BASE_URL); "
            f"clock speed {config.speed:g}, origin {sim.clock.origin:.3f}"
        )
    try:
        if start_delay > 0:
            time.sleep(start_delay)
        return sim.run_load(rate=rate, duration=duration, drain=drain)
    finally:
        sim.stop()


def _events(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, ...]:
    events = tuple(e for e in value.replace(",", " ").split() if e)
    unknown = set(events) - set(ALL_CALL_EVENTS)
    if unknown:
        raise click.BadParameter(f"unknown events {sorted(unknown)}")
    return events


def _mix(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dict[str, float]:
    if not value:
        return {}
    try:
        return parse_mix(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.command("simulate")
@click.option("--voice-url", required=True, help="The app's Voice URL (POST /voice/incoming).")
@click.option("--status-callback-url", default=None, help="Status callback of inbound calls.")
@click.option("--fallback-url", default=None, help="Voice fallback URL.")
@click.option(
    "--account-sid", default=DEFAULT_ACCOUNT_SID, envvar="TWILIO_ACCOUNT_SID", show_default=True
)
@click.option(
    "--auth-token",
    default="simulator-auth-token",
    envvar="TWILIO_AUTH_TOKEN",
    help="Signs webhooks; the app's REST client must present it.",
)
@click.option(
    "--port",
    type=int,
    default=0,
    show_default=True,
    help="REST API port on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--rate",
    type=float,
    default=2.0,
    show_default=True,
    help="Arrivals per simulated minute (Poisson).",
)
@click.option(
    "--duration",
    type=float,
    default=600.0,
    show_default=True,
    help="Simulated seconds during which callers arrive.",
)
@click.option(
    "--drain",
    type=float,
    default=120.0,
    show_default=True,
    help="Real seconds to wait for live calls once arrivals stop.",
)
@click.option(
    "--speed",
    type=float,
    default=20.0,
    show_default=True,
    help="Simulated seconds per real second.",
)
@click.option(
    "--clock-origin",
    type=float,
    default=None,
    help="Epoch seconds where simulated and real time coincide (default: now).",
)
@click.option(
    "--platform-mix", callback=_mix, default=None, help="e.g. phone=0.5,instagram=0.3,tiktok=0.2"
)
@click.option(
    "--patience",
    type=float,
    default=180.0,
    show_default=True,
    help="Mean seconds a caller waits in queue before hanging up (0: forever).",
)
@click.option(
    "--handle-time",
    type=float,
    default=600.0,
    show_default=True,
    help="Mean talk time of a counsellor.",
)
@click.option(
    "--handle-time-distribution",
    type=click.Choice(["lognormal", "exponential"]),
    default="lognormal",
    show_default=True,
)
@click.option(
    "--answer-delay",
    type=float,
    default=4.0,
    show_default=True,
    help="Mean seconds before a counsellor answers.",
)
@click.option(
    "--no-answer",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Probability that a counsellor does not answer.",
)
@click.option(
    "--press-probability",
    type=click.FloatRange(0, 1),
    default=0.15,
    show_default=True,
    help="Probability that a caller presses a key at a Gather.",
)
@click.option(
    "--callback-accept-probability",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Probability that a caller presses --callback-key at a Gather in the queue's waitUrl.",
)
@click.option(
    "--callback-key", default="1", show_default=True, help="The key that accepts a callback."
)
@click.option(
    "--callback-answer-probability",
    type=click.FloatRange(0, 1),
    default=1.0,
    show_default=True,
    help="Probability that a caller picks up the helpline's callback.",
)
@click.option(
    "--services",
    default="17,112,119",
    show_default=True,
    help="Numbers answered by an emergency or child-protection service that stays on the line.",
)
@click.option(
    "--status-callback-events",
    callback=_events,
    default=",".join(ALL_CALL_EVENTS),
    show_default=True,
    help="Events sent to --status-callback-url.",
)
@click.option(
    "--service-level",
    type=float,
    default=60.0,
    show_default=True,
    help="Service-level threshold in seconds.",
)
@click.option(
    "--start-delay", type=float, default=0.0, help="Real seconds to wait before the first call."
)
@click.option(
    "--port-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the REST base URL to this file once listening.",
)
@click.option(
    "--rest-error-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Fault: share of REST requests answered --rest-error-status.",
)
@click.option("--rest-error-status", type=click.Choice(["500", "502", "503", "504"]), default="503")
@click.option(
    "--rest-timeout-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Fault: share of REST requests served but answered only after --rest-timeout.",
)
@click.option(
    "--rest-timeout",
    type=click.FloatRange(min=0),
    default=15.0,
    show_default=True,
    help="Real seconds a timed-out REST answer is held.",
)
@click.option(
    "--rest-delay",
    type=click.FloatRange(min=0),
    default=0.0,
    help="Fault: real seconds added to every REST answer.",
)
@click.option(
    "--callback-duplicate-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Fault: share of status callbacks sent twice.",
)
@click.option(
    "--callback-delay",
    type=click.FloatRange(min=0),
    default=0.0,
    help="Fault: status callbacks sent up to this many real seconds late.",
)
@click.option(
    "--callback-reorder-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Fault: share of status callbacks overtaken by the next one.",
)
@click.option("--seed", type=int, default=None, help="Seed for a reproducible load.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 1 if a caller is left without an outcome or hears an application error.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every call.")
def simulate(**options: Any) -> None:  # fmt: skip
    """Simulate callers and counsellors against the app, then print the report."""
    if options["verbose"]:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = SimConfig(
        voice_url=options["voice_url"],
        status_callback_url=options["status_callback_url"],
        fallback_url=options["fallback_url"],
        account_sid=options["account_sid"],
        auth_token=options["auth_token"],
        port=options["port"],
        speed=options["speed"],
        clock_origin=options["clock_origin"],
        patience_mean=options["patience"] or None,
        handle_time_mean=options["handle_time"],
        handle_time_distribution=options["handle_time_distribution"],
        answer_delay=options["answer_delay"],
        no_answer_probability=options["no_answer"],
        press_probability=options["press_probability"],
        callback_accept_probability=options["callback_accept_probability"],
        callback_key=options["callback_key"],
        callback_answer_probability=options["callback_answer_probability"],
        services={n: {} for n in options["services"].replace(",", " ").split()},
        status_callback_events=options["status_callback_events"],
        service_level_seconds=options["service_level"],
        seed=options["seed"],
    )
    if options["platform_mix"]:
        config.platform_mix = options["platform_mix"]
    config.faults = FaultConfig(
        rest_error_rate=options["rest_error_rate"],
        rest_error_status=int(options["rest_error_status"]),
        rest_timeout_rate=options["rest_timeout_rate"],
        rest_timeout_s=options["rest_timeout"],
        rest_delay_s=options["rest_delay"],
        callback_duplicate_rate=options["callback_duplicate_rate"],
        callback_delay_s=options["callback_delay"],
        callback_reorder_rate=options["callback_reorder_rate"],
        seed=options["seed"],
    )
    try:
        config.validate()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    report = run(
        config,
        rate=options["rate"],
        duration=options["duration"],
        drain=options["drain"],
        start_delay=options["start_delay"],
        port_file=options["port_file"],
        announce=lambda line: click.echo(line, err=True),
    )
    click.echo(json.dumps(report, sort_keys=True) if options["as_json"] else render(report))
    if options["strict"] and (report["no_outcome"] or report["application_errors"]):
        raise SystemExit(1)
