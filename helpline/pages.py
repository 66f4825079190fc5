"""What every page for people (console, dashboard, call page) sends: one set of security
headers. The Voice JS SDK talks to Twilio over WebSocket and HTTPS and plays its ringtones from
sdk.twilio.com; everything else comes from this origin only."""

from __future__ import annotations

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self' https://*.twilio.com wss://*.twilio.com",
        "media-src 'self' https://sdk.twilio.com blob:",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
