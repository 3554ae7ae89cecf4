"""The state DB (SQLAlchemy; SQLite by default): runs, the message ledger, the run lock (held by
the OS: `flock` beside a SQLite file, a PostgreSQL session advisory lock; else a lease).

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
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import (
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.pool import SingletonThreadPool

from pipeline.adapters.state.schema import create_schema, locks, messages, runs
from pipeline.core.cohort import LedgerEntry
from pipeline.core.errors import LockHeldError, PipelineError
from pipeline.core.model import Template
from pipeline.core.vocabulary import MessageState

# The ledger's states as the plain strings stored in `messages.state` (core/vocabulary).
PENDING, SENDING = MessageState.PENDING.value, MessageState.SENDING.value
SENT, RETRY = MessageState.SENT.value, MessageState.RETRY.value
FAILED, INCERTAIN = MessageState.FAILED.value, MessageState.INCERTAIN.value
TROUBLED = [FAILED, INCERTAIN]


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


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything here is stored in UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


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


class StateStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self._held: dict[str, tuple[str, _OsLock]] = {}  # lock name -> (holder, OS lock)
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
            known = _trouble(exc.orig)
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
        known = _trouble(context.original_exception)
        if known is not None and "i/o error" in str(context.original_exception).lower():
            known = self._io_trouble(known)
        if known is not None:
            raise PipelineError(f"state database {self._safe_url()}: {known}") from None

    def _io_trouble(self, said: str) -> str:
        """SQLite reports a full disk as an I/O error when its WAL or shared memory cannot grow:
        say "full" when the database's folder has next to no room left."""
        path = _sqlite_file(self.engine)
        try:
            folder = os.statvfs(path.parent if path else ".")
        except OSError:
            return said
        if path is not None and folder.f_bavail * folder.f_frsize < _NEARLY_FULL:
            return _SQLITE_TROUBLE[0][1]
        return said

    def _safe_url(self) -> str:
        return (
            self.engine.url.render_as_string(hide_password=True) if hasattr(self, "engine") else "?"
        )

    # --- ledger ---------------------------------------------------------------------------

    def ledger(self, cohort: str) -> list[LedgerEntry]:
        query = select(
            messages.c.person_id, messages.c.template, messages.c.state, messages.c.sent_at,
            messages.c.updated_at, messages.c.error,
        ).where(messages.c.cohort == cohort)  # fmt: skip
        with self.engine.connect() as conn:
            return [
                LedgerEntry(
                    person_id=row.person_id,
                    template=Template(row.template),
                    state=row.state,
                    at=_aware(row.sent_at) or _aware(row.updated_at),
                    error=row.error,
                )
                for row in conn.execute(query)
            ]

    def enqueue(
        self, cohort: str, items: Iterable[tuple[str, Template, str, bytes]], now: datetime
    ) -> int:
        """Insert rendered messages as `pending`; one already queued is left as it is.

        One statement for the batch: `INSERT … ON CONFLICT DO NOTHING` on the unique key
        (cohort, person, template), on SQLite and PostgreSQL alike.
        """
        rows = [
            {
                "cohort": cohort, "person_id": person_id, "template": template.value,
                "message_id": message_id, "state": PENDING, "created_at": _utc(now),
                "updated_at": _utc(now), "attempts": 0, "raw": raw,
            }
            for person_id, template, message_id, raw in items
        ]  # fmt: skip
        if not rows:
            return 0
        from sqlalchemy.dialects import postgresql, sqlite

        unique = ["cohort", "person_id", "template"]
        statement = (
            postgresql.insert(messages).on_conflict_do_nothing(index_elements=unique)
            if self.engine.dialect.name == "postgresql"
            else sqlite.insert(messages).on_conflict_do_nothing(index_elements=unique)
        )
        with self.engine.begin() as conn:
            before = conn.execute(select(func.count()).select_from(messages)).scalar_one()
            conn.execute(statement, rows)
            after = conn.execute(select(func.count()).select_from(messages)).scalar_one()
        return int(after - before)

    def adopt(
        self, cohort: str, items: Iterable[tuple[str, Template, str, str, datetime]], now: datetime
    ) -> int:
        """Record messages another record says were sent (the sheet's `Courriels envoyés`, the
        outbox's files) but this ledger does not hold: (person, template, message id, state,
        when). They have no body, so nothing ever sends them; one already known is left as it
        is. Returns how many were added."""
        rows = [
            {
                "cohort": cohort, "person_id": person_id, "template": template.value,
                "message_id": message_id, "state": state, "created_at": _utc(now),
                "updated_at": _utc(at), "sent_at": _utc(at) if state == SENT else None,
                "attempts": 0, "raw": None,
            }
            for person_id, template, message_id, state, at in items
        ]  # fmt: skip
        if not rows:
            return 0
        from sqlalchemy.dialects import postgresql, sqlite

        unique = ["cohort", "person_id", "template"]
        statement = (
            postgresql.insert(messages).on_conflict_do_nothing(index_elements=unique)
            if self.engine.dialect.name == "postgresql"
            else sqlite.insert(messages).on_conflict_do_nothing(index_elements=unique)
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
                    as_of=_utc(as_of) if as_of else None, outcome="running", counts="{}",
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
                    finished_at=_utc(finished_at), outcome=outcome,
                    counts=json.dumps(counts, sort_keys=True), error=error,
                )
            )  # fmt: skip

    def mark_abandoned_runs(self, current: str) -> list[str]:
        """Runs left `running` by a killed process become `crashed`; call with the lock held
        (then no other run is alive). Returns their ids."""
        stale = select(runs.c.id).where(runs.c.outcome == "running").where(runs.c.id != current)
        with self.engine.begin() as conn:
            found = [row.id for row in conn.execute(stale)]
            if found:
                conn.execute(update(runs).where(runs.c.id.in_(found)).values(outcome="crashed"))
        return found

    def last_moment(self, current: str | None = None) -> datetime | None:
        """The latest moment (`as_of`, else start) of a run that finished (success or idle)."""
        query = select(func.max(func.coalesce(runs.c.as_of, runs.c.started_at))).where(
            runs.c.outcome.in_(["success", "idle"])
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
                .where(runs.c.outcome.in_(["success", "idle", "failed"]))
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

    # --- lock -----------------------------------------------------------------------------
    #
    # One run at a time. The operating system holds the lock where it can, so a killed run's lock
    # is gone the moment the process dies: `flock` on a file beside a SQLite state DB, a session
    # advisory lock on PostgreSQL (released when the connection drops). The `locks` row stays as
    # the holder's name for `status` and error messages, and is the lock itself (a lease, renewed
    # by the run, taken over once expired) only where neither applies (an in-memory SQLite).

    def _os_lock(self, name: str) -> _OsLock | None:
        dialect = self.engine.dialect.name
        if dialect == "postgresql":
            return _PgSessionLock(self.engine, _lock_key(name))
        if dialect != "sqlite":
            return None
        path = _sqlite_file(self.engine)
        if path is None:
            return None
        suffix = ".lock" if name == "run" else f".{name}.lock"
        return _FileLock(path.with_name(path.name + suffix))

    def lock_kind(self, name: str = "run") -> str:
        """How the lock is held, in words (errors, `status`)."""
        os_lock = self._os_lock(name)
        return os_lock.describe() if os_lock is not None else "a lease in the state database"

    def acquire_lock(self, holder: str, now: datetime, lease: timedelta, name: str = "run") -> None:
        """Take the run lock, or raise LockHeldError naming the holder.

        With an OS lock (file or PostgreSQL session), whoever gets it is the only live holder:
        a `locks` row left by a killed run is replaced at once. Without one, an expired lease
        is taken over."""
        os_lock = self._os_lock(name)
        if os_lock is None:
            self._acquire_lease(holder, now, lease, name)
            return
        if name in self._held or not os_lock.try_acquire():
            raise self._held_error(name, os_lock.describe())
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(locks).where(locks.c.name == name))  # a killed run's
                conn.execute(
                    insert(locks).values(name=name, holder=holder, expires_at=_utc(now + lease))
                )
        except BaseException:
            os_lock.release()
            raise
        self._held[name] = (holder, os_lock)

    def _held_error(self, name: str, kind: str) -> LockHeldError:
        found = self.lock_holder(name)
        who = found[0] if found else "another run"
        return LockHeldError(
            f"another run is in progress ({who}, alive: it holds {kind}); this run did nothing. "
            "Try again when it has finished (a run that is killed releases the lock at once)."
        )

    def _acquire_lease(self, holder: str, now: datetime, lease: timedelta, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(locks).where(locks.c.name == name).where(locks.c.expires_at < _utc(now))
            )
            try:
                with conn.begin_nested():  # PostgreSQL: a failed insert must not void the delete
                    conn.execute(
                        insert(locks).values(name=name, holder=holder, expires_at=_utc(now + lease))
                    )
            except IntegrityError:
                pass
            else:
                return
        with self.engine.connect() as conn:
            row = conn.execute(select(locks).where(locks.c.name == name)).first()
        who = row.holder if row else "another run"
        until = _aware(row.expires_at) if row else None
        raise LockHeldError(
            f"another run is in progress ({who}, lease until {until:%Y-%m-%d %H:%M:%S} UTC); "
            "this run did nothing. Try again when it has finished."
            if until
            else "another run is in progress; this run did nothing."
        )

    def renew_lock(self, holder: str, now: datetime, lease: timedelta, name: str = "run") -> bool:
        """Extend `holder`'s lease to `now + lease`; False when the lock is no longer theirs
        (the lease ran out and another run took it over, or the PostgreSQL session holding the
        lock was lost)."""
        held = self._held.get(name)
        if held is not None and held[0] == holder and not held[1].alive():
            del self._held[name]
            held[1].release()
            return False
        with self.engine.begin() as conn:
            result = conn.execute(
                update(locks)
                .where(locks.c.name == name)
                .where(locks.c.holder == holder)
                .values(expires_at=_utc(now + lease))
            )
            return (result.rowcount or 0) == 1

    def release_lock(self, holder: str, name: str = "run") -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    delete(locks).where(locks.c.name == name).where(locks.c.holder == holder)
                )
        finally:
            held = self._held.get(name)
            if held is not None and held[0] == holder:
                del self._held[name]
                held[1].release()

    def lock_holder(self, name: str = "run") -> tuple[str, datetime] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(locks).where(locks.c.name == name)).first()
        if row is None:
            return None
        return row.holder, _aware(row.expires_at) or datetime.min.replace(tzinfo=UTC)

    def lock_alive(self, name: str = "run") -> bool | None:
        """Whether a live process holds the lock now: True, False (a `locks` row, if any, was
        left by a killed run), or None where only the lease tells (then see its expiry)."""
        if name in self._held:
            return True
        os_lock = self._os_lock(name)
        if os_lock is None:
            return None
        try:
            if not os_lock.try_acquire():
                return True
        except PipelineError:  # e.g. `status` by a user who cannot open the lock file
            return None
        os_lock.release()
        return False

    def close(self) -> None:
        for _holder, os_lock in self._held.values():
            os_lock.release()
        self._held.clear()
        self.engine.dispose()


