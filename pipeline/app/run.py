"""One run: read -> core -> queue and send messages -> write sheets -> journal."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pipeline import logs
from pipeline.adapters.mail.transport import ConfirmingTransport, Transport
from pipeline.adapters.sheets import Spreadsheet, Table
from pipeline.adapters.state.store import StateStore
from pipeline.app.alerts import safe_error, send_alert
from pipeline.app.delivery import Delivery, queue_due
from pipeline.app.privacy import cancel_withdrawn, purge, screen
from pipeline.app.rebuild import rebuild_ledger
from pipeline.app.wiring import LOCK_LEASE, open_spreadsheet, open_transport
from pipeline.config import Settings
from pipeline.core.cohort import (
    Evaluation,
    LedgerEntry,
    evaluate,
    fr_stamp,
    plan_outputs,
)
from pipeline.core.errors import (
    InputsRefusedError,
    LockHeldError,
    PipelineError,
    SheetError,
    SheetMovedError,
)
from pipeline.core.guard import clock_problem, input_problems, limits_from, refusal
from pipeline.core.journal import COUNT_KEYS, journal_entry, sheet_counts
from pipeline.core.ledger import ledger_anomalies
from pipeline.core.model import SheetWrite, Template, WritePlan
from pipeline.core.programme import ProgrammeEvaluation, dashboard_sections, programme_writes
from pipeline.core.reference import Reference
from pipeline.core.vocabulary import (
    JOURNAL_FAILURE,
    JOURNAL_INTERRUPTED,
    JOURNAL_SUCCESS,
    RunOutcome,
)

log = logging.getLogger("diplomates.run")

# Named steps. At a boundary a run renews its lease and, when asked to stop (SIGTERM), ends
# cleanly; inner steps (within one message's send, and the final bookkeeping) are crash points
# only: a run never stops between handing a message to the transport and writing the ledger.
BOUNDARY_STEPS = ("recover", "read", "evaluate", "queue", "send", "plan", "write")
INNER_STEPS = ("send.transport", "send.ledger", "record", "release", "queue.document")
CRASH_ENV = "DIPLOMATES_CRASH_AT"


class RunInterrupted(PipelineError):
    """A stop was asked (SIGTERM, SIGINT): the run ended cleanly before `step`."""

    exit_code = 0

    def __init__(self, step: str) -> None:
        super().__init__(
            f"stopped on request before step '{step}'; nothing is half done and the next run "
            "carries on"
        )
        self.step = step


class LeaseLostError(LockHeldError):
    """This run's lease ran out and another run took the lock over: this one stops at once."""


class CrashHook:
    """For the crash test harness only: `DIPLOMATES_CRASH_AT=<step>:<n>[:KILL|TERM]` makes the
    process SIGKILL itself (or send itself SIGTERM) the n-th time it reaches `step`."""

    def __init__(self, spec: str | None) -> None:
        self.step: str | None = None
        self.count = 0
        self.signal = signal.SIGKILL
        self.seen = 0
        if not spec:
            return
        step, _, rest = spec.partition(":")
        count, _, kind = rest.partition(":")
        signals = {"": signal.SIGKILL, "KILL": signal.SIGKILL, "TERM": signal.SIGTERM}
        if step not in BOUNDARY_STEPS + INNER_STEPS or not count.isdigit() or kind not in signals:
            raise PipelineError(
                f"{CRASH_ENV}='{spec}' is not <step>:<n>[:KILL|TERM] with a step among "
                f"{', '.join(BOUNDARY_STEPS + INNER_STEPS)}; unset it (it is for tests only)"
            )
        self.step, self.count, self.signal = step, int(count), signals[kind]

    def reached(self, step: str, stop: threading.Event | None) -> None:
        if step != self.step:
            return
        self.seen += 1
        if self.seen != self.count:
            return
        logs.flush()
        os.kill(os.getpid(), self.signal)
        if stop is not None:  # SIGTERM: the handler runs in the main thread; let it catch up
            stop.wait(10)


@dataclass
class _Lease:
    holder: str
    renewed: datetime


