"""The SMTP transport against a real aiosmtpd server on 127.0.0.1: TLS, AUTH, replies, drops."""

from __future__ import annotations

import email.utils
from collections.abc import Iterator
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pipeline.adapters.mail.render import render_message, render_raw, sample_person
from pipeline.adapters.mail.smtp import PASSWORD_ENV, SmtpTransport
from pipeline.adapters.mail.transport import (
    PermanentFailure,
    ServerUnavailable,
    TemporaryFailure,
    UncertainDelivery,
)
from pipeline.config import Settings
from pipeline.core.errors import ConfigError, MailError
from pipeline.core.messages import message_key
from pipeline.core.model import Template
from tests.support.smtp_server import LocalCA, Script, SmtpServer, free_port, make_ca

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 4, 2, 9, 30, tzinfo=PARIS)
SENDER = "diplomates@cites-unies-france.org"
USER, PASSWORD = "relay-user", "correct horse battery staple"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    return make_ca(tmp_path_factory.mktemp("ca"))


def settings(**email: Any) -> Settings:
    return Settings.model_validate(
        {
            "spreadsheet": {"backend": "local", "workbook": "wb.xlsx"},
            "email": {
                "transport": "smtp",
                "smtp_host": "127.0.0.1",
                "sender": SENDER,
                "reply_to": "contact@cites-unies-france.org",
                **email,
            },
            "cohort": {
                "capacity": 30,
                "registration_opens": "2026-03-30T09:00:00+02:00",
                "registration_closes": "2026-04-30T23:59:00+02:00",
            },
            "programme": {"contact_email": "diplomates@cites-unies-france.org"},
        }
    )


def rendered(address: str = "camille.martin@example.org", **person: Any) -> EmailMessage:
    someone = sample_person(NOW).model_copy(update={"email": address, **person})
    template = Template.INSCRIPTION_CONFIRMEE
    return render_message(
        template,
        person=someone,
        member_name="Saint-Étienne",
        settings=settings(),
        message_id=message_key("Promotion 2026", someone.id, template),
        now=NOW,
    )


def transport(server: SmtpServer, **changes: Any) -> SmtpTransport:
    values: dict[str, Any] = {
        "sender": SENDER,
        "security": server.mode,
        "timeout": 5.0,
        "local_hostname": "client.test",
    }
    values.update(changes)
    return SmtpTransport("127.0.0.1", server.port, **values)


@pytest.fixture
def plain() -> Iterator[SmtpServer]:
    with SmtpServer("none") as server:
        yield server


def test_plain_delivers_a_well_formed_message(plain: SmtpServer) -> None:
    """A rendered message arrives as sent: envelope, SPEC headers, text + HTML parts, UTF-8."""
    message = rendered(first_name="Élodie-Françoise")
    with transport(plain) as smtp:
        smtp.send(message, "m1")
    [got] = plain.messages
    assert got.mail_from == SENDER and got.rcpt_tos == ["camille.martin@example.org"]
    parsed = got.message
    message_id = parsed["Message-ID"].strip()
    assert message_id == message["Message-ID"].strip()
    assert "inscription_confirmee" not in message_id and "DT-3F9A1C07B2" not in message_id
    assert message_id.endswith("@cites-unies-france.org>")
    assert email.utils.parsedate_to_datetime(parsed["Date"]) == NOW
    assert parsed["From"].addresses[0].addr_spec == SENDER
    assert parsed["Reply-To"] == "contact@cites-unies-france.org"
    assert parsed["To"] == "camille.martin@example.org"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["X-CUF-Template"] == "inscription_confirmee"
    assert "Diplomates des territoires" in parsed["Subject"]
    assert parsed.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in parsed.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    for part in parsed.iter_parts():
        assert part.get_content_charset() == "utf-8"
        assert "Élodie-Françoise" in part.get_content()
    assert all(byte < 128 for byte in got.data)  # 7-bit on the wire: encoded words, QP bodies


