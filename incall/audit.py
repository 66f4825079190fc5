"""Audit entries (the ``audit`` stream, the format of dashboard.audit) and the live-call lookup."""

from __future__ import annotations

import json
from typing import Any

from acd.model import Reservation, ReservationStatus
from acd.store import Acd
from helpline.clock import to_ms
from helpline.runtime import Runtime
from incall.scripts import AUDIT_MAXLEN


def record(
    runtime: Runtime,
    who: str,
    action: str,
    target: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> str:
    """Append one audit entry (who, what, on what, when); its stream id."""
    body: dict[Any, Any] = {
        "at": str(to_ms(runtime.clock.now())),
        "who": who,
        "action": action,
        "target": target,
        "before": json.dumps(before or {}, sort_keys=True),
        "after": json.dumps(after or {}, sort_keys=True),
    }
    return str(runtime.redis.xadd(runtime.keys.audit, body, maxlen=AUDIT_MAXLEN, approximate=True))


def live_call(runtime: Runtime, counsellor_id: str) -> Reservation | None:
    """The counsellor's accepted reservation (caller and counsellor in ``res-<rid>``), if any."""
    acd = Acd(runtime)
    counsellor = acd.get_counsellor(counsellor_id)
    if counsellor is None or not counsellor.reservation_id:
        return None
    reservation = acd.get_reservation(counsellor.reservation_id)
    if (
        reservation is None
        or reservation.counsellor_id != counsellor.id
        or reservation.status is not ReservationStatus.ACCEPTED
    ):
        return None
    return reservation