@dataclass
class RunReport:
    run_id: str
    now: datetime
    dry_run: bool
    outcome: str = RunOutcome.RUNNING
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    plan: WritePlan = field(default_factory=WritePlan)
    due: list[tuple[str, Template]] = field(default_factory=list)
    wrote: bool = False
    # What a dry run lists: the sheets as read (old values) and the addresses of people due mail.
    before: dict[str, Table] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)
    guarded: list[str] = field(default_factory=list)  # what the sanity guard found (see _guard)

    @property
    def changed(self) -> bool:
        return self.wrote


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
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        stop: threading.Event | None = None,
        on_step: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.spreadsheet = spreadsheet or open_spreadsheet(settings)
        self._transport = transport
        self.store = store or StateStore(settings.state.url)
        self.clock = clock
        self.sleep = sleep  # pacing for email.max_per_minute; injected so tests use no real time
        self.monotonic = monotonic
        self.stop = stop  # set by a SIGTERM handler: the run ends at the next boundary step
        self.on_step = on_step  # tests: called at every named step
        self.crash = CrashHook(os.environ.get(CRASH_ENV))
        self.report: RunReport | None = None
        self._lease: _Lease | None = None
        self._withdrawn: frozenset[str] = frozenset()  # person ids (see `_screened`)
        self._programme: ProgrammeEvaluation = ProgrammeEvaluation()  # sessions, certificates
        self._force = False  # `run --force`: the sanity guard only warns

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            self._transport = open_transport(self.settings)
        return self._transport

    def sheet_names(self) -> list[str]:
        from pipeline.app.programme_run import programme_sheets

        names = self.settings.sheets
        return [
            names.responses, names.members, self.settings.cohort.name,
            names.review, names.journal, names.dashboard,
        ] + programme_sheets(self.settings)  # fmt: skip

    def read(self) -> dict[str, Table]:
        tables = dict(self.spreadsheet.read(self.sheet_names()))
        names = self.settings.sheets
        for name, key in ((names.responses, "responses"), (names.members, "members")):
            if name not in tables:
                raise SheetError(
                    f"sheet '{name}' not found in {self.spreadsheet.describe()}; check "
                    f"[sheets].{key} in {self.settings.source or 'the config file'}"
                )
        return self._screened(tables)

    def _screened(self, tables: dict[str, Table]) -> dict[str, Table]:
        """Erased people's answers are skipped (counted, never listed); a consent withdrawn on a
        person's latest answer covers their earlier ones (app/privacy.py)."""
        zone = self.spreadsheet.time_zone
        tables, screening = screen(self.settings, self.store, tables, zone)
        self._withdrawn = screening.withdrawn
        if self.report is not None and screening.erased_rows:
            self.report.counts["erased_skipped"] = screening.erased_rows
        return tables

    def run(
        self, now: datetime | None = None, dry_run: bool = False, force: bool = False
    ) -> RunReport:
        holder = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        if not dry_run:
            taken = self.clock()
            self.store.acquire_lock(holder, taken, LOCK_LEASE)
            self._lease = _Lease(holder, taken)
        started = self.clock()  # after the lock: recorded runs never overlap, even on paper
        now = now or started
        try:
            run_id = self.store.start_run(started, now) if not dry_run else "dry-run"
            report = self.report = RunReport(run_id=run_id, now=now, dry_run=dry_run)
            self._force = force or dry_run  # a dry run writes nothing: it shows the findings
            with logs.run_context(run_id):
                self._run_recorded(report, now, dry_run)
            return report
        finally:
            lease, self._lease = self._lease, None
            if lease is not None:
                self.store.release_lock(lease.holder)

    def checkpoint(self, step: str) -> None:
        """A run reaches the named `step`: logs carry its name, the crash harness may kill the
        process here; at a boundary the lease is renewed and a requested stop ends the run."""
        logs.set_step(step)
        if self.on_step is not None:
            self.on_step(step)
        self.crash.reached(step, self.stop)
        if step not in BOUNDARY_STEPS:
            return
        self._heartbeat(step)
        if self.stop is not None and self.stop.is_set():
            raise RunInterrupted(step)

    def _heartbeat(self, step: str) -> None:
        lease = self._lease
        if lease is None:
            return
        now = self.clock()
        if now - lease.renewed < LOCK_LEASE / 5:
            return
        if not self.store.renew_lock(lease.holder, now, LOCK_LEASE):
            self._lease = None
            raise LeaseLostError(
                "this run's lock lease ran out and another run took the lock over; it stopped "
                f"before step '{step}' so that two runs never work at once"
            )
        lease.renewed = now
        log.debug("lease renewed", extra={"until": (now + LOCK_LEASE).isoformat()})

    def _run_recorded(self, report: RunReport, now: datetime, dry_run: bool) -> None:
        tick = time.monotonic()
        log.info("run started", extra={"as_of": now.isoformat(), "dry_run": dry_run})
        try:
            self._run(report, now, dry_run)
        except RunInterrupted as exc:
            report.outcome = RunOutcome.INTERRUPTED
            if not dry_run:
                self.store.finish_run(
                    report.run_id, self.clock(), report.outcome, report.counts, str(exc)
                )
                if report.counts["emails_sent"] or report.counts["emails_failed"]:
                    self._journal_alone(
                        report, now, tick, JOURNAL_INTERRUPTED
                    )  # it changed something
            log.warning("run stopped on request", extra={"counts": report.counts})
            raise
        except BaseException as exc:
            report.outcome = RunOutcome.FAILED
            log.error("run failed", extra={"error": safe_error(exc), "counts": report.counts})
            if not dry_run:
                # A lost lease: the sheet is the new holder's; refused inputs: nothing is written.
                journal = not isinstance(exc, LeaseLostError | InputsRefusedError)
                self._record_failure(report, now, tick, exc, journal=journal)
                self._alert(report, exc)
            raise
        report.outcome = RunOutcome.SUCCESS if report.changed else RunOutcome.IDLE
        if not dry_run:
            self.checkpoint("record")
            self.store.finish_run(report.run_id, self.clock(), report.outcome, report.counts)
            self.checkpoint("release")
        seconds = round(time.monotonic() - tick, 3)
        log.info(
            "run finished",
            extra={"outcome": report.outcome, "seconds": seconds, "counts": report.counts},
        )

    def _run(self, report: RunReport, now: datetime, dry_run: bool) -> None:
        settings = self.settings
        cohort = settings.cohort.name
        tick = time.monotonic()
        last = self.store.last_moment(None if dry_run else report.run_id)
        limits = limits_from(settings)
        self._guard(report, [p for p in [clock_problem(now, last, limits)] if p])
        if not dry_run:
            self.checkpoint("recover")
            abandoned = self.store.mark_abandoned_runs(report.run_id)
            if abandoned:
                log.warning(
                    "%d earlier run(s) stopped without finishing (killed?): marked crashed",
                    len(abandoned), extra={"crashed_runs": abandoned},
                )  # fmt: skip
            transport = self.transport
            interrupted = self.store.recover_interrupted(
                now, transport.delivered if isinstance(transport, ConfirmingTransport) else None
            )
            self._purge(report, now)
            if interrupted:
                log.warning(
                    "run %s: %d interrupted send(s) flagged incertain", report.run_id, interrupted
                )
        self.checkpoint("read")
        tables = self.read()
        self.checkpoint("evaluate")
        ledger = rebuild_ledger(
            self.settings, self.store, tables, self.store.ledger(cohort), now,
            counts=report.counts, dry_run=dry_run,
        )  # fmt: skip
        evaluation = self.evaluate(tables, ledger, now)
        members = tables[settings.sheets.members]
        self._guard(report, input_problems(evaluation, members, tables.get(cohort), limits))
        report.due = evaluation.due + self._evaluate_programme(tables, ledger, evaluation, now)
        if dry_run:
            report.before = dict(tables)
            due_ids = {pid for pid, _ in report.due}
            report.addresses = {p.id: p.email for p in evaluation.people if p.id in due_ids}
        log.info(
            "run %s: %d rows read, %d people, %d messages due",
            report.run_id, evaluation.rows_read, len(evaluation.people), len(report.due),
        )  # fmt: skip
        if not dry_run:
            self.checkpoint("queue")
            self._queue(evaluation, now)
            self._queue_programme(evaluation, now)
            self._cancel_withdrawn(report)
            self._preflight(now)
            self._deliver(report, now)
            self.checkpoint("plan")
            ledger = self.store.ledger(cohort)
            self._evaluate_programme(tables, ledger, evaluation, now)  # statuses as sent
        report.plan = self._plan(report, evaluation, ledger, tables, now, tick)
        if dry_run or report.plan.empty:
            return
        self.checkpoint("write")
        try:
            self.spreadsheet.write(report.plan)
        except SheetMovedError as exc:
            # Staff sorted, inserted or deleted rows after the read; nothing was written. Read
            # again, re-plan with the current ledger and write once more; a second move fails
            # the run with its error. What became due only now is queued by the next run.
            log.warning("rows moved during the run: re-reading and re-planning once (%s)", exc)
            self._heartbeat("write")  # a second read and write: keep the lease
            tables = self.read()
            ledger = self.store.ledger(cohort)
            evaluation = self.evaluate(tables, ledger, now)
            self._evaluate_programme(tables, ledger, evaluation, now)
            report.plan = self._plan(report, evaluation, ledger, tables, now, tick)
            if report.plan.empty:
                return
            self.spreadsheet.write(report.plan)
        report.wrote = True

    def _guard(self, report: RunReport, problems: list[str]) -> None:
        """Stop the run before it sends or writes when its inputs look broken (`--force` and
        `--dry-run`: a warning, and the report keeps the findings)."""
        if not problems:
            return
        report.guarded.extend(problems)
        if self._force:
            log.warning(
                "inputs look wrong, going on (--force or --dry-run): %s", "; ".join(problems)
            )
            return
        raise InputsRefusedError(refusal(problems))

    def evaluate(
        self, tables: dict[str, Table], ledger: Sequence[LedgerEntry], now: datetime
    ) -> Evaluation:
        """The pure run on what `read` returned: timestamps read in the spreadsheet's own zone."""
        names = self.settings.sheets
        return evaluate(
            tables[names.responses],
            tables[names.members],
            tables.get(self.settings.cohort.name),
            ledger,
            self.settings,
            now,
            reference=self.reference(),
            time_zone=self.spreadsheet.time_zone,
            released=self._withdrawn,
            clock=self.clock(),
        )

    def _evaluate_programme(
        self,
        tables: dict[str, Table],
        ledger: Sequence[LedgerEntry],
        evaluation: Evaluation,
        now: datetime,
    ) -> list[tuple[str, Template]]:
        """Sessions, attendance, certificates (off without a `Sessions` sheet); what is due."""
        from pipeline.app.programme_run import ProgrammeStep

        self._programme = ProgrammeStep(self.settings, self.store).evaluate(
            evaluation, ledger, tables, now, withdrawn=self._withdrawn,
            time_zone=self.spreadsheet.time_zone,
            dry_run=self.report is not None and self.report.dry_run,
        )  # fmt: skip
        programme = self._programme
        due = [(d.person_id, d.template) for d in programme.due]
        due += [(r.participant.id, r.template) for r in programme.documents_due if r.template]
        return due

    def _queue_programme(self, evaluation: Evaluation, now: datetime) -> None:
        from pipeline.app.programme_run import ProgrammeStep

        ProgrammeStep(self.settings, self.store).queue(
            self._programme, evaluation, now, checkpoint=self.checkpoint
        )

    def reference(self) -> Reference:
        """The official list of collectivités (COG), loaded once per process."""
        from pipeline.adapters.reference import load_reference

        return load_reference()

    def _plan(
        self,
        report: RunReport,
        evaluation: Evaluation,
        ledger: Sequence[LedgerEntry],
        tables: dict[str, Table],
        now: datetime,
        tick: float,
    ) -> WritePlan:
        """The run's one write batch: output sheets, staff anomalies and a Journal row."""
        settings = self.settings
        config = str(settings.source) if settings.source else "CONFIG"
        programme = self._programme
        anomalies = evaluation.anomalies + programme.anomalies
        anomalies += ledger_anomalies(ledger, evaluation, config, settings.cohort.name)
        evaluation = Evaluation(
            evaluation.rows_read, evaluation.people, evaluation.matches, evaluation.placements,
            anomalies, evaluation.due, evaluation.members, evaluation.absent,
        )  # fmt: skip
        mailed = report.counts["emails_sent"] > 0 or report.counts["emails_failed"] > 0
        mailed = mailed or report.counts.get("emails_recovered", 0) > 0  # the Journal says so
        marks = self.spreadsheet.layout_marks()
        names = settings.sheets
        more = programme_writes(
            programme, tables, attendance_sheet=names.attendance,
            certificates_sheet=names.certificates, marks=marks,
        )  # fmt: skip
        active = mailed or any(not w.empty for w in more)
        writes = plan_outputs(
            evaluation, ledger, tables, settings, marks, fr_stamp(now), active,
            dashboard_sections(programme, ledger),
        )  # fmt: skip
        writes += more
        report.counts.update(sheet_counts(evaluation, writes, tables.get(settings.cohort.name)))
        changed = any(not w.empty for w in writes) or mailed
        if changed:
            end = now + timedelta(seconds=time.monotonic() - tick)
            writes.append(self._journal(tables, report, now, end, JOURNAL_SUCCESS))
        return WritePlan(sheets=tuple(w for w in writes if not w.empty))

    def _queue(self, evaluation: Evaluation, now: datetime) -> None:
        queue_due(self.settings, self.store, evaluation, now)

    def _purge(self, report: RunReport, now: datetime) -> None:
        """privacy.retention_days: drop old message copies and run records (cheap when idle)."""
        purged = purge(self.settings, self.store, now)
        for key, value in (("purged_messages", purged.messages), ("purged_runs", purged.runs),
                           ("purged_files", purged.files)):  # fmt: skip
            if value:
                report.counts[key] = value

    def _cancel_withdrawn(self, report: RunReport) -> None:
        """Messages still queued for people who withdrew consent are never sent."""
        cancelled = cancel_withdrawn(self.settings, self.store, self._withdrawn)
        if cancelled:
            report.counts["emails_cancelled"] = cancelled

    def _preflight(self, now: datetime) -> None:
        """Emails leave before the sheets are written: when some are due, the adapters first
        check what they cheaply can (the workbook: editors' lock files, its folder, openpyxl can
        load it; the outbox folder takes files), so a write that cannot succeed stops the run
        before anything is sent. Google Sheets and SMTP have no such cheap check."""
        if not self.store.due(self.settings.cohort.name, now, limit=1, with_raw=False):
            return
        for part in (self.spreadsheet, self.transport):
            check = getattr(part, "preflight", None)
            if callable(check):
                check()

    def _deliver(self, report: RunReport, now: datetime) -> None:
        """Send what is due (app/delivery.py: one loop for every transport)."""
        Delivery(
            self.store, self.transport, self.settings.email, run_id=report.run_id,
            counts=report.counts, checkpoint=self.checkpoint, monotonic=self.monotonic,
            sleep=self.sleep,
        ).send_due(self.settings.cohort.name, now)  # fmt: skip

    def _journal(
        self,
        tables: dict[str, Table],
        report: RunReport,
        start: datetime,
        end: datetime,
        result: str,
    ) -> SheetWrite:
        name = self.settings.sheets.journal
        return journal_entry(
            name, tables.get(name), run_id=report.run_id, counts=report.counts, start=start,
            end=end, result=result, marks=self.spreadsheet.layout_marks(),
        )  # fmt: skip

    def _record_failure(
        self,
        report: RunReport,
        now: datetime,
        tick: float,
        exc: BaseException,
        journal: bool = True,
    ) -> None:
        error = str(exc) if isinstance(exc, PipelineError) else type(exc).__name__
        self.store.finish_run(report.run_id, self.clock(), RunOutcome.FAILED, report.counts, error)
        if journal:  # staff see failed runs in the Journal too
            self._journal_alone(report, now, tick, JOURNAL_FAILURE)

    def _journal_alone(self, report: RunReport, now: datetime, tick: float, result: str) -> None:
        """Best effort: one Journal row for a run that ended early (failed, interrupted)."""
        try:
            name = self.settings.sheets.journal
            tables = dict(self.spreadsheet.read([name]))
            end = now + timedelta(seconds=time.monotonic() - tick)
            entry = self._journal(tables, report, now, end, result)
            self.spreadsheet.write(WritePlan(sheets=(entry,)))
        except Exception:
            log.warning("run %s: could not record the run in the Journal", report.run_id)

    def _alert(self, report: RunReport, exc: BaseException) -> None:
        send_alert(
            self.settings, self.store, lambda: self.transport, run_id=report.run_id,
            now=report.now, counts=report.counts, exc=exc, today=self.clock(),
        )  # fmt: skip
