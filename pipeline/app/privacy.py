"""Personal data: `diplomates export` (GDPR art. 15), `erase` (art. 17) and `purge` (retention),
and what every run does (`Runner` calls `screen`, `cancel_withdrawn` and `purge`).

What is held where, for how long and why: docs/donnees-personnelles.md. Logs written here carry
person ids (`DT-…`) and counts, never an address or a name; the commands' own output (stdout)
shows the address the operator typed, and `export` everything held, since that is its purpose.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pipeline.adapters.sheets import Spreadsheet, Table
from pipeline.adapters.state.documents import DocumentStore
from pipeline.adapters.state.privacy import PrivacyState
from pipeline.adapters.state.store import MessageRecord, StateStore
from pipeline.app.wiring import LOCK_LEASE, open_spreadsheet
from pipeline.config import Settings
from pipeline.core.errors import LockHeldError, PipelineError, SheetError, SheetMovedError
from pipeline.core.privacy import (
    FoundRow,
    Holdings,
    Screening,
    clearable,
    erasure_plan,
    find_person,
    identity,
    screen_responses,
    tombstone,
)
from pipeline.core.vocabulary import PARIS

log = logging.getLogger("diplomates.privacy")


def _zone(spreadsheet: Spreadsheet) -> ZoneInfo:
    name = spreadsheet.time_zone
    return ZoneInfo(name) if name else PARIS


def _where(settings: Settings) -> str:
    """The spreadsheet, as the French export names it."""
    sheet = settings.spreadsheet
    if sheet.backend == "local":
        return f"classeur {sheet.workbook}"
    return f"classeur Google Sheets {sheet.key}"


def _database(store: StateStore) -> str:
    return store.engine.url.render_as_string(hide_password=True)


# --- every run --------------------------------------------------------------------------------


def screen(
    settings: Settings, store: StateStore, tables: dict[str, Table], time_zone: str | None = None
) -> tuple[dict[str, Table], Screening]:
    """The tables a run may use: erased people's answers blanked, a consent withdrawn on a
    person's latest answer applied to their earlier ones (`core.privacy.screen_responses`)."""
    name = settings.sheets.responses
    table = tables.get(name)
    if not table:
        return tables, Screening(table or [])
    privacy = PrivacyState(store)
    marks = privacy.erasures()
    salt = privacy.salt() if marks else None
    zone = ZoneInfo(time_zone) if time_zone else PARIS
    screening = screen_responses(table, settings, marks, salt, zone)
    if not screening.erased_rows and not screening.withdrawn_rows:
        return tables, screening
    rows = [r if isinstance(r, list) else list(r) for r in screening.table]
    return {**tables, name: rows}, screening


def cancel_withdrawn(settings: Settings, store: StateStore, person_ids: frozenset[str]) -> int:
    """Messages still queued for people who withdrew consent are deleted, never sent."""
    if not person_ids:
        return 0
    cancelled = PrivacyState(store).cancel_unsent(settings.cohort.name, person_ids)
    if cancelled:
        log.info(
            "%d queued message(s) cancelled: consent withdrawn", len(cancelled),
            extra={"message_ids": cancelled},
        )  # fmt: skip
    return len(cancelled)


@dataclass(frozen=True)
class PurgeReport:
    retention_days: int | None
    cutoff: datetime | None = None
    messages: int = 0  # ledger rows whose body and server reply were dropped
    runs: int = 0  # run records deleted
    files: int = 0  # outbox copies deleted
    documents: int = 0  # certificate PDFs deleted (their codes then verify as erased)
    compacted: bool = False


def _purge_outbox(folder: Path | None, kept: Mapping[str, bool], cutoff: datetime) -> int:
    """Delete outbox copies of messages whose body retention dropped, and copies that match no
    ledger row (alerts, leftovers) once older than the cutoff."""
    if folder is None or not folder.is_dir():
        return 0
    removed = 0
    limit = cutoff.timestamp()
    for entry in os.scandir(folder):
        # `.sending-*`: a copy a crash left half-written (the outbox writes, then renames)
        name = entry.name
        if not entry.is_file() or not (name.endswith(".eml") or name.startswith(".sending-")):
            continue
        stem = name.removesuffix(".eml")
        if stem in kept:
            drop = not kept[stem]
        else:
            drop = entry.stat().st_mtime < limit
        if drop:
            Path(entry.path).unlink(missing_ok=True)
            removed += 1
    return removed


