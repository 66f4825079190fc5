"""The "Now" view: waiting callers, counsellors, offers and alerts, as JSON-able data. Pure.

`build_now` takes what the ACD and the hours store say (plain data read in one go by
`dashboard.service`) and a ``now``; the page's script renders it, the SSE stream sends it.
Nothing here identifies a caller: no number, no pseudonym; a CallSid only in the list of
missed callbacks, so that a duty manager can find the call's record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from acd.callback import MissedCallback
from acd.model import Counsellor, CounsellorState, Reservation
from dashboard import labels as L
from ivr.hours import Status

#: The state changes a duty manager may make, per current state (the ACD decides in the end).
ACTIONS: dict[CounsellorState, tuple[str, ...]] = {
    CounsellorState.OFFLINE: ("available", "break"),
    CounsellorState.AVAILABLE: ("break", "offline"),
    CounsellorState.BREAK: ("available", "break", "offline"),
    CounsellorState.WRAP_UP: ("available", "break", "offline"),
    CounsellorState.RESERVED: (),
    CounsellorState.ON_CALL: (),
}
ACTION_LABELS = {"available": "Disponible", "break": "En pause", "offline": "Hors ligne"}
#: A duty manager's ways of joining a call (incall.supervise), as the buttons say them.
SUPERVISE_LABELS = {"listen": "Écouter", "whisper": "Chuchoter", "barge": "Intervenir"}
#: The mode a supervisor is in, in words.
SUPERVISION_LABELS = {"listen": "écoute", "whisper": "chuchote à l'écoutant", "barge": "intervient"}
#: Display order of counsellors: those taking calls first.
STATE_ORDER = {
    CounsellorState.ON_CALL: 0,
    CounsellorState.RESERVED: 1,
    CounsellorState.WRAP_UP: 2,
    CounsellorState.AVAILABLE: 3,
    CounsellorState.BREAK: 4,
    CounsellorState.OFFLINE: 5,
}


@dataclass(frozen=True)
class Announcement:
    """The message played to waiting callers, and the seconds it has left (None: no expiry)."""

    text: str
    expires_in_s: int | None


def _waiting_status(w: Mapping[str, Any], names: Mapping[str, str], zone: ZoneInfo) -> str:
    """What a waiting caller is doing now, virtual hold included."""
    who = names.get(w.get("counsellor") or "", "")
    state = w.get("state")
    if not w.get("callback"):
        return f"Proposé à {who}" if state == "offered" else "En attente"
    if state == "offered":
        return f"Rappel, proposé à {who}"
    if state == "calling":
        return f"Rappel en cours ({who})"
    retry_at = w.get("retry_at")
    if retry_at is not None:
        return f"Rappel non abouti, nouvel essai à {retry_at.astimezone(zone):%H:%M}"
    return "Rappel demandé"


def _transfer_row(t: Mapping[str, Any], names: Mapping[str, str], now: datetime) -> dict[str, Any]:
    """A warm transfer waiting for a colleague (acd.transfer.waiting): not a new call, shown
    ahead of the callers (it is served first), with the skill asked for."""
    waited = max(0, int(now.timestamp() * 1000) - int(t.get("requested_ms", 0))) // 1000
    asker = names.get(t.get("from_counsellor") or "", t.get("from_counsellor") or "")
    skill = L.label(L.SKILL_LABELS, t.get("skill"))
    if t.get("state") == "offered":
        status = f"Transfert de {asker}, proposé à {names.get(t.get('counsellor') or '', '')}"
    elif t.get("alone"):
        status = f"Transfert de {asker} : l'écoutant a raccroché, l'appelant attend seul"
    else:
        status = f"Transfert de {asker}, en attente d'un collègue"
    return {
        "position": "Transfert",
        "waited_s": waited,
        "waited": L.duration(waited),
        "platform": t.get("platform", "unknown"),
        "platform_label": L.label(L.PLATFORM_LABELS, t.get("platform", "unknown")),
        "caller_type_label": L.label(L.CALLER_TYPE_LABELS, t.get("caller_type")),
        "language_label": L.label(L.LANGUAGE_LABELS, t.get("language")),
        "skill_label": f"{skill} (ou tous)" if t.get("relaxed") else skill,
        "offered": t.get("state") == "offered",
        "offered_to": names.get(t.get("counsellor") or "", ""),
        "callback": False,
        "transfer": True,
        "status_label": status,
    }


def _missed_rows(missed: Sequence[MissedCallback], zone: ZoneInfo) -> list[dict[str, Any]]:
    """The duty managers' list of missed callbacks: no number (none is kept)."""
    return [
        {
            "at": m.at.astimezone(zone).strftime("%d/%m %H:%M"),
            "platform_label": L.label(L.PLATFORM_LABELS, m.platform),
            "caller_type_label": L.label(L.CALLER_TYPE_LABELS, m.caller_type),
            "tries": m.tries,
            "reason_label": "délai dépassé" if m.reason == "callback_expired" else "sans réponse",
            "call_sid": m.call_sid,
        }
        for m in missed
    ]


def _since(now: datetime, then: datetime) -> int:
    return max(0, int((now - then).total_seconds()))


