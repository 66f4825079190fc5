"""Structured logs: one JSON object a line, with an event name and fields (CallSid, ids).

Never pass a phone number here: callers appear only as their keyed hash.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any


class StructuredLogger:
    """A thin wrapper over `logging.Logger` taking ``event`` and keyword fields."""

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(name)

    def _log(self, level: int, event: str, fields: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            line = json.dumps({"event": event, **fields}, default=str, ensure_ascii=False)
            self._logger.log(level, line)

    def info(self, event: str, **fields: Any) -> None:
        """Log at INFO."""
        self._log(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        """Log at WARNING."""
        self._log(logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        """Log at ERROR."""
        self._log(logging.ERROR, event, fields)

    def exception(self, event: str, **fields: Any) -> None:
        """Log at ERROR with the current exception's traceback."""
        if self._logger.isEnabledFor(logging.ERROR):
            line = json.dumps({"event": event, **fields}, default=str, ensure_ascii=False)
            self._logger.exception(line)


def get_logger(name: str) -> StructuredLogger:
    """A structured logger."""
    return StructuredLogger(name)


def configure_logging(level: int = logging.INFO) -> None:
    """Plain lines on stderr; the message is already JSON."""
    root = logging.getLogger()
    if not any(getattr(h, "_helpline", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        handler._helpline = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