def purge(
    settings: Settings, store: StateStore, now: datetime, *, compact: bool = False
) -> PurgeReport:
    """Apply `privacy.retention_days` as of `now` (a run's time); nothing when it is unset.

    With `compact` (the `purge` command), the database file is rebuilt too; a run only
    checkpoints the WAL when something was purged (the freed bytes are zeroed either way).
    """
    days = settings.privacy.retention_days
    if days is None:
        return PurgeReport(None)
    cutoff = now - timedelta(days=days)
    privacy = PrivacyState(store)
    messages, runs = privacy.purge(cutoff)
    folder = settings.email.outbox if settings.email.transport == "outbox" else None
    files = _purge_outbox(folder, privacy.message_ids() if folder else {}, cutoff)
    # certificate PDFs issued before the cutoff: deleted, the code kept as "effacé" (as erase);
    # the `.ics` files only ever live inside message copies, dropped above
    documents = _documents(settings, store).purge(cutoff, now)
    compacted = False
    if compact:
        compacted = privacy.compact()
    elif messages or runs or documents:
        privacy.checkpoint()
    if messages or runs or files or documents:
        log.info(
            "retention purge", extra={"messages": messages, "runs": runs, "files": files,
                                      "documents": documents, "retention_days": days},
        )  # fmt: skip
    return PurgeReport(days, cutoff, messages, runs, files, documents, compacted)


def _lock(store: StateStore, holder: str, now: datetime, consequence: str) -> None:
    """Take the run lock, so no run writes or sends meanwhile; a held lock stops the command."""
    try:
        store.acquire_lock(holder, now, LOCK_LEASE)
    except LockHeldError:
        found = store.lock_holder()
        who = found[0] if found else "another run"
        raise LockHeldError(
            f"a run is in progress ({who}); {consequence}. Try again when it has finished "
            "(usually within a minute)."
        ) from None


# --- reading what is held ---------------------------------------------------------------------


def _sheet_names(settings: Settings) -> list[str]:
    names = settings.sheets
    return [
        names.responses, names.members, settings.cohort.name, names.review, names.journal,
        names.dashboard, names.attendance, names.certificates,
    ]  # fmt: skip


def _read(settings: Settings, spreadsheet: Spreadsheet) -> dict[str, Table]:
    tables = dict(spreadsheet.read(_sheet_names(settings)))
    if settings.sheets.responses not in tables:
        raise SheetError(
            f"sheet '{settings.sheets.responses}' not found in {spreadsheet.describe()}; check "
            f"[sheets].responses in {settings.source or 'the config file'}"
        )
    return tables


def _outbox_files(settings: Settings, person_id: str, email: str) -> list[Path]:
    """Outbox copies of the person's messages: named after their id, or addressed to them
    (including a `.sending-*` copy a crash left behind)."""
    folder = settings.email.outbox
    if folder is None or not folder.is_dir():
        return []
    wanted = email.encode("utf-8").lower()
    found = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        if f".{person_id}." in path.name or wanted in path.read_bytes().lower():
            found.append(path)
    return found


def _documents(settings: Settings, store: StateStore) -> DocumentStore:
    return DocumentStore(store, settings.certificates.folder)


def _key(email: str) -> str:
    key = identity(email)
    if not key:
        raise PipelineError("give the person's email address, e.g. diplomates export ana@lyon.fr")
    return key


def _open(
    settings: Settings, spreadsheet: Spreadsheet | None, store: StateStore | None
) -> tuple[Spreadsheet, StateStore]:
    return spreadsheet or open_spreadsheet(settings), store or StateStore(settings.state.url)


# --- access (art. 15) -------------------------------------------------------------------------


def _values(found: FoundRow) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in found.cells:
        label, n = name, 2
        while label in values:
            label, n = f"{name} ({n})", n + 1
        values[label] = value
    return values


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


