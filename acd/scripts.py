"""The ACD's Lua scripts: loaded once from ``acd/lua/``, registered with redis-py, one typed
wrapper each.

Every script gets the same leading KEYS and ARGV (see ``lua/lib.lua``): the fixed ACD keys,
then ``now`` in ms from the injected clock and the ACD settings as JSON; its own keys and
arguments follow. ``lib.lua`` is put in front of each script's text, so the helpers (events,
outcome recording, counsellor state changes) exist once.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import redis as redis_lib
from redis.commands.core import Script

LUA_DIR = Path(__file__).with_name("lua")
NAMES = (
    "enqueue",
    "outcome",
    "reserve",
    "offer_placed",
    "offer_answered",
    "accept",
    "offer_failed",
    "call_ended",
    "caller_gone",
    "overflow",
    "relax",
    "end_wrapup",
    "set_state",
    "counsellor_save",
    "counsellor_remove",
    # virtual hold (acd/callback.py)
    "callback_request",
    "callback_accept",
    "callback_placed",
    "callback_answered",
    "callback_failed",
    "callback_expire",
    # warm transfer (acd/transfer.py)
    "transfer_start",
    "transfer_step",
)


@cache
def source(name: str) -> str:
    """Full text sent to Redis for script ``name``: lib.lua, then the script."""
    lib = (LUA_DIR / "lib.lua").read_text()
    return lib + "\n" + (LUA_DIR / f"{name}.lua").read_text()


_registered: dict[str, Script] = {}


def script(name: str, client: redis_lib.Redis) -> Script:
    """The registered script ``name`` (its SHA computed once per process)."""
    found = _registered.get(name)
    if found is None:
        found = _registered[name] = client.register_script(source(name))
    return found


class Scripts:
    """Calls the ACD scripts on one Redis client with the common KEYS/ARGV in front."""

    def __init__(self, client: redis_lib.Redis, common_keys: list[str], settings: str) -> None:
        self.client = client
        self.common_keys = common_keys
        self.settings = settings

    def _run(self, name: str, now_ms: int, keys: list[str], args: list[Any]) -> Any:
        # client= lets one registered Script serve every connection (tests, processes).
        return script(name, self.client)(
            keys=[*self.common_keys, *keys],
            args=[now_ms, self.settings, *args],
            client=self.client,
        )

    def run(self, name: str, now_ms: int, keys: list[str], args: list[Any]) -> Any:
        """Run script ``name`` whose typed wrapper lives with its feature (acd/callback.py)."""
        return self._run(name, now_ms, keys, args)

    def enqueue(
        self,
        now_ms: int,
        caller_key: str,
        call_key: str,
        *,
        call_sid: str,
        platform: str,
        caller_type: str,
        language: str,
        skill: str,
        pool: str,
        priority: int,
        enqueued_ms: int,
    ) -> tuple[str, int | str]:
        """("queued", position) | ("overflowed", reason) | ("duplicate", what it was)."""
        args = [call_sid, platform, caller_type, language, skill, pool, priority, enqueued_ms]
        status, value = self._run("enqueue", now_ms, [caller_key, call_key], args)
        return str(status), value

    def outcome(
        self, now_ms: int, call_key: str, call_sid: str, outcome: str, extra: list[str]
    ) -> bool:
        """True when this call recorded the outcome."""
        return bool(self._run("outcome", now_ms, [call_key], [call_sid, outcome, *extra]))

    def reserve(
        self,
        now_ms: int,
        seq_key: str,
        candidate: tuple[str, str, str, str, str, str] | None,
    ) -> list[str] | None:
        """Pick and reserve the best pair. ``candidate`` = (CallSid, counsellor id, rid, caller
        key, counsellor key, reservation key) from an earlier "retry" answer.

        Returns None (nobody to reserve), ["ok", rid, field, value, …] or
        ["retry", CallSid, counsellor id, rid]."""
        if candidate is None:
            keys: list[str] = [seq_key]
            args: list[str] = ["", "", ""]
        else:
            keys = [seq_key, *candidate[3:]]
            args = list(candidate[:3])
        result = self._run("reserve", now_ms, keys, args)
        return [str(x) for x in result] if result else None

    def offer_placed(self, now_ms: int, res_key: str, rid: str, counsellor_call_sid: str) -> bool:
        """True when the CallSid was stored on a pending or accepted reservation."""
        return bool(self._run("offer_placed", now_ms, [res_key], [rid, counsellor_call_sid]))

    def offer_answered(self, now_ms: int, res_key: str, rid: str) -> bool:
        """True when a pending offer's clock was restarted (the counsellor picked up)."""
        return bool(self._run("offer_answered", now_ms, [res_key], [rid]))

    def accept(
        self,
        now_ms: int,
        keys: list[str],
        rid: str,
        call_sid: str,
        counsellor_id: str,
        today: str,
    ) -> str:
        """accepted | caller_gone | stale | mismatch. keys: reservation, caller, counsellor,
        call record."""
        return str(self._run("accept", now_ms, keys, [rid, call_sid, counsellor_id, today]))

    def offer_failed(
        self, now_ms: int, keys: list[str], rid: str, call_sid: str, counsellor_id: str, reason: str
    ) -> str:
        """failed | noop | mismatch. keys: reservation, caller, counsellor."""
        return str(self._run("offer_failed", now_ms, keys, [rid, call_sid, counsellor_id, reason]))

    def call_ended(
        self, now_ms: int, keys: list[str], rid: str, counsellor_id: str, measured: bool
    ) -> str:
        """ended | noop | mismatch. keys: reservation, counsellor. ``measured``: the end is
        real, so the handle time counts."""
        args = [rid, counsellor_id, "1" if measured else "0"]
        return str(self._run("call_ended", now_ms, keys, args))

    def caller_gone(
        self, now_ms: int, keys: list[str], call_sid: str, rid: str, counsellor_id: str
    ) -> list[str]:
        """[status, recorded (0/1), rid, counsellor CallSid] or ["retry", rid, counsellor id].
        keys: caller, call record, reservation, counsellor."""
        answer = self._run("caller_gone", now_ms, keys, [call_sid, rid, counsellor_id])
        return [str(x) for x in answer]

    def overflow(self, now_ms: int, caller_key: str, call_key: str, call_sid: str) -> bool:
        """True when the caller, waiting too long, was marked to leave (outcome overflowed)."""
        return bool(self._run("overflow", now_ms, [caller_key, call_key], [call_sid]))

    def relax(self, now_ms: int) -> int:
        """Number of callers whose skill requirement relaxed now."""
        return int(self._run("relax", now_ms, [], []))

    def end_wrapup(self, now_ms: int, counsellor_key: str, counsellor_id: str) -> bool:
        """True when the counsellor's due wrap-up ended (now available)."""
        return bool(self._run("end_wrapup", now_ms, [counsellor_key], [counsellor_id]))

    def set_state(
        self, now_ms: int, counsellor_key: str, counsellor_id: str, state: str, reason: str
    ) -> str:
        """ok | unchanged | unknown | busy | invalid."""
        return str(self._run("set_state", now_ms, [counsellor_key], [counsellor_id, state, reason]))

    def counsellor_save(
        self,
        now_ms: int,
        counsellor_key: str,
        index_key: str,
        mode: str,
        counsellor_id: str,
        fields: dict[str, str],
    ) -> str:
        """ok | exists | unknown. ``mode`` add or update; empty fields are left unchanged."""
        args = [mode, counsellor_id]
        for name in ("name", "skills", "languages", "endpoint"):
            args += [fields.get(name, "")]
        return str(self._run("counsellor_save", now_ms, [counsellor_key, index_key], args))

    def counsellor_remove(
        self, now_ms: int, counsellor_key: str, index_key: str, counsellor_id: str
    ) -> str:
        """removed | unknown | busy."""
        return str(
            self._run("counsellor_remove", now_ms, [counsellor_key, index_key], [counsellor_id])
        )
