"""The staffing planner: Erlang C against published worked examples and exact arithmetic,
Erlang A against an independent brute-force birth-death chain, and the CLI.

Sources of the published examples:

- Call Centre Helper, "Erlang C Formula - Made Simple With an Easy Worked Example":
  100 calls per 30 minutes, AHT 180 s, 80 % answered within 20 s, 30 % shrinkage, 85 %
  maximum occupancy; 10 Erlangs, the walk-through starts at N = A + 1 = 11 agents, where a
  caller waits with probability 68.21 %.
- Westbay Engineers, "The Erlang-C formula" (also quoted in many call-centre courses):
  360 calls per half hour, 4-minute calls, 55 agents, service level at 15 s; 48 Erlangs.
- The textbook M/M/c case A = 2, c = 3: P(W) = (8/6 x 3) / (1 + 2 + 2 + 8/6 x 3) = 4/9.

Every figure asserted here is recomputed independently in this file (exact rationals for
Erlang C, an explicit Markov chain for Erlang A) rather than copied from memory.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from fractions import Fraction

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from staffing.cli import staffing
from staffing.erlang import (
    ErlangA,
    _harmonic,
    _log_term_ratio,
    agents_needed,
    agents_needed_erlang_a,
    average_speed_of_answer,
    erlang_a,
    erlang_b,
    erlang_c,
    occupancy,
    plan_erlang_a,
    plan_erlang_c,
    rostered,
    service_level,
    traffic_erlangs,
)

# --- independent references -----------------------------------------------------------------


def exact_erlang_c(agents: int, traffic: Fraction) -> Fraction:
    """P(W) from the textbook formula with factorials, in exact rational arithmetic."""
    p, q, n = traffic.numerator, traffic.denominator, agents
    # Everything multiplied by q^n n!, so that the sum below is made of integers.
    below = sum(p**k * q ** (n - k) * (math.factorial(n) // math.factorial(k)) for k in range(n))
    last = Fraction(p**n * n * q, n * q - p)  # q^n n! x A^n / n! x n / (n - A)
    return last / (below + last)


def exact_service_level(agents: int, traffic: Fraction, aht_s: float, within_s: float) -> float:
    """1 - C exp(-(N - A) t / AHT) with C exact."""
    c = exact_erlang_c(agents, traffic)
    return 1 - float(c) * math.exp(-(agents - float(traffic)) * within_s / aht_s)


def chain(agents: int, traffic: float, aht_s: float, patience_s: float) -> list[float]:
    """Stationary distribution of the M/M/N+M birth-death chain, truncated where negligible."""
    mu, theta = 1 / aht_s, 1 / patience_s
    lam = traffic * mu
    logs, top = [0.0], 0.0
    n = 0
    while True:
        n += 1
        death = min(n, agents) * mu + max(n - agents, 0) * theta
        logs.append(logs[-1] + math.log(lam / death))
        top = max(top, logs[-1])
        if death > lam and logs[-1] < top - 80:
            break
    weights = [math.exp(v - top) for v in logs]
    total = math.fsum(weights)
    return [w / total for w in weights]


def answered_within(agents: int, mu: float, theta: float, ahead: int, t: float) -> float:
    """P(answered within t) for a caller finding `ahead` in the queue, by uniformization.

    The caller's own race: while j callers are ahead, the queue moves at rate
    N mu + j theta and the caller hangs up at rate theta.
    """
    rate = agents * mu + (ahead + 1) * theta
    waiting = [0.0] * (ahead + 1)  # waiting[j]: still queued with j ahead
    waiting[ahead] = 1.0
    served = 0.0
    poisson = math.exp(-rate * t)
    result = poisson * served
    for m in range(1, int(rate * t + 20 * math.sqrt(rate * t + 1) + 40)):
        moved = [0.0] * (ahead + 1)
        for j, mass in enumerate(waiting):
            advance = (agents * mu + j * theta) / rate
            stay = 1 - advance - theta / rate
            moved[j] += mass * stay
            if j == 0:
                served += mass * advance
            else:
                moved[j - 1] += mass * advance
        waiting = moved
        poisson *= rate * t / m
        result += poisson * served
    return result


def brute_force_erlang_a(
    agents: int, traffic: float, aht_s: float, patience_s: float, within_s: float | None
) -> dict[str, float]:
    """Erlang A from the explicit chain and each caller's race (no series, no gamma)."""
    mu, theta = 1 / aht_s, 1 / patience_s
    pi = chain(agents, traffic, aht_s, patience_s)
    queue = pi[agents:]
    p_wait = math.fsum(queue)
    abandonment = theta * math.fsum(k * p for k, p in enumerate(queue)) / (traffic * mu)
    # Served with k ahead: every stage won against the caller's own patience.
    served, waited = [], []  # P(served | k), E[wait x served | k]
    s_prev, m_prev = 1.0, 0.0
    for k in range(len(queue)):
        moves, out = agents * mu + k * theta, agents * mu + (k + 1) * theta
        s_prev, m_prev = moves / out * s_prev, moves / out * (s_prev / out + m_prev)
        served.append(s_prev)
        waited.append(m_prev)
    answered = 1 - p_wait + math.fsum(p * s for p, s in zip(queue, served, strict=True))
    figures = {
        "probability_of_waiting": p_wait,
        "abandonment": abandonment,
        "asa": math.fsum(p * m for p, m in zip(queue, waited, strict=True)) / answered,
        "answered": answered,
    }
    if within_s is not None:
        figures["service_level"] = (
            1
            - p_wait
            + math.fsum(
                p * answered_within(agents, mu, theta, k, within_s)
                for k, p in enumerate(queue)
                if p > 1e-18
            )
        )
    return figures


