"""Calendar files: one RFC 5545 `VEVENT` per session message, built with `icalendar`.

METHOD REQUEST for invitations, changes and reminders; METHOD CANCEL (STATUS CANCELLED) for
cancellations. The UID is stable per cohort and session (`core.sessions.session_uid`); SEQUENCE
is the session's version - 1, so a change always carries a higher SEQUENCE than what the person
holds. DTSTART/DTEND carry TZID=Europe/Paris with its VTIMEZONE (Outlook needs it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache

from icalendar import Calendar, Event, Timezone, vCalAddress, vText

from pipeline.core.sessions import Session, session_uid
from pipeline.core.vocabulary import PARIS

PRODID = "-//Cités Unies France//Diplomates des territoires//FR"


@lru_cache(maxsize=4)
def _vtimezone(first_year: int, last_year: int) -> bytes:
    zone = Timezone.from_tzinfo(
        PARIS, "Europe/Paris", date(first_year, 1, 1), date(last_year + 1, 1, 1)
    )
    return bytes(zone.to_ical())


def build_ics(
    session: Session,
    *,
    cohort: str,
    sequence: int,
    cancel: bool,
    organizer: str,
    organizer_name: str,
    attendee: str,
    attendee_name: str,
    description: str,
    stamp: datetime,
    domain: str = "cites-unies-france.org",
) -> bytes:
    """The `.ics` bytes for one person and session (`cancel`: METHOD CANCEL)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if cancel else "REQUEST")
    years = (session.start.year, session.end.year)
    calendar.add_component(Calendar.from_ical(_vtimezone(min(years), max(years))))
    event = Event()
    event.add("uid", session_uid(cohort, session.code, domain))
    event.add("sequence", sequence)
    event.add("dtstamp", stamp.astimezone(UTC))  # RFC 5545: DTSTAMP is in UTC
    event.add("dtstart", session.start.astimezone(PARIS))
    event.add("dtend", session.end.astimezone(PARIS))
    event.add("summary", f"{session.title} ({session.code})")
    if session.place:
        event.add("location", vText(session.place))
    if session.link:
        event.add("url", session.link)
    event.add("description", description)
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    event.add("transp", "OPAQUE")
    owner = vCalAddress(f"mailto:{organizer}")
    owner.params["cn"] = vText(organizer_name)
    event.add("organizer", owner)
    guest = vCalAddress(f"mailto:{attendee}")
    guest.params["cn"] = vText(attendee_name or attendee)
    guest.params["role"] = vText("REQ-PARTICIPANT")
    guest.params["partstat"] = vText("NEEDS-ACTION")
    guest.params["rsvp"] = vText("FALSE")
    event.add("attendee", guest)
    calendar.add_component(event)
    return bytes(calendar.to_ical())