def test_lines_starting_with_a_dot_survive(plain: SmtpServer) -> None:
    """Dot-stuffing: a body line that starts with `.` (or is a lone `.`) arrives unchanged."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = SENDER, "a@example.org", "points"
    message.set_content(".début\n.\nfin\n")
    with transport(plain) as smtp:
        smtp.send(message, "dots")
    assert plain.messages[0].message.get_content().splitlines() == [".début", ".", "fin"]


def queued(address: str = "camille.martin@example.org", **person: Any) -> bytes:
    """A message's bytes as the run queues them."""
    someone = sample_person(NOW).model_copy(update={"email": address, **person})
    template = Template.LISTE_ATTENTE
    return render_raw(
        template, person=someone, member_name=None, settings=settings(),
        message_id=message_key("Promotion 2026", someone.id, template), now=NOW,
        waitlist_position=12,
    )  # fmt: skip


def test_queued_bytes_go_as_they_are(plain: SmtpServer) -> None:
    """send_raw hands the queued 7-bit bytes over unchanged (CRLF line ends on the wire), to the
    address of their To header."""
    raw = queued(first_name=".Élodie")
    with transport(plain) as smtp:
        smtp.send_raw(raw, "m1")
    [got] = plain.messages
    assert got.mail_from == SENDER and got.rcpt_tos == ["camille.martin@example.org"]
    assert got.data.replace(b"\r\n", b"\n") == raw
    assert got.message.get_body(("plain",)).get_content().startswith("Cités Unies France")


@pytest.mark.parametrize("smtputf8", [True, False], ids=["offered", "not-offered"])
def test_queued_bytes_for_an_internationalised_address_go_as_smtputf8(smtputf8: bool) -> None:
    """An address like jérôme@… cannot travel in 7-bit headers: send_raw re-encodes the message
    for SMTPUTF8 when the server offers it, and refuses it for good (5xx-like) when it does not."""
    with SmtpServer("none", smtputf8=smtputf8) as server:
        with transport(server) as smtp:
            if not smtputf8:
                with pytest.raises(PermanentFailure, match="SMTPUTF8"):
                    smtp.send_raw(queued("jérôme@exemple.fr"), "m1")
                assert server.messages == []
                return
            smtp.send_raw(queued("jérôme@exemple.fr"), "m1")
        [got] = server.messages
    assert got.rcpt_tos == ["jérôme@exemple.fr"]
    assert got.message["To"] == "jérôme@exemple.fr"


def test_starttls_with_a_private_ca_and_auth_reuses_one_connection(ca: LocalCA) -> None:
    """STARTTLS verified against smtp_ca_file, AUTH once, five messages on one connection."""
    with SmtpServer("starttls", ca=ca, users={USER: PASSWORD}) as server:
        with transport(server, username=USER, password=PASSWORD, ca_file=ca.ca_file) as smtp:
            for n in range(5):
                smtp.send(rendered(f"p{n}@example.org"), f"m{n}")
        assert smtp.connections == 1
        assert server.logins == [(USER, True)]
        assert len({m.peer for m in server.messages}) == 1
        assert server.handler.to() == [f"p{n}@example.org" for n in range(5)]
        assert all(m.message["X-CUF-Template"] == "inscription_confirmee" for m in server.messages)


def test_implicit_tls_with_auth(ca: LocalCA) -> None:
    """smtp_security = "tls" (port 465 style): TLS from the first byte, certificate verified."""
    with SmtpServer("tls", ca=ca, users={USER: PASSWORD}) as server:
        with transport(server, username=USER, password=PASSWORD, ca_file=ca.ca_file) as smtp:
            smtp.send(rendered(), "m1")
        assert server.logins == [(USER, True)]
        assert server.messages[0].message["Auto-Submitted"] == "auto-generated"


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_an_untrusted_certificate_is_an_operator_error(ca: LocalCA, mode: str) -> None:
    """Without the private CA the certificate is not trusted: MailError naming smtp_ca_file."""
    with SmtpServer(mode, ca=ca) as server:  # type: ignore[arg-type]
        with pytest.raises(MailError, match="could not be verified.*smtp_ca_file"):
            with transport(server):
                pass
        assert server.messages == []