def export(
    settings: Settings,
    email: str,
    *,
    include_messages: bool = False,
    now: datetime | None = None,
    spreadsheet: Spreadsheet | None = None,
    store: StateStore | None = None,
) -> dict[str, Any]:
    """Everything the system holds about the address, with where each piece lives: their form
    answers, cohort row, `À vérifier` rows, other cells naming them, ledger rows (the message
    bodies only with `include_messages`), outbox copies and any erasure tombstone."""
    key = _key(email)
    spreadsheet, store = _open(settings, spreadsheet, store)
    tables = _read(settings, spreadsheet)
    holdings = find_person(tables, settings, key, _zone(spreadsheet))
    privacy = PrivacyState(store)
    ledger = privacy.ledger_rows(holdings.person_id, with_raw=include_messages)
    files = _outbox_files(settings, holdings.person_id, key)
    salt = privacy.salt()
    erasure = privacy.erasure(tombstone(salt, key)) if salt else None
    names = settings.sheets
    where = _where(settings)
    database = _database(store)

    def rows(items: Sequence[FoundRow]) -> list[dict[str, Any]]:
        return [
            {
                "source": f"{where}, feuille « {r.sheet} », ligne {r.row}",
                "sheet": r.sheet,
                "row": r.row,
                "values": _values(r),
            }
            for r in items
        ]

    def message(row: MessageRecord) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "source": f"base d'état {database}, table messages, ligne {row.id}",
            "cohort": row.cohort,
            "template": row.template,
            "message_id": row.message_id,
            "state": row.state,
            "created_at": _iso(row.created_at),
            "updated_at": _iso(row.updated_at),
            "sent_at": _iso(row.sent_at),
            "attempts": row.attempts,
            "server_reply": row.error,
            "body_kept": row.raw is not None,
        }
        if include_messages and row.raw:
            entry["content"] = row.raw.decode("utf-8", errors="replace")
        return entry

    document: dict[str, Any] = {
        "person": {"email": key, "id": holdings.person_id},
        "programme": settings.programme.name,
        "controller": settings.programme.organiser,
        "generated_at": _iso(now or datetime.now(UTC)),
        "sources": {
            "form_answers": f"{where}, feuille « {names.responses} »",
            "cohort_rows": f"{where}, feuilles « {settings.cohort.name} », "
            f"« {names.attendance} » et « {names.certificates} »",
            "documents": f"dossier {settings.certificates.folder} et base d'état {database} "
            "(table documents)",
            "review_rows": f"{where}, feuille « {names.review} »",
            "messages": f"registre des envois, base d'état {database} (table messages)",
            "outbox_files": f"dossier {settings.email.outbox}"
            if settings.email.transport == "outbox"
            else "aucun dossier : les courriels partent par SMTP",
        },
        "form_answers": rows(holdings.answers),
        "cohort_rows": rows(holdings.cohort),
        "review_rows": rows(holdings.review),
        "messages": [message(row) for row in ledger],
        "documents": [
            {
                "code": d.code,
                "kind": d.kind,
                "cohort": d.cohort,
                "issued_at": _iso(d.issued_at),
                "file": d.file if Path(d.file).exists() else None,
                "erased_at": _iso(d.erased_at),
            }
            for d in _documents(settings, store).of_person(holdings.person_id)
        ],
        "outbox_files": [{"file": str(p), "bytes": p.stat().st_size} for p in files],
        "mentions": [
            {
                "source": f"{where}, feuille « {m.sheet} », ligne {m.row}",
                "sheet": m.sheet,
                "row": m.row,
                "col": m.col,
                "header": m.header,
                "value": m.value,
                "exact": m.exact,
            }
            for m in holdings.mentions
        ],
        "run_errors": [
            {
                "source": f"base d'état {database}, table runs, exécution {run}",
                "started_at": _iso(started),
                "error": error,
            }
            for run, started, error in privacy.runs_mentioning([key, *holdings.names])
        ],
        "erasure": None
        if erasure is None
        else {"erased_at": _iso(erasure.erased_at), "answers_until": _iso(erasure.answers_until)},
        "notes": [
            f"Les feuilles « {names.journal} » et « {names.dashboard} » ne contiennent que des "
            "nombres : rien sur une personne en particulier.",
            "Les journaux techniques (logs) ne contiennent que des identifiants (DT-…) et des "
            "nombres, jamais d'adresse ni de nom.",
            "Les réponses restent aussi dans le formulaire Google lui-même (onglet Réponses), "
            "et l'historique des versions du classeur et les sauvegardes gardent d'anciennes "
            "valeurs selon leur propre durée de conservation.",
        ],
    }
    log.info(
        "access export", extra={"person": holdings.person_id, "messages": len(ledger),
                                "rows": len(holdings.answers) + len(holdings.cohort)},
    )  # fmt: skip
    return document


# --- erasure (art. 17) ------------------------------------------------------------------------


