"""Mail transports: `outbox` (one .eml file per message, the embedded default) and SMTP."""

from __future__ import annotations

import os
import re
import tempfile
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self


class TemporaryFailure(Exception):
    """The message was not accepted this time (4xx reply, network trouble); try again later."""


class PermanentFailure(Exception):
    """The server refused the message for good (5xx reply); never retried."""


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


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class OutboxTransport:
    """Writes each message as `<outbox>/<name>.eml`, atomically (a reader never sees half a file)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> Self:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None

    def send(self, message: EmailMessage, name: str) -> None:
        target = self.folder / (_SAFE.sub("_", name) + ".eml")
        handle, temp = tempfile.mkstemp(prefix=".sending-", dir=self.folder)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(message.as_bytes())
            os.replace(temp, target)
        except OSError as exc:
            Path(temp).unlink(missing_ok=True)
            raise TemporaryFailure(f"cannot write {target}: {exc.strerror}") from None