def ids(values: Sequence[QueuedMessage]) -> list[int]:
    return [v.id for v in values]


# --- errors an operator must act on ---------------------------------------------------------

_NEARLY_FULL = 1 << 20  # bytes free under which an I/O error is taken for a full disk
_NOTHING_LOST = (
    "the run stopped; the ledger keeps what was sent before (SQLite commits are durable), so the "
    "next run sends nothing twice"
)
# (text in SQLite's message, or PostgreSQL SQLSTATE prefix) -> what it means and what to do
_SQLITE_TROUBLE = (
    ("database or disk is full", "the disk holding it is full. Free some space; " + _NOTHING_LOST),
    ("disk i/o error", "the disk reported an I/O error. Check the disk; " + _NOTHING_LOST),
    ("readonly database", "it is read-only (file or folder mode, or a read-only disk). It must "
     "be writable, with its folder, by the user running the pipeline; " + _NOTHING_LOST),
    ("file is not a database", "the file is damaged or is not a SQLite database. Restore the "
     "last backup (docs/exploitation.md, Backups) or move the file aside to start a new one"),
    ("database disk image is malformed", "the file is damaged. Restore the last backup "
     "(docs/exploitation.md, Backups), or try `sqlite3 FILE '.recover'`"),
    ("unable to open database file", "the file cannot be opened. Check state.url and that its "
     "folder exists and is writable by the user running the pipeline"),
)  # fmt: skip
_PG_TROUBLE = (
    ("53", "the PostgreSQL server is out of resources (disk full, memory or connections). "
     "Ask its administrator; " + _NOTHING_LOST),
    ("08", "the connection to PostgreSQL failed. Check that the server runs and state.url; "
     + _NOTHING_LOST),
    ("57P", "the PostgreSQL server is shutting down or cancelled the query; " + _NOTHING_LOST),
    ("25006", "the PostgreSQL database is read-only (a standby?). Point state.url at the "
     "primary; " + _NOTHING_LOST),
)  # fmt: skip


