"""Session messages: French wording, the `.ics` attached and offered to calendar clients."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta
from email.message import EmailMessage

from icalendar import Calendar

from pipeline.adapters.mail.render import sample_person
from pipeline.adapters.mail.session_render import (
    french_day,
    french_time,
    render_session_raw,
    sample_session,
    when_from,
)
from pipeline.config import Settings
from pipeline.core.model import Template
from pipeline.core.vocabulary import PARIS

NOW = datetime(2026, 5, 2, 10, 0, tzinfo=PARIS)


def make_settings() -> Settings:
    return Settings.model_validate(
        {
            "spreadsheet": {"backend": "local", "workbook": "demo.xlsx"},
            "email": {"outbox": "out", "sender": "diplomates@cites-unies-france.example",
                      "reply_to": "equipe@cites-unies-france.example"},
            "cohort": {"capacity": 30, "registration_opens": "2026-03-30T09:00:00",
                       "registration_closes": "2026-04-30T23:59:00"},
            "programme": {"contact_email": "contact@cites-unies-france.example"},
        }
    )  # fmt: skip


def message(template: Template, sequence: int = 0, reason: str = "session") -> EmailMessage:
    raw = render_session_raw(
        template, person=sample_person(NOW), member_name="Saint-Étienne",
        session=sample_session(NOW), sequence=sequence, settings=make_settings(),
        message_id="key.x", now=NOW, cancel_reason=reason,
    )  # fmt: skip
    assert raw.isascii()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def calendars(msg: EmailMessage) -> list[Calendar]:
    found = []
    for part in msg.walk():
        if part.get_content_type() == "text/calendar":
            found.append(Calendar.from_ical(part.get_payload(decode=True)))
    return found


def test_french_dates_and_times() -> None:
    """`vendredi 1er mai 2026`, `9 h 30`, `17 h`, `demain`."""
    first = datetime(2026, 5, 1, 9, 30, tzinfo=PARIS)
    assert french_day(first) == "vendredi 1er mai 2026"
    assert (french_time(first), french_time(first.replace(hour=17, minute=0))) == ("9 h 30", "17 h")
    assert when_from(first - timedelta(hours=20), first) == "demain"
    assert when_from(first - timedelta(days=6), first) == "dans 6 jours"


def test_invitation_carries_a_request_ics_attached_and_in_the_alternative() -> None:
    """multipart/mixed: text, HTML and text/calendar (METHOD=REQUEST), plus `invitation-S2.ics`."""
    msg = message(Template.INVITATION_SESSION)
    assert msg.get_content_type() == "multipart/mixed"
    assert msg["X-CUF-Template"] == "invitation_session"
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_filename() == "invitation-S2.ics"
    found = calendars(msg)
    assert len(found) == 2 and all(c["METHOD"] == "REQUEST" for c in found)
    event = found[0].walk("VEVENT")[0]
    assert str(event["ATTENDEE"]) == "mailto:camille.martin@example.org"
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Diplomatie territoriale et diplomatie d’État" in text
    assert "de 9 h 30 à 17 h" in text and "https://visio.example.org/diplomates-s2" in text
    assert "·" not in text.split("Bonjour")[1].split("Bien cordialement")[0]


def test_cancellation_carries_method_cancel() -> None:
    """`session_annulee`: METHOD CANCEL; wording depends on why (session, or the person left)."""
    msg = message(Template.SESSION_ANNULEE, sequence=1)
    assert {c["METHOD"] for c in calendars(msg)} == {"CANCEL"}
    assert "est annulée" in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    left = message(Template.SESSION_ANNULEE, reason="person")
    assert "retirée" in left.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_change_carries_the_new_sequence() -> None:
    """`session_modifiee` v2: the `.ics` has SEQUENCE 1."""
    msg = message(Template.SESSION_MODIFIEE, sequence=1)
    assert {c.walk("VEVENT")[0]["SEQUENCE"] for c in calendars(msg)} == {1}


def test_reminder_says_when() -> None:
    """A reminder names how far the session is (`dans 12 jours` here) in its subject."""
    msg = message(Template.RAPPEL_SESSION)
    assert "dans 12 jours" in str(msg["Subject"])


def test_every_line_of_a_session_message_stays_under_78_characters() -> None:
    """RFC 5322's line length (78) holds for every line of each session message, the attachment
    headers included (folded before the file name)."""
    for template in (
        Template.INVITATION_SESSION,
        Template.SESSION_MODIFIEE,
        Template.SESSION_ANNULEE,
        Template.RAPPEL_SESSION,
    ):
        raw = render_session_raw(
            template, person=sample_person(NOW), member_name="Saint-Étienne",
            session=sample_session(NOW), sequence=1, settings=make_settings(),
            message_id="key.x", now=NOW, cancel_reason="session",
        )  # fmt: skip
        long = [line for line in raw.splitlines() if len(line) > 78]
        assert long == [], (template, long[:2])
