"""Words the dashboard shows: the console's labels (one source) and a few of its own."""

from __future__ import annotations

from console.views import (
    BREAK_REASONS,
    CALLER_TYPE_LABELS,
    LANGUAGE_LABELS,
    OTHER_REASONS,
    PLATFORM_LABELS,
    STATE_LABELS,
)

__all__ = [
    "BREAK_REASONS",
    "CALLER_TYPE_LABELS",
    "LANGUAGE_LABELS",
    "OTHER_REASONS",
    "PLATFORM_LABELS",
    "REASON_LABELS",
    "SKILL_LABELS",
    "STATE_LABELS",
    "duration",
    "label",
    "percent",
    "seconds",
]

SKILL_LABELS = {
    "psychologist": "Psychologue",
    "lawyer": "Juriste",
    "digital": "Numérique",
    "any": "Tout écoutant",
}
REASON_LABELS = {**BREAK_REASONS, **OTHER_REASONS, "other": "Autre"}
OUTCOME_LABELS = {
    "answered": "Décroché",
    "abandoned": "Abandon",
    "overflowed": "Débordé",
    "closed": "Fermé",
    "error": "Erreur",
}


def label(labels: dict[str, str], value: str | None) -> str:
    """The label of ``value`` (the value itself when unknown, '' for None)."""
    if value is None:
        return ""
    return labels.get(value, value)


def duration(total: float | None) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``; ``—`` for None."""
    if total is None:
        return "—"
    s = max(0, round(total))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def seconds(total: float | None) -> str:
    """``42 s`` rounded (ASA, AHT), ``—`` for None."""
    return "—" if total is None else duration(total)


def percent(share: float | None) -> str:
    """``83 %``; ``—`` for None."""
    return "—" if share is None else f"{share * 100:.0f} %"
