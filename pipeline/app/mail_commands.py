"""Operator commands around emails: `diplomates resend` and `diplomates preview`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.adapters.sheets import Spreadsheet
from pipeline.config import Settings
from pipeline.core.errors import LockHeldError, PipelineError, UsageError
from pipeline.core.model import DOCUMENT_TEMPLATES, SESSION_TEMPLATES, Person, Template
from pipeline.core.vocabulary import TROUBLED, MessageState

if TYPE_CHECKING:
    from pipeline.adapters.mail.render import Attachment

SAMPLE_MEMBER = "Saint-Étienne"
SAMPLE_WAITLIST_POSITION = 3
SAMPLE_CODE = "DT26-7K4M-Q9ZP"


def template_named(name: str) -> Template:
    try:
        return Template(name.strip())
    except ValueError:
        known = ", ".join(t.value for t in Template)
        raise UsageError(f"unknown template '{name}'; use one of: {known}") from None


@dataclass(frozen=True)
class ResendOutcome:
    message_id: str
    state: str  # the message's state after the run: sent, retry, failed, incertain, pending
    ran: bool  # False when another run held the lock: the next run sends it


def resend(
    settings: Settings,
    *,
    message_id: str | None = None,
    person_id: str | None = None,
    template: Template | None = None,
    now: datetime | None = None,
) -> ResendOutcome:
    """Put one `incertain` (or `failed`) message back in the queue on purpose, then run once.

    The run sends it with whatever else is due, and updates the sheets (the `À vérifier` row
    goes away once it is sent). A message already sent, or still waiting, is left alone.
    """
    from pipeline.adapters.state.store import StateStore
    from pipeline.app.run import Runner

    cohort = settings.cohort.name
    store = StateStore(settings.state.url)
    if message_id:
        found = store.find_messages(message_id=message_id.strip())
        what = f"message {message_id.strip()}"
    elif person_id and template:
        found = store.find_messages(cohort=cohort, person_id=person_id.strip(), template=template)
        what = f"message '{template.value}' for {person_id.strip()} in cohort '{cohort}'"
    else:
        raise UsageError("say which message: --message ID, or --person ID with --template NAME")
    if not found:
        raise PipelineError(
            f"no {what} in the state database {settings.state.url}; `diplomates status` lists "
            "the messages to check, with their ids"
        )
    if len(found) > 1:  # session messages: one per session and version
        raise PipelineError(
            f"{what}: {len(found)} messages (one per session and version); say which with "
            "--message ID (`diplomates status` and the `À vérifier` row give it)"
        )
    record = found[0]
    stamp = record.updated_at.strftime("%Y-%m-%d %H:%M UTC") if record.updated_at else "?"
    if record.state == MessageState.SENT:
        raise PipelineError(f"{what} was sent ({stamp}); it is not sent again")
    if record.state not in TROUBLED:
        raise PipelineError(
            f"{what} is already queued (state '{record.state}'): a run sends it without help"
        )
    from pipeline.adapters.state.privacy import PrivacyState

    if PrivacyState(store).body_dropped(record.message_id):
        raise PipelineError(
            f"{what} has no content kept (older than privacy.retention_days, or recorded from "
            "the sheet's 'Courriels envoyés' after the state database was lost), so it cannot "
            "be resent; contact the person directly"
        )
    runner = Runner(settings, store=store)
    if not store.requeue(record, runner.clock()):
        raise PipelineError(f"{what} changed meanwhile; check `diplomates status` and try again")
    try:
        runner.run(now=now)  # `now`: the run's as-of time, as `run --as-of`
    except LockHeldError:
        return ResendOutcome(record.message_id, MessageState.PENDING, ran=False)
    after = store.find_messages(message_id=record.message_id)
    return ResendOutcome(record.message_id, after[0].state if after else "?", ran=True)


def _sample_attachments(
    settings: Settings,
    template: Template,
    person: Person,
    member_name: str | None,
    moment: datetime,
) -> tuple[Attachment, ...]:
    """A session message's `.ics` for the sample session; a document's PDF for this person."""
    from pipeline.adapters.mail.render import Attachment
    from pipeline.adapters.mail.session_render import sample_session, session_attachment

    if template in SESSION_TEMPLATES:
        session = sample_session(moment)
        return (session_attachment(session, template, 0, person, settings, moment),)
    if template not in DOCUMENT_TEMPLATES:
        return ()
    from pipeline.adapters.pdf import DocumentFacts, DocumentRenderer

    session = sample_session(moment)
    facts = DocumentFacts(
        kind=template, full_name=person.display_name,
        authority=member_name or person.authority, cohort=settings.cohort.name,
        code=SAMPLE_CODE, attended_count=5, held_count=6, hours="31 h 30",
        sessions=(session.title,), issued=moment,
    )  # fmt: skip
    data = DocumentRenderer(settings.programme).render(facts)
    name = "certificat-auditeur" if template is Template.CERTIFICAT else "attestation"
    return (Attachment(f"{name}-{SAMPLE_CODE}.pdf", "application/pdf", data),)


def preview(
    settings: Settings,
    template: Template,
    out: Path,
    *,
    email: str | None = None,
    now: datetime | None = None,
    spreadsheet: Spreadsheet | None = None,
) -> list[Path]:
    """Write subject.txt, body.txt, body.html and message.eml of one message into `out`.

    With `email`, the person is found in the spreadsheet (form answers, as the cohort sheet shows
    them) and their real data is used; otherwise `sample_person`. Nothing is queued or sent.
    """
    from pipeline.adapters.mail.render import render_message, sample_person
    from pipeline.app.run import Runner
    from pipeline.core.messages import message_key
    from pipeline.core.parse import normalize_email

    moment = now or datetime.now().astimezone()
    if email is None:
        person = sample_person(moment)
        member_name: str | None = SAMPLE_MEMBER
        position = SAMPLE_WAITLIST_POSITION if template is Template.LISTE_ATTENTE else None
    else:
        wanted = normalize_email(email)
        if wanted is None:
            raise PipelineError("--email is not a valid email address")
        runner = Runner(settings, spreadsheet=spreadsheet)
        tables = runner.read()
        evaluation = runner.evaluate(tables, runner.store.ledger(settings.cohort.name), moment)
        matches = [p for p in evaluation.people if p.email == wanted]
        if not matches:
            raise PipelineError(
                f"no person with this address in {runner.spreadsheet.describe()} (cohort "
                f"'{settings.cohort.name}'); check the address, or leave out --email to preview "
                "with sample data"
            )
        person = matches[0]
        match = evaluation.matches[person.id]
        member_name = match.member.name if match.member else None
        placement = evaluation.placements[person.id]
        position = placement.waitlist_position
        if template is Template.LISTE_ATTENTE and position is None:
            # No position to show: this person is not on the waiting list now, so the message
            # would be stale (a position they no longer hold). Say so instead of inventing one.
            raise PipelineError(
                f"liste_attente no longer applies to person {person.id}: their Statut is now "
                f"'{placement.status.value}', not 'Liste d'attente'. Preview the message that "
                "fits their Statut (e.g. inscription_confirmee or place_liberee), or leave out "
                "--email to preview with sample data"
            )
    from pipeline.adapters.mail.session_render import sample_extra

    attachments = _sample_attachments(settings, template, person, member_name, moment)
    message = render_message(
        template,
        person=person,
        member_name=member_name,
        settings=settings,
        message_id=message_key(settings.cohort.name, person.id, template),
        now=moment,
        waitlist_position=position,
        extra=sample_extra(template, moment),
        attachments=attachments,
    )
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "subject.txt": (str(message["Subject"]) + "\n").encode(),
        "body.txt": str(text.get_content()).encode(),
        "body.html": str(html.get_content()).encode(),
        "message.eml": message.as_bytes(),
    }
    for attachment in attachments:  # the .ics or the PDF, to open as recipients will
        files[attachment.filename] = attachment.data
    written = []
    for name, data in files.items():
        path = out / name
        path.write_bytes(data)
        written.append(path)
    return written
