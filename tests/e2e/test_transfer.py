"""Warm transfer end to end: the simulator's caller talks to a psychologist, who hands them to
a lawyer through the real web app, worker and Redis (Conference Participants over REST)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from acd import transfer as acd_transfer
from acd.store import Acd
from helpline.demo import LocalProduct, start_local
from incall import transfer
from tests.e2e.conftest import SPEED, e2e_config, eventually

TIMEOUT = 90.0
LONG = 100_000.0  # simulated seconds: these counsellors talk until the test ends the call


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProduct]:
    """The product with counsellors who stay on their calls, and a lawyer who refuses."""
    stay = {"handle_time": LONG}
    local = start_local(
        Path(tmp_path_factory.mktemp("e2e-transfer")),
        e2e_config(),
        web_workers=2,
        speed=SPEED,
        seed=11,
        answer_delay=2.0,
        handle_time_mean=LONG,
        handle_time_distribution="exponential",
        no_answer_probability=0.0,
        patience_mean=None,
        counsellors={
            "client:amina": stay,
            "client:lina": stay,
            "client:louis": stay | {"accept_digits": "9"},  # presses 9: declines
        },
    )
    yield local
    local.stop()


@pytest.fixture
def counsellor(local: LocalProduct) -> Callable[..., str]:
    """Add a counsellor with one skill, available."""
    acd = Acd(local.runtime)

    def add(cid: str, skill: str) -> str:
        acd.add_counsellor(cid, cid.title(), [skill], ["fr", "en"], f"client:{cid}")
        acd.set_state(cid, "available")
        return cid

    return add


def events(local: LocalProduct, what: str) -> list[dict[str, str]]:
    rows = local.runtime.redis.xrange(local.runtime.keys.events)
    return [fields for _id, fields in rows if fields.get("what") == what]


def state_of(local: LocalProduct, cid: str) -> str:
    found = Acd(local.runtime).get_counsellor(cid)
    return found.state.value if found else "unknown"


def transfer_state(local: LocalProduct, cid: str = "amina") -> str:
    return str(transfer.state(local.runtime, cid)["state"])


def all_three_together(local: LocalProduct) -> bool:
    """The colleague is in the call's conference: caller, Amina and the colleague hear each
    other (the caller is never put on silent hold)."""
    rid = events(local, "transfer_requested")[-1]["reservation"]
    heard = local.sim.who_hears(f"res-{rid}")
    return len(heard) == 3 and all(len(others) == 2 for others in heard.values())


def call_with_amina(local: LocalProduct) -> object:
    """A caller is answered by Amina: the simulator's handle."""
    handle = local.sim.place_call(platform="instagram", digits=[])
    eventually(lambda: state_of(local, "amina") == "on_call", TIMEOUT)
    eventually(lambda: handle.leg.connected_at is not None, TIMEOUT)  # both in the conference
    return handle


def test_transfer_accepted_then_handed_over(local: LocalProduct, counsellor) -> None:
    """Lina joins the call, Amina hands over and leaves; the caller talks on with Lina and the
    call keeps its one outcome."""
    counsellor("amina", "psychologist")
    counsellor("lina", "lawyer")
    handle = call_with_amina(local)
    assert transfer.request(local.runtime, "amina", "lawyer", "amina")["state"] in (
        "waiting",
        "offering",
    )
    eventually(lambda: transfer_state(local) == "joined", TIMEOUT)
    eventually(lambda: all_three_together(local), TIMEOUT)
    assert transfer.complete(local.runtime, "amina", "amina")["state"] == "completed"
    eventually(lambda: state_of(local, "amina") == "wrap_up", TIMEOUT)
    # Amina's leg is gone, the caller and Lina are still talking.
    assert state_of(local, "lina") == "on_call"
    assert handle.leg.live  # type: ignore[attr-defined]
    sid = handle.sid  # type: ignore[attr-defined]
    redis = local.runtime.redis
    assert redis.hget(local.runtime.keys.caller(sid), "counsellor") == "lina"
    rid = events(local, "transfer_requested")[-1]["reservation"]
    # Amina's leg is hung up by the worker: then only the caller and Lina are left.
    eventually(lambda: len(local.sim.who_hears(f"res-{rid}")) == 2, TIMEOUT)
    assert sid in local.sim.who_hears(f"res-{rid}")
    handle.hangup()  # type: ignore[attr-defined]
    result = handle.wait(TIMEOUT)  # type: ignore[attr-defined]
    assert result.outcome == "answered"
    eventually(lambda: state_of(local, "lina") == "wrap_up", TIMEOUT)
    [moved] = events(local, "transfer")
    assert moved["call"] == sid and (moved["from"], moved["to"]) == ("amina", "lina")
    assert [e["outcome"] for e in events(local, "outcome") if e["call"] == sid] == ["answered"]


