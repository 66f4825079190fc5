"""``helpline staffing``: how many counsellors a half-hour needs, by Erlang C (and A)."""

from __future__ import annotations

import json
import math
from typing import Any

import click

from staffing.erlang import Staffing, plan_erlang_a, plan_erlang_c

# Longer than a day is no longer "patience"; it also bounds the work Erlang A does.
MAX_PATIENCE_S = 86_400.0


def _finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    """Refuse nan and inf, which click's FloatRange lets through."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number.", ctx=ctx, param=param)
    return value


def _figures(plan: Staffing) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "counsellors": plan.counsellors,
        "rostered": plan.rostered,
        "probability_of_waiting": plan.probability_of_waiting,
        "service_level": plan.service_level,
        "asa": plan.asa,
        "occupancy": plan.occupancy,
    }
    if plan.abandonment is not None:
        figures["abandonment"] = plan.abandonment
    return figures


def _text(plan: Staffing, within: float, target: float) -> list[str]:
    rows = [
        ("counsellors on the phones", f"{plan.counsellors} (rostered: {plan.rostered})"),
        (f"answered within {within:g} s", f"{plan.service_level:.1%} (target {target:.1%})"),
        ("callers who wait", f"{plan.probability_of_waiting:.1%}"),
        ("average speed of answer", f"{plan.asa:.1f} s"),
        ("occupancy", f"{plan.occupancy:.1%}"),
    ]
    if plan.abandonment is not None:
        rows.append(("callers who hang up", f"{plan.abandonment:.1%}"))
    width = max(len(label) for label, _ in rows) + 1
    return [f"  {label + ':':<{width}} {value}" for label, value in rows]


@click.command()
@click.option(
    "--calls",
    type=click.FloatRange(min=0),
    required=True,
    callback=_finite,
    help="Calls expected in the interval.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0, min_open=True),
    required=True,
    callback=_finite,
    help="Length of the interval, in seconds (1800 for a half-hour).",
)
@click.option(
    "--aht",
    type=click.FloatRange(min=0, min_open=True),
    required=True,
    callback=_finite,
    help="Average handle time (talk + wrap-up), in seconds.",
)
@click.option(
    "--target",
    type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
    required=True,
    callback=_finite,
    help="Share of calls to answer within --within seconds, e.g. 0.8.",
)
@click.option(
    "--within",
    type=click.FloatRange(min=0),
    required=True,
    callback=_finite,
    help="Service-level threshold, in seconds.",
)
@click.option(
    "--shrinkage",
    type=click.FloatRange(min=0, max=1, max_open=True),
    default=0.0,
    show_default=True,
    callback=_finite,
    help="Share of rostered time not on the phones (breaks, training, absence).",
)
@click.option(
    "--max-occupancy",
    type=click.FloatRange(min=0, max=1, min_open=True),
    default=None,
    callback=_finite,
    help="Cap on the share of time counsellors spend on calls, e.g. 0.85.",
)
@click.option(
    "--patience",
    type=click.FloatRange(min=0, max=MAX_PATIENCE_S, min_open=True),
    default=None,
    callback=_finite,
    help="Mean time callers wait before hanging up, in seconds: adds an Erlang A plan.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def staffing(
    calls: float,
    interval: float,
    aht: float,
    target: float,
    within: float,
    shrinkage: float,
    max_occupancy: float | None,
    patience: float | None,
    as_json: bool,
) -> None:
    """Counsellors needed for one interval to answer TARGET of calls within WITHIN seconds."""
    try:
        plan = plan_erlang_c(
            calls, interval, aht, target, within, shrinkage=shrinkage, max_occupancy=max_occupancy
        )
        impatient = (
            None
            if patience is None
            else plan_erlang_a(
                calls,
                interval,
                aht,
                target,
                within,
                patience,
                shrinkage=shrinkage,
                max_occupancy=max_occupancy,
            )
        )
    except ValueError as exc:  # the options' ranges should make this unreachable
        raise click.ClickException(str(exc)) from exc

    if as_json:
        out: dict[str, Any] = {
            "model": "erlang_c",
            "traffic_erlangs": plan.traffic_erlangs,
            **_figures(plan),
            "inputs": {
                "calls": calls,
                "interval_s": interval,
                "aht_s": aht,
                "target": target,
                "within_s": within,
                "shrinkage": shrinkage,
                "max_occupancy": max_occupancy,
                "patience_s": patience,
            },
        }
        if impatient is not None:
            out["erlang_a"] = {"patience_s": patience, **_figures(impatient)}
        click.echo(json.dumps(out, allow_nan=False))
        return

    lines = [
        f"Traffic: {plan.traffic_erlangs:.2f} Erlangs "
        f"({calls:g} calls in {interval:g} s, {aht:g} s handle time)",
        "Erlang C (callers never hang up):",
        *_text(plan, within, target),
    ]
    if impatient is not None:
        lines += [
            f"Erlang A (callers hang up after {patience:g} s on average):",
            *_text(impatient, within, target),
        ]
    click.echo("\n".join(lines))