def test_a_certificate_for_another_name_is_refused(tmp_path: Path) -> None:
    """The host name is checked: a certificate for another name fails even with the right CA."""
    other = make_ca(tmp_path, names=("mail.example.net",))
    with SmtpServer("starttls", ca=other) as server:
        server_name = "localhost"  # the certificate says mail.example.net (and 127.0.0.1)
        smtp = SmtpTransport(
            server_name, server.port, sender=SENDER, ca_file=other.ca_file, timeout=5
        )
        with pytest.raises(MailError, match="could not be verified"):
            with smtp:
                pass


def test_a_wrong_password_is_a_clear_operator_error(ca: LocalCA) -> None:
    """A refused login stops with MailError naming the settings to fix, never the password."""
    with SmtpServer("starttls", ca=ca, users={USER: PASSWORD}) as server:
        smtp = transport(server, username=USER, password="not-the-password", ca_file=ca.ca_file)
        with pytest.raises(MailError) as caught:
            with smtp:
                pass
        text = str(caught.value)
        assert "refused the login of 'relay-user'" in text and "535" in text
        assert "email.smtp_username" in text and PASSWORD_ENV in text
        assert "not-the-password" not in text and "not-the-password" not in repr(smtp)
        assert server.logins and all(user == USER and not ok for user, ok in server.logins)
        assert server.messages == []


def test_starttls_not_offered_sends_nothing_in_clear(plain: SmtpServer) -> None:
    """smtp_security = "starttls" against a server without STARTTLS: MailError, no mail sent."""
    with pytest.raises(MailError, match="does not offer STARTTLS"):
        with transport(plain, security="starttls"):
            pass
    assert plain.messages == []


def test_tls_against_a_plain_port_is_an_operator_error(plain: SmtpServer) -> None:
    """smtp_security = "tls" on a plain SMTP port: MailError pointing at smtp_port/security."""
    with pytest.raises(MailError, match="smtp_port and email.smtp_security"):
        with transport(plain, security="tls"):
            pass


def test_no_server_listening_is_temporary() -> None:
    """Nothing listening: ServerUnavailable (a TemporaryFailure), so messages wait."""
    smtp = SmtpTransport("127.0.0.1", free_port(), sender=SENDER, security="none", timeout=2)
    with pytest.raises(ServerUnavailable, match="cannot be reached"):
        with smtp:
            pass
    assert issubclass(ServerUnavailable, TemporaryFailure)


def test_451_is_temporary_and_the_connection_serves_the_next_message() -> None:
    """A 451 at RCPT or at the end of DATA is a TemporaryFailure; the next message goes through."""
    script = Script(rcpt={"a@example.org": ["451 4.7.1 Greylisted, try later"]},
                    data={"b@example.org": ["451 4.3.0 Local problem"]})  # fmt: skip
    with SmtpServer("none", script=script) as server:
        with transport(server) as smtp:
            with pytest.raises(TemporaryFailure, match="451 4.7.1 Greylisted") as first:
                smtp.send(rendered("a@example.org"), "a")
            with pytest.raises(TemporaryFailure, match="451 4.3.0 Local problem"):
                smtp.send(rendered("b@example.org"), "b")
            smtp.send(rendered("c@example.org"), "c")
        assert not isinstance(first.value, ServerUnavailable)
        assert server.handler.to() == ["c@example.org"] and smtp.connections == 1