@dataclass
class ErasureReport:
    email: str
    person_id: str
    include_source: bool
    acted: bool
    holdings: Holdings
    messages: list[MessageRecord] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)  # run records whose error quotes them
    files: list[Path] = field(default_factory=list)
    documents: int = 0  # certificate PDFs deleted (their codes then verify as erased)
    tombstone: bool = False  # a tombstone is (or would be) kept
    compacted: bool = False
    leftovers: list[str] = field(default_factory=list)  # what the check after erasing found
    settings: Settings | None = field(default=None, repr=False)

    @property
    def found(self) -> bool:
        return bool(self.holdings.found or self.messages or self.runs or self.files)

    def summary(self) -> str:
        """What the erasure did (or, dry run, would do), in plain words; no names."""
        h = self.holdings
        names = [r.sheet for r in h.cohort + h.review]
        head = f"erasure of {self.email} ({self.person_id})"
        if not self.found:
            return f"{head}: nothing held about this address (sheets, ledger, outbox).\n"
        would = "" if self.acted else "would "
        lines = [f"{head}: " + ("done." if self.acted else "dry run, nothing changed.")]

        def where(rows: Sequence[FoundRow]) -> str:
            return ("rows " if len(rows) > 1 else "row ") + ", ".join(str(r.row) for r in rows)

        for sheet in dict.fromkeys(names):
            rows = [r for r in h.cohort + h.review if r.sheet == sheet]
            lines.append(
                f"  - {would}clear {len(rows)} row(s) of '{sheet}' ({where(rows)}): every "
                "cell, staff columns included"
            )
        settings = self.settings
        assert settings is not None
        cells = [m for m in h.mentions if clearable(m, settings, self.include_source)]
        if cells:
            listed = ", ".join(f"'{m.sheet}'!R{m.row}C{m.col}" for m in cells)
            lines.append(
                f"  - {would}clear {len(cells)} other cell(s) quoting the address or id: {listed}"
            )
        if h.answers:
            sheet = h.answers[0].sheet
            if self.include_source:
                lines.append(
                    f"  - {would}clear {len(h.answers)} form answer(s) in '{sheet}' "
                    f"({where(h.answers)}); the rows stay, empty, so no other row moves"
                )
            else:
                lines.append(
                    f"  - keep {len(h.answers)} form answer(s) in '{sheet}' "
                    f"({where(h.answers)}) and {'' if self.acted else 'record '}a salted-hash "
                    "tombstone: runs skip these answers (--include-source clears them instead)"
                )
        states: dict[str, int] = {}
        for message in self.messages:
            states[message.state] = states.get(message.state, 0) + 1
        detail = ", ".join(f"{k} {v}" for k, v in sorted(states.items()))
        lines.append(
            f"  - {would}delete {len(self.messages)} ledger row(s)"
            + (f" ({detail})" if detail else "")
        )
        if self.runs:
            lines.append(f"  - {would}mask the address in {len(self.runs)} recorded run error(s)")
        lines.append(f"  - {would}delete {len(self.files)} outbox file(s)")
        if self.acted and self.documents:
            lines.append(
                f"  - deleted {self.documents} certificate document(s); their codes now verify "
                "as erased"
            )
        lines.append(
            f"  - {would}compact the state database (VACUUM, WAL checkpoint)"
            + (
                ""
                if not self.acted or self.compacted
                else ": incomplete, another process had it open"
            )
        )
        members = [m for m in h.mentions if m.exact and m.sheet == settings.sheets.members]
        if members:
            listed = ", ".join(f"R{m.row}C{m.col}" for m in members)
            lines.append(
                f"  note: the member list '{settings.sheets.members}' quotes the address ({listed});"
                " it is staff's and read only: edit it by hand"
            )
        others = [m for m in h.mentions if not m.exact]
        if others:
            listed = ", ".join(f"'{m.sheet}'!R{m.row}C{m.col}" for m in others)
            lines.append(
                f"  note: the same name appears in {listed}; maybe another person, left as is: "
                "check by hand"
            )
        if not self.acted:
            lines.append("run again with --yes to erase.")
            return "\n".join(lines) + "\n"
        if self.leftovers:
            lines.append("check after erasing FAILED, still found: " + "; ".join(self.leftovers))
        else:
            lines.append(
                "check: no output sheet cell, ledger row, run record or outbox file holds the "
                "address or id any more."
            )
        lines.append(
            "next run: places and the dashboard are recomputed (a freed place goes to the "
            "waiting list)."
        )
        if settings.spreadsheet.backend == "google":
            lines.append(
                "Google: also delete the answer in the Google Form itself (Responses tab); the "
                "spreadsheet's version history keeps older values."
            )
        return "\n".join(lines) + "\n"


