"""The dashboard's pages and actions through the web app (Flask test client)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from acd.model import CounsellorState, WaitingCaller
from acd.store import Acd
from dashboard import audit, overrides
from helpline.clock import FrozenClock
from helpline.runtime import Runtime
from ivr import hours_store
from ivr.hours import Kind
from tests.console.conftest import Session


def caller(sid: str, when: datetime, platform: str = "instagram") -> WaitingCaller:
    """A young French-speaking caller needing a psychologist."""
    return WaitingCaller(sid, platform, "young", "fr", "psychologist", 0, when)


def last_audit(runtime: Runtime) -> audit.AuditEntry:
    """The newest audit entry."""
    return audit.entries(runtime.redis, runtime.keys, 1)[0]


@pytest.fixture
def team(acd: Acd) -> Acd:
    """Two counsellors: Bruno on break (logged in), Chloé offline."""
    acd.add_counsellor("bruno", "Bruno", ["psychologist", "lawyer"], ["fr", "en"], "client:bruno")
    acd.add_counsellor("chloe", "Chloé", ["digital"], ["fr"], "+33612345678")
    acd.set_state("bruno", CounsellorState.BREAK, "pause")
    return acd


# -- the live panel ------------------------------------------------------------------------------


def test_now_shows_waiting_callers_without_identifying_them(
    manager: Session, team: Acd, clock: FrozenClock
) -> None:
    """Position, wait, platform, caller type, skill; no CallSid anywhere in the data."""
    team.enqueue(caller("CA" + "1" * 32, clock.now() - timedelta(seconds=150)))
    team.enqueue(caller("CA" + "2" * 32, clock.now() - timedelta(seconds=20), "tiktok"))
    response = manager.client.get("/dashboard/now.json")
    data = response.get_json()
    assert [w["platform_label"] for w in data["waiting"]] == ["Instagram", "TikTok"]
    first = data["waiting"][0]
    assert (first["position"], first["waited_s"], first["caller_type_label"]) == (1, 150, "Jeune")
    # Past skill_relax_after (120 s) any counsellor may take the caller.
    assert [w["skill_label"] for w in data["waiting"]] == ["Tout écoutant", "Psychologue"]
    assert data["longest_wait_s"] == 150
    assert "CA111" not in response.get_data(as_text=True)
    kinds = [a["kind"] for a in data["alerts"]]
    assert kinds == ["long_wait"]  # 150 s > 120 s; Bruno is logged in
    bruno = next(c for c in data["counsellors"] if c["id"] == "bruno")
    assert (bruno["state"], bruno["reason_label"]) == ("break", "Pause")
    assert bruno["actions"] == ["available", "break", "offline"]


def test_alerts_for_a_missed_offer_and_an_empty_team(
    manager: Session, team: Acd, runtime: Runtime
) -> None:
    """A counsellor put on break by a missed offer, and nobody logged in while open."""
    team.set_state("bruno", CounsellorState.AVAILABLE)
    team.enqueue(caller("CA" + "3" * 32, runtime.clock.now()))
    reservation = team.reserve_next()
    assert reservation is not None
    team.offer_failed(reservation.id, "no-answer")
    data = manager.client.get("/dashboard/now.json").get_json()
    assert [a["kind"] for a in data["alerts"]] == ["missed"]
    assert "Bruno" in data["alerts"][0]["text"]
    team.caller_gone("CA" + "3" * 32)
    team.set_state("bruno", CounsellorState.OFFLINE)
    data = manager.client.get("/dashboard/now.json").get_json()
    assert [a["kind"] for a in data["alerts"]] == ["nobody"]


def test_an_offer_in_progress_is_listed(manager: Session, team: Acd, clock: FrozenClock) -> None:
    """While Bruno's phone rings, the offer and its caller show who it is offered to."""
    team.set_state("bruno", CounsellorState.AVAILABLE)
    team.enqueue(caller("CA" + "4" * 32, clock.now()))
    assert team.reserve_next() is not None
    clock.advance(5)
    data = manager.client.get("/dashboard/now.json").get_json()
    assert data["offers"][0]["counsellor"] == "Bruno"
    assert data["offers"][0]["ringing_s"] == 5
    assert data["waiting"][0]["offered_to"] == "Bruno"
    assert next(c for c in data["counsellors"] if c["id"] == "bruno")["actions"] == []


