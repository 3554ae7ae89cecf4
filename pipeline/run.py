"""One run: read -> core -> queue and send messages -> write sheets -> journal."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pipeline.adapters.mail import PermanentFailure, TemporaryFailure, Transport
from pipeline.adapters.sheets import Spreadsheet, Table
from pipeline.adapters.state import StateStore
from pipeline.config import Settings
from pipeline.core.cohort import (
    Evaluation,
    LedgerEntry,
    current_decisions,
    evaluate,
    fr_stamp,
    plan_outputs,
)
from pipeline.core.sheetplan import plan_append
from pipeline.errors import PipelineError, SheetError
from pipeline.model import Anomaly, Cell, Reason, SheetWrite, Template, WritePlan

log = logging.getLogger("diplomates.run")

JOURNAL_HEADERS = (
    "Début", "Fin", "Résultat", "Lignes lues", "Nouvelles personnes", "Mises à jour",
    "Doublons", "Anomalies", "Courriels envoyés", "Courriels en échec", "Exécution",
)  # fmt: skip
COUNT_KEYS = (
    "rows_read", "new", "updated", "duplicates", "anomalies", "emails_sent", "emails_failed",
)  # fmt: skip
LOCK_LEASE = timedelta(minutes=30)


@dataclass
class RunReport:
    run_id: str
    now: datetime
    dry_run: bool
    outcome: str = "running"
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    plan: WritePlan = field(default_factory=WritePlan)
    due: list[tuple[str, Template]] = field(default_factory=list)
    wrote: bool = False

    @property
    def changed(self) -> bool:
        return self.wrote


def message_key(cohort: str, person_id: str, template: Template) -> str:
    """The idempotency key of a message, also its Message-ID's local part."""
    digest = hashlib.sha256(f"{cohort}|{person_id}|{template.value}".encode()).hexdigest()
    return f"{template.value}.{person_id}.{digest[:16]}"


def open_spreadsheet(settings: Settings) -> Spreadsheet:
    if settings.spreadsheet.backend == "local":
        from pipeline.adapters.local_workbook import LocalWorkbook

        assert settings.spreadsheet.workbook is not None
        return LocalWorkbook(settings.spreadsheet.workbook)
    from pipeline.adapters.google_sheets import GoogleSpreadsheet

    spreadsheet: Spreadsheet = GoogleSpreadsheet.from_settings(settings.spreadsheet)
    return spreadsheet


def open_transport(settings: Settings) -> Transport:
    if settings.email.transport == "outbox":
        from pipeline.adapters.mail import OutboxTransport

        assert settings.email.outbox is not None
        return OutboxTransport(settings.email.outbox)
    raise PipelineError(
        f"email.transport '{settings.email.transport}' is not available in this version; "
        'use transport = "outbox"'
    )


def retry_delay(attempts: int) -> timedelta:
    """5 min, 10 min, 20 min … capped at 6 h."""
    delay: timedelta = min(timedelta(minutes=5) * 2 ** max(attempts - 1, 0), timedelta(hours=6))
    return delay


def ledger_anomalies(ledger: Sequence[LedgerEntry], evaluation: Evaluation) -> list[Anomaly]:
    people = {p.id: p for p in evaluation.people}
    found = []
    for entry in ledger:
        if entry.state not in ("failed", "incertain"):
            continue
        person = people.get(entry.person_id)
        if entry.state == "failed":
            reason = Reason.COURRIEL_REJETE
            text = (
                f"Le serveur de messagerie a refusé définitivement le courriel "
                f"« {entry.template.value} » : vérifiez l'adresse e-mail."
            )
        else:
            reason = Reason.ENVOI_INCERTAIN
            text = (
                f"L'envoi du courriel « {entry.template.value} » a été interrompu : il est peut-être "
                "parti, peut-être pas. Il ne sera pas renvoyé automatiquement."
            )
        found.append(
            Anomaly(
                reason=reason,
                explanation=text,
                person_id=entry.person_id,
                person=person.display_name if person else "",
                authority=person.authority if person else "",
            )
        )
    return found


