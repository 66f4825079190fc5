"""In-call tools: the blocklist, the safeguarding escalation, supervisor listening."""
