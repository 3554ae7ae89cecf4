"""The state DB (SQLAlchemy; SQLite by default): runs, the message ledger, the run lock (held by
the OS: `flock` beside a SQLite file, a PostgreSQL session advisory lock; else a lease: see
`lock.py`). Tables: `schema.py`; driver errors an operator must act on: `trouble.py`.

The ledger is an outbox: a message is rendered and inserted as `pending` once (a unique key per
person, cohort and template makes a second insert impossible), then moves `sending` -> `sent`,
or to `retry` / `failed`. A message found in `sending` at start was interrupted by a crash: it
becomes `incertain` and is never resent automatically.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import SingletonThreadPool

from pipeline.adapters.state.lock import LockHolder, OsLock, sqlite_file
from pipeline.adapters.state.schema import UNIQUE_KEY, create_schema, messages, runs
from pipeline.adapters.state.schema import aware as _aware
from pipeline.adapters.state.schema import utc as _utc
from pipeline.adapters.state.trouble import NEARLY_FULL, SQLITE_TROUBLE, trouble
from pipeline.core.cohort import LedgerEntry
from pipeline.core.errors import PipelineError
from pipeline.core.model import Template
from pipeline.core.vocabulary import FINISHED, MessageState, RunOutcome

# The ledger's states as the plain strings stored in `messages.state` (core/vocabulary).
PENDING, SENDING = MessageState.PENDING.value, MessageState.SENDING.value
SENT, RETRY = MessageState.SENT.value, MessageState.RETRY.value
FAILED, INCERTAIN = MessageState.FAILED.value, MessageState.INCERTAIN.value
TROUBLED = [FAILED, INCERTAIN]


@dataclass(frozen=True)
class QueueItem:
    """One rendered message to queue; session messages name their session and version."""

    person_id: str
    template: Template
    message_id: str
    raw: bytes
    session: str = ""
    version: str = ""
    detail: str = ""


@dataclass(frozen=True)
class QueuedMessage:
    id: int
    person_id: str
    template: Template
    message_id: str
    raw: bytes
    attempts: int
    state: str = PENDING


@dataclass(frozen=True)
class MessageRecord:
    """One ledger row as operators and people see it: `status`, `resend`, and the access export
    and erasure (`PrivacyState.ledger_rows`, which also fills the dates and `raw`)."""

    id: int
    cohort: str
    person_id: str
    template: Template
    message_id: str
    state: str
    attempts: int
    updated_at: datetime | None
    error: str | None
    created_at: datetime | None = None
    sent_at: datetime | None = None
    raw: bytes | None = None  # None: not asked for, or dropped by retention


@dataclass(frozen=True)
class RunRecord:
    id: str
    started_at: datetime
    finished_at: datetime | None
    as_of: datetime | None
    outcome: str
    counts: dict[str, int]
    error: str | None


_WAL_ATTEMPTS = 500  # about 27 s in all, like the 30 s a write waits for another process


def _sqlite_wal(connection: Any, _record: Any) -> None:
    """SQLite in WAL mode with synchronous=FULL: every commit is still on disk before the run goes
    on (a message's `sending` mark must be, before it leaves), at one fsync instead of three."""
    cursor = connection.cursor()
    # Turning a fresh file to WAL takes an exclusive lock and SQLite does not wait for it: a process
    # opening the file while another converts it gets "database is locked" at once. Once the file
    # is in WAL mode (a setting kept in the file) the pragma is a no-op, so retry briefly.
    for attempt in range(_WAL_ATTEMPTS):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == _WAL_ATTEMPTS - 1:
                raise
            time.sleep(0.01 * (attempt % 10 + 1))
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


class StateStore(LockHolder):
    def __init__(self, url: str) -> None:
        self.url = url
        self._held: dict[str, tuple[str, OsLock]] = {}  # lock name -> (holder, OS lock)
        try:
            # SQLite: wait up to 30 s for another process's write instead of failing at once.
            options: dict[str, Any] = (
                {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {}
            )
            if url.startswith("sqlite") and "mode=memory" in url:  # a shared in-memory database
                options["poolclass"] = SingletonThreadPool
            self.engine: Engine = create_engine(url, future=True, **options)
            if url.startswith("sqlite"):
                event.listen(self.engine, "connect", _sqlite_wal)
            event.listen(self.engine, "handle_error", self._translate)
            create_schema(self.engine)
        except PipelineError:
            raise
        except DBAPIError as exc:
            known = trouble(exc.orig)
            raise PipelineError(
                f"state database {self._safe_url()} cannot be opened: "
                + (
                    known
                    or f"{exc.orig}; check state.url in the config file and that its folder "
                    "exists and is writable"
                )
            ) from None

    def _translate(self, context: Any) -> None:
        """SQLAlchemy's `handle_error`: a state DB that is full, read-only, damaged or gone is
        an operator's problem, said in one paragraph (never "unexpected OperationalError")."""
        known = trouble(context.original_exception)
        if known is not None and "i/o error" in str(context.original_exception).lower():
            known = self._iotrouble(known)
        if known is not None:
            raise PipelineError(f"state database {self._safe_url()}: {known}") from None

    def _iotrouble(self, said: str) -> str:
        """SQLite reports a full disk as an I/O error when its WAL or shared memory cannot grow:
        say "full" when the database's folder has next to no room left."""
        path = sqlite_file(self.engine)
        try:
            folder = os.statvfs(path.parent if path else ".")
        except OSError:
            return said
        if path is not None and folder.f_bavail * folder.f_frsize < NEARLY_FULL:
            return SQLITE_TROUBLE[0][1]
        return said

    def _safe_url(self) -> str:
        return (
            self.engine.url.render_as_string(hide_password=True) if hasattr(self, "engine") else "?"
        )

    # --- ledger ---------------------------------------------------------------------------

    def ledger(self, cohort: str) -> list[LedgerEntry]:
        query = select(
            messages.c.person_id, messages.c.template, messages.c.state, messages.c.sent_at,
            messages.c.updated_at, messages.c.error, messages.c.session, messages.c.version,
            messages.c.detail,
        ).where(messages.c.cohort == cohort)  # fmt: skip
        with self.engine.connect() as conn:
            return [
                LedgerEntry(
                    person_id=row.person_id,
                    template=Template(row.template),
                    state=row.state,
                    at=_aware(row.sent_at) or _aware(row.updated_at),
                    error=row.error,
                    session=row.session or "",
                    version=row.version or "",
                    detail=row.detail or "",
                )
                for row in conn.execute(query)
            ]

    def enqueue(
        self,
        cohort: str,
        items: Iterable[tuple[str, Template, str, bytes] | QueueItem],
        now: datetime,
    ) -> int:
        """Insert rendered messages as `pending`; one already queued is left as it is.

        One statement for the batch: `INSERT … ON CONFLICT DO NOTHING` on the unique key
        (cohort, person, template, session, version), on SQLite and PostgreSQL alike. Items are
        (person, template, message id, bytes), or `QueueItem`s for session messages.
        """
        rows = []
        for item in items:
            if not isinstance(item, QueueItem):
                item = QueueItem(*item)
            rows.append(
                {
                    "cohort": cohort,
                    "person_id": item.person_id,
                    "template": item.template.value,
                    "message_id": item.message_id,
                    "state": PENDING,
                    "created_at": _utc(now),
                    "updated_at": _utc(now),
                    "attempts": 0,
                    "raw": item.raw,
                    "session": item.session,
                    "version": item.version,
                    "detail": item.detail,
                }  # fmt: skip
            )
        return self._insert_new(rows)

    def adopt(
        self,
        cohort: str,
        items: Iterable[tuple[str, Template, str, str, datetime, str, str, str]],
        now: datetime,
    ) -> int:
        """Record messages another record says were sent (the sheet's `Courriels envoyés`, the
        outbox's files) but this ledger does not hold: (person, template, message id, state,
        when, session, version, session fingerprint). They have no body, so nothing ever sends them; one already known is left as it
        is. Returns how many were added."""
        rows = [
            {
                "cohort": cohort, "person_id": person_id, "template": template.value,
                "message_id": message_id, "state": state, "created_at": _utc(now),
                "updated_at": _utc(at), "sent_at": _utc(at) if state == SENT else None,
                "attempts": 0, "raw": None, "session": session, "version": version,
                "detail": detail,
            }
            for person_id, template, message_id, state, at, session, version, detail in items
        ]  # fmt: skip
        return self._insert_new(rows)

    def _insert_new(self, rows: list[dict[str, Any]]) -> int:
        """Insert ledger rows, leaving any whose key (cohort, person, template, session, version)
        is already there; returns how many were added."""
        if not rows:
            return 0
        from sqlalchemy.dialects import postgresql, sqlite

        statement = (
            postgresql.insert(messages).on_conflict_do_nothing(index_elements=UNIQUE_KEY)
            if self.engine.dialect.name == "postgresql"
            else sqlite.insert(messages).on_conflict_do_nothing(index_elements=UNIQUE_KEY)
        )
        with self.engine.begin() as conn:
            before = conn.execute(select(func.count()).select_from(messages)).scalar_one()
            conn.execute(statement, rows)
            after = conn.execute(select(func.count()).select_from(messages)).scalar_one()
        return int(after - before)

    def due(
        self, cohort: str, now: datetime, limit: int | None = None, *, with_raw: bool = True
    ) -> list[QueuedMessage]:
        """Messages to send now, oldest first: `pending`, and `retry` whose time has come.
        Without `with_raw` their bodies are left out (`raw` is empty): fetch them by chunks
        with `bodies`, so a run with thousands of messages never holds them all at once."""
        columns = [c for c in messages.c if with_raw or c.name != "raw"]
        query = (
            select(*columns)
            .where(messages.c.cohort == cohort)
            .where(
                (messages.c.state == PENDING)
                | ((messages.c.state == RETRY) & (messages.c.next_attempt_at <= _utc(now)))
            )
            .order_by(messages.c.created_at, messages.c.id)
        )
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [
                QueuedMessage(
                    id=row.id,
                    person_id=row.person_id,
                    template=Template(row.template),
                    message_id=row.message_id,
                    raw=(row.raw or b"") if with_raw else b"",
                    attempts=row.attempts,
                    state=row.state,
                )
                for row in conn.execute(query)
            ]

    def bodies(self, batch: Sequence[QueuedMessage]) -> dict[int, bytes]:
        """The queued bytes of these messages, by ledger id."""
        query = select(messages.c.id, messages.c.raw).where(messages.c.id.in_(ids(batch)))
        with self.engine.connect() as conn:
            return {row.id: row.raw or b"" for row in conn.execute(query)}

    def _set(self, message_id: int, **values: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(messages).where(messages.c.id == message_id).values(**values))

    def mark_sending(self, message: QueuedMessage, now: datetime) -> None:
        self._set(message.id, state=SENDING, updated_at=_utc(now), attempts=message.attempts + 1)

    def mark_sent(self, message: QueuedMessage, now: datetime) -> None:
        self._set(message.id, state=SENT, updated_at=_utc(now), sent_at=_utc(now), error=None)

    def mark_sending_many(self, batch: Sequence[QueuedMessage], now: datetime) -> None:
        """`mark_sending` for a whole chunk, in one transaction."""
        with self.engine.begin() as conn:
            conn.execute(
                update(messages)
                .where(messages.c.id.in_(ids(batch)))
                .values(state=SENDING, updated_at=_utc(now), attempts=messages.c.attempts + 1)
            )

    def mark_sent_many(self, batch: Sequence[QueuedMessage], now: datetime) -> None:
        """`mark_sent` for a whole chunk, in one transaction."""
        if not batch:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(messages)
                .where(messages.c.id.in_(ids(batch)))
                .values(state=SENT, updated_at=_utc(now), sent_at=_utc(now), error=None)
            )

    def mark_retry(
        self, message: QueuedMessage, now: datetime, error: str, delay: timedelta
    ) -> None:
        self._set(
            message.id, state=RETRY, updated_at=_utc(now), error=error,
            next_attempt_at=_utc(now + delay),
        )  # fmt: skip

    def mark_failed(self, message: QueuedMessage, now: datetime, error: str) -> None:
        self._set(message.id, state=FAILED, updated_at=_utc(now), error=error)

    def mark_incertain(self, message: QueuedMessage, now: datetime, error: str) -> None:
        """The send broke after the server got the data: maybe delivered; never resent by itself."""
        self._set(message.id, state=INCERTAIN, updated_at=_utc(now), error=error)

    def mark_unsent(self, message: QueuedMessage, now: datetime) -> None:
        """Undo `mark_sending` when the transport is known not to have sent anything."""
        self._set(message.id, state=message.state, attempts=message.attempts, updated_at=_utc(now))

    def sent_since(self, since: datetime) -> int:
        """Messages delivered (any cohort: the limit is the mail account's) since `since`."""
        query = select(func.count()).select_from(messages).where(messages.c.sent_at >= _utc(since))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def find_messages(
        self,
        *,
        cohort: str | None = None,
        message_id: str | None = None,
        person_id: str | None = None,
        template: Template | None = None,
        states: Sequence[str] | None = None,
    ) -> list[MessageRecord]:
        query = select(
            messages.c.id, messages.c.cohort, messages.c.person_id, messages.c.template,
            messages.c.message_id, messages.c.state, messages.c.attempts, messages.c.updated_at,
            messages.c.error,
        ).order_by(messages.c.created_at, messages.c.id)  # fmt: skip
        for column, value in (
            (messages.c.cohort, cohort), (messages.c.message_id, message_id),
            (messages.c.person_id, person_id),
            (messages.c.template, template.value if template else None),
        ):  # fmt: skip
            if value is not None:
                query = query.where(column == value)
        if states is not None:
            query = query.where(messages.c.state.in_([str(state) for state in states]))
        with self.engine.connect() as conn:
            return [
                MessageRecord(
                    id=row.id,
                    cohort=row.cohort,
                    person_id=row.person_id,
                    template=Template(row.template),
                    message_id=row.message_id,
                    state=row.state,
                    attempts=row.attempts,
                    updated_at=_aware(row.updated_at),
                    error=row.error,
                )
                for row in conn.execute(query)
            ]

    def requeue(self, record: MessageRecord, now: datetime) -> bool:
        """Put a `failed` or `incertain` message back to `pending`, on purpose (`resend`).

        Conditional on the state it was read in, so two operators cannot both requeue it.
        """
        with self.engine.begin() as conn:
            result = conn.execute(
                update(messages)
                .where(messages.c.id == record.id)
                .where(messages.c.state == record.state)
                .where(messages.c.state.in_(TROUBLED))
                .values(
                    state=PENDING,
                    updated_at=_utc(now),
                    next_attempt_at=None,
                    error=None,
                    attempts=0,
                )
            )
            return (result.rowcount or 0) == 1

    def recover_interrupted(
        self, now: datetime, delivered: Callable[[str], bool | None] | None = None
    ) -> int:
        """Settle the messages a crash left in `sending`; returns how many became `incertain`.

        `delivered(message_id)` is the transport's answer, when it can give one (the outbox can:
        its file is there or not): True -> `sent` (at the time it was marked `sending`), False ->
        queued again as `pending` (nothing was handed over: the attempt is not counted). Without
        an answer (SMTP: the server may have it) -> `incertain`, never resent by itself.
        """
        with self.engine.begin() as conn:
            left = conn.execute(
                select(messages.c.id, messages.c.message_id, messages.c.updated_at).where(
                    messages.c.state == SENDING
                )
            ).all()
            incertain = 0
            for row in left:
                verdict = delivered(row.message_id) if delivered is not None else None
                base = update(messages).where(messages.c.id == row.id)
                if verdict is True:
                    conn.execute(base.values(state=SENT, sent_at=row.updated_at, error=None))
                elif verdict is False:
                    conn.execute(
                        base.values(
                            state=PENDING, attempts=messages.c.attempts - 1,
                            updated_at=_utc(now),
                        )
                    )  # fmt: skip
                else:
                    conn.execute(base.values(state=INCERTAIN, updated_at=_utc(now)))
                    incertain += 1
            return incertain

    def count_by_state(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(messages.c.state, messages.c.id))
            counts: dict[str, int] = {}
            for row in rows:
                counts[row.state] = counts.get(row.state, 0) + 1
            return counts

    # --- runs -----------------------------------------------------------------------------

    def start_run(self, started_at: datetime, as_of: datetime | None) -> str:
        run_id = uuid.uuid4().hex[:12]
        with self.engine.begin() as conn:
            conn.execute(
                insert(runs).values(
                    id=run_id, started_at=_utc(started_at),
                    as_of=_utc(as_of) if as_of else None, outcome=RunOutcome.RUNNING.value, counts="{}",
                )
            )  # fmt: skip
        return run_id

    def finish_run(
        self,
        run_id: str,
        finished_at: datetime,
        outcome: str,
        counts: dict[str, int],
        error: str | None = None,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(runs).where(runs.c.id == run_id).values(
                    finished_at=_utc(finished_at), outcome=str(outcome),
                    counts=json.dumps(counts, sort_keys=True), error=error,
                )
            )  # fmt: skip

    def mark_abandoned_runs(self, current: str) -> list[str]:
        """Runs left `running` by a killed process become `crashed`; call with the lock held
        (then no other run is alive). Returns their ids."""
        stale = (
            select(runs.c.id)
            .where(runs.c.outcome == RunOutcome.RUNNING.value)
            .where(runs.c.id != current)
        )
        with self.engine.begin() as conn:
            found = [row.id for row in conn.execute(stale)]
            if found:
                conn.execute(
                    update(runs)
                    .where(runs.c.id.in_(found))
                    .values(outcome=RunOutcome.CRASHED.value)
                )
        return found

    def last_moment(self, current: str | None = None) -> datetime | None:
        """The latest moment (`as_of`, else start) of a run that finished (success or idle)."""
        query = select(func.max(func.coalesce(runs.c.as_of, runs.c.started_at))).where(
            runs.c.outcome.in_([o.value for o in FINISHED])
        )
        if current is not None:
            query = query.where(runs.c.id != current)
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar()
        if isinstance(found, str):  # SQLite hands back text for an expression
            found = datetime.fromisoformat(found)
        return _aware(found)

    def previous_outcome(self, run_id: str) -> RunRecord | None:
        """The last run started before `run_id` that ended (success, idle or failed)."""
        with self.engine.connect() as conn:
            started = conn.execute(select(runs.c.started_at).where(runs.c.id == run_id)).scalar()
            if started is None:
                return None
            query = (
                select(runs.c.id)
                .where(runs.c.started_at < started)
                .where(runs.c.outcome.in_([o.value for o in (*FINISHED, RunOutcome.FAILED)]))
                .order_by(runs.c.started_at.desc())
                .limit(1)
            )
            found = conn.execute(query).scalar()
        if found is None:
            return None
        return next(iter(self.last_runs(ids=[str(found)])), None)

    def last_runs(self, limit: int = 10, ids: Sequence[str] | None = None) -> list[RunRecord]:
        query = select(runs).order_by(runs.c.started_at.desc()).limit(limit)
        if ids is not None:
            query = query.where(runs.c.id.in_(list(ids)))
        with self.engine.connect() as conn:
            return [
                RunRecord(
                    id=row.id,
                    started_at=_aware(row.started_at) or datetime.min.replace(tzinfo=UTC),
                    finished_at=_aware(row.finished_at),
                    as_of=_aware(row.as_of),
                    outcome=row.outcome,
                    counts=json.loads(row.counts or "{}"),
                    error=row.error,
                )
                for row in conn.execute(query)
            ]

    def close(self) -> None:
        for _holder, os_lock in self._held.values():
            os_lock.release()
        self._held.clear()
        self.engine.dispose()


def ids(values: Sequence[QueuedMessage]) -> list[int]:
    return [v.id for v in values]
