"""Erlang C and Erlang A: how many counsellors one interval needs (pure maths, no I/O).

Notation, in the units a duty manager uses (seconds):

- ``traffic`` A (Erlangs) = calls offered in the interval x AHT / interval length;
- ``agents`` N, the counsellors on the phones (after shrinkage is taken out);
- ``within_s`` t, the service-level threshold ("answered within 20 s");
- ``patience_s``, the mean time a caller waits before hanging up (Erlang A only).

**Erlang C** (M/M/N): Poisson arrivals, exponential handle times, nobody hangs up. It is
computed from the Erlang B recursion ``B(0) = 1, B(n) = A B(n-1) / (n + A B(n-1))`` and
``C = N B / (N - A (1 - B))``, which stays finite for thousands of agents where factorials
and powers overflow. ``SL(t) = 1 - C exp(-(N - A) t / AHT)``, ``ASA = C AHT / (N - A)`` over
all calls, occupancy ``A / N``. With ``N <= A`` the queue grows without bound: every caller
waits, the service level is 0 and the ASA infinite.

**Erlang A** (M/M/N+M, Palm 1946; Garnett, Mandelbaum and Reiman 2002): the same, plus
callers who abandon after an exponential patience of mean ``1/theta``. It is exact (no
simulation, no quadrature); see :func:`erlang_a` for the method.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "ErlangA",
    "Staffing",
    "agents_needed",
    "agents_needed_erlang_a",
    "average_speed_of_answer",
    "erlang_a",
    "erlang_b",
    "erlang_c",
    "occupancy",
    "plan_erlang_a",
    "plan_erlang_c",
    "rostered",
    "service_level",
    "traffic_erlangs",
]

# Terms of a series are summed until the rest is below this share of the sum: far beyond
# double precision, so truncation never shows in the results.
_TAIL = 1e-22
# Up to this many terms before its largest one, a series is walked term by term (exact);
# beyond, the largest term is placed with lgamma/digamma (relative error ~1e-16 x its index).
_WALK_LIMIT = 2000
# Below e^-700 a term is zero for double precision.
_LOG_TINY = -700.0
# Shrinkage divides a whole number by a decimal: 8 / (1 - 0.68) is 25.000000000000004 in
# binary floating point, and must still roster 25 people, not 26.
_ROUNDING_SLACK = 1e-9


@dataclass(frozen=True)
class Staffing:
    """A team for one interval and how the queue behaves with it."""

    counsellors: int  # on the phones
    rostered: int  # counsellors / (1 - shrinkage), rounded up
    traffic_erlangs: float
    probability_of_waiting: float
    service_level: float  # share of offered calls answered within the threshold
    asa: float  # seconds; over answered calls (under Erlang C, every call is answered)
    occupancy: float
    abandonment: float | None = None  # Erlang A only


@dataclass(frozen=True)
class ErlangA:
    """Steady-state figures of the M/M/N+M queue (callers who may hang up)."""

    probability_of_waiting: float
    abandonment: float
    service_level: float
    asa: float
    occupancy: float


# --- validation ---------------------------------------------------------------------------


def _require(condition: bool, message: str) -> None:
    # Written as "what must hold", so that NaN (every comparison false) is refused too.
    if not condition:
        raise ValueError(message)


def _check_agents(agents: int) -> None:
    _require(isinstance(agents, int) and agents >= 1, f"agents must be an integer >= 1: {agents!r}")


def _check_traffic(traffic: float) -> None:
    _require(0 <= traffic < math.inf, f"traffic must be finite and >= 0: {traffic!r}")


def _check_positive(name: str, value: float) -> None:
    _require(0 < value < math.inf, f"{name} must be finite and > 0: {value!r}")


def _check_within(within_s: float) -> None:
    _require(0 <= within_s < math.inf, f"within_s must be finite and >= 0: {within_s!r}")


def _check_target(target_sl: float) -> None:
    _require(0 < target_sl < 1, f"target_sl must be strictly between 0 and 1: {target_sl!r}")


def _check_max_occupancy(max_occupancy: float | None) -> None:
    _require(
        max_occupancy is None or 0 < max_occupancy <= 1,
        f"max_occupancy must be in (0, 1]: {max_occupancy!r}",
    )


# --- Erlang C -----------------------------------------------------------------------------


def traffic_erlangs(calls: float, interval_s: float, aht_s: float) -> float:
    """Offered load in Erlangs: calls x AHT / interval."""
    _require(0 <= calls < math.inf, f"calls must be finite and >= 0: {calls!r}")
    _check_positive("interval_s", interval_s)
    _check_positive("aht_s", aht_s)
    return calls * aht_s / interval_s


def erlang_b(agents: int, traffic: float) -> float:
    """Blocking probability of N servers without a queue, by the stable recursion."""
    _require(isinstance(agents, int) and agents >= 0, f"agents must be an integer >= 0: {agents!r}")
    _check_traffic(traffic)
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    return b


def _c_from_b(agents: int, traffic: float, b: float) -> float:
    return agents * b / (agents - traffic * (1.0 - b))


def _sl_from_c(agents: int, traffic: float, c: float, aht_s: float, within_s: float) -> float:
    return 1.0 - c * math.exp(-(agents - traffic) * within_s / aht_s)


def erlang_c(agents: int, traffic: float) -> float:
    """Probability that a caller waits, P(W); 1 when the team cannot keep up (N <= A)."""
    _check_agents(agents)
    _check_traffic(traffic)
    if agents <= traffic:
        return 1.0
    return _c_from_b(agents, traffic, erlang_b(agents, traffic))


def service_level(agents: int, traffic: float, aht_s: float, within_s: float) -> float:
    """Share of callers answered within ``within_s`` seconds (Erlang C); 0 when unstable."""
    _check_positive("aht_s", aht_s)
    _check_within(within_s)
    c = erlang_c(agents, traffic)
    if agents <= traffic:
        return 0.0
    return _sl_from_c(agents, traffic, c, aht_s, within_s)


def average_speed_of_answer(agents: int, traffic: float, aht_s: float) -> float:
    """Mean wait over all callers, in seconds (Erlang C); infinite when unstable."""
    _check_positive("aht_s", aht_s)
    c = erlang_c(agents, traffic)
    if agents <= traffic:
        return math.inf
    return c * aht_s / (agents - traffic)


def occupancy(agents: int, traffic: float) -> float:
    """Share of the team's time spent on calls, A / N (at most 1)."""
    _check_agents(agents)
    _check_traffic(traffic)
    return min(1.0, traffic / agents)


