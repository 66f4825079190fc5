"""Requests from the network to the application, signed the way Twilio signs them.

Every request carries ``X-Twilio-Signature``, computed by twilio's own `RequestValidator` on
the exact URL requested (for GET, the URL with the parameters in its query string) and the
form parameters. A TwiML request that fails (connection error, timeout, HTTP status >= 400,
a document that is not TwiML) raises `WebhookError` with Twilio's error code; notifications
(status callbacks, action notifications whose answer is ignored) never raise.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from twilio.request_validator import RequestValidator

from simulator import twiml
from simulator.twiml import TwimlError, Verb

log = logging.getLogger("simulator.webhooks")

USER_AGENT = "TwilioProxy/1.1 (helpline-simulator)"
XML_TYPES = ("text/xml", "application/xml", "text/html")


class WebhookError(Exception):
    """A TwiML request that Twilio would count as failed."""

    def __init__(self, code: int, url: str, message: str) -> None:
        super().__init__(f"{code} {message} ({url})")
        self.code = code
        self.url = url
        self.message = message


@dataclass(frozen=True)
class Document:
    """A fetched TwiML document and the URL its relative URLs resolve against."""

    url: str
    verbs: list[Verb]


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    extra = urlencode(list(params.items()))
    query = f"{parts.query}&{extra}" if parts.query and extra else (parts.query or extra)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class Webhooks:
    """Signs and sends the network's requests; one HTTP session per thread."""

    def __init__(self, auth_token: str, timeout: float = 15.0) -> None:
        self.validator = RequestValidator(auth_token)
        self.timeout = timeout
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def close_session(self) -> None:
        """Close this thread's HTTP session (a leg's thread calls it as it ends)."""
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    def send(self, url: str, method: str, params: Mapping[str, str]) -> requests.Response:
        """One signed request; raises `WebhookError` on no answer or an HTTP error status."""
        form = {k: str(v) for k, v in params.items() if v is not None}
        method = "GET" if method.upper() == "GET" else "POST"
        headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
        if method == "GET":
            target, body = _with_query(url, form), None
            headers["X-Twilio-Signature"] = self.validator.compute_signature(target, {})
        else:
            target, body = url, form
            headers["X-Twilio-Signature"] = self.validator.compute_signature(url, form)
        try:
            response = self._session().request(
                method, target, data=body, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise WebhookError(twiml.HTTP_CONNECTION_FAILURE, url, type(exc).__name__) from exc
        if response.status_code >= 400:
            raise WebhookError(twiml.HTTP_RETRIEVAL_FAILURE, url, f"HTTP {response.status_code}")
        return response

    def fetch(self, url: str, method: str, params: Mapping[str, str]) -> Document:
        """Request TwiML and parse it; raises `WebhookError` as Twilio would fail the call."""
        response = self.send(url, method, params)
        kind = response.headers.get("Content-Type", "text/xml").split(";")[0].strip().lower()
        if kind.startswith("audio/"):
            # Twilio plays an audio answer as if it were <Play>.
            return Document(url, [Verb("Play", {}, url)])
        if kind == "text/plain":
            return Document(url, [Verb("Say", {}, " ".join(response.text.split()))])
        if kind not in XML_TYPES:
            raise WebhookError(twiml.INVALID_CONTENT_TYPE, url, f"content type {kind!r}")
        try:
            return Document(url, twiml.parse(response.content))
        except TwimlError as exc:
            raise WebhookError(exc.code, url, exc.message) from exc

    def notify(self, url: str, method: str, params: Mapping[str, str]) -> bool:
        """Send and ignore the answer (status callbacks); True when the app accepted it."""
        try:
            self.send(url, method, params)
        except WebhookError as exc:
            log.info("callback_failed url=%s code=%s %s", url, exc.code, exc.message)
            return False
        return True


class Dispatcher:
    """Sends status callbacks in the order they were made, off the calls' own threads.

    Twilio's status callbacks are asynchronous: a slow status endpoint never holds a call up.
    One worker keeps them in order (per call, SequenceNumber still tells the order).
    """

    def __init__(self, webhooks: Webhooks) -> None:
        self.webhooks = webhooks
        self._queue: queue.Queue[tuple[str, str, dict[str, str]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="sim-callbacks", daemon=True)
        self._thread.start()
        self.sent = 0
        self.failed = 0
        self.faults: Any = None  # simulator.faults.CallbackFaults, set by faults.install

    def submit(self, url: str, method: str, params: dict[str, str]) -> None:
        """Queue one callback."""
        if self.faults is not None and self.faults.take((url, method, params), self._queue.put):
            return  # duplicated, delayed or held back (simulator/faults.py)
        self._queue.put((url, method, params))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    self.webhooks.close_session()
                    return
                if self.webhooks.notify(*item):
                    self.sent += 1
                else:
                    self.failed += 1
            finally:
                self._queue.task_done()

    def drain(self, timeout: float) -> bool:
        """Wait (up to ``timeout`` real seconds) until every queued callback was sent."""
        if self.faults is not None:
            self.faults.flush(self._queue.put)  # delayed or held-back callbacks go now
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        return done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued, then stop the worker."""
        self.drain(timeout)
        self._queue.put(None)
        self._thread.join(timeout)
