"""Logging for the service and the `registry` command: JSON lines (or text), set up once.

Every record becomes one line on stderr. A record's structured fields travel in
`extra={"fields": {...}}`; the request id of the request being served is added to every
record logged while it runs, so a traceback and the request's access line can be joined.
uvicorn's loggers propagate to the same handler, and its own access log is off (the service
writes one line per request itself, service/observability.py).
"""

from __future__ import annotations

import functools
import logging
import sys
import time
from contextvars import ContextVar
from typing import Any, Literal

import orjson

LogFormat = Literal["json", "text"]

# Set by the request middleware for the duration of one request.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
# Set, and left set, by a response that ends its body early on purpose (an export the
# database failed under) after logging why with a code: the server's "returned without
# completing response" that follows in the same task is that event again, not news.
CUT_SHORT: ContextVar[bool] = ContextVar("cut_short", default=False)
_NOT_COMPLETED = "ASGI callable returned without completing response."


def _not_cut_short(record: logging.LogRecord) -> bool:
    return not (CUT_SHORT.get() and record.msg == _NOT_COMPLETED)


_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
_OURS = "_registry_handler"


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = dict(getattr(record, "fields", None) or {})
    request_id = REQUEST_ID.get()
    if request_id is not None:
        fields.setdefault("request_id", request_id)
    return fields


@functools.lru_cache(maxsize=4)
def _utc_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def _timestamp(created: float) -> str:
    # A line per request: the date part is formatted once a second, not once a line.
    second = int(created)
    return f"{_utc_second(second)}.{int((created - second) * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, then the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """For a person at a terminal: the message, then the fields as key=value."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = " ".join(
            f"{key}={orjson.dumps(value, default=str).decode()}"
            for key, value in _fields(record).items()
        )
        return f"{line} {fields}" if fields else line


def configure(level: str, log_format: LogFormat) -> None:
    """Route every logger (uvicorn's too) to one stderr handler; call once per process."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    # No formatter here prints threads or processes: skip looking them up for every record.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    # Replace our own handler if an earlier call installed one; leave anyone else's alone.
    for old in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(old)
    setattr(handler, _OURS, True)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in _UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    uvicorn_errors = logging.getLogger("uvicorn.error")
    if _not_cut_short not in uvicorn_errors.filters:
        uvicorn_errors.addFilter(_not_cut_short)
