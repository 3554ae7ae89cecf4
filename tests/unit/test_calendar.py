"""Calendar files parse back with icalendar and carry what calendar clients need (RFC 5545)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar

from pipeline.adapters.mail.calendar import build_ics
from pipeline.core.sessions import Session
from pipeline.core.vocabulary import PARIS

START = datetime(2026, 11, 20, 9, 30, tzinfo=PARIS)


def ics(session: Session, sequence: int = 0, cancel: bool = False) -> Calendar:
    raw = build_ics(
        session, cohort="Promotion 2026", sequence=sequence, cancel=cancel,
        organizer="contact@cites-unies-france.org", organizer_name="Cités Unies France",
        attendee="camille@lyon.fr", attendee_name="Camille Martin",
        description="Rencontre ; lien, salle", stamp=datetime(2026, 5, 1, tzinfo=UTC),
    )  # fmt: skip
    assert b"\r\n" in raw
    return Calendar.from_ical(raw)


def session(place: str = "Lyon, Hôtel de ville", start: datetime = START) -> Session:
    return Session("S1", "Diplomatie territoriale", "Rencontre", start,
                   start + timedelta(hours=7), place, "https://visio.example/s1", False, 2)  # fmt: skip


def event(calendar: Calendar):  # type: ignore[no-untyped-def]
    (found,) = calendar.walk("VEVENT")
    return found


def test_invitation_parses_back_with_every_required_property() -> None:
    """REQUEST: UID, SEQUENCE, DTSTART/DTEND in Europe/Paris, SUMMARY, LOCATION, ORGANIZER…"""
    calendar = ics(session())
    assert calendar["METHOD"] == "REQUEST" and calendar["VERSION"] == "2.0"
    (zone,) = calendar.walk("VTIMEZONE")
    assert zone["TZID"] == "Europe/Paris"
    found = event(calendar)
    assert found.decoded("DTSTART") == START
    assert found["DTSTART"].params["TZID"] == "Europe/Paris"
    assert found.decoded("DTEND") == START + timedelta(hours=7)
    assert str(found["LOCATION"]) == "Lyon, Hôtel de ville"
    assert "Diplomatie territoriale" in str(found["SUMMARY"])
    assert str(found["ORGANIZER"]) == "mailto:contact@cites-unies-france.org"
    assert str(found["ATTENDEE"]) == "mailto:camille@lyon.fr"
    assert str(found["DESCRIPTION"]) == "Rencontre ; lien, salle"
    assert found["SEQUENCE"] == 0 and found["STATUS"] == "CONFIRMED"


def test_update_keeps_uid_with_higher_sequence() -> None:
    """A moved session: same UID, SEQUENCE + 1, the new times."""
    first = event(ics(session()))
    moved = event(ics(session(start=START + timedelta(days=1)), sequence=1))
    assert moved["UID"] == first["UID"]
    assert moved["SEQUENCE"] > first["SEQUENCE"]
    assert moved.decoded("DTSTART") == START + timedelta(days=1)


def test_cancellation_is_method_cancel_with_same_uid() -> None:
    """CANCEL: METHOD CANCEL, STATUS CANCELLED, same UID."""
    calendar = ics(session(), sequence=1, cancel=True)
    assert calendar["METHOD"] == "CANCEL"
    assert event(calendar)["STATUS"] == "CANCELLED"
    assert event(calendar)["UID"] == event(ics(session()))["UID"]


def test_summer_and_winter_times_are_local() -> None:
    """A session in July is 09:30 Paris (UTC+2), one in November 09:30 (UTC+1)."""
    summer = datetime(2026, 7, 2, 9, 30, tzinfo=PARIS)
    found = event(ics(session(start=summer)))
    assert found.decoded("DTSTART").utcoffset() == timedelta(hours=2)
    assert event(ics(session())).decoded("DTSTART").utcoffset() == timedelta(hours=1)


def test_dtstamp_is_utc_even_when_the_run_time_is_paris() -> None:
    """DTSTAMP is written in UTC (`...Z`), as RFC 5545 requires, whatever zone `now` has."""
    raw = build_ics(
        session(), cohort="Promotion 2026", sequence=0, cancel=False,
        organizer="contact@cites-unies-france.org", organizer_name="CUF",
        attendee="camille@lyon.fr", attendee_name="Camille Martin", description="x",
        stamp=datetime(2026, 5, 1, 10, 0, tzinfo=PARIS),
    )  # fmt: skip
    assert b"DTSTAMP:20260501T080000Z\r\n" in raw
