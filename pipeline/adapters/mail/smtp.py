"""The SMTP transport (stdlib smtplib): one verified connection per run, at most once per message.

Where a failure happens decides what it means:

- before the end of the message data reached the server (connect, EHLO, MAIL, RCPT, DATA, the
  data itself), the server cannot have taken the message. A connection the server dropped is
  reopened once and the message sent again on it; otherwise a 4xx reply or a network error is a
  `TemporaryFailure` (retried by a later run), a 5xx reply a `PermanentFailure` (never retried);
- after the final `.` was sent and before the server answered, the server may hold the message:
  `UncertainDelivery`, never a retry, because a retry could deliver it twice.

Problems only an operator can fix (certificate, login, the sender refused, TLS not offered) are
`MailError`s: the run stops with a clear message, and no message is marked. A server that cannot
be reached, or says "not now" to everything (421, a 4xx to MAIL FROM, a quota reply `x.4.5`),
raises `ServerUnavailable`: the rest of the batch waits for a later run.

The password comes only from the environment (`DIPLOMATES_SMTP_PASSWORD`); it is never logged,
shown in an error or kept anywhere but in this object.
"""

from __future__ import annotations

import os
import re
import smtplib
import socket
import ssl
from collections.abc import Mapping
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Self

from pipeline.adapters.mail.transport import (
    PermanentFailure,
    ServerUnavailable,
    TemporaryFailure,
    UncertainDelivery,
)
from pipeline.core.errors import MailConfigError, MailError

if TYPE_CHECKING:
    from pipeline.config import EmailSettings

PASSWORD_ENV = "DIPLOMATES_SMTP_PASSWORD"

Security = Literal["starttls", "tls", "none"]

_ENHANCED = re.compile(r"\s*[245]\.(\d{1,3})\.(\d{1,3})\b")
_EOL = re.compile(rb"\r\n|\n|\r(?!\n)")
_LEADING_DOT = re.compile(rb"(?m)^\.")