def _trouble(error: BaseException | None) -> str | None:
    """What a driver error means for an operator, when it is one they must act on."""
    if error is None:
        return None
    said = str(error).lower()
    for marker, meaning in _SQLITE_TROUBLE:
        if isinstance(error, sqlite3.Error) and marker in said:
            return meaning
    state = getattr(error, "sqlstate", None)
    if isinstance(state, str):
        for prefix, meaning in _PG_TROUBLE:
            if state.startswith(prefix):
                return meaning
    return None


# --- OS-held locks ------------------------------------------------------------------------

# The PostgreSQL advisory lock keys of the run locks: a constant high half ("DIP2") and the
# lock's name; distinct from the schema lock's key.
_LOCK_KEY_BASE = 0x44495032 << 32
_PG_LOCK_WAIT = "1s"


def _lock_key(name: str) -> int:
    return _LOCK_KEY_BASE | zlib.crc32(name.encode())


def _sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite database, or None for an in-memory one."""
    database = engine.url.database
    if not database or database == ":memory:" or engine.url.query.get("mode") == "memory":
        return None
    if database.startswith("file:"):  # a URI filename (`?uri=true`)
        if "mode=memory" in database:
            return None
        database = database[len("file:") :].split("?", 1)[0]
    return Path(database)


class _OsLock(Protocol):
    def try_acquire(self) -> bool: ...
    def alive(self) -> bool: ...
    def release(self) -> None: ...
    def describe(self) -> str: ...


class _FileLock:
    """`flock` on a file beside the SQLite database: the kernel drops it when the process dies.
    The file itself stays (removing a lock file others may have open would break the lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def describe(self) -> str:
        return f"the lock file {self.path}"

    def try_acquire(self) -> bool:
        import fcntl

        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise PipelineError(
                f"the run lock file {self.path} cannot be opened ({exc.strerror}); the folder of "
                "the state database (state.url) must be writable by the user running the pipeline"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except OSError as exc:
            os.close(fd)
            raise PipelineError(
                f"the run lock file {self.path} cannot be locked ({exc.strerror}); keep the state "
                "database on a local file system"
            ) from None
        self.fd = fd
        return True

    def alive(self) -> bool:
        return self.fd is not None

    def release(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)  # closing the only descriptor releases the flock


class _PgSessionLock:
    """A session-level `pg_try_advisory_lock` on a connection of its own, kept for the run: the
    server drops it when the session ends (the process killed, the connection lost)."""

    def __init__(self, engine: Engine, key: int) -> None:
        self.engine = engine
        self.key = key
        self.conn: Connection | None = None

    def describe(self) -> str:
        return "a PostgreSQL advisory lock"

    def try_acquire(self) -> bool:
        """Wait at most `_PG_LOCK_WAIT` for the lock: a killed holder's session ends a moment
        after its process (the server notices the closed socket), not at the same instant."""
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            conn.execute(text(f"SET lock_timeout = '{_PG_LOCK_WAIT}'"))
            try:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": self.key})
            except OperationalError as exc:
                if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
                    raise
                conn.close()
                return False
            conn.execute(text("RESET lock_timeout"))
        except BaseException:
            conn.invalidate()
            conn.close()
            raise
        self.conn = conn
        return True

    def alive(self) -> bool:
        if self.conn is None:
            return False
        try:
            return bool(self.conn.execute(text("SELECT 1")).scalar())
        except (DBAPIError, PipelineError):  # PipelineError: translated by `handle_error`
            return False

    def release(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        except (DBAPIError, PipelineError):
            pass  # the session is gone, and its lock with it
        finally:
            conn.invalidate()  # never back to the pool: a session holding the lock must end
            conn.close()