# --- Erlang C: published examples -----------------------------------------------------------


def test_traffic_is_calls_times_handle_time_over_interval() -> None:
    """360 calls of 240 s in half an hour are 48 Erlangs."""
    assert traffic_erlangs(360, 1800, 240) == 48.0
    assert traffic_erlangs(100, 1800, 180) == 10.0


@pytest.mark.parametrize(
    ("agents", "traffic", "published"),
    [
        (11, 10, 0.6821),  # Call Centre Helper's first step
        (3, 2, 4 / 9),  # textbook M/M/3
        (55, 48, 0.2387),  # Westbay Engineers
    ],
)
def test_probability_of_waiting_matches_published_and_exact_values(
    agents: int, traffic: int, published: float
) -> None:
    """Erlang C equals the exact factorial formula and the published rounded figure."""
    exact = float(exact_erlang_c(agents, Fraction(traffic)))
    assert erlang_c(agents, traffic) == pytest.approx(exact, rel=1e-12)
    assert erlang_c(agents, traffic) == pytest.approx(published, abs=5e-5)


def test_two_erlangs_on_three_agents_wait_four_ninths_of_the_time() -> None:
    """A = 2, N = 3: P(W) = 4/9 exactly; ASA = C AHT / (N - A); SL from the same C."""
    assert exact_erlang_c(3, Fraction(2)) == Fraction(4, 9)
    assert erlang_c(3, 2) == pytest.approx(4 / 9, rel=1e-14)
    assert average_speed_of_answer(3, 2, 90) == pytest.approx(4 / 9 * 90, rel=1e-14)
    assert service_level(3, 2, 90, 30) == pytest.approx(1 - 4 / 9 * math.exp(-1 / 3), rel=1e-14)


def test_call_centre_helper_example_needs_14_counsellors_and_20_rostered() -> None:
    """100 calls / 30 min, AHT 180 s, 80/20, 30 % shrinkage: 14 on the phones, 20 rostered."""
    plan = plan_erlang_c(100, 1800, 180, 0.8, 20, shrinkage=0.3, max_occupancy=0.85)
    assert (plan.counsellors, plan.rostered) == (14, 20)
    assert plan.traffic_erlangs == 10.0
    assert plan.service_level == pytest.approx(exact_service_level(14, Fraction(10), 180, 20))
    assert plan.service_level == pytest.approx(0.8884, abs=5e-5)
    assert exact_service_level(13, Fraction(10), 180, 20) < 0.8  # 13 would not do
    assert plan.probability_of_waiting == pytest.approx(0.1741, abs=5e-5)
    assert plan.asa == pytest.approx(7.84, abs=5e-3)
    assert plan.occupancy == pytest.approx(10 / 14)