def build_now(
    now: datetime,
    zone: ZoneInfo,
    waiting: Sequence[Mapping[str, Any]],
    counsellors: Sequence[Counsellor],
    offers: Mapping[str, Reservation],
    status: Status,
    announcement: Announcement | None,
    alert_wait_s: int,
    supervision: Mapping[str, Mapping[str, str]] | None = None,
    missed_callbacks: Sequence[MissedCallback] = (),
    transfers: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Everything the "Now" panel shows; ``supervision``: counsellor id → the duty manager
    listening to their call (``login``, ``mode``); ``missed_callbacks``: virtual-hold callbacks
    nobody answered (last 24 h, newest first: time, platform, caller type, CallSid);
    ``transfers``: warm transfers waiting for a colleague (acd.transfer.waiting), listed first
    and labelled as transfers (they are not new calls: not in the waiting count)."""
    supervision = supervision or {}
    names = {c.id: c.name or c.id for c in counsellors}
    transfer_rows = [_transfer_row(t, names, now) for t in transfers]
    rows = []
    for w in waiting:
        waited = int(w.get("waited_s", 0))
        offered = w.get("state") == "offered"
        rows.append(
            {
                "position": int(w["position"]),
                "waited_s": waited,
                "waited": L.duration(waited),
                "platform": w.get("platform", "unknown"),
                "platform_label": L.label(L.PLATFORM_LABELS, w.get("platform", "unknown")),
                "caller_type_label": L.label(L.CALLER_TYPE_LABELS, w.get("caller_type")),
                "language_label": L.label(L.LANGUAGE_LABELS, w.get("language")),
                "skill_label": (
                    L.SKILL_LABELS["any"]
                    if w.get("relaxed")
                    else L.label(L.SKILL_LABELS, w.get("skill"))
                ),
                "offered": offered,
                "offered_to": names.get(w.get("counsellor") or "", "") if offered else "",
                "callback": bool(w.get("callback")),
                "transfer": False,
                "status_label": _waiting_status(w, names, zone),
            }
        )
    longest = max((r["waited_s"] for r in rows), default=None)

    people = []
    for c in sorted(counsellors, key=lambda c: (STATE_ORDER[c.state], c.name.lower(), c.id)):
        since = _since(now, c.state_since)
        watched = supervision.get(c.id)
        people.append(
            {
                "id": c.id,
                "name": c.name or c.id,
                "state": c.state.value,
                "state_label": L.STATE_LABELS.get(c.state, c.state.label),
                "reason_label": L.label(L.REASON_LABELS, c.reason),
                "since_s": since,
                "since": L.duration(since),
                "skills": [L.label(L.SKILL_LABELS, s) for s in c.skills],
                "languages": [L.label(L.LANGUAGE_LABELS, lang) for lang in c.languages],
                "calls_today": c.calls_today,
                "actions": list(ACTIONS.get(c.state, ())),
                "on_call": c.state is CounsellorState.ON_CALL,
                "supervision": (
                    None
                    if watched is None or c.state is not CounsellorState.ON_CALL
                    else {
                        "login": watched["login"],
                        "mode": watched["mode"],
                        "mode_label": L.label(SUPERVISION_LABELS, watched["mode"]),
                    }
                ),
            }
        )

    offer_rows = []
    for r in sorted(offers.values(), key=lambda r: r.created_at):
        offer_rows.append(
            {
                "counsellor": names.get(r.counsellor_id, r.counsellor_id),
                "platform_label": L.label(L.PLATFORM_LABELS, r.platform),
                "caller_type_label": L.label(L.CALLER_TYPE_LABELS, r.caller_type),
                "ringing_s": _since(now, r.created_at),
                "ringing": L.duration(_since(now, r.created_at)),
                "expires_in_s": max(0, int((r.expires_at - now).total_seconds())),
                "placed": bool(r.counsellor_call_sid),
            }
        )

    counts = {state.value: 0 for state in CounsellorState}
    for c in counsellors:
        counts[c.state.value] += 1
    logged_in = sum(n for state, n in counts.items() if state != CounsellorState.OFFLINE.value)

    alerts = []
    if status.open and logged_in == 0:
        alerts.append(
            {
                "kind": "nobody",
                "level": "error",
                "text": "La ligne est ouverte et aucun écoutant n'est connecté : "
                "les appelants entendent le message de débordement.",
            }
        )
    late = [r for r in rows if r["waited_s"] > alert_wait_s]
    if late:
        alerts.append(
            {
                "kind": "long_wait",
                "level": "warn",
                "text": f"{len(late)} appelant{'s' if len(late) > 1 else ''} "
                f"attend{'ent' if len(late) > 1 else ''} depuis plus de "
                f"{L.duration(alert_wait_s)} (le plus long : {L.duration(longest)}).",
            }
        )
    for c in counsellors:
        if c.state is CounsellorState.BREAK and c.reason == "missed":
            alerts.append(
                {
                    "kind": "missed",
                    "level": "warn",
                    "text": f"{c.name or c.id} n'a pas répondu à un appel proposé : en pause "
                    f"« appel manqué » depuis {L.duration(_since(now, c.state_since))}.",
                }
            )

    next_change = (
        status.next_change.astimezone(zone).strftime("%d/%m %H:%M") if status.next_change else None
    )
    return {
        "now": now.isoformat(),
        "now_local": now.astimezone(zone).strftime("%H:%M:%S"),
        "open": status.open,
        "next_change": next_change,
        "waiting": transfer_rows + rows,
        "longest_wait_s": longest,
        "longest_wait": L.duration(longest),
        "counsellors": people,
        "offers": offer_rows,
        "counts": {
            **counts,
            "logged_in": logged_in,
            "waiting": len(rows),
            "callbacks_waiting": sum(1 for r in rows if r["callback"]),
            "transfers_waiting": len(transfer_rows),
            "callbacks_missed": len(missed_callbacks),
        },
        "missed_callbacks": _missed_rows(missed_callbacks, zone),
        "alerts": alerts,
        "announcement": (
            None
            if announcement is None
            else {
                "text": announcement.text,
                "expires_in": L.duration(announcement.expires_in_s)
                if announcement.expires_in_s is not None
                else "sans limite",
            }
        ),
        "action_labels": ACTION_LABELS,
        "supervise_labels": SUPERVISE_LABELS,
        "break_reasons": L.BREAK_REASONS,
    }
