"""Mail transports: `outbox` (one .eml file per message, the embedded default) and SMTP."""

from __future__ import annotations

import errno
import os
import re
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from pipeline.core.errors import MailError


class TemporaryFailure(Exception):
    """The message was not accepted this time (4xx reply, network trouble); try again later."""


class ServerUnavailable(TemporaryFailure):
    """The server cannot be reached or will not talk now: the rest of the batch waits too."""


class PermanentFailure(Exception):
    """The server refused the message for good (5xx reply); never retried."""


class UncertainDelivery(Exception):
    """The connection broke after the whole message was handed over, before the server's answer:
    it may or may not have been accepted, so it is never resent automatically."""


class Transport(Protocol):
    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def send(self, message: EmailMessage, name: str) -> None:
        """Deliver one message; `name` is a stable, filesystem-safe id for it."""
        ...


@runtime_checkable
class RawTransport(Transport, Protocol):
    """A transport that takes a message's bytes as queued (`render_raw`), sparing the run the
    cost of parsing them back into an `EmailMessage`."""

    def send_raw(self, raw: bytes, name: str) -> None: ...


@runtime_checkable
class ConfirmingTransport(RawTransport, Protocol):
    """A transport that can also tell, after a crash, whether a message was delivered (the
    outbox). The run sends to it in chunks (see `app/delivery.py`)."""

    def delivered(self, name: str) -> bool: ...


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
# errno values that mean "this folder takes no file": an operator's problem, for every message.
_FOLDER_ERRORS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.ENOTDIR}
_PROBE_SIZE = 64 * 1024  # about two messages with their HTML part


class OutboxTransport:
    """Writes each message as `<outbox>/<name>.eml`, atomically (a reader never sees half a file)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> Self:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._refused(exc) from None
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None

    def _path(self, name: str) -> Path:
        return self.folder / (_SAFE.sub("_", name) + ".eml")

    def send(self, message: EmailMessage, name: str) -> None:
        self.send_raw(message.as_bytes(), name)

    def delivered(self, name: str) -> bool:
        """Whether message `name` was filed: a file appears whole (renamed into place) or not
        at all, so after a crash its presence settles a send that the ledger left open."""
        return self._path(name).exists()

    def send_raw(self, raw: bytes, name: str) -> None:
        """Write bytes already rendered (the ledger's copy) without rebuilding the message.

        A folder that refuses files (full, read-only, not ours) stops the run with `MailError`:
        every later message would fail the same way, and the operator must act."""
        target = self._path(name)
        # One run at a time (the run lock), so a fixed name per message is enough; a copy a crash
        # left half-written is overwritten by the next attempt.
        temp = target.with_name(".sending-" + target.name)
        try:
            temp.write_bytes(raw)
            os.replace(temp, target)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            if exc.errno in _FOLDER_ERRORS:
                raise self._refused(exc) from None
            raise TemporaryFailure(f"cannot write {target}: {exc.strerror}") from None

    def preflight(self) -> None:
        """Before a run sends anything: the folder exists (or is created) and takes a file."""
        probe = self.folder / f".probe-{os.getpid()}"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(probe, "wb") as handle:
                handle.write(bytes(_PROBE_SIZE))
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise self._refused(exc) from None
        finally:
            try:
                probe.unlink(missing_ok=True)
            except OSError:
                pass

    def _refused(self, exc: OSError) -> MailError:
        why = exc.strerror or type(exc).__name__
        return MailError(
            f"the outbox folder {self.folder} (email.outbox) refuses files ({why}); the run "
            "stopped, messages not yet filed wait in the state database and go with the next run. "
            "Free some space or make the folder writable by the user running the pipeline."
        )


def filed_messages(folder: Path) -> Iterator[tuple[str, str, datetime]]:
    """What an outbox folder says was sent: (template, recipient address, when) for each `.eml`
    carrying `X-CUF-Template` (alerts and anything else are skipped). Only the headers are read;
    `when` is the `Date` header, else the file's time."""
    from email.parser import BytesHeaderParser
    from email.utils import getaddresses, parsedate_to_datetime

    if not folder.is_dir():
        return
    parser = BytesHeaderParser()
    for path in folder.glob("*.eml"):
        try:
            with path.open("rb") as handle:
                head = handle.read(16384)
            stamp = path.stat().st_mtime
        except OSError:
            continue
        end = min((i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0),
                  default=len(head))  # fmt: skip
        headers = parser.parsebytes(head[:end])
        template = str(headers.get("X-CUF-Template", "")).strip()
        addresses = [a for _, a in getaddresses([str(headers.get("To", ""))]) if "@" in a]
        if not template or len(addresses) != 1:
            continue
        try:
            when = parsedate_to_datetime(str(headers.get("Date", "")))
        except (TypeError, ValueError):
            when = datetime.fromtimestamp(stamp, UTC)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        yield template, addresses[0], when


class SendPacer:
    """At most `per_minute` sends in any 60 s window, by waiting; never waits past `budget` s.

    `clock` (monotonic seconds) and `sleep` are injected, so tests pace without real time.
    `ready()` waits if needed and returns True when the next message may go now, or False when
    the next slot lies beyond the budget (that message and the rest wait for a later run).
    """

    def __init__(
        self,
        per_minute: int | None,
        *,
        budget: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.sleep = sleep
        self.deadline = clock() + budget
        self.recent: deque[float] = deque()
        self.waited = 0.0

    def ready(self) -> bool:
        now = self.clock()
        if now > self.deadline:
            return False
        if self.per_minute is not None:
            while self.recent and self.recent[0] <= now - 60:
                self.recent.popleft()
            if len(self.recent) >= self.per_minute:
                wake = self.recent[0] + 60
                if wake > self.deadline:
                    return False
                self.sleep(wake - now)
                self.waited += wake - now
                now = max(self.clock(), wake)
                self.recent.popleft()
            self.recent.append(now)
        return True
