"""A real SMTP server on loopback for tests (aiosmtpd), with a test CA and scripted misbehaviour.

`SmtpServer` runs aiosmtpd in a thread on 127.0.0.1 (a free port picked first: aiosmtpd cannot
take port 0) in one of three modes: `none` (plain), `starttls`, `tls` (implicit TLS), with AUTH
when `users` is given. `Script` says how it misbehaves: replies per recipient and stage, a
connection dropped at MAIL or after DATA, delays, a hook called after each accepted message.
Every accepted message is kept, parsed with `email.policy.default`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Mode = Literal["none", "starttls", "tls"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class LocalCA:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_ca(folder: Path, names: tuple[str, ...] = ("localhost",)) -> LocalCA:
    """A throwaway CA and a server certificate for `names` and 127.0.0.1, signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Diplomates test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    alt_names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_file.write_bytes(ca_cert.public_bytes(pem))
    cert_file.write_bytes(cert.public_bytes(pem))
    key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return LocalCA(ca_file, cert_file, key_file)


@dataclass
class Captured:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    peer: Any

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def to(self) -> str:
        return self.rcpt_tos[0]


@dataclass
class Script:
    """How the server misbehaves. Reply lists are consumed one per attempt, then it accepts."""

    mail: list[str] = field(default_factory=list)  # replies to the next MAIL FROMs
    rcpt: dict[str, list[str]] = field(default_factory=dict)  # address -> RCPT replies
    data: dict[str, list[str]] = field(default_factory=dict)  # address -> end-of-DATA replies
    always_refuse: dict[str, str] = field(default_factory=dict)  # address -> RCPT reply, forever
    drop_at_mail: list[bool] = field(default_factory=list)  # close silently at the next MAILs
    drop_after_data: set[str] = field(default_factory=set)  # take it, close without answering
    messages_per_connection: int | None = None  # close (silently) at the MAIL after N messages
    delay: dict[str, float] = field(default_factory=dict)  # stage ("MAIL", "DATA") -> seconds
    after_message: Callable[[int], None] | None = None  # called with the count of messages kept


class Recorder:
    """The aiosmtpd handler: keeps accepted messages, follows a `Script`."""

    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self.messages: list[Captured] = []
        self.rcpts: list[str] = []  # every RCPT TO seen, accepted or not: one per attempt
        self.peers: set[Any] = set()
        self.per_peer: dict[Any, int] = {}
        self.lock = threading.Lock()

    def _pop(self, replies: list[str]) -> str | None:
        with self.lock:
            return replies.pop(0) if replies else None

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if "MAIL" in self.script.delay:
            await asyncio.sleep(self.script.delay["MAIL"])
        with self.lock:
            self.peers.add(session.peer)
            drop = bool(self.script.drop_at_mail and self.script.drop_at_mail.pop(0))
            limit = self.script.messages_per_connection
            drop = drop or (limit is not None and self.per_peer.get(session.peer, 0) >= limit)
        if drop:
            assert server.transport is not None
            server.transport.abort()
            return "421 4.4.2 gone"
        reply = self._pop(self.script.mail)
        if reply:
            if reply.startswith("421"):
                await server.push(reply)
                assert server.transport is not None
                server.transport.close()
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        with self.lock:
            self.rcpts.append(address)
        if address in self.script.always_refuse:
            return self.script.always_refuse[address]
        reply = self._pop(self.script.rcpt.get(address, []))
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if "DATA" in self.script.delay:
            await asyncio.sleep(self.script.delay["DATA"])
        address = envelope.rcpt_tos[0]
        reply = self._pop(self.script.data.get(address, []))
        if reply:
            return reply
        content = envelope.original_content or b""
        captured = Captured(str(envelope.mail_from), list(envelope.rcpt_tos), content, session.peer)
        with self.lock:
            self.messages.append(captured)
            self.per_peer[session.peer] = self.per_peer.get(session.peer, 0) + 1
            count = len(self.messages)
            dropping = address in self.script.drop_after_data
            if dropping:
                self.script.drop_after_data.discard(address)
        if self.script.after_message is not None:
            self.script.after_message(count)
        if dropping:
            assert server.transport is not None
            server.transport.abort()
        return "250 2.0.0 Ok: queued"

    def to(self) -> list[str]:
        with self.lock:
            return [m.to for m in self.messages]


class SmtpServer:
    """`with SmtpServer(...) as server:` a running aiosmtpd on 127.0.0.1:`server.port`."""

    def __init__(
        self,
        mode: Mode = "none",
        *,
        ca: LocalCA | None = None,
        users: dict[str, str] | None = None,
        script: Script | None = None,
        smtputf8: bool = True,
    ) -> None:
        self.mode = mode
        self.port = free_port()
        self.handler = Recorder(script)
        self.users = users
        self.logins: list[tuple[str, bool]] = []
        kwargs: dict[str, Any] = {
            "hostname": "127.0.0.1", "port": self.port, "enable_SMTPUTF8": smtputf8,
        }  # fmt: skip
        if mode != "none":
            assert ca is not None, "TLS modes need a test CA"
            kwargs["ssl_context" if mode == "tls" else "tls_context"] = ca.server_context()
        if users is not None:
            kwargs["authenticator"] = self._authenticate
            kwargs["auth_required"] = mode == "starttls"
            # aiosmtpd counts only STARTTLS as TLS; with implicit TLS the whole session is.
            kwargs["auth_require_tls"] = mode == "starttls"
        self.controller = Controller(self.handler, server_hostname="localhost", **kwargs)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert self.users is not None
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        ok = self.users.get(user) == password
        self.logins.append((user, ok))
        return AuthResult(success=True) if ok else AuthResult(success=False, handled=False)

    @property
    def messages(self) -> list[Captured]:
        with self.handler.lock:
            return list(self.handler.messages)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
