"""The duty managers' audit trail: who did what, when, with the state before and after.

One stream (``keys.audit``), one entry per action, fields ``at`` (ms, injected clock),
``who`` (console login, or ``cli:<user>`` for the command line), ``action`` (a dotted name,
``counsellor.state``), ``target`` (what it applies to) and ``before``/``after`` (JSON objects;
``{}`` when there was nothing). Entries are never edited; the retention job removes those older
than ``[dashboard] audit_retention_days``.

"Before" is read just before the change; where it must be exact under concurrent changes (the
ACD overrides), the change and its entry are one Lua script (``lua/set_overrides.lua``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import redis as redis_lib

from helpline.clock import from_ms, to_ms
from helpline.keys import Keys

#: Approximate cap of the audit stream (the retention job also trims it by age).
AUDIT_MAXLEN = 200_000

#: What each action is called on the audit page.
ACTION_LABELS = {
    "counsellor.state": "État d'un écoutant",
    "counsellor.add": "Écoutant ajouté",
    "counsellor.update": "Écoutant modifié",
    "counsellor.remove": "Écoutant retiré",
    "hours.close_now": "Fermeture immédiate",
    "hours.open_late": "Ouverture prolongée",
    "hours.closed_day": "Journée fermée",
    "hours.remove": "Exception d'horaires supprimée",
    "overrides.set": "Débordement et priorités",
    "announcement.set": "Annonce aux appelants",
    "announcement.clear": "Annonce retirée",
    "roster.add": "Créneau ajouté au planning",
    "roster.remove": "Créneau retiré du planning",
    "forecast.set": "Prévision saisie",
    "forecast.clear": "Prévision effacée",
    "export.calls": "Export des appels",
    "export.daily": "Export des chiffres quotidiens",
    # in-call tools (incall/, docs/incall.md)
    "incall.escalate": "Service d'urgence ajouté à un appel",
    "incall.supervise": "Écoute d'un appel (début)",
    "incall.supervise_mode": "Écoute d'un appel (mode changé)",
    "incall.supervise_leave": "Écoute d'un appel (fin)",
    "blocklist.add": "Appelant bloqué",
    "blocklist.remove": "Blocage levé",
}


@dataclass(frozen=True)
class AuditEntry:
    """One action as stored."""

    id: str
    at: datetime
    who: str
    action: str
    target: str
    before: dict[str, Any]
    after: dict[str, Any]

    @property
    def label(self) -> str:
        """The action in words."""
        return ACTION_LABELS.get(self.action, self.action)

    def changes(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) for every field that differs, in a stable order."""
        names = list(dict.fromkeys([*self.before, *self.after]))
        return [
            (name, self.before.get(name), self.after.get(name))
            for name in names
            if self.before.get(name) != self.after.get(name)
        ]


def _dump(value: dict[str, Any] | None) -> str:
    return json.dumps(value or {}, ensure_ascii=False, sort_keys=True, default=str)


def record(
    redis: redis_lib.Redis,
    keys: Keys,
    now: datetime,
    who: str,
    action: str,
    target: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> str:
    """Append one audit entry; its stream id."""
    body: dict[Any, Any] = {  # redis-py wants its own key and value union
        "at": str(to_ms(now)),
        "who": who,
        "action": action,
        "target": target,
        "before": _dump(before),
        "after": _dump(after),
    }
    return str(redis.xadd(keys.audit, body, maxlen=AUDIT_MAXLEN, approximate=True))


def _load(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {"unreadable": text}
    return value if isinstance(value, dict) else {"value": value}


def entries(redis: redis_lib.Redis, keys: Keys, count: int = 200) -> list[AuditEntry]:
    """The newest ``count`` entries, newest first."""
    raw = cast(list[tuple[str, dict[str, str]]], redis.xrevrange(keys.audit, count=count))
    found = []
    for entry_id, fields in raw:
        try:
            at = from_ms(int(fields.get("at", "0")))
        except ValueError:
            continue
        found.append(
            AuditEntry(
                id=entry_id,
                at=at,
                who=fields.get("who", ""),
                action=fields.get("action", ""),
                target=fields.get("target", ""),
                before=_load(fields.get("before")),
                after=_load(fields.get("after")),
            )
        )
    return found