def rostered(counsellors: int, shrinkage: float) -> int:
    """People to roster so that ``counsellors`` are on the phones: ceil(N / (1 - shrinkage))."""
    _require(
        isinstance(counsellors, int) and counsellors >= 0,
        f"counsellors must be an integer >= 0: {counsellors!r}",
    )
    _require(0 <= shrinkage < 1, f"shrinkage must be in [0, 1): {shrinkage!r}")
    return math.ceil(counsellors / (1.0 - shrinkage) - _ROUNDING_SLACK)


def agents_needed(
    calls: float,
    interval_s: float,
    aht_s: float,
    target_sl: float,
    within_s: float,
    max_occupancy: float | None = None,
) -> int:
    """Smallest team meeting the service level (and occupancy cap) by Erlang C."""
    traffic = traffic_erlangs(calls, interval_s, aht_s)
    _check_target(target_sl)
    _check_within(within_s)
    _check_max_occupancy(max_occupancy)
    if traffic == 0:
        return 0
    # One step of the Erlang B recursion per candidate: O(N) for the whole search.
    b, n = 1.0, 0
    while True:
        n += 1
        b = traffic * b / (n + traffic * b)
        if n <= traffic:
            continue
        sl = _sl_from_c(n, traffic, _c_from_b(n, traffic, b), aht_s, within_s)
        if sl >= target_sl and (max_occupancy is None or traffic / n <= max_occupancy):
            return n