def test_westbay_example_with_55_agents_answers_85_percent_within_15_seconds() -> None:
    """48 Erlangs on 55 agents: P(W) 23.87 %, ASA 8.18 s, 84.59 % within 15 s; 55 is the minimum."""
    assert service_level(55, 48, 240, 15) == pytest.approx(
        exact_service_level(55, Fraction(48), 240, 15), rel=1e-12
    )
    assert service_level(55, 48, 240, 15) == pytest.approx(0.8459, abs=5e-5)
    assert average_speed_of_answer(55, 48, 240) == pytest.approx(8.184, abs=5e-4)
    assert occupancy(55, 48) == pytest.approx(48 / 55)
    assert agents_needed(360, 1800, 240, 0.8, 15) == 55


def test_classic_80_20_at_48_erlangs_needs_54_agents() -> None:
    """48 Erlangs at 80/20 need 54 agents, not the 55 often quoted (that is 80 % within 15 s)."""
    assert exact_service_level(53, Fraction(48), 240, 20) < 0.8
    assert exact_service_level(54, Fraction(48), 240, 20) >= 0.8
    assert agents_needed(360, 1800, 240, 0.8, 20) == 54


def test_large_team_gives_finite_exact_figures() -> None:
    """A = 800, N = 850: no overflow or NaN, and the exact factorial value to 1e-12."""
    exact = float(exact_erlang_c(850, Fraction(800)))
    assert erlang_c(850, 800) == pytest.approx(exact, rel=1e-12)
    sl = service_level(850, 800, 240, 20)
    asa = average_speed_of_answer(850, 800, 240)
    assert 0 < exact < 1
    assert math.isfinite(sl)
    assert 0 < sl < 1
    assert math.isfinite(asa)
    assert asa > 0


def test_erlang_b_recursion_never_overflows_for_thousands_of_servers() -> None:
    """B(5000, 4900) is a small positive probability, and B(2000, 10) underflows to 0, not NaN."""
    b = erlang_b(5000, 4900)
    assert 0 < b < 0.05
    assert erlang_b(2000, 10) == 0.0
    assert erlang_c(2000, 10) == 0.0
    assert service_level(2000, 10, 240, 0) == 1.0


@pytest.mark.parametrize(("agents", "traffic"), [(48, 48), (40, 48), (1, 1.5)])
def test_a_team_no_larger_than_the_traffic_never_catches_up(agents: int, traffic: float) -> None:
    """N <= A: every caller waits, nobody is answered within t, the ASA is infinite."""
    assert erlang_c(agents, traffic) == 1.0
    assert service_level(agents, traffic, 240, 20) == 0.0
    assert average_speed_of_answer(agents, traffic, 240) == math.inf
    assert occupancy(agents, traffic) == 1.0


def test_occupancy_cap_adds_counsellors() -> None:
    """At 50 % within 20 s the service level is met early; an 85 % occupancy cap needs 57."""
    assert agents_needed(360, 1800, 240, 0.5, 20) < 57
    assert agents_needed(360, 1800, 240, 0.5, 20, max_occupancy=0.85) == 57  # 48/57 = 0.842


@pytest.mark.parametrize(
    ("counsellors", "shrinkage", "people"),
    [
        (14, 0.3, 20),
        (54, 0.3, 78),
        (8, 0.68, 25),
        (3, 0.8, 15),
        (10, 0.0, 10),
        (0, 0.5, 0),
        (1, 0.35, 2),
    ],
)
def test_shrinkage_rounds_up_to_whole_people_without_float_noise(
    counsellors: int, shrinkage: float, people: int
) -> None:
    """rostered = ceil(N / (1 - shrinkage)); 8 / (1 - 0.68) is 25 people, not 26."""
    assert rostered(counsellors, shrinkage) == people


def test_no_calls_need_no_counsellors() -> None:
    """Zero forecast calls: the formula asks for nobody (a minimum on duty is a policy)."""
    assert agents_needed(0, 1800, 240, 0.8, 20) == 0
    plan = plan_erlang_c(0, 1800, 240, 0.8, 20, shrinkage=0.3)
    assert (plan.counsellors, plan.rostered, plan.service_level) == (0, 0, 1.0)
    assert agents_needed_erlang_a(0, 1800, 240, 0.8, 20, 60) == 0


# --- Erlang C: properties -------------------------------------------------------------------

