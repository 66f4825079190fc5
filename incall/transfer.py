"""Warm transfer from the console: a counsellor hands their caller to a colleague of another
skill (psychologist → lawyer), introduces the case on the call, then leaves.

The ACD decides (`acd.transfer`, atomic Lua); this module adds what a person's click needs
around it: the Conference Participants updates that keep the caller on the line when the first
counsellor leaves, hanging up legs, a dispatch, and the audit trail (``incall.transfer_request``,
``incall.transfer``, ``incall.transfer_cancel``). See docs/incall.md, "Warm transfer".
"""

from __future__ import annotations

from typing import Any

from acd import jobs, transfer
from acd.store import Acd
from helpline.log import get_logger
from helpline.runtime import Runtime
from incall import audit

log = get_logger("incall.transfer")

#: HTTP status of each reason the ACD refuses a transfer.
REFUSED = {"unknown_skill": 400, "not_on_call": 409, "running": 409}


class TransferError(Exception):
    """The transfer cannot be done now; ``status`` and ``kind`` for the HTTP answer."""

    def __init__(self, status: int, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail = status, kind, detail


def skills(runtime: Runtime) -> list[dict[str, str]]:
    """The skills a call may be transferred to, with their labels (the console's buttons)."""
    labels = {"psychologist": "Psychologue", "lawyer": "Juriste", "digital": "Numérique"}
    return [{"skill": s, "label": labels.get(s, s)} for s in runtime.config.acd.skills]


def request(runtime: Runtime, counsellor_id: str, skill: str, by: str) -> dict[str, Any]:
    """Ask for a colleague with ``skill`` for the counsellor's call (the transfer's state)."""
    acd = Acd(runtime)
    try:
        xid = transfer.start(acd, counsellor_id, skill)
    except transfer.TransferRefused as exc:
        raise TransferError(REFUSED.get(exc.kind, 409), exc.kind, str(exc)) from exc
    rid = xid[len(transfer.PREFIX) :]
    reservation = acd.get_reservation(rid)
    leg = reservation.counsellor_call_sid if reservation else None
    # From now on the first counsellor leaving must not end the call: the caller stays on the
    # line for the colleague (docs/incall.md). Without that, no transfer.
    if not transfer.set_end_on_exit(runtime, rid, leg, False):
        transfer.cancel(acd, counsellor_id)
        raise TransferError(502, "twilio_error", "Le transfert n'a pas pu être préparé.")
    jobs.request_dispatch(runtime)
    audit.record(
        runtime, by, "incall.transfer_request", f"reservation:{rid}",
        after={"skill": skill, "counsellor": counsellor_id},
    )  # fmt: skip
    log.info("incall.transfer_requested", rid=rid, counsellor=counsellor_id, skill=skill)
    return transfer.status(acd, counsellor_id)


def complete(runtime: Runtime, counsellor_id: str, by: str) -> dict[str, Any]:
    """Hand the call over to the colleague who joined; the first counsellor's leg is hung up."""
    acd = Acd(runtime)
    current = transfer.status(acd, counsellor_id)
    if current.get("role") != "owner" or current["state"] != "joined":
        raise TransferError(409, "not_joined", "Votre collègue n'a pas encore rejoint l'appel.")
    counsellor = acd.get_counsellor(counsellor_id)
    rid = counsellor.reservation_id if counsellor else None
    entry = acd.redis.hmget(acd.keys.transfer_entry(str(rid)), ["rid", "counsellor"])
    colleague = acd.get_reservation(str(entry[0])) if entry[0] else None
    # First make the colleague's leaving end the call (else the caller would stay alone),
    # unless 17/112/119 is on the line: the caller stays with the service.
    leg = colleague.counsellor_call_sid if colleague else None
    if rid is None or not transfer.restore_end_on_exit(runtime, rid, leg):
        raise TransferError(502, "twilio_error", "Le transfert n'a pas pu être terminé.")
    step = transfer.complete(acd, counsellor_id)
    if step.result != "completed":
        raise TransferError(409, "not_joined", "Votre collègue n'est plus dans l'appel.")
    if step.counsellor_leg:
        jobs.end_counsellor_leg(runtime, step.counsellor_leg, rid)
    audit.record(
        runtime, by, "incall.transfer", f"reservation:{rid}",
        after={"skill": current.get("skill"), "from": counsellor_id, "to": entry[1],
               "reservation": entry[0]},
    )  # fmt: skip
    log.info("incall.transfer_completed", rid=rid, counsellor=counsellor_id, to=entry[1])
    return {"state": "completed", "skill": current.get("skill"), "colleague": current["colleague"]}


def cancel(runtime: Runtime, counsellor_id: str, by: str) -> dict[str, Any]:
    """Stop the transfer ("stay with me"): the caller stays with the counsellor."""
    acd = Acd(runtime)
    try:
        step = transfer.cancel(acd, counsellor_id)
    except transfer.TransferRefused as exc:
        raise TransferError(409, exc.kind, str(exc)) from exc
    if step.result != "canceled":
        raise TransferError(409, "no_transfer", "Aucun transfert en cours.")
    if step.colleague_leg:  # ringing, or on the call already: they are not needed any more
        jobs.end_counsellor_leg(runtime, step.colleague_leg, step.colleague_rid)
    # Leaving ends the call again, as for any call, unless 17/112/119 was brought in (best
    # effort: the call goes on anyway).
    transfer.restore_end_on_exit(runtime, step.rid, step.counsellor_leg)
    jobs.request_dispatch(runtime)  # the colleague is free again
    audit.record(
        runtime, by, "incall.transfer_cancel", f"reservation:{step.rid}",
        before={"state": step.before}, after={"state": "canceled"},
    )  # fmt: skip
    log.info("incall.transfer_canceled", rid=step.rid, counsellor=counsellor_id)
    return transfer.status(acd, counsellor_id)


def state(runtime: Runtime, counsellor_id: str) -> dict[str, Any]:
    """The counsellor's transfer as the console shows it."""
    return transfer.status(Acd(runtime), counsellor_id)
