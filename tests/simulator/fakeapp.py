"""A tiny application for the simulator's tests: fixed TwiML documents, every request recorded.

It checks each webhook's X-Twilio-Signature with twilio's `RequestValidator`, on the exact URL
that was called, the way the real application does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, request
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

Handler = Callable[["Hit"], Any]


@dataclass(frozen=True)
class Hit:
    """One request the simulator made to the app."""

    path: str
    method: str
    form: dict[str, str]
    args: dict[str, str]
    signed: bool
    at: float

    @property
    def params(self) -> dict[str, str]:
        """The Twilio parameters, wherever they came (form for POST, query for GET)."""
        return {**self.args, **self.form}


class FakeApp:
    """Serves ``docs[path]`` (a TwiML string, a (status, body) pair, or a function of the hit)."""

    def __init__(self, auth_token: str) -> None:
        self.validator = RequestValidator(auth_token)
        self.docs: dict[str, Any] = {}
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        app = Flask("fake-helpline")

        @app.route("/<path:path>", methods=["GET", "POST"])
        def serve(path: str) -> Response:
            called = f"http://{request.host}{request.environ.get('RAW_URI') or request.full_path}"
            form = request.form.to_dict() if request.method == "POST" else {}
            signature = request.headers.get("X-Twilio-Signature", "")
            hit = Hit(
                path="/" + path,
                method=request.method,
                form=request.form.to_dict(),
                args=request.args.to_dict(),
                signed=bool(signature) and self.validator.validate(called, form, signature),
                at=time.monotonic(),
            )
            with self._lock:
                self.hits.append(hit)
            doc = self.docs.get(hit.path, "<Response/>")
            if callable(doc):
                doc = doc(hit)
            status, body = doc if isinstance(doc, tuple) else (200, doc)
            return Response(body, status=status, mimetype="text/xml")

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this app."""
        return f"http://127.0.0.1:{self.port}{path}"

    def to(self, path: str) -> list[Hit]:
        """The requests made to ``path``, in order."""
        with self._lock:
            return [h for h in self.hits if h.path == path]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
        """Poll ``predicate`` until true (real seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.01)
        return predicate()

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
