"""The state DB (SQLAlchemy; SQLite by default): runs, the message ledger, the run lock.

The ledger is an outbox: a message is rendered and inserted as `pending` once (a unique key per
person, cohort and template makes a second insert impossible), then moves `sending` -> `sent`,
or to `retry` / `failed`. A message found in `sending` at start was interrupted by a crash: it
becomes `incertain` and is never resent automatically.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from pipeline.core.cohort import LedgerEntry
from pipeline.errors import LockHeldError, PipelineError
from pipeline.model import Template

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("as_of", DateTime(timezone=True)),
    Column("outcome", String(20), nullable=False),
    Column("counts", Text, nullable=False, default="{}"),
    Column("error", Text),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cohort", String(200), nullable=False),
    Column("person_id", String(40), nullable=False),
    Column("template", String(40), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("state", String(20), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("error", Text),
    Column("raw", LargeBinary),
    UniqueConstraint("cohort", "person_id", "template", name="one_message_per_template"),
)

locks = Table(
    "locks",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("holder", String(100), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class QueuedMessage:
    id: int
    person_id: str
    template: Template
    message_id: str
    raw: bytes
    attempts: int


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


class StateStore:
    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine: Engine = create_engine(url, future=True)
            metadata.create_all(self.engine)
        except OperationalError as exc:
            raise PipelineError(
                f"state database {self._safe_url()} cannot be opened: {exc.orig}; check state.url "
                "in the config file and that its folder exists and is writable"
            ) from None

    def _safe_url(self) -> str:
        return (
            self.engine.url.render_as_string(hide_password=True) if hasattr(self, "engine") else "?"
        )

    # --- ledger ---------------------------------------------------------------------------

    def ledger(self, cohort: str) -> list[LedgerEntry]:
        query = select(
            messages.c.person_id, messages.c.template, messages.c.state, messages.c.sent_at,
            messages.c.updated_at,
        ).where(messages.c.cohort == cohort)  # fmt: skip
        with self.engine.connect() as conn:
            return [
                LedgerEntry(
                    person_id=row.person_id,
                    template=Template(row.template),
                    state=row.state,
                    at=_aware(row.sent_at) or _aware(row.updated_at),
                )
                for row in conn.execute(query)
            ]

    def enqueue(
        self, cohort: str, items: Iterable[tuple[str, Template, str, bytes]], now: datetime
    ) -> int:
        """Insert rendered messages as `pending`; one already queued is left as it is."""
        added = 0
        with self.engine.begin() as conn:
            for person_id, template, message_id, raw in items:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            insert(messages).values(
                                cohort=cohort, person_id=person_id, template=template.value,
                                message_id=message_id, state="pending", created_at=_utc(now),
                                updated_at=_utc(now), attempts=0, raw=raw,
                            )
                        )  # fmt: skip
                    added += 1
                except IntegrityError:
                    continue
        return added

    def due(self, cohort: str, now: datetime, limit: int | None = None) -> list[QueuedMessage]:
        """Messages to send now, oldest first: `pending`, and `retry` whose time has come."""
        query = (
            select(messages)
            .where(messages.c.cohort == cohort)
            .where(
                (messages.c.state == "pending")
                | ((messages.c.state == "retry") & (messages.c.next_attempt_at <= _utc(now)))
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
                    raw=row.raw or b"",
                    attempts=row.attempts,
                )
                for row in conn.execute(query)
            ]

    def _set(self, message_id: int, **values: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(messages).where(messages.c.id == message_id).values(**values))

    def mark_sending(self, message: QueuedMessage, now: datetime) -> None:
        self._set(message.id, state="sending", updated_at=_utc(now), attempts=message.attempts + 1)

    def mark_sent(self, message: QueuedMessage, now: datetime) -> None:
        self._set(message.id, state="sent", updated_at=_utc(now), sent_at=_utc(now), error=None)

    def mark_retry(
        self, message: QueuedMessage, now: datetime, error: str, delay: timedelta
    ) -> None:
        self._set(
            message.id, state="retry", updated_at=_utc(now), error=error,
            next_attempt_at=_utc(now + delay),
        )  # fmt: skip

    def mark_failed(self, message: QueuedMessage, now: datetime, error: str) -> None:
        self._set(message.id, state="failed", updated_at=_utc(now), error=error)

    def recover_interrupted(self, now: datetime) -> int:
        """Messages left in `sending` by a crash become `incertain` (never resent automatically)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(messages)
                .where(messages.c.state == "sending")
                .values(state="incertain", updated_at=_utc(now))
            )
            return result.rowcount or 0

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

    def last_runs(self, limit: int = 10) -> list[RunRecord]:
        query = select(runs).order_by(runs.c.started_at.desc()).limit(limit)
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

    def acquire_lock(self, holder: str, now: datetime, lease: timedelta, name: str = "run") -> None:
        """Take the run lock, or raise LockHeldError naming the holder; an expired lease is taken over."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(locks).where(locks.c.name == name).where(locks.c.expires_at < _utc(now))
            )
            try:
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

    def release_lock(self, holder: str, name: str = "run") -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(locks).where(locks.c.name == name).where(locks.c.holder == holder))

    def lock_holder(self, name: str = "run") -> tuple[str, datetime] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(locks).where(locks.c.name == name)).first()
        if row is None:
            return None
        return row.holder, _aware(row.expires_at) or datetime.min.replace(tzinfo=UTC)

    def close(self) -> None:
        self.engine.dispose()


def ids(values: Sequence[QueuedMessage]) -> list[int]:
    return [v.id for v in values]