def test_550_is_permanent_and_carries_the_server_reply() -> None:
    """A 550 at RCPT is a PermanentFailure holding the reply; the next message still goes."""
    script = Script(
        always_refuse={"gone@example.org": "550 5.1.1 <gone@example.org>: User unknown"}
    )
    with SmtpServer("none", script=script) as server:
        with transport(server) as smtp:
            with pytest.raises(PermanentFailure) as refused:
                smtp.send(rendered("gone@example.org"), "gone")
            smtp.send(rendered("ok@example.org"), "ok")
        assert str(refused.value) == "550 5.1.1 <gone@example.org>: User unknown"
        assert server.handler.to() == ["ok@example.org"]


def test_a_refusal_after_data_is_permanent() -> None:
    """A 554 answering the message itself is a PermanentFailure with the reply."""
    script = Script(data={"spam@example.org": ["554 5.7.1 Message rejected as spam"]})
    with SmtpServer("none", script=script) as server:
        with transport(server) as smtp:
            with pytest.raises(PermanentFailure, match="554 5.7.1 Message rejected as spam"):
                smtp.send(rendered("spam@example.org"), "spam")
        assert server.messages == []


def test_refused_recipients_are_checked_before_any_data() -> None:
    """With one of two recipients refused, no DATA is sent at all (all or nothing)."""
    script = Script(always_refuse={"bad@example.org": "550 5.1.1 User unknown"})
    message = EmailMessage()
    message["From"], message["Subject"] = SENDER, "deux"
    message["To"] = "good@example.org, bad@example.org"
    message.set_content("x\n")
    with SmtpServer("none", script=script) as server:
        with transport(server) as smtp:
            with pytest.raises(PermanentFailure, match="550 5.1.1 User unknown"):
                smtp.send(message, "two")
        assert server.messages == []


def test_421_at_mail_reconnects_once_and_delivers() -> None:
    """The server closes with 421 before the message: one reconnect, then the message goes."""
    script = Script(mail=["421 4.3.2 Service shutting down"])
    with SmtpServer("none", script=script) as server:
        with transport(server) as smtp:
            smtp.send(rendered("a@example.org"), "a")
        assert server.handler.to() == ["a@example.org"] and smtp.connections == 2


def test_421_twice_means_the_server_is_unavailable() -> None:
    """421 again after the one reconnect: ServerUnavailable, and nothing was delivered."""
    script = Script(mail=["421 4.3.2 Busy", "421 4.3.2 Still busy"])
    with SmtpServer("none", script=script) as server:
        with transport(server) as smtp:
            with pytest.raises(ServerUnavailable, match="421 4.3.2 Still busy"):
                smtp.send(rendered("a@example.org"), "a")
        assert server.messages == []


def test_a_connection_dropped_between_messages_is_reopened() -> None:
    """A server that closes after every 2 messages: each drop costs one reconnect, none is lost."""
    script = Script(messages_per_connection=2)
    with SmtpServer("none", script=script) as server:
        with transport(server) as smtp:
            for n in range(5):
                smtp.send(rendered(f"p{n}@example.org"), f"m{n}")
        assert server.handler.to() == [f"p{n}@example.org" for n in range(5)]
        assert smtp.connections == 3


def test_a_connection_dropped_after_data_is_uncertain() -> None:
    """Dropped after the final dot, before the reply: UncertainDelivery, not a retry."""
    script = Script(drop_after_data={"b@example.org"})
    with SmtpServer("none", script=script) as server:
        with transport(server) as smtp:
            smtp.send(rendered("a@example.org"), "a")
            with pytest.raises(UncertainDelivery, match="after the message was handed over"):
                smtp.send(rendered("b@example.org"), "b")
            smtp.send(rendered("c@example.org"), "c")  # a fresh connection for the next one
        assert server.handler.to() == ["a@example.org", "b@example.org", "c@example.org"]
        assert not issubclass(UncertainDelivery, TemporaryFailure)


def test_a_slow_server_before_data_times_out_as_unavailable() -> None:
    """No answer to MAIL within smtp_timeout: ServerUnavailable, the message was not sent."""
    with SmtpServer("none", script=Script(delay={"MAIL": 3.0})) as server:
        with transport(server, timeout=0.5) as smtp:
            with pytest.raises(ServerUnavailable, match="did not answer within 0.5 s"):
                smtp.send(rendered(), "slow")