def reply_text(code: int, reply: bytes | str) -> str:
    """A server reply on one line, as staff may read it: `550 5.1.1 User unknown`."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return f"{code} {' '.join(text.split())}"[:300].strip()


def _congestion(reply: bytes) -> bool:
    """An enhanced status `x.4.5` (mail system congestion, e.g. Google's daily quota): not now."""
    found = _ENHANCED.match(reply.decode("utf-8", "replace"))
    return found is not None and found.groups() == ("4", "5")


def _recipients(message: Message) -> list[str]:
    values = [str(v) for name in ("To", "Cc") for v in message.get_all(name, [])]
    return [address for _, address in getaddresses(values) if address]


def _payload(message: EmailMessage, utf8: bool) -> bytes:
    return _framed(message.as_bytes(policy=policy.SMTPUTF8 if utf8 else policy.SMTP))


def _framed(data: bytes) -> bytes:
    """The DATA section: CRLF line ends, leading dots doubled, the final `.` line."""
    data = _EOL.sub(b"\r\n", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return _LEADING_DOT.sub(b"..", data) + b".\r\n"


class _Dropped(Exception):
    """The server closed the connection before the message was committed: safe to send again."""


class SmtpTransport:
    """The `Transport` protocol over SMTP; `with` opens (and verifies) one connection."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        ca_file: Path | None = None,
        timeout: float = 60.0,
        local_hostname: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.security: Security = security
        self.username = username or None
        self.__password = password or ""
        self.ca_file = ca_file
        self.timeout = timeout
        self.local_hostname = local_hostname
        self.connections = 0  # connections opened so far (one per run unless the server drops)
        self._connection: smtplib.SMTP | None = None

    @classmethod
    def from_settings(
        cls, email: EmailSettings, environ: Mapping[str, str] | None = None
    ) -> SmtpTransport:
        env = os.environ if environ is None else environ
        password = env.get(PASSWORD_ENV, "")
        if email.smtp_username and not password:
            raise MailConfigError(
                f"email.smtp_username is set but the environment variable {PASSWORD_ENV} is "
                "empty; set it to the SMTP password (it is never read from the config file)"
            )
        assert email.smtp_host is not None  # the config refuses transport 'smtp' without it
        return cls(
            email.smtp_host.strip(),
            email.smtp_port_or_default,
            sender=email.sender,
            security=email.smtp_security,
            username=email.smtp_username,
            password=password,
            ca_file=email.smtp_ca_file,
            timeout=email.smtp_timeout,
        )

    def __repr__(self) -> str:
        user = f", username={self.username!r}" if self.username else ""
        return f"SmtpTransport({self.host!r}, {self.port}, security={self.security!r}{user})"

    def describe(self) -> str:
        return f"the SMTP server {self.host}:{self.port} ({self.security})"

    # --- connection -----------------------------------------------------------------------

    def __enter__(self) -> Self:
        if self._connection is None:
            self._connection = self._connect()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._close(polite=True)

    def _context(self) -> ssl.SSLContext:
        try:
            # Verification on (CERT_REQUIRED, host name checked); a private CA replaces the system's.
            return ssl.create_default_context(
                cafile=str(self.ca_file) if self.ca_file is not None else None
            )
        except (OSError, ssl.SSLError) as exc:
            raise MailConfigError(
                f"email.smtp_ca_file {self.ca_file} cannot be used ({exc}); give the path of "
                "the relay's CA certificate in PEM format"
            ) from None

    def _connect(self) -> smtplib.SMTP:
        context = self._context() if self.security != "none" else None
        if self.local_hostname is None:
            self.local_hostname = socket.getfqdn()
        where = self.describe()
        conn: smtplib.SMTP | None = None
        try:
            if self.security == "tls":
                conn = smtplib.SMTP_SSL(
                    self.host, self.port, local_hostname=self.local_hostname,
                    timeout=self.timeout, context=context,
                )  # fmt: skip
            else:
                conn = smtplib.SMTP(
                    self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
                )
            conn.ehlo_or_helo_if_needed()
            if self.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise MailError(
                        f"{where} does not offer STARTTLS, so nothing was sent in clear; check "
                        'email.smtp_port and email.smtp_security ("tls" for port 465)'
                    )
                conn.starttls(context=context)
                conn.ehlo()
            if self.username:
                conn.login(self.username, self.__password)
        except MailError:
            _abandon(conn)
            raise
        except smtplib.SMTPAuthenticationError as exc:
            _abandon(conn)
            raise MailError(
                f"{where} refused the login of '{self.username}' "
                f"({reply_text(exc.smtp_code, exc.smtp_error)}); check email.smtp_username and "
                f"the {PASSWORD_ENV} environment variable"
            ) from None
        except smtplib.SMTPNotSupportedError:
            _abandon(conn)
            raise MailError(
                f"{where} does not offer login (AUTH) on this connection; check "
                "email.smtp_security (most servers offer AUTH only after STARTTLS or TLS) or "
                "remove email.smtp_username"
            ) from None
        except smtplib.SMTPResponseException as exc:  # greeting, HELO, STARTTLS refused
            _abandon(conn)
            text = reply_text(exc.smtp_code, exc.smtp_error)
            if 400 <= exc.smtp_code < 500:
                raise ServerUnavailable(f"{where} answered {text}") from None
            raise MailError(f"{where} refused the connection ({text})") from None
        except ssl.SSLCertVerificationError as exc:
            _abandon(conn)
            raise MailError(
                f"the certificate of {where} could not be verified ({exc.verify_message}); "
                "check email.smtp_host (it must be the name on the certificate) and, for a relay "
                "with a private CA, set email.smtp_ca_file"
            ) from None
        except ssl.SSLError as exc:
            _abandon(conn)
            raise MailError(
                f"TLS with {where} failed ({exc.reason or exc}); check email.smtp_port and "
                'email.smtp_security ("tls" for port 465, "starttls" for port 587)'
            ) from None
        except smtplib.SMTPServerDisconnected as exc:
            _abandon(conn)
            raise ServerUnavailable(f"{where} closed the connection ({_describe(exc)})") from None
        except smtplib.SMTPException as exc:  # e.g. no AUTH mechanism in common
            _abandon(conn)
            raise MailError(f"{where}: {exc}; check the email.smtp_* settings") from None
        except OSError as exc:
            _abandon(conn)
            raise ServerUnavailable(f"{where} cannot be reached ({_describe(exc)})") from None
        self.connections += 1
        return conn

    def _close(self, *, polite: bool = False) -> None:
        conn, self._connection = self._connection, None
        if conn is None:
            return
        if polite:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
        _abandon(conn)

    # --- sending --------------------------------------------------------------------------

    def send(self, message: EmailMessage, name: str) -> None:
        recipients = _recipients(message)
        if not recipients:
            raise PermanentFailure("the message has no recipient (To)")
        utf8 = not all(a.isascii() for a in [self.sender, *recipients])
        self._send_data(recipients, _payload(message, utf8), utf8)

    def send_raw(self, raw: bytes, name: str) -> None:
        """Send a message's bytes as queued, without parsing and re-encoding the whole message:
        `render_raw` writes 7-bit messages, which go as they are (line ends made CRLF, leading
        dots doubled). A message that needs SMTPUTF8 (an internationalised address) goes through
        `send`, which re-encodes it."""
        headers = BytesHeaderParser(policy=policy.default).parsebytes(raw)
        recipients = _recipients(headers)
        if not (raw.isascii() and self.sender.isascii() and all(a.isascii() for a in recipients)):
            parsed = message_from_bytes(raw, policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            self.send(parsed, name)
            return
        if not recipients:
            raise PermanentFailure("the message has no recipient (To)")
        self._send_data(recipients, _framed(raw), False)

    def _send_data(self, recipients: list[str], data: bytes, utf8: bool) -> None:
        """One message on the run's connection, reopened once if the server dropped it."""
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = self._connect()
            try:
                self._transaction(self._connection, recipients, data, utf8)
                return
            except _Dropped as dropped:
                self._close()
                if attempt == 2:
                    raise ServerUnavailable(
                        f"{self.describe()} closed the connection twice ({dropped})"
                    ) from None

    def _transaction(
        self, conn: smtplib.SMTP, recipients: list[str], data: bytes, utf8: bool
    ) -> None:
        """MAIL, RCPT, DATA on an open connection; raises as the module docstring says."""
        try:
            self._hand_over(conn, recipients, data, utf8)
        except TimeoutError:
            self._close()
            raise ServerUnavailable(
                f"{self.describe()} did not answer within {self.timeout:g} s"
            ) from None
        except (smtplib.SMTPServerDisconnected, ConnectionError) as exc:
            if isinstance(exc.__context__, TimeoutError):  # smtplib turns a timeout into this
                self._close()
                raise ServerUnavailable(
                    f"{self.describe()} did not answer within {self.timeout:g} s"
                ) from None
            raise _Dropped(_describe(exc)) from None
        except OSError as exc:
            self._close()
            raise ServerUnavailable(f"{self.describe()}: {_describe(exc)}") from None
        try:
            code, reply = conn.getreply()  # past the final dot: the server may have it now
        except (smtplib.SMTPException, OSError) as exc:
            self._close()
            raise UncertainDelivery(
                f"the connection to {self.describe()} broke after the message was handed over "
                f"({_describe(exc)})"
            ) from None
        if code == 250:
            return
        if code == 421:
            self._close()
        self._refused(code, reply, stage="the message")

    def _hand_over(
        self, conn: smtplib.SMTP, recipients: list[str], data: bytes, utf8: bool
    ) -> None:
        """Everything up to and including the final dot; the server cannot have the message yet."""
        options: list[str] = []
        if utf8:
            if not conn.has_extn("smtputf8"):
                raise PermanentFailure(
                    f"{self.describe()} does not accept internationalised addresses (SMTPUTF8)"
                )
            options = ["SMTPUTF8", "BODY=8BITMIME"]
        code, reply = conn.mail(self.sender, options)
        if code == 421:
            raise smtplib.SMTPServerDisconnected(reply_text(code, reply))
        if code >= 400:
            self._reset(conn)
            text = reply_text(code, reply)
            if code < 500 or _congestion(reply):
                raise ServerUnavailable(f"{self.describe()} refused to send now ({text})")
            raise MailError(
                f"{self.describe()} refused the sender address {self.sender} ({text}); check "
                "email.sender, and that the account email.smtp_username may send as it"
            )
        refused: dict[str, tuple[int, bytes]] = {}
        for recipient in recipients:
            code, reply = conn.rcpt(recipient)
            if code == 421:
                raise smtplib.SMTPServerDisconnected(reply_text(code, reply))
            if code not in (250, 251):
                refused[recipient] = (code, reply)
        if refused:  # all or nothing: DATA only when every recipient was accepted
            self._reset(conn)
            # A temporary refusal wins: the whole message is tried again later.
            code, reply = min(refused.values(), key=lambda item: (item[0] >= 500, item[0]))
            self._refused(code, reply, stage="the recipient")
        conn.putcmd("data")
        code, reply = conn.getreply()
        if code == 421:
            raise smtplib.SMTPServerDisconnected(reply_text(code, reply))
        if code != 354:
            self._reset(conn)
            self._refused(code, reply, stage="the message")
        conn.send(data)

    def _refused(self, code: int, reply: bytes, *, stage: str) -> None:
        text = reply_text(code, reply)
        if _congestion(reply) or code == 421:
            raise ServerUnavailable(f"{self.describe()} refused {stage} for now ({text})")
        if 500 <= code < 600:
            raise PermanentFailure(text)
        raise TemporaryFailure(text)

    def _reset(self, conn: smtplib.SMTP) -> None:
        """RSET after a refusal, so the connection can carry the next message."""
        try:
            conn.rset()
        except (smtplib.SMTPException, OSError):
            self._close()


def _abandon(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        try:
            conn.close()
        except OSError:
            pass


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