def test_transfer_refused_then_accepted_by_another_lawyer(local: LocalProduct, counsellor) -> None:
    """Louis (idle longer) declines: the transfer keeps its place and Lina takes it."""
    counsellor("amina", "psychologist")
    counsellor("louis", "lawyer")
    counsellor("lina", "lawyer")
    handle = call_with_amina(local)
    transfer.request(local.runtime, "amina", "lawyer", "amina")
    eventually(lambda: transfer_state(local) == "joined", TIMEOUT)
    failed = [e for e in events(local, "offer_failed") if acd_transfer.is_transfer(e["call"])]
    assert [(e["counsellor"], e["reason"]) for e in failed] == [("louis", "declined")]
    assert events(local, "transfer_joined")[0]["to"] == "lina"
    assert state_of(local, "louis") in ("available", "break")
    eventually(lambda: all_three_together(local), TIMEOUT)
    transfer.complete(local.runtime, "amina", "amina")
    handle.hangup()  # type: ignore[attr-defined]
    assert handle.wait(TIMEOUT).outcome == "answered"  # type: ignore[attr-defined]


def test_nobody_free_then_stay_with_me(local: LocalProduct, counsellor) -> None:
    """No lawyer on duty: the transfer waits; "stay with me" cancels it, the caller is still
    with Amina, and only Amina's leaving ends the call."""
    counsellor("amina", "psychologist")
    handle = call_with_amina(local)
    assert transfer.request(local.runtime, "amina", "lawyer", "amina")["state"] == "waiting"
    assert transfer.cancel(local.runtime, "amina", "amina")["state"] == "canceled"
    assert state_of(local, "amina") == "on_call"
    assert handle.leg.live  # type: ignore[attr-defined]
    handle.hangup()  # type: ignore[attr-defined]
    result = handle.wait(TIMEOUT)  # type: ignore[attr-defined]
    assert result.outcome == "answered" and result.connected_to == "amina"
    eventually(lambda: state_of(local, "amina") == "wrap_up", TIMEOUT)


def test_caller_hanging_up_mid_transfer_cleans_everything(local: LocalProduct, counsellor) -> None:
    """The caller leaves while the transfer waits: it is canceled, Amina goes to wrap-up,
    nobody stays reserved, one outcome."""
    counsellor("amina", "psychologist")
    handle = call_with_amina(local)
    transfer.request(local.runtime, "amina", "lawyer", "amina")
    handle.hangup()  # type: ignore[attr-defined]
    result = handle.wait(TIMEOUT)  # type: ignore[attr-defined]
    assert result.outcome == "answered"
    eventually(lambda: state_of(local, "amina") == "wrap_up", TIMEOUT)
    rid = events(local, "transfer_requested")[0]["reservation"]
    entry = local.runtime.redis.hgetall(local.runtime.keys.transfer_entry(rid))
    assert entry["state"] == "canceled" and entry["reason"] == "caller_gone"
    sid = result.sid
    assert [e["outcome"] for e in events(local, "outcome") if e["call"] == sid] == ["answered"]