class Runner:
    """Wires the adapters around the pure core for one run."""

    def __init__(
        self,
        settings: Settings,
        *,
        spreadsheet: Spreadsheet | None = None,
        transport: Transport | None = None,
        store: StateStore | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.spreadsheet = spreadsheet or open_spreadsheet(settings)
        self._transport = transport
        self.store = store or StateStore(settings.state.url)
        self.clock = clock

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            self._transport = open_transport(self.settings)
        return self._transport

    def sheet_names(self) -> list[str]:
        names = self.settings.sheets
        return [
            names.responses, names.members, self.settings.cohort.name,
            names.review, names.journal, names.dashboard,
        ]  # fmt: skip

    def read(self) -> dict[str, Table]:
        tables = dict(self.spreadsheet.read(self.sheet_names()))
        names = self.settings.sheets
        for name, key in ((names.responses, "responses"), (names.members, "members")):
            if name not in tables:
                raise SheetError(
                    f"sheet '{name}' not found in {self.spreadsheet.describe()}; check "
                    f"[sheets].{key} in {self.settings.source or 'the config file'}"
                )
        return tables

    def run(self, now: datetime | None = None, dry_run: bool = False) -> RunReport:
        started = self.clock()
        now = now or started
        holder = f"{socket.gethostname()}:{os.getpid()}"
        if not dry_run:
            self.store.acquire_lock(holder, started, LOCK_LEASE)
        run_id = self.store.start_run(started, now) if not dry_run else "dry-run"
        report = RunReport(run_id=run_id, now=now, dry_run=dry_run)
        tick = time.monotonic()
        try:
            self._run(report, now, dry_run)
        except BaseException as exc:
            report.outcome = "failed"
            if not dry_run:
                self._record_failure(report, now, tick, exc)
            raise
        else:
            report.outcome = "success" if report.changed else "idle"
            if not dry_run:
                self.store.finish_run(run_id, self.clock(), report.outcome, report.counts)
        finally:
            if not dry_run:
                self.store.release_lock(holder)
        return report

    def _run(self, report: RunReport, now: datetime, dry_run: bool) -> None:
        settings = self.settings
        cohort = settings.cohort.name
        tick = time.monotonic()
        if not dry_run:
            interrupted = self.store.recover_interrupted(now)
            if interrupted:
                log.warning(
                    "run %s: %d interrupted send(s) flagged incertain", report.run_id, interrupted
                )
        tables = self.read()
        names = settings.sheets
        ledger = self.store.ledger(cohort)
        evaluation = evaluate(
            tables[names.responses],
            tables[names.members],
            tables.get(cohort),
            ledger,
            settings,
            now,
        )
        report.due = evaluation.due
        log.info(
            "run %s: %d rows read, %d people, %d messages due",
            report.run_id, evaluation.rows_read, len(evaluation.people), len(evaluation.due),
        )  # fmt: skip
        if not dry_run:
            self._queue(evaluation, now)
            self._deliver(report, now)
            ledger = self.store.ledger(cohort)
        anomalies = evaluation.anomalies + ledger_anomalies(ledger, evaluation)
        evaluation = Evaluation(
            evaluation.rows_read, evaluation.people, evaluation.matches, evaluation.placements,
            anomalies, evaluation.due, evaluation.members,
        )  # fmt: skip
        writes = plan_outputs(evaluation, ledger, tables, settings)
        self._count(report, evaluation, writes, tables.get(cohort))
        changed = any(not w.empty for w in writes) or report.counts["emails_sent"] > 0
        changed = changed or report.counts["emails_failed"] > 0
        if changed:
            end = now + timedelta(seconds=time.monotonic() - tick)
            writes.append(self._journal(tables, report, now, end, "Succès"))
        report.plan = WritePlan(sheets=tuple(w for w in writes if not w.empty))
        if dry_run or report.plan.empty:
            return
        self.spreadsheet.write(report.plan)
        report.wrote = True

    def _queue(self, evaluation: Evaluation, now: datetime) -> None:
        if not evaluation.due:
            return
        from pipeline.adapters.render import render_message

        people = {p.id: p for p in evaluation.people}
        items = []
        for person_id, template in evaluation.due:
            person = people[person_id]
            match = evaluation.matches[person_id]
            key = message_key(self.settings.cohort.name, person_id, template)
            message = render_message(
                template,
                person=person,
                member_name=match.member.name if match.member else None,
                settings=self.settings,
                message_id=key,
                now=now,
                waitlist_position=evaluation.placements[person_id].waitlist_position,
            )
            items.append((person_id, template, key, message.as_bytes()))
        self.store.enqueue(self.settings.cohort.name, items, now)

    def _deliver(self, report: RunReport, now: datetime) -> None:
        from email import message_from_bytes, policy
        from email.message import EmailMessage

        queued = self.store.due(self.settings.cohort.name, now)
        if not queued:
            return
        with self.transport as transport:
            for message in queued:
                parsed = message_from_bytes(message.raw, policy=policy.default)
                assert isinstance(parsed, EmailMessage)
                self.store.mark_sending(message, now)
                try:
                    transport.send(parsed, message.message_id)
                except TemporaryFailure as exc:
                    self.store.mark_retry(message, now, str(exc), retry_delay(message.attempts + 1))
                    log.warning("run %s: message %s deferred", report.run_id, message.message_id)
                    continue
                except PermanentFailure as exc:
                    self.store.mark_failed(message, now, str(exc))
                    report.counts["emails_failed"] += 1
                    log.warning("run %s: message %s refused", report.run_id, message.message_id)
                    continue
                self.store.mark_sent(message, now)
                report.counts["emails_sent"] += 1

    def _count(
        self,
        report: RunReport,
        evaluation: Evaluation,
        writes: Sequence[SheetWrite],
        cohort_table: Table | None,
    ) -> None:
        known, _ = current_decisions(cohort_table)
        reasons = Counter(a.reason for a in evaluation.anomalies)
        report.counts.update(
            rows_read=evaluation.rows_read,
            new=sum(1 for p in evaluation.people if p.id not in known),
            updated=len(writes[0].expected_keys),
            duplicates=reasons[Reason.DOUBLON_PROBABLE],
            anomalies=len({a.key for a in evaluation.anomalies}),
        )

    def _journal(
        self,
        tables: dict[str, Table],
        report: RunReport,
        start: datetime,
        end: datetime,
        result: str,
    ) -> SheetWrite:
        values: list[Cell] = [fr_stamp(start), fr_stamp(end), result]
        values += [report.counts[k] for k in COUNT_KEYS]
        values.append(report.run_id)
        name = self.settings.sheets.journal
        return plan_append(name, tables.get(name), JOURNAL_HEADERS, values)

    def _record_failure(
        self, report: RunReport, now: datetime, tick: float, exc: BaseException
    ) -> None:
        error = str(exc) if isinstance(exc, PipelineError) else type(exc).__name__
        self.store.finish_run(report.run_id, self.clock(), "failed", report.counts, error)
        try:  # best effort: staff see failed runs in the Journal too
            name = self.settings.sheets.journal
            tables = dict(self.spreadsheet.read([name]))
            end = now + timedelta(seconds=time.monotonic() - tick)
            entry = self._journal(tables, report, now, end, "Échec")
            self.spreadsheet.write(WritePlan(sheets=(entry,)))
        except Exception:
            log.warning("run %s: could not record the failure in the Journal", report.run_id)