def test_a_slow_server_after_data_is_uncertain() -> None:
    """No answer to the final dot within smtp_timeout: the server may have it, so uncertain."""
    with SmtpServer("none", script=Script(delay={"DATA": 3.0})) as server:
        with transport(server, timeout=0.5) as smtp:
            with pytest.raises(UncertainDelivery, match="timed out"):
                smtp.send(rendered(), "slow")


def test_a_refused_sender_is_an_operator_error() -> None:
    """A 5xx to MAIL FROM concerns every message: MailError naming email.sender."""
    with SmtpServer("none", script=Script(mail=["553 5.7.1 Sender not owned by user"])) as server:
        with transport(server) as smtp:
            with pytest.raises(MailError, match="refused the sender address.*email.sender"):
                smtp.send(rendered(), "m")


def test_a_quota_reply_stops_the_batch() -> None:
    """`550 5.4.5` (Google's daily quota, x.4.5 congestion) is not a bad address: unavailable."""
    script = Script(rcpt={"a@example.org": ["550 5.4.5 Daily user sending quota exceeded"]})
    with SmtpServer("none", script=script) as server:
        with transport(server) as smtp:
            with pytest.raises(ServerUnavailable, match="5.4.5 Daily user sending quota"):
                smtp.send(rendered("a@example.org"), "a")


def test_from_settings_takes_the_password_from_the_environment_only(ca: LocalCA) -> None:
    """from_settings reads DIPLOMATES_SMTP_PASSWORD; a username without it is a MailError."""
    with SmtpServer("starttls", ca=ca, users={USER: PASSWORD}) as server:
        email_settings = settings(
            smtp_port=server.port, smtp_username=USER, smtp_ca_file=str(ca.ca_file)
        ).email
        with pytest.raises(MailError, match=PASSWORD_ENV):
            SmtpTransport.from_settings(email_settings, environ={})
        smtp = SmtpTransport.from_settings(email_settings, environ={PASSWORD_ENV: PASSWORD})
        assert PASSWORD not in repr(smtp) and "password" not in repr(smtp)
        with smtp:
            smtp.send(rendered(), "m")
        assert server.logins == [(USER, True)] and len(server.messages) == 1


def test_config_defaults_and_checks_for_smtp(tmp_path: Path) -> None:
    """SMTP config: default port per security, a host required, no password in clear."""
    assert settings().email.smtp_port_or_default == 587
    assert settings(smtp_security="tls").email.smtp_port_or_default == 465
    from pipeline.config import load_settings

    config = tmp_path / "c.toml"
    base = (
        '[spreadsheet]\nworkbook = "wb.xlsx"\n[email]\ntransport = "smtp"\n{extra}\n'
        'sender = "a@example.org"\nreply_to = "a@example.org"\n[cohort]\ncapacity = 3\n'
        "registration_opens = 2026-03-30T09:00:00+02:00\n"
        "registration_closes = 2026-04-30T23:59:59+02:00\n"
        '[programme]\ncontact_email = "a@example.org"\n'
    )
    config.write_text(base.format(extra=""), encoding="utf-8")
    with pytest.raises(ConfigError, match="needs email.smtp_host"):
        load_settings(config)
    extra = 'smtp_host = "relay.example.org"\nsmtp_security = "none"\nsmtp_username = "u"'
    config.write_text(base.format(extra=extra), encoding="utf-8")
    with pytest.raises(ConfigError, match="password in clear"):
        load_settings(config)
    extra = 'smtp_host = "relay.example.org"\nsmtp_password = "x"'
    config.write_text(base.format(extra=extra), encoding="utf-8")
    with pytest.raises(ConfigError, match="email.smtp_password' is not a known setting"):
        load_settings(config)
