"""Session and certificate messages: their template variables and attachments.

`render_raw` does the rendering; this module gives it the session's fields (French dates and
times), the `.ics` built by `adapters/calendar.py`, and, for documents, the PDF.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from babel.dates import format_date

from pipeline.adapters.mail.calendar import build_ics
from pipeline.adapters.mail.render import Attachment, render_raw, typographic
from pipeline.config import Settings
from pipeline.core.attendance import format_hours
from pipeline.core.model import DOCUMENT_TEMPLATES, SESSION_TEMPLATES, Person, Template
from pipeline.core.sessions import Session
from pipeline.core.vocabulary import PARIS


def french_day(moment: datetime) -> str:
    """`mercredi 20 mai 2026`, `vendredi 1er mai 2026` (Paris time)."""
    day = moment.astimezone(PARIS).date()
    text = str(format_date(day, format="EEEE d MMMM y", locale="fr_FR"))
    return text.replace(" 1 ", " 1er ", 1) if day.day == 1 else text


def short_day(moment: datetime) -> str:
    """`20 mai`, `1er juin` (Paris time): dates in subjects, which must stay short."""
    day = moment.astimezone(PARIS).date()
    text = str(format_date(day, format="d MMMM", locale="fr_FR"))
    return "1er" + text[1:] if day.day == 1 else text


def french_time(moment: datetime) -> str:
    """`9 h 30`, `17 h` (Paris time)."""
    local = moment.astimezone(PARIS)
    return f"{local.hour} h {local.minute:02d}" if local.minute else f"{local.hour} h"


def when_from(now: datetime, start: datetime) -> str:
    """`aujourd'hui`, `demain`, `dans 6 jours`, counted in Paris calendar days."""
    days = (start.astimezone(PARIS).date() - now.astimezone(PARIS).date()).days
    if days <= 0:
        return "aujourd'hui"
    return "demain" if days == 1 else f"dans {days} jours"


def session_extra(
    session: Session, now: datetime, *, cancel_reason: str = "session"
) -> dict[str, Any]:
    """Template variables for a session message (staff data and dates, no form data)."""
    return {
        "session_code": session.code,
        "session_title": typographic(session.title),
        "session_format": session.format,
        "session_day": french_day(session.start),
        "session_date": short_day(session.start),
        "session_start": french_time(session.start),
        "session_end": french_time(session.end)
        if session.end.astimezone(PARIS).date() == session.start.astimezone(PARIS).date()
        else f"{french_day(session.end)}, {french_time(session.end)}",
        "session_place": typographic(session.place),
        "session_link": session.link,
        "session_online": session.online,
        "session_when": when_from(now, session.start),
        "cancel_reason": cancel_reason,
    }


def ics_description(session: Session, settings: Settings) -> str:
    lines = [f"{settings.programme.name}, {settings.cohort.name}", session.title]
    if session.format:
        lines.append(session.format)
    if session.link:
        lines.append(f"Lien de connexion : {session.link}")
    lines.append(f"Contact : {settings.programme.contact_email}")
    return "\n".join(lines)


def session_attachment(
    session: Session,
    template: Template,
    sequence: int,
    person: Person,
    settings: Settings,
    now: datetime,
) -> Attachment:
    """The `.ics` of a session message: CANCEL for `session_annulee`, else REQUEST."""
    cancel = template is Template.SESSION_ANNULEE
    data = build_ics(
        session,
        cohort=settings.cohort.name,
        sequence=sequence,
        cancel=cancel,
        organizer=settings.email.reply_to,
        organizer_name=settings.email.sender_name,
        attendee=person.email,
        attendee_name=person.display_name,
        description=ics_description(session, settings),
        stamp=now,
        domain=settings.email.sender.rpartition("@")[2],
    )
    method = "CANCEL" if cancel else "REQUEST"
    name = "annulation" if cancel else "invitation"
    safe = "".join(c if c.isascii() and c.isalnum() else "-" for c in session.code)
    return Attachment(f"{name}-{safe}.ics", f"text/calendar; method={method}", data)


def render_session_raw(
    template: Template,
    *,
    person: Person,
    member_name: str | None,
    session: Session,
    sequence: int,
    settings: Settings,
    message_id: str,
    now: datetime,
    cancel_reason: str = "session",
) -> bytes:
    """One session message with its `.ics` attached (reminders carry the invitation again)."""
    return render_raw(
        template,
        person=person,
        member_name=member_name,
        settings=settings,
        message_id=message_id,
        now=now,
        extra=session_extra(session, now, cancel_reason=cancel_reason),
        attachments=(session_attachment(session, template, sequence, person, settings, now),),
    )


def document_extra(code: str, attended: int, held: int, hours: float) -> dict[str, Any]:
    return {
        "verification_code": code,
        "attended_count": attended,
        "held_count": held,
        "hours": format_hours(hours).replace(" ", "\u00a0"),
    }


def sample_session(now: datetime) -> Session:
    """A fictitious session for previews and template tests."""
    start = (
        (now + timedelta(days=12))
        .astimezone(PARIS)
        .replace(hour=9, minute=30, second=0, microsecond=0)
    )
    return Session(
        code="S2",
        title="Diplomatie territoriale et diplomatie d'État",
        format="Session de travail",
        start=start,
        end=start.replace(hour=17, minute=0),
        place="Cités Unies France, 9 rue Christiani, 75018 Paris",
        link="https://visio.example.org/diplomates-s2",
        cancelled=False,
        row=3,
    )


def sample_extra(template: Template, now: datetime) -> dict[str, Any]:
    """Template variables that stand for a real session or document (previews, tests)."""
    if template in SESSION_TEMPLATES:
        return session_extra(sample_session(now), now)
    if template in DOCUMENT_TEMPLATES:
        return document_extra("DT26-7K4M-Q9ZP", 5, 6, 31.5)
    return {}