def plan_erlang_c(
    calls: float,
    interval_s: float,
    aht_s: float,
    target_sl: float,
    within_s: float,
    *,
    shrinkage: float = 0.0,
    max_occupancy: float | None = None,
) -> Staffing:
    """The Erlang C team for one interval, with its figures and the rostered headcount."""
    n = agents_needed(calls, interval_s, aht_s, target_sl, within_s, max_occupancy)
    traffic = traffic_erlangs(calls, interval_s, aht_s)
    people = rostered(n, shrinkage)
    if n == 0:
        return Staffing(0, people, traffic, 0.0, 1.0, 0.0, 0.0)
    return Staffing(
        counsellors=n,
        rostered=people,
        traffic_erlangs=traffic,
        probability_of_waiting=erlang_c(n, traffic),
        service_level=service_level(n, traffic, aht_s, within_s),
        asa=average_speed_of_answer(n, traffic, aht_s),
        occupancy=occupancy(n, traffic),
    )


# --- Erlang A -----------------------------------------------------------------------------


def _log1p_exp(z: float) -> float:
    """log(1 + e^z) without overflow."""
    return z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))


def _logistic(z: float) -> float:
    """1 / (1 + e^-z) without overflow."""
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def _log_inverse_erlang_b(agents: int, traffic: float) -> float:
    """log(1 / B(N, A)), by the Erlang B recursion in log space (B may underflow)."""
    log_inv = 0.0
    for n in range(1, agents + 1):
        log_inv = _log1p_exp(math.log(n / traffic) + log_inv)
    return log_inv


def _digamma_difference(a: float, b: float) -> float:
    """psi(a) - psi(b) for a, b > 0: recurrence up to 10, then the asymptotic series."""
    shift = 0.0
    while a < 10:
        shift -= 1.0 / a
        a += 1.0
    while b < 10:
        shift += 1.0 / b
        b += 1.0

    def tail(z: float) -> float:
        z2 = 1.0 / (z * z)
        return -0.5 / z - z2 * (
            1 / 12 - z2 * (1 / 120 - z2 * (1 / 252 - z2 * (1 / 240 - z2 / 132)))
        )

    return shift + math.log1p((a - b) / b) + tail(a) - tail(b)


def _log_term_ratio(alpha: float, x: float, lo: int, hi: int) -> float:
    """log(q_hi / q_lo) for q_k = x^k / ((alpha+1)...(alpha+k)), lo <= hi."""
    if hi - lo <= _WALK_LIMIT:
        return math.fsum(math.log(x / (alpha + i)) for i in range(lo + 1, hi + 1))
    return (hi - lo) * math.log(x) - (math.lgamma(alpha + hi + 1) - math.lgamma(alpha + lo + 1))


def _harmonic(alpha: float, k: int) -> float:
    """H_k = sum_{i=1..k+1} 1 / (alpha + i)."""
    if k <= _WALK_LIMIT:
        return math.fsum(1.0 / (alpha + i) for i in range(1, k + 2))
    return _digamma_difference(alpha + k + 2, alpha + 1)


@dataclass(frozen=True)
class _Queue:
    """Sums over the queue states q_k = pi_(N+k) / pi_N, each divided by sum_k q_k."""

    log_total: float  # log sum_k q_k
    queued: float  # sum_k k q_k: callers in the queue
    served: float  # sum_k s_k q_k: callers who wait and are served
    served_wait: float  # sum_k s_k H_k q_k: their waiting time, in units of 1 / theta
    served_late: float  # callers served after more than t


