"""The one Twilio REST client, pointed at TWILIO_API_BASE_URL (Twilio's, or the simulator)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from helpline.settings import DEFAULT_TWILIO_HTTP_TIMEOUT, TWILIO_API


class RebasedHttpClient(TwilioHttpClient):
    """Sends every request for a ``*.twilio.com`` host to ``base_url`` instead."""

    def __init__(self, base_url: str, timeout: float = DEFAULT_TWILIO_HTTP_TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        self.base = urlsplit(base_url)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Rewrite the scheme and host, keep the path and query."""
        parts = urlsplit(url)
        if parts.hostname and parts.hostname.endswith("twilio.com"):
            path = self.base.path.rstrip("/") + parts.path
            url = urlunsplit((self.base.scheme, self.base.netloc, path, parts.query, ""))
        return super().request(method, url, *args, **kwargs)


def make_client(
    account_sid: str, auth_token: str, base_url: str, timeout: float = DEFAULT_TWILIO_HTTP_TIMEOUT
) -> Client:
    """A twilio `Client` giving up on a request after ``timeout`` seconds; requests go to
    ``base_url`` when it is not Twilio's own."""
    if base_url.rstrip("/") == TWILIO_API:
        return Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout))
    return Client(account_sid, auth_token, http_client=RebasedHttpClient(base_url, timeout))