traffics = st.floats(min_value=0.05, max_value=300, allow_nan=False)
thresholds = st.floats(min_value=0, max_value=600, allow_nan=False)
handle_times = st.floats(min_value=10, max_value=3600, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(traffic=traffics, extra=st.integers(0, 40), aht=handle_times, within=thresholds)
def test_service_level_never_falls_when_a_counsellor_is_added(
    traffic: float, extra: int, aht: float, within: float
) -> None:
    """SL(N + 1) >= SL(N), and P(W) and ASA do not rise, for any stable team."""
    n = math.floor(traffic) + 1 + extra
    assert service_level(n + 1, traffic, aht, within) >= service_level(n, traffic, aht, within)
    assert erlang_c(n + 1, traffic) <= erlang_c(n, traffic)
    assert average_speed_of_answer(n + 1, traffic, aht) <= average_speed_of_answer(n, traffic, aht)


@settings(max_examples=60, deadline=None)
@given(
    calls=st.floats(min_value=1, max_value=3000),
    aht=handle_times,
    target=st.floats(min_value=0.05, max_value=0.99),
    within=thresholds,
)
def test_agents_needed_is_the_smallest_team_meeting_the_target(
    calls: float, aht: float, target: float, within: float
) -> None:
    """The team meets the target and one counsellor fewer does not."""
    traffic = traffic_erlangs(calls, 1800, aht)
    n = agents_needed(calls, 1800, aht, target, within)
    assert service_level(n, traffic, aht, within) >= target
    assert n == 1 or service_level(n - 1, traffic, aht, within) < target


# --- Erlang A -------------------------------------------------------------------------------

BRUTE_FORCE_CASES = [
    # agents, traffic, aht_s, patience_s, within_s
    (3, 2.0, 1.0, 2.0, 0.5),
    (1, 0.5, 60.0, 30.0, 10.0),
    (5, 6.0, 180.0, 90.0, 20.0),  # fewer counsellors than Erlangs: stable only with abandonment
    (10, 8.0, 240.0, 600.0, 20.0),
    (4, 3.5, 100.0, 1000.0, 50.0),
    (6, 4.0, 300.0, 15.0, 60.0),  # callers far less patient than the handle time
]


@pytest.mark.parametrize(("agents", "traffic", "aht", "patience", "within"), BRUTE_FORCE_CASES)
def test_erlang_a_matches_the_explicit_markov_chain(
    agents: int, traffic: float, aht: float, patience: float, within: float
) -> None:
    """P(W), abandonment, SL and ASA agree with the chain and each caller's own race."""
    figures = erlang_a(agents, traffic, aht, patience, within)
    reference = brute_force_erlang_a(agents, traffic, aht, patience, within)
    assert figures.probability_of_waiting == pytest.approx(
        reference["probability_of_waiting"], abs=1e-10
    )
    assert figures.abandonment == pytest.approx(reference["abandonment"], abs=1e-10)
    assert figures.service_level == pytest.approx(reference["service_level"], abs=1e-9)
    assert figures.asa == pytest.approx(reference["asa"], rel=1e-9)
    assert figures.occupancy == pytest.approx(traffic * reference["answered"] / agents, rel=1e-9)


def test_erlang_a_matches_the_chain_for_a_very_long_queue() -> None:
    """Half the Erlangs staffed and patient callers: thousands queued, still exact."""
    # x - alpha = 5,000 queue states before the largest: the lgamma/digamma shortcut.
    figures = erlang_a(5, 10.0, 100.0, 1e5, 0.0)
    reference = brute_force_erlang_a(5, 10.0, 100.0, 1e5, None)
    assert figures.probability_of_waiting == pytest.approx(
        reference["probability_of_waiting"], abs=1e-10
    )
    assert figures.abandonment == pytest.approx(reference["abandonment"], rel=1e-9)
    assert figures.asa == pytest.approx(reference["asa"], rel=1e-8)
    assert figures.service_level == pytest.approx(1 - reference["probability_of_waiting"])


def test_long_queue_shortcuts_agree_with_term_by_term_sums() -> None:
    """Past 2,000 terms, lgamma and digamma stand in for the walk: they must agree with it."""
    alpha, x = 5000.0, 10_000.0
    for lo, hi in ((0, 2500), (1200, 7000), (3000, 3001 + 2500)):
        walked = math.fsum(math.log(x / (alpha + i)) for i in range(lo + 1, hi + 1))
        assert _log_term_ratio(alpha, x, lo, hi) == pytest.approx(walked, abs=1e-8)
    for k in (2001, 5000, 40_000):
        walked = math.fsum(1 / (alpha + i) for i in range(1, k + 2))
        assert _harmonic(alpha, k) == pytest.approx(walked, rel=1e-13)
    assert _harmonic(0.5, 2500) == pytest.approx(
        math.fsum(1 / (0.5 + i) for i in range(1, 2502)), rel=1e-13
    )


@pytest.mark.parametrize(("agents", "traffic"), [(3, 2.0), (50, 48.0), (40, 48.0), (1, 0.3)])
def test_patience_equal_to_handle_time_gives_a_poisson_number_of_callers(
    agents: int, traffic: float
) -> None:
    """Patience = AHT makes every caller leave at the same rate: M/M/inf, Poisson(A) in system."""
    pmf = [math.exp(-traffic)]
    for n in range(1, 400):
        pmf.append(pmf[-1] * traffic / n)
    p_wait = math.fsum(pmf[agents:])
    abandonment = math.fsum((n - agents) * p for n, p in enumerate(pmf) if n > agents) / traffic
    figures = erlang_a(agents, traffic, 180, 180, 20)
    assert figures.probability_of_waiting == pytest.approx(p_wait, rel=1e-11)
    assert figures.abandonment == pytest.approx(abandonment, rel=1e-11)


@pytest.mark.parametrize(
    ("agents", "traffic", "aht", "within"),
    [
        (55, 48.0, 240.0, 15.0),
        (14, 10.0, 180.0, 20.0),
        (3, 2.0, 90.0, 30.0),
        (850, 800.0, 240.0, 20.0),
    ],
)
def test_erlang_a_tends_to_erlang_c_as_patience_grows(
    agents: int, traffic: float, aht: float, within: float
) -> None:
    """With patience a billion handle times, nobody hangs up and Erlang C's figures return."""
    figures = erlang_a(agents, traffic, aht, 1e9 * aht, within)
    assert figures.probability_of_waiting == pytest.approx(erlang_c(agents, traffic), rel=1e-7)
    assert figures.service_level == pytest.approx(
        service_level(agents, traffic, aht, within), rel=1e-7
    )
    assert figures.asa == pytest.approx(average_speed_of_answer(agents, traffic, aht), rel=1e-7)
    assert figures.occupancy == pytest.approx(occupancy(agents, traffic), rel=1e-7)
    assert 0 < figures.abandonment < 1e-8


def test_erlang_a_approaches_erlang_c_steadily() -> None:
    """Tenfold more patience each step: the gap to Erlang C's P(W) and SL shrinks each time."""
    gaps = [
        abs(erlang_a(55, 48, 240, patience, 20).service_level - service_level(55, 48, 240, 20))
        for patience in (60, 600, 6000, 60000, 600000)
    ]
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[-1] < 1e-3


def test_erlang_a_stays_finite_for_a_large_understaffed_team() -> None:
    """800 Erlangs on 700 counsellors: no overflow; at least 1 - N/A of callers hang up."""
    figures = erlang_a(700, 800.0, 240, 120, 20)
    for value in (figures.probability_of_waiting, figures.service_level, figures.asa):
        assert math.isfinite(value)
    assert 0 < figures.probability_of_waiting <= 1
    assert 1 - 700 / 800 <= figures.abandonment < 1
    assert 0 <= figures.service_level <= 1 - figures.abandonment
    large = erlang_a(850, 800.0, 240, 120, 20)
    assert 0 < large.abandonment < figures.abandonment


patiences = st.floats(min_value=1, max_value=20_000)


@settings(max_examples=60, deadline=None)
@given(
    traffic=st.floats(min_value=0.2, max_value=60),
    offset=st.integers(-3, 6),
    aht=st.floats(min_value=30, max_value=1200),
    patience=patiences,
    factor=st.floats(min_value=1.5, max_value=50),
)
def test_abandonment_rises_as_patience_falls(
    traffic: float, offset: int, aht: float, patience: float, factor: float
) -> None:
    """Less patient callers hang up more often, whatever the team."""
    n = max(1, math.ceil(traffic) + offset)
    impatient = erlang_a(n, traffic, aht, patience, 20)
    patient = erlang_a(n, traffic, aht, patience * factor, 20)
    if n > traffic:
        assert impatient.abandonment > patient.abandonment
    else:
        # Understaffed, abandonment tends to 1 - N/A from above, sometimes by less than a
        # double can show: then it must not fall below that limit nor rise with patience.
        assert impatient.abandonment >= patient.abandonment - 1e-12
        assert patient.abandonment >= 1 - n / traffic - 1e-12


@settings(max_examples=60, deadline=None)
@given(
    traffic=st.floats(min_value=0.1, max_value=80),
    n=st.integers(1, 120),
    aht=st.floats(min_value=30, max_value=1200),
    patience=patiences,
    within=thresholds,
)
def test_erlang_a_figures_are_consistent_probabilities(
    traffic: float, n: int, aht: float, patience: float, within: float
) -> None:
    """0 <= SL <= 1 - abandonment <= 1; adding a counsellor never lowers SL; a longer t neither."""
    figures = erlang_a(n, traffic, aht, patience, within)
    assert 0 <= figures.abandonment <= figures.probability_of_waiting + 1e-12
    assert figures.probability_of_waiting <= 1
    assert 0 <= figures.service_level <= 1 - figures.abandonment + 1e-12
    assert figures.asa >= 0
    assert 0 <= figures.occupancy <= 1
    bigger = erlang_a(n + 1, traffic, aht, patience, within)
    assert bigger.service_level >= figures.service_level - 1e-12
    later = erlang_a(n, traffic, aht, patience, within + 10)
    assert later.service_level >= figures.service_level - 1e-12


@pytest.mark.parametrize(
    ("agents", "traffic", "aht", "patience"), [(5, 6.0, 180, 90), (55, 48, 240, 120)]
)
def test_every_caller_who_does_not_hang_up_is_answered_eventually(
    agents: int, traffic: float, aht: float, patience: float
) -> None:
    """SL within a very long t is 1 - abandonment; within 0 s it is P(no wait)."""
    forever = erlang_a(agents, traffic, aht, patience, 1e6)
    assert forever.service_level == pytest.approx(1 - forever.abandonment, abs=1e-12)
    now = erlang_a(agents, traffic, aht, patience, 0)
    assert now.service_level == pytest.approx(1 - now.probability_of_waiting, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    calls=st.floats(min_value=1, max_value=2000),
    aht=st.floats(min_value=30, max_value=1200),
    target=st.floats(min_value=0.05, max_value=0.99),
    within=thresholds,
    patience=st.floats(min_value=5, max_value=3600),
)
def test_agents_needed_under_erlang_a_is_the_smallest_team_meeting_the_target(
    calls: float, aht: float, target: float, within: float, patience: float
) -> None:
    """The Erlang A team meets the target and one counsellor fewer does not."""
    traffic = traffic_erlangs(calls, 1800, aht)
    n = agents_needed_erlang_a(calls, 1800, aht, target, within, patience)
    assert erlang_a(n, traffic, aht, patience, within).service_level >= target
    assert n == 1 or erlang_a(n - 1, traffic, aht, patience, within).service_level < target


def test_erlang_a_plan_reports_abandonment_and_respects_the_occupancy_cap() -> None:
    """48 Erlangs, patience 120 s, 80/20: a plan with abandonment, and more people under a cap."""
    plan = plan_erlang_a(360, 1800, 240, 0.8, 20, 120, shrinkage=0.3)
    figures = erlang_a(plan.counsellors, 48.0, 240, 120, 20)
    assert plan.abandonment == figures.abandonment
    assert plan.service_level == figures.service_level >= 0.8
    assert plan.rostered == rostered(plan.counsellors, 0.3)
    capped = plan_erlang_a(360, 1800, 240, 0.8, 20, 120, max_occupancy=0.85)
    assert capped.counsellors > plan.counsellors
    assert capped.occupancy <= 0.85
    assert erlang_a(capped.counsellors - 1, 48.0, 240, 120, 20).occupancy > 0.85


def test_no_traffic_means_nobody_waits_under_erlang_a() -> None:
    """Zero traffic: no wait, no abandonment, everyone answered at once."""
    assert erlang_a(1, 0.0, 240, 60, 20) == ErlangA(0.0, 0.0, 1.0, 0.0, 0.0)


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: erlang_c(0, 1.0),
        lambda: erlang_c(3, -1.0),
        lambda: erlang_c(3, math.nan),
        lambda: service_level(3, 2.0, 0.0, 20),
        lambda: service_level(3, 2.0, 240, -1),
        lambda: traffic_erlangs(10, 0, 240),
        lambda: traffic_erlangs(math.inf, 1800, 240),
        lambda: agents_needed(10, 1800, 240, 1.0, 20),
        lambda: agents_needed(10, 1800, 240, 0.0, 20),
        lambda: agents_needed(10, 1800, 240, math.nan, 20),
        lambda: agents_needed(10, 1800, 240, 0.8, 20, max_occupancy=0.0),
        lambda: rostered(10, 1.0),
        lambda: rostered(-1, 0.2),
        lambda: erlang_a(3, 2.0, 240, 0.0, 20),
        lambda: erlang_a(3, 2.0, 240, math.inf, 20),
        lambda: agents_needed_erlang_a(10, 1800, 240, 0.8, 20, -5),
    ],
)
def test_nonsense_inputs_are_refused(call: Callable[[], object]) -> None:
    """Out-of-range or non-finite inputs raise ValueError instead of returning a number."""
    with pytest.raises(ValueError):
        call()