def _queue(alpha: float, x: float, tau: float) -> _Queue:
    """Sum the queue states of Erlang A; tau = t x theta.

    q_k rises while alpha + k < x and falls after (the ratio x / (alpha + k) falls), so the
    sum starts at the largest term and walks both ways until what is left is negligible,
    everything relative to that term: nothing overflows however long the queue.
    A caller finding k ahead is served with probability s_k = alpha / (alpha + k + 1), after
    H_k / theta on average if served. The callers served after t add up (see
    :func:`erlang_a`) to sum_k q_k s_k exp(x (1 - e^-tau) - (alpha + 1 + k) tau), whose
    terms have their own peak, lower down: a second window.
    """
    top = max(0, math.floor(x - alpha))
    h_top = _harmonic(alpha, top)
    total = 1.0
    queued = float(top)
    served = alpha / (alpha + top + 1)
    served_wait = served * h_top

    # Right of the top the ratio r falls, so what follows term k is at most
    # term r / (1 - r), or term / (1 - r) (k + H + 1 / (1 - r)) with the weights k or H.
    term, h, k = 1.0, h_top, top
    while True:
        k += 1
        term *= x / (alpha + k)
        h += 1.0 / (alpha + k + 1)
        s = alpha / (alpha + k + 1)
        total += term
        queued += k * term
        served += s * term
        served_wait += s * h * term
        gap = 1.0 - x / (alpha + k + 1)
        if term / gap * (k + h + 1.0 / gap) <= _TAIL * total:
            break

    # Left of the top, going down, the ratio (alpha + k) / x falls too.
    term, h = 1.0, h_top
    for k in range(top, 0, -1):
        term *= (alpha + k) / x
        h -= 1.0 / (alpha + k + 1)
        s = alpha / (alpha + k)
        total += term
        queued += (k - 1) * term
        served += s * term
        served_wait += s * h * term
        gap = 1.0 - (alpha + k - 1) / x
        if term / gap * (top + h_top + 1.0) <= _TAIL * total:
            break

    # Served after t: the terms l_k = q_k s_k e^(x (1 - p) - (alpha + 1 + k) tau), p = e^-tau,
    # peak at k = x p - alpha - 1 (they are those of S(alpha + 1, x p)).
    y = x * math.exp(-tau)
    peak = max(0, min(top, math.floor(y - alpha - 1)))
    log_peak = (
        -_log_term_ratio(alpha, x, peak, top)
        + math.log(alpha / (alpha + peak + 1))
        - x * math.expm1(-tau)
        - (alpha + 1 + peak) * tau
    )
    late = first = math.exp(log_peak) if log_peak > _LOG_TINY else 0.0
    term, k = first, peak
    while term > 0:
        k += 1
        term *= y / (alpha + k + 1)
        late += term
        gap = 1.0 - y / (alpha + k + 2)
        if gap > 0 and term / gap <= _TAIL * total:
            break
    term = first
    for k in range(peak, 0, -1):
        if term == 0:
            break
        term *= (alpha + k + 1) / y
        late += term
        gap = 1.0 - (alpha + k) / y
        if gap > 0 and term / gap <= _TAIL * total:
            break

    return _Queue(
        log_total=math.log(total),
        queued=queued / total,
        served=served / total,
        served_wait=served_wait / total,
        served_late=late / total,
    )


def _erlang_a(
    agents: int, traffic: float, aht_s: float, patience_s: float, within_s: float
) -> ErlangA:
    """:func:`erlang_a` for checked inputs and traffic > 0."""
    alpha = agents * patience_s / aht_s  # N mu / theta
    x = traffic * patience_s / aht_s  # lambda / theta
    # log(sum_{j<N} pi_j / pi_N) = log((N / A) / B(N - 1, A))
    log_below = math.log(agents / traffic) + _log_inverse_erlang_b(agents - 1, traffic)
    log_top = _log_term_ratio(alpha, x, 0, max(0, math.floor(x - alpha)))
    queue = _queue(alpha, x, within_s / patience_s)
    log_queue = log_top + queue.log_total
    p_wait = _logistic(log_queue - log_below)
    p_no_wait = _logistic(log_below - log_queue)
    abandonment = p_wait * queue.queued / x  # theta E[queue] / lambda
    served_after_wait = p_wait * queue.served
    answered = p_no_wait + served_after_wait
    return ErlangA(
        probability_of_waiting=p_wait,
        abandonment=abandonment,
        service_level=min(
            1.0, p_no_wait + max(0.0, served_after_wait - p_wait * queue.served_late)
        ),
        asa=p_wait * queue.served_wait * patience_s / answered,
        occupancy=min(1.0, traffic * (1.0 - abandonment) / agents),
    )


