"""Structured logs: one JSON object per line when stderr is not a terminal, readable text on one.

Every line carries the run id and the step (`null` outside a run). Log lines never hold personal
data: code logs ids (`DT-…` person ids, message ids, run ids) and counts, never an address, a
name or a collectivité; as a second fence, anything shaped like an email address is masked.
`DIPLOMATES_LOG_FORMAT=json|text` overrides the terminal detection.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

_run: ContextVar[str | None] = ContextVar("diplomates_run", default=None)
_step: ContextVar[str | None] = ContextVar("diplomates_step", default=None)

HANDLER_NAME = "diplomates"
OUR_LOGGERS = ("diplomates", "pipeline")
# An address's local part may hold `'` (o'brien@…) but not start with one: a quoted value
# (`'x@y.fr'`) keeps its opening quote.
_EMAIL = re.compile(r"[\w.+-][\w.+'-]*@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_MASK = "<masked address>"
# Attributes every LogRecord has; anything else was passed with `extra=` and is a field.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "run", "step"}


def current_run() -> str | None:
    return _run.get()


def current_step() -> str | None:
    return _step.get()


def set_step(step: str | None) -> None:
    """Name the step in progress: every line logged from now on in this run carries it."""
    _step.set(step)


@contextmanager
def run_context(run_id: str) -> Iterator[None]:
    """Within the block, every line logged (in this thread) carries `run_id`."""
    run_token = _run.set(run_id)
    step_token = _step.set(None)
    try:
        yield
    finally:
        _step.reset(step_token)
        _run.reset(run_token)


def scrub(value: object) -> object:
    """Mask email-shaped text; other values pass unchanged."""
    if isinstance(value, str):
        return _EMAIL.sub(_MASK, value)
    return value


class _Context(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "run"):
            record.run = _run.get()
        if not hasattr(record, "step"):
            record.step = _step.get()
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: scrub(value)
        for key, value in vars(record).items()
        if key not in _STANDARD and not key.startswith("_")
    }


def _error(record: logging.LogRecord, traceback: bool, formatter: logging.Formatter) -> str | None:
    """The exception's type, and its traceback only with --debug (a message may hold data)."""
    if not record.exc_info or record.exc_info[0] is None:
        return None
    if traceback:
        return str(scrub(formatter.formatException(record.exc_info)))
    return record.exc_info[0].__name__


class JsonFormatter(logging.Formatter):
    def __init__(self, traceback: bool = False) -> None:
        super().__init__()
        self.traceback = traceback

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "run": getattr(record, "run", None),
            "step": getattr(record, "step", None),
            "msg": scrub(record.getMessage()),
        }
        entry.update(_fields(record))
        error = _error(record, self.traceback, self)
        if error:
            entry["exception"] = error
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self, traceback: bool = False) -> None:
        super().__init__()
        self.traceback = traceback

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created).astimezone().strftime("%H:%M:%S")
        where = " · ".join(
            str(part)
            for part in (getattr(record, "run", None), getattr(record, "step", None))
            if part
        )
        line = f"{stamp} {record.levelname:<7} " + (f"[{where}] " if where else "")
        line += str(scrub(record.getMessage()))
        fields = _fields(record)
        if fields:
            line += "  " + " ".join(f"{k}={v}" for k, v in fields.items())
        error = _error(record, self.traceback, self)
        if error:
            line += ("\n" if self.traceback else "  exception=") + error
        return line


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stderr` is at the time of each line (tests swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def use_json(stream: TextIO | None = None) -> bool:
    choice = os.environ.get("DIPLOMATES_LOG_FORMAT", "").strip().lower()
    if choice in ("json", "text"):
        return choice == "json"
    target = stream or sys.stderr
    try:
        return not target.isatty()
    except (AttributeError, ValueError):
        return True


def setup(debug: bool = False, stream: TextIO | None = None) -> logging.Handler:
    """Send our loggers (and APScheduler's warnings) to stderr, or `stream`; idempotent."""
    handler: logging.Handler = (
        logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    )
    handler.set_name(HANDLER_NAME)
    formatter = JsonFormatter(debug) if use_json(stream) else TextFormatter(debug)
    handler.setFormatter(formatter)
    handler.addFilter(_Context())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if debug else logging.WARNING)
    return handler


def flush() -> None:
    """Flush every handler (before the process kills or exits itself)."""
    for handler in logging.getLogger().handlers:
        try:
            handler.flush()
        except Exception:  # flushing is best effort
            pass