# --- CLI ------------------------------------------------------------------------------------

EXAMPLE = ["--calls", "100", "--interval", "1800", "--aht", "180", "--target", "0.8"]


def test_cli_json_gives_erlang_c_team_and_figures() -> None:
    """--json prints one object with the team before and after shrinkage and its figures."""
    result = CliRunner().invoke(
        staffing, [*EXAMPLE, "--within", "20", "--shrinkage", "0.3", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["counsellors"] == 14
    assert out["rostered"] == 20
    assert out["traffic_erlangs"] == 10.0
    plan = plan_erlang_c(100, 1800, 180, 0.8, 20, shrinkage=0.3)
    for key in ("probability_of_waiting", "service_level", "asa", "occupancy"):
        assert out[key] == getattr(plan, key)
    assert "erlang_a" not in out


def test_cli_json_adds_an_erlang_a_plan_when_patience_is_given() -> None:
    """--patience adds an erlang_a object with its own team, abandonment, SL and ASA."""
    result = CliRunner().invoke(
        staffing, [*EXAMPLE, "--within", "20", "--patience", "60", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    plan = plan_erlang_a(100, 1800, 180, 0.8, 20, 60)
    assert out["counsellors"] == 14
    assert out["erlang_a"]["counsellors"] == plan.counsellors
    assert out["erlang_a"]["abandonment"] == plan.abandonment
    assert out["erlang_a"]["service_level"] == plan.service_level
    assert out["erlang_a"]["asa"] == plan.asa
    assert out["erlang_a"]["patience_s"] == 60


def test_cli_text_is_readable() -> None:
    """Without --json the command prints the team, the rostered headcount and the SL."""
    result = CliRunner().invoke(
        staffing, [*EXAMPLE, "--within", "20", "--shrinkage", "0.3", "--patience", "60"]
    )
    assert result.exit_code == 0, result.output
    assert "counsellors on the phones: 14 (rostered: 20)" in result.output
    assert "answered within 20 s:      88.8% (target 80.0%)" in result.output
    assert "callers who hang up:" in result.output


@pytest.mark.parametrize(
    ("arguments", "culprit"),
    [
        ([*EXAMPLE[:-1], "1.2", "--within", "20"], "--target"),
        ([*EXAMPLE[:-1], "1", "--within", "20"], "--target"),
        (
            [
                "--calls",
                "100",
                "--interval",
                "1800",
                "--aht",
                "0",
                "--target",
                "0.8",
                "--within",
                "20",
            ],
            "--aht",
        ),
        (
            [
                "--calls",
                "nan",
                "--interval",
                "1800",
                "--aht",
                "180",
                "--target",
                "0.8",
                "--within",
                "20",
            ],
            "--calls",
        ),
        (
            [
                "--calls",
                "-1",
                "--interval",
                "1800",
                "--aht",
                "180",
                "--target",
                "0.8",
                "--within",
                "20",
            ],
            "--calls",
        ),
        ([*EXAMPLE, "--within", "20", "--shrinkage", "1"], "--shrinkage"),
        ([*EXAMPLE, "--within", "20", "--patience", "0"], "--patience"),
        ([*EXAMPLE, "--within", "20", "--patience", "inf"], "--patience"),
        ([*EXAMPLE, "--within", "inf"], "--within"),
        (EXAMPLE, "--within"),
    ],
)
def test_cli_refuses_bad_input_with_a_clear_error(arguments: list[str], culprit: str) -> None:
    """Bad or missing options exit with status 2 and name the option at fault."""
    result = CliRunner().invoke(staffing, arguments)
    assert result.exit_code == 2
    assert culprit in result.output