def test_index_page_renders_the_panel_and_the_figures(manager: Session, team: Acd) -> None:
    """The page works without JavaScript too: tables, forms and figures are in the HTML."""
    page = manager.client.get("/dashboard/").get_data(as_text=True)
    assert "Appelants en attente" in page and "Aujourd'hui heure par heure" in page
    assert 'id="state-bruno"' in page and "<svg" in page
    assert "<script>" not in page and "style=" not in page


# -- counsellors ----------------------------------------------------------------------------------


def test_manager_changes_a_counsellors_state_and_it_is_audited(
    manager: Session, team: Acd, runtime: Runtime
) -> None:
    """From break to available: the ACD changes, the audit says who, before and after."""
    response = manager.client.post(
        "/dashboard/counsellors/bruno/state",
        data={"state": "available", "csrf_token": manager.csrf},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200 and response.get_json()["ok"] is True
    bruno = team.get_counsellor("bruno")
    assert bruno is not None and bruno.state is CounsellorState.AVAILABLE
    entry = last_audit(runtime)
    assert (entry.who, entry.action, entry.target) == ("claire", "counsellor.state", "bruno")
    assert entry.before == {"state": "break", "reason": "pause"}
    assert entry.after == {"state": "available", "reason": ""}
    assert entry.at == runtime.clock.now()


def test_a_counsellor_on_a_call_keeps_their_state(
    manager: Session, team: Acd, clock: FrozenClock
) -> None:
    """A counsellor being offered a call cannot be moved: 409, nothing audited."""
    team.set_state("bruno", CounsellorState.AVAILABLE)
    team.enqueue(caller("CA" + "5" * 32, clock.now()))
    assert team.reserve_next() is not None
    response = manager.client.post(
        "/dashboard/counsellors/bruno/state",
        data={"state": "offline", "csrf_token": manager.csrf},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 409
    assert "fin de l'appel" in response.get_json()["message"]


def test_break_needs_a_known_reason(manager: Session, team: Acd) -> None:
    """An unknown reason becomes "pause"; the form answer without JavaScript is a redirect."""
    response = manager.client.post(
        "/dashboard/counsellors/chloe/state",
        data={"state": "break", "reason": "<script>", "csrf_token": manager.csrf},
    )
    assert response.status_code == 302
    chloe = team.get_counsellor("chloe")
    assert chloe is not None and (chloe.state, chloe.reason) == (CounsellorState.BREAK, "pause")


def test_add_edit_and_remove_a_counsellor(manager: Session, acd: Acd, runtime: Runtime) -> None:
    """The counsellors page adds, edits (skills) and removes, each audited."""
    form = {
        "id": "dina",
        "name": "Dina",
        "skills": ["lawyer"],
        "languages": ["fr"],
        "endpoint": "",
        "csrf_token": manager.csrf,
    }
    assert manager.client.post("/dashboard/counsellors", data=form).status_code == 302
    dina = acd.get_counsellor("dina")
    assert dina is not None and dina.endpoint == "client:dina" and dina.skills == ("lawyer",)
    assert last_audit(runtime).action == "counsellor.add"
    form = {
        "name": "Dina K.",
        "skills": ["lawyer", "digital"],
        "languages": ["fr", "en"],
        "csrf_token": manager.csrf,
    }
    manager.client.post("/dashboard/counsellors/dina", data=form)
    dina = acd.get_counsellor("dina")
    assert dina is not None and dina.skills == ("lawyer", "digital") and dina.name == "Dina K."
    entry = last_audit(runtime)
    assert entry.action == "counsellor.update"
    assert ("skills", "lawyer", "lawyer,digital") in entry.changes()
    page = manager.client.get("/dashboard/counsellors").get_data(as_text=True)
    assert "Dina K." in page and "Juriste" in page
    manager.client.post("/dashboard/counsellors/dina/remove", data={"csrf_token": manager.csrf})
    assert acd.get_counsellor("dina") is None
    assert last_audit(runtime).action == "counsellor.remove"


def test_an_invalid_skill_is_refused(manager: Session, acd: Acd) -> None:
    """The ACD's validation reaches the manager as a message."""
    form = {"id": "eve", "name": "Eve", "skills": ["astrology"], "languages": ["fr"]}
    response = manager.client.post(
        "/dashboard/counsellors", data={**form, "csrf_token": manager.csrf}, follow_redirects=True
    )
    assert "Écoutant non ajouté" in response.get_data(as_text=True)
    assert acd.get_counsellor("eve") is None


# -- opening hours --------------------------------------------------------------------------------


def test_close_now_until_the_next_opening_and_hear_the_message(
    manager: Session, runtime: Runtime, clock: FrozenClock
) -> None:
    """At 19:00 in Paris, closing now lasts until 09:00 tomorrow; callers hear so."""
    clock.set(datetime(2026, 11, 23, 18, 0, tzinfo=UTC))
    response = manager.client.post(
        "/dashboard/hours/close-now", data={"note": "panne", "csrf_token": manager.csrf}
    )
    assert response.status_code == 302
    (stored,) = hours_store.list_exceptions(runtime.redis, runtime.keys)
    assert stored.kind is Kind.CLOSED
    assert (stored.start, stored.end) == (clock.now(), datetime(2026, 11, 24, 8, 0, tzinfo=UTC))
    page = manager.client.get("/dashboard/hours").get_data(as_text=True)
    assert "Le 30 18 est fermé pour le moment." in page
    assert "Nous serons de nouveau là demain à 9 heures." in page
    assert "We will be back tomorrow at 9 am." in page
    entry = last_audit(runtime)
    assert entry.action == "hours.close_now" and entry.after["note"] == "panne"


def test_preview_changes_nothing(manager: Session, runtime: Runtime) -> None:
    """A closed day's preview says what callers will hear that day, and stores nothing."""
    page = manager.client.get("/dashboard/hours/preview?action=closed_day&day=2026-11-25").get_data(
        as_text=True
    )
    assert "Prévisualisation" in page
    assert "Nous serons de nouveau là demain à 9 heures." in page  # heard at 00:00 that day
    assert hours_store.list_exceptions(runtime.redis, runtime.keys) == []


def test_open_late_starts_at_todays_closing(manager: Session, runtime: Runtime) -> None:
    """ "Open until 01:00" runs from 23:00 tonight to 01:00 tomorrow, Paris time."""
    manager.client.post(
        "/dashboard/hours/open-late", data={"until": "01:00", "csrf_token": manager.csrf}
    )
    (stored,) = hours_store.list_exceptions(runtime.redis, runtime.keys)
    assert stored.kind is Kind.OPEN
    assert stored.start == datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    assert stored.end == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)


def test_a_closed_day_and_its_removal(manager: Session, runtime: Runtime) -> None:
    """A whole local day closed, then removed again; both audited."""
    manager.client.post(
        "/dashboard/hours/closed-day", data={"day": "2026-12-25", "csrf_token": manager.csrf}
    )
    (stored,) = hours_store.list_exceptions(runtime.redis, runtime.keys)
    assert stored.start == datetime(2026, 12, 24, 23, 0, tzinfo=UTC)
    assert stored.end == datetime(2026, 12, 25, 23, 0, tzinfo=UTC)
    manager.client.post(f"/dashboard/hours/{stored.id}/remove", data={"csrf_token": manager.csrf})
    assert hours_store.list_exceptions(runtime.redis, runtime.keys) == []
    assert last_audit(runtime).action == "hours.remove"


def test_a_past_day_cannot_be_closed(manager: Session, runtime: Runtime) -> None:
    """Yesterday is refused with a message."""
    response = manager.client.post(
        "/dashboard/hours/closed-day",
        data={"day": "2026-11-22", "csrf_token": manager.csrf},
        follow_redirects=True,
    )
    assert "déjà passé" in response.get_data(as_text=True)
    assert hours_store.list_exceptions(runtime.redis, runtime.keys) == []


# -- overflow, priority, announcement -------------------------------------------------------------


def test_overrides_are_stored_and_audited_atomically(manager: Session, runtime: Runtime) -> None:
    """Values in range are stored; an empty field goes back to the configuration."""
    form = {
        "max_waiting": "25",
        "max_wait": "",
        "priority.platform.instagram": "120",
        "csrf_token": manager.csrf,
    }
    manager.client.post("/dashboard/settings", data=form)
    raw = runtime.redis.hgetall(runtime.keys.acd_overrides)
    assert raw == {"max_waiting": "25", "priority.platform.instagram": "120"}
    entry = last_audit(runtime)
    assert (entry.action, entry.who, entry.before) == ("overrides.set", "claire", {})
    assert entry.after == raw
    effective = overrides.apply(
        runtime.config.acd, overrides.parse(raw, runtime.config.platforms.known)
    )
    assert effective.max_waiting == 25 and effective.max_wait == runtime.config.acd.max_wait
    assert effective.priority_for("instagram", "young") == 120 + 60
    manager.client.post("/dashboard/settings", data={"max_waiting": "", "csrf_token": manager.csrf})
    assert runtime.redis.hgetall(runtime.keys.acd_overrides) == {
        "priority.platform.instagram": "120"
    }
    page = manager.client.get("/dashboard/settings").get_data(as_text=True)
    assert "applique encore ceux du fichier de configuration" not in page


def test_an_override_out_of_range_is_refused(manager: Session, runtime: Runtime) -> None:
    """No write, no audit entry, a message."""
    response = manager.client.post(
        "/dashboard/settings",
        data={"max_wait": "5", "csrf_token": manager.csrf},
        follow_redirects=True,
    )
    assert "de 60 à 7200" in response.get_data(as_text=True)
    assert runtime.redis.hgetall(runtime.keys.acd_overrides) == {}
    assert audit.entries(runtime.redis, runtime.keys) == []


def test_announcement_with_expiry(manager: Session, runtime: Runtime) -> None:
    """The text lands in the key the ACD's waitUrl plays, with its expiry; then cleared."""
    manager.client.post(
        "/dashboard/announcement",
        data={"text": "  Forte affluence  ce soir. ", "minutes": "30", "csrf_token": manager.csrf},
    )
    assert runtime.redis.get(runtime.keys.announcement) == "Forte affluence ce soir."
    assert 1790 <= runtime.redis.ttl(runtime.keys.announcement) <= 1800
    assert last_audit(runtime).after["minutes"] == 30
    data = manager.client.get("/dashboard/now.json").get_json()
    assert data["announcement"]["text"] == "Forte affluence ce soir."
    manager.client.post("/dashboard/announcement/clear", data={"csrf_token": manager.csrf})
    assert runtime.redis.get(runtime.keys.announcement) is None
    assert last_audit(runtime).before == {"text": "Forte affluence ce soir."}


def test_announcement_needs_a_proposed_duration(manager: Session, runtime: Runtime) -> None:
    """No announcement forever by a forged duration."""
    manager.client.post(
        "/dashboard/announcement",
        data={"text": "x", "minutes": "99999", "csrf_token": manager.csrf},
    )
    assert runtime.redis.get(runtime.keys.announcement) is None


def test_audit_page_lists_who_did_what(manager: Session, team: Acd) -> None:
    """The journal shows the login, the action and the change."""
    manager.client.post(
        "/dashboard/counsellors/chloe/state",
        data={"state": "available", "csrf_token": manager.csrf},
    )
    page = manager.client.get("/dashboard/audit").get_data(as_text=True)
    assert "claire" in page and "État d&#39;un écoutant" in page and "available" in page


def test_audit_entries_keep_their_json(runtime: Runtime, clock: FrozenClock) -> None:
    """Before and after survive the round trip; an unreadable one does not break the page."""
    audit.record(runtime.redis, runtime.keys, clock.now(), "claire", "x", "t", {"a": 1}, None)
    runtime.redis.xadd(runtime.keys.audit, {"at": "1", "who": "z", "action": "y", "before": "{"})
    newest, older = audit.entries(runtime.redis, runtime.keys)
    assert newest.before == {"unreadable": "{"}
    assert (older.before, older.after, older.changes()) == ({"a": 1}, {}, [("a", 1, None)])
    assert json.loads(runtime.redis.xrange(runtime.keys.audit)[0][1]["before"]) == {"a": 1}
