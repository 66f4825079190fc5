"""The ACD's REST calls to Twilio: place an offer, dequeue a caller into a bridge, end a leg.

Every call goes through ``runtime.twilio`` (the one client, whose base URL is configurable, so the
simulator and the tests' fake transport stand in for Twilio). These functions do one REST request
each and raise `TwilioRestException` (or a transport error) on failure; retries belong to the RQ
jobs that call them (`acd.jobs`). They never log or send a phone number: a counsellor's endpoint
is passed to Twilio, never logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client

from helpline.runtime import Runtime

OFFER_EVENTS = ("initiated", "ringing", "answered", "completed")
DEQUEUE_TIMEOUT_S = 3.0  # a counsellor is waiting on the line while we dequeue the caller
LIVE_STATUSES = ("queued", "ringing", "in-progress")  # a call that is not over
GONE_CODES = (20404, 21220)  # not found; "call is not in progress" (already over)


def conference_name(rid: str) -> str:
    """The conference where reservation ``rid`` puts the caller and the counsellor together."""
    return f"res-{rid}"


def offer_path(rid: str) -> str:
    """TwiML of the counsellor's leg."""
    return f"/voice/offer/{rid}"


def offer_status_path(rid: str) -> str:
    """Status callbacks of the counsellor's leg."""
    return f"/voice/offer/{rid}/status"


def offer_fallback_path(rid: str) -> str:
    """Fallback URL of the counsellor's leg: where the offer stands when a webhook failed."""
    return f"/voice/offer/{rid}/fallback"


def bridge_path(rid: str) -> str:
    """TwiML the dequeued caller runs to join the conference."""
    return f"/voice/bridge/{rid}"


def callback_path(rid: str) -> str:
    """TwiML of the callback leg (virtual hold: the call to the caller who asked for it)."""
    return f"/voice/callback/{rid}"


def callback_status_path(rid: str) -> str:
    """Status callbacks of the callback leg."""
    return f"/voice/callback/{rid}/status"


def is_gone(exc: BaseException) -> bool:
    """True when Twilio says the call or queue member does not exist (any more)."""
    if not isinstance(exc, TwilioRestException):
        return False
    return exc.status == 404 or exc.code in GONE_CODES


class _TimeoutHttpClient(HttpClient):  # type: ignore[misc]  # twilio ships no type hints
    """Delegates to another transport with a shorter timeout (for calls made inside a webhook)."""

    def __init__(self, inner: HttpClient, timeout: float) -> None:
        logger = getattr(inner, "logger", None) or logging.getLogger("twilio.http_client")
        super().__init__(logger=logger, is_async=False, timeout=timeout)
        self.inner = inner

    def request(
        self,
        method: str,
        url: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        auth: Any = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """The inner transport's answer, waiting at most ``self.timeout`` seconds."""
        response: Response = self.inner.request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout or self.timeout,
            allow_redirects=allow_redirects,
        )
        self.last_response = getattr(self.inner, "last_response", None)
        return response


def with_timeout(client: Client, seconds: float) -> Client:
    """The same account and transport as ``client``, each request limited to ``seconds`` (or
    to the client's own timeout, when that is shorter)."""
    own = getattr(client.http_client, "timeout", None)
    if isinstance(own, int | float) and own > 0:
        seconds = min(seconds, float(own))
    return Client(
        client.username,
        client.password,
        client.account_sid,
        region=client.region,
        edge=client.edge,
        http_client=_TimeoutHttpClient(client.http_client, seconds),
    )


@dataclass(frozen=True)
class Offer:
    """What `place_offer_call` needs to ring a counsellor."""

    rid: str
    endpoint: str  # client:<identity> or E.164; passed to Twilio, never logged


def place_offer_call(runtime: Runtime, offer: Offer) -> str:
    """Ring the counsellor for reservation ``offer.rid``; returns the new leg's CallSid."""
    config = runtime.config
    call = runtime.twilio.calls.create(
        to=offer.endpoint,
        from_=config.helpline.caller_id,
        url=runtime.public_url(offer_path(offer.rid)),
        method="POST",
        fallback_url=runtime.public_url(offer_fallback_path(offer.rid)),
        fallback_method="POST",
        status_callback=runtime.public_url(offer_status_path(offer.rid)),
        status_callback_method="POST",
        status_callback_event=list(OFFER_EVENTS),
        timeout=config.acd.offer_timeout,
    )
    return str(call.sid)


def place_callback_call(runtime: Runtime, rid: str, number: str, ring_s: int) -> str:
    """Call back the caller of reservation ``rid`` (virtual hold) from the helpline's caller id;
    the new leg's CallSid. ``number`` goes to Twilio only: never logged, never stored here.
    Answering machines are detected so that a voicemail never counts as the caller."""
    call = runtime.twilio.calls.create(
        to=number,
        from_=runtime.config.helpline.caller_id,
        url=runtime.public_url(callback_path(rid)),
        method="POST",
        status_callback=runtime.public_url(callback_status_path(rid)),
        status_callback_method="POST",
        status_callback_event=["completed"],
        timeout=ring_s,
        machine_detection="Enable",
    )
    return str(call.sid)


def dequeue_caller(
    runtime: Runtime, queue_sid: str, call_sid: str, rid: str, timeout: float | None = None
) -> None:
    """Take exactly caller ``call_sid`` out of Twilio's queue into the bridge of ``rid``."""
    client = runtime.twilio if timeout is None else with_timeout(runtime.twilio, timeout)
    client.queues(queue_sid).members(call_sid).update(
        url=runtime.public_url(bridge_path(rid)), method="POST"
    )


def call_status(runtime: Runtime, call_sid: str, timeout: float | None = None) -> str:
    """Twilio's status of a call: queued, ringing, in-progress, completed, busy, …"""
    client = runtime.twilio if timeout is None else with_timeout(runtime.twilio, timeout)
    return str(client.calls(call_sid).fetch().status)


def end_call(runtime: Runtime, call_sid: str) -> bool:
    """Hang up a leg whether ringing or answered; False when it was already over."""
    try:
        # "completed" ends a call in any state; "canceled" would leave an answered one running.
        runtime.twilio.calls(call_sid).update(status="completed")
    except TwilioRestException as exc:
        if is_gone(exc):
            return False
        raise
    return True