def erlang_a(
    agents: int, traffic: float, aht_s: float, patience_s: float, within_s: float
) -> ErlangA:
    """P(wait), P(abandon), service level within t (of offered calls), ASA of answered calls.

    Method (exact: no simulation, no quadrature; after Palm and Garnett, Mandelbaum and
    Reiman 2002). With mu = 1/AHT, theta = 1/patience and lambda = A mu, the number of
    callers is a birth-death chain with death rate min(n, N) mu + max(n - N, 0) theta.
    With alpha = N mu / theta and x = lambda / theta, relative to state N the states below
    sum to (N / A) / B(N - 1), B the Erlang B value (in log space), and the queue states
    are q_k = pi_(N+k) / pi_N = x^k / ((alpha+1)...(alpha+k)), whose sum is Garnett et
    al.'s A(alpha, x) = alpha e^x x^-alpha gamma(alpha, x). Then:

    - P(W) = sum_k pi_(N+k) (arrivals see time averages);
    - P(Ab) = theta E[queue] / lambda;
    - a caller who finds k ahead moves up at rate N mu + j theta while j are ahead and
      hangs up at rate theta: served with probability s_k = alpha / (alpha + k + 1) (the
      product telescopes), after H_k / theta on average if served, with
      H_k = sum_{i=1..k+1} 1 / (alpha + i): that gives the ASA of answered calls;
    - summed over k, the wait of served callers has the density
      pi_N N mu exp(x (1 - e^-theta s) - (N mu + theta) s), so the share served after
      more than t is pi_N sum_k q_k s_k exp(x (1 - p) - (alpha + 1 + k) theta t) with
      p = e^-theta t (Garnett et al.'s incomplete-gamma form, expanded as a series), and
      the service level is P(no wait) + P(served after waiting) - that.

    The sums start at their largest term and walk outwards until the rest is below 1e-22
    of the total, relative to that term, so large teams and long queues neither overflow
    nor lose precision. As patience grows the figures tend to Erlang C's; unlike Erlang C
    the queue is stable for any team size.
    """
    _check_agents(agents)
    _check_traffic(traffic)
    _check_positive("aht_s", aht_s)
    _check_positive("patience_s", patience_s)
    _check_within(within_s)
    if traffic == 0:
        return ErlangA(0.0, 0.0, 1.0, 0.0, 0.0)
    return _erlang_a(agents, traffic, aht_s, patience_s, within_s)


def agents_needed_erlang_a(
    calls: float,
    interval_s: float,
    aht_s: float,
    target_sl: float,
    within_s: float,
    patience_s: float,
    max_occupancy: float | None = None,
) -> int:
    """Smallest team meeting the service level (and occupancy cap) by Erlang A."""
    traffic = traffic_erlangs(calls, interval_s, aht_s)
    _check_target(target_sl)
    _check_within(within_s)
    _check_positive("patience_s", patience_s)
    _check_max_occupancy(max_occupancy)
    if traffic == 0:
        return 0

    def figures(n: int) -> ErlangA:
        return _erlang_a(n, traffic, aht_s, patience_s, within_s)

    # N counsellors answer at most N / AHT calls a second, a share N / A of those offered,
    # so a team below target x A always fails. The service level grows with the team (more
    # servers, a stochastically shorter queue), so gallop up from there, then bisect.
    fails = max(0, math.floor(target_sl * traffic) - 1)
    step = 1
    meets = fails + step
    while figures(meets).service_level < target_sl:
        fails, step = meets, 2 * step
        meets = fails + step
    while meets - fails > 1:
        middle = (fails + meets) // 2
        if figures(middle).service_level >= target_sl:
            meets = middle
        else:
            fails = middle
    # The occupancy cap only ever adds counsellors.
    while max_occupancy is not None and figures(meets).occupancy > max_occupancy:
        meets += 1
    return meets


def plan_erlang_a(
    calls: float,
    interval_s: float,
    aht_s: float,
    target_sl: float,
    within_s: float,
    patience_s: float,
    *,
    shrinkage: float = 0.0,
    max_occupancy: float | None = None,
) -> Staffing:
    """The Erlang A team for one interval, with its figures and the rostered headcount."""
    n = agents_needed_erlang_a(
        calls, interval_s, aht_s, target_sl, within_s, patience_s, max_occupancy
    )
    traffic = traffic_erlangs(calls, interval_s, aht_s)
    people = rostered(n, shrinkage)
    if n == 0:
        return Staffing(0, people, traffic, 0.0, 1.0, 0.0, 0.0, abandonment=0.0)
    figures = erlang_a(n, traffic, aht_s, patience_s, within_s)
    return Staffing(
        counsellors=n,
        rostered=people,
        traffic_erlangs=traffic,
        probability_of_waiting=figures.probability_of_waiting,
        service_level=figures.service_level,
        asa=figures.asa,
        occupancy=figures.occupancy,
        abandonment=figures.abandonment,
    )
