"""A run's part after registration: sessions, attendance, certificates (wired by run.py).

The decisions are pure (core/programme.py); here they meet the state DB (the secret behind
verification codes, the documents registry, the ledger), the renderers (emails with `.ics`,
PDFs) and the certificates folder. Nothing is sent twice: every message is queued under the
ledger's unique key (cohort, person, template, session, version); a PDF is written once under
its code and found again by any later run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence, Set
from datetime import datetime

from pipeline.adapters.sheets import Table
from pipeline.adapters.state.documents import DocumentStore
from pipeline.adapters.state.store import QueueItem, StateStore
from pipeline.config import Settings
from pipeline.core.certificates import CertificateRow
from pipeline.core.cohort import Evaluation, LedgerEntry
from pipeline.core.messages import document_message_key, session_message_key
from pipeline.core.model import Template
from pipeline.core.programme import ProgrammeEvaluation, evaluate_programme
from pipeline.core.sessions import Session, SessionDue
from pipeline.core.vocabulary import PARIS

log = logging.getLogger("diplomates.programme")
QUEUE_SLICE = 500


def programme_sheets(settings: Settings) -> list[str]:
    names = settings.sheets
    return [names.sessions, names.attendance, names.certificates]


class ProgrammeStep:
    """Sessions, attendance and certificates for one run."""

    def __init__(self, settings: Settings, store: StateStore) -> None:
        self.settings = settings
        self.store = store
        self._documents: DocumentStore | None = None

    @property
    def documents(self) -> DocumentStore:
        if self._documents is None:
            self._documents = DocumentStore(self.store, self.settings.certificates.folder)
        return self._documents

    def evaluate(
        self,
        evaluation: Evaluation,
        ledger: Sequence[LedgerEntry],
        tables: Mapping[str, Table],
        now: datetime,
        *,
        withdrawn: Set[str] = frozenset(),
        time_zone: str | None = None,
        dry_run: bool = False,
    ) -> ProgrammeEvaluation:
        """What is due after registration. A dry run never makes the codes' secret: before the
        first real run it shows codes made with an empty key (never written anywhere)."""
        settings = self.settings
        if settings.sheets.sessions not in tables:
            return ProgrammeEvaluation()
        return evaluate_programme(
            evaluation,
            ledger,
            tables,
            sessions_sheet=settings.sheets.sessions,
            attendance_sheet=settings.sheets.attendance,
            certificates_sheet=settings.sheets.certificates,
            cohort=settings.cohort.name,
            now=now,
            secret=self.documents.secret(create=not dry_run) or b"",
            reminder_days=settings.sessions.reminder_days,
            min_attendance=settings.certificates.min_attendance,
            require_approval=settings.certificates.require_staff_approval,
            issue_after=settings.certificates.issue_after,
            withdrawn=withdrawn,
            time_zone=time_zone,
        )

    def queue(
        self,
        programme: ProgrammeEvaluation,
        evaluation: Evaluation,
        now: datetime,
        checkpoint: Callable[[str], None] = lambda step: None,
    ) -> int:
        """Render and queue every session message and document due; returns how many.

        `checkpoint("queue.document")` is reached once per document, between writing its PDF
        and queuing its email: the crash harness kills runs there."""
        if not programme.due and not programme.documents_due:
            return 0
        queued = 0
        items: list[QueueItem] = []
        cohort = self.settings.cohort.name
        for item in self._session_items(programme, evaluation, now):
            items.append(item)
            if len(items) == QUEUE_SLICE:
                queued += self.store.enqueue(cohort, items, now)
                items = []
        queued += self.store.enqueue(cohort, items, now)
        if programme.documents_due:
            queued += self._issue(
                programme.documents_due, programme.sessions, evaluation, now, checkpoint
            )
        return queued

    def _session_items(
        self, programme: ProgrammeEvaluation, evaluation: Evaluation, now: datetime
    ) -> list[QueueItem]:
        from pipeline.adapters.mail.session_render import render_session_raw

        people = {p.id: p for p in evaluation.people}
        sessions = {s.code: s for s in programme.sessions}
        cohort = self.settings.cohort.name
        items = []
        for due in programme.due:
            person = people[due.person_id]
            session = sessions[due.session]
            match = evaluation.matches.get(due.person_id)
            key = session_message_key(cohort, due.person_id, due.template, due.session, due.version)
            raw = render_session_raw(
                due.template,
                person=person,
                member_name=match.member.name if match and match.member else None,
                session=session,
                sequence=due.sequence,
                settings=self.settings,
                message_id=key,
                now=now,
                cancel_reason=_cancel_reason(due, session),
            )
            items.append(
                QueueItem(
                    due.person_id,
                    due.template,
                    key,
                    raw,
                    session=due.session,
                    version=due.version,
                    detail=due.detail,
                )  # fmt: skip
            )
        return items

    def _issue(
        self,
        rows: Sequence[CertificateRow],
        sessions: Sequence[Session],
        evaluation: Evaluation,
        now: datetime,
        checkpoint: Callable[[str], None],
    ) -> int:
        """For each document due: its PDF (written once, reused if a crash left it), its
        registry entry, then its email with the PDF attached, queued once."""
        from pipeline.adapters.mail.render import Attachment, render_raw
        from pipeline.adapters.mail.session_render import document_extra, french_day
        from pipeline.adapters.pdf import DocumentFacts, DocumentRenderer

        people = {p.id: p for p in evaluation.people}
        by_code = {s.code: s for s in sessions}
        renderer: DocumentRenderer | None = None
        docs = self.documents
        cohort = self.settings.cohort.name
        queued = 0
        for row in rows:
            person = people.get(row.participant.id)
            if person is None or row.template is None:
                continue
            known = docs.lookup(row.code)
            if known is not None and known.erased_at is not None:
                continue  # erased or past retention: never made again
            data = docs.existing(row.code)
            if data is None:
                if renderer is None:
                    renderer = DocumentRenderer(self.settings.programme)
                attended = tuple(
                    f"{by_code[c].title} ({french_day(by_code[c].start).split(' ', 1)[1]})"
                    for c in row.attendance.attended
                    if c in by_code
                )
                facts = DocumentFacts(
                    kind=row.template,
                    full_name=row.participant.display_name,
                    authority=row.participant.member,
                    cohort=cohort,
                    code=row.code,
                    attended_count=row.attendance.present,
                    held_count=row.attendance.held,
                    hours=row.attendance.shown_hours,
                    sessions=attended,
                    issued=now,
                )
                data = renderer.render(facts)
                docs.write(row.code, data)
            docs.record(
                code=row.code, cohort=cohort, person_id=person.id, kind=row.template.value,
                full_name=row.participant.display_name, authority=row.participant.member,
                issued_at=now,
            )  # fmt: skip
            checkpoint("queue.document")
            key = document_message_key(cohort, person.id, row.template)
            name = "certificat-auditeur" if row.template is Template.CERTIFICAT else "attestation"
            raw = render_raw(
                row.template,
                person=person,
                member_name=row.participant.member or None,
                settings=self.settings,
                message_id=key,
                now=now,
                extra=document_extra(
                    row.code, row.attendance.present, row.attendance.held, row.attendance.hours
                ),
                attachments=(Attachment(f"{name}-{row.code}.pdf", "application/pdf", data),),
            )
            queued += self.store.enqueue(
                cohort, [QueueItem(person.id, row.template, key, raw)], now
            )
        log.info(
            "documents issued",
            extra={"count": queued, "day": now.astimezone(PARIS).date().isoformat()},
        )
        return queued


def _cancel_reason(due: SessionDue, session: Session) -> str:
    return "session" if session.cancelled else "person"
