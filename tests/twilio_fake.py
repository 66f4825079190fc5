"""A fake transport for the official twilio client: records requests, answers Twilio-shaped JSON.

The client code under test is the real ``twilio.rest.Client``; only the HTTP hop is replaced.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from twilio.http import HttpClient
from twilio.http.response import Response

ACCOUNT = "AC" + "0" * 32


@dataclass
class RecordedRequest:
    """One REST request the application made."""

    method: str
    url: str
    data: dict[str, Any]

    @property
    def path(self) -> str:
        """Path after the host."""
        return re.sub(r"^https?://[^/]+", "", self.url)


@dataclass
class FakeTwilioHttp(HttpClient):
    """Records every request; ``fail_next`` makes the next N answer with that status;
    ``statuses`` gives the status a fetched call reports (default ``queued``)."""

    requests: list[RecordedRequest] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        auth: Any = None,
        timeout: Any = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Answer like Twilio would."""
        body = dict(data or {})
        self.requests.append(RecordedRequest(method, url, body))
        if self.fail_next:
            status = self.fail_next.pop(0)
            return Response(status, json.dumps({"code": 20500, "message": "fake failure"}))
        if method == "POST" and url.endswith("/Calls.json"):
            sid = f"CA{next(self._ids):032d}"
            return Response(201, json.dumps(_call(sid, body)))
        m = re.search(r"/Calls/(CA\w+)\.json$", url)
        if m:
            call = _call(m.group(1), body)
            if method == "GET" and m.group(1) in self.statuses:
                call["status"] = self.statuses[m.group(1)]
            return Response(200, json.dumps(call))
        m = re.search(r"/Queues/(QU\w+)/Members/(CA\w+)\.json$", url)
        if m:
            member = {
                "call_sid": m.group(2),
                "queue_sid": m.group(1),
                "position": 1,
                "wait_time": 0,
                "date_enqueued": None,
                "uri": url,
                "account_sid": ACCOUNT,
            }
            return Response(200, json.dumps(member))
        return Response(200, json.dumps({"account_sid": ACCOUNT}))

    def calls_created(self) -> list[RecordedRequest]:
        """Outbound calls the application placed."""
        return [r for r in self.requests if r.method == "POST" and r.url.endswith("/Calls.json")]


def _call(sid: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "sid": sid, "account_sid": ACCOUNT, "to": body.get("To"), "from": body.get("From"),
        "status": "queued", "direction": "outbound-api", "api_version": "2010-04-01",
        "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{sid}.json",
    }  # fmt: skip
