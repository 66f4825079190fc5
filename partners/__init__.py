"""Partner platforms: the registry, API keys, the partner API, the web call page, abuse limits.

- `partners.identity`: the Voice identity that binds a call to a platform (pure), the report
  reference's cleaning (pure), the counter of contradicted tags;
- `partners.apikeys`: API keys (shown once, stored as a SHA-256, revocable, expiring);
- `partners.limits`: sliding-window rate limits and the per-platform cap on calls in progress;
- `partners.tokens`: short-lived Twilio Voice access tokens;
- `partners.figures`: a platform's own calls per day;
- `partners.views` (``/api/v1``) and `partners.callpage` (``/call``): the HTTP edges;
- `partners.cli`: ``helpline platforms …``.

See docs/integration-guide.md for what platform engineers read.
"""