def _write_erasure(
    settings: Settings, spreadsheet: Spreadsheet, key: str, include_source: bool
) -> Holdings:
    """Read, find and clear in one batch; when staff moved rows meanwhile, once more."""
    tables = _read(settings, spreadsheet)
    holdings = find_person(tables, settings, key, _zone(spreadsheet))
    try:
        spreadsheet.write(erasure_plan(holdings, settings, include_source))
    except SheetMovedError as exc:
        log.warning("rows moved during the erasure: re-reading once (%s)", exc)
        tables = _read(settings, spreadsheet)
        holdings = find_person(tables, settings, key, _zone(spreadsheet))
        spreadsheet.write(erasure_plan(holdings, settings, include_source))
    return holdings


def erase(
    settings: Settings,
    email: str,
    *,
    include_source: bool = False,
    yes: bool = False,
    spreadsheet: Spreadsheet | None = None,
    store: StateStore | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ErasureReport:
    """Remove the person from every output sheet, the ledger, recorded run errors and the
    outbox; with `include_source` also clear their form answers, otherwise keep a tombstone so
    runs skip them. Dry run unless `yes`. Holds the run lock while acting."""
    key = _key(email)
    spreadsheet, store = _open(settings, spreadsheet, store)
    privacy = PrivacyState(store)
    started = clock()
    holder = f"erase:{socket.gethostname()[:50]}:{os.getpid()}"
    if yes:
        _lock(store, holder, started, "nothing was erased")
    try:
        holdings = find_person(_read(settings, spreadsheet), settings, key, _zone(spreadsheet))
        report = ErasureReport(
            email=key,
            person_id=holdings.person_id,
            include_source=include_source,
            acted=False,
            holdings=holdings,
            messages=privacy.ledger_rows(holdings.person_id),
            runs=[run for run, _, _ in privacy.runs_mentioning([key, *holdings.names])],
            files=_outbox_files(settings, holdings.person_id, key),
            tombstone=bool(holdings.answers) and not include_source,
            settings=settings,
        )
        if not yes or not report.found:
            return report
        if report.tombstone:
            salt = privacy.salt(create=True)
            assert salt is not None
            privacy.record_erasure(tombstone(salt, key), holdings.answers_until, started)
        report.holdings = _write_erasure(settings, spreadsheet, key, include_source)
        deleted, masked = privacy.forget(holdings.person_id, [key, *holdings.names])
        for path in report.files:
            path.unlink(missing_ok=True)
        # certificate PDFs deleted, the registry keeps the code only ("effacé" for `verify`)
        report.documents = _documents(settings, store).erase(holdings.person_id, started)
        report.compacted = privacy.compact()
        report.acted = True
        report.leftovers = _leftovers(settings, spreadsheet, privacy, key, include_source)
        log.info(
            "erasure done",
            extra={"person": holdings.person_id, "messages": deleted, "run_errors": masked,
                   "files": len(report.files), "tombstone": report.tombstone,
                   "source_cleared": include_source, "complete": not report.leftovers},
        )  # fmt: skip
        return report
    finally:
        if yes:
            store.release_lock(holder)


def _leftovers(
    settings: Settings,
    spreadsheet: Spreadsheet,
    privacy: PrivacyState,
    key: str,
    include_source: bool,
) -> list[str]:
    """Read everything again: what still holds the address or id (none, when all went well)."""
    holdings = find_person(_read(settings, spreadsheet), settings, key, _zone(spreadsheet))
    found = [f"'{r.sheet}' row {r.row}" for r in holdings.cohort + holdings.review]
    if include_source:
        found += [f"'{r.sheet}' row {r.row}" for r in holdings.answers]
    found += [
        f"'{m.sheet}'!R{m.row}C{m.col}"
        for m in holdings.mentions
        if clearable(m, settings, include_source)
    ]
    if privacy.ledger_rows(holdings.person_id):
        found.append("ledger rows")
    if privacy.runs_mentioning([key]):
        found.append("run records")
    found += [str(p) for p in _outbox_files(settings, holdings.person_id, key)]
    store = privacy.store
    documents = _documents(settings, store).of_person(holdings.person_id)
    found += [d.file for d in documents if Path(d.file).exists() or d.full_name]
    return found


def purge_now(settings: Settings, store: StateStore, now: datetime) -> PurgeReport:
    """`diplomates purge`: the retention purge alone, under the run lock, then compaction."""
    if settings.privacy.retention_days is None:
        return PurgeReport(None)
    holder = f"purge:{socket.gethostname()[:50]}:{os.getpid()}"
    _lock(store, holder, datetime.now(UTC), "nothing was purged")
    try:
        return purge(settings, store, now, compact=True)
    finally:
        store.release_lock(holder)
