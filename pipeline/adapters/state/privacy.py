"""The state DB's privacy side: erasure tombstones and their salt, one person's ledger rows,
cancelling and forgetting messages, retention purges, and compaction.

Its tables are declared and created in `schema.py`. Deleting a row does not take its bytes out
of a SQLite file: they stay in free pages and in the write-ahead log. So every delete or
blanking here runs with `PRAGMA secure_delete` (freed content is zeroed), and `compact()`
rebuilds the file (`VACUUM`) and empties the WAL (`wal_checkpoint(TRUNCATE)`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from pipeline.adapters.state.schema import aware as _aware
from pipeline.adapters.state.schema import erasures, messages, privacy_keys, runs
from pipeline.adapters.state.store import MessageRecord, StateStore
from pipeline.core import vocabulary
from pipeline.core.model import Template
from pipeline.core.privacy import ERASED_MARK
from pipeline.core.vocabulary import RunOutcome

SALT = "erasure_salt"
# Messages whose copy may be dropped once old enough: delivered, refused, or left uncertain.
SETTLED = [state.value for state in vocabulary.SETTLED]
UNSENT = [state.value for state in vocabulary.UNSENT]


@dataclass(frozen=True)
class Erasure:
    answers_until: datetime | None
    erased_at: datetime


class PrivacyState:
    """Privacy operations on a `StateStore`'s database."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.engine = store.engine

    @property
    def sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A transaction whose deletes and updates zero the bytes they free (SQLite)."""
        with self.engine.begin() as conn:
            if self.sqlite:
                conn.exec_driver_sql("PRAGMA secure_delete = ON")
            yield conn

    # --- tombstones ------------------------------------------------------------------------

    def salt(self, create: bool = False) -> bytes | None:
        """The secret salt of this state DB's tombstones; made once, on the first erasure."""
        query = select(privacy_keys.c.value).where(privacy_keys.c.name == SALT)
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar()
        if found is not None or not create:
            return bytes.fromhex(found) if found is not None else None
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(privacy_keys).values(name=SALT, value=secrets.token_hex(32)))
        except IntegrityError:  # another process made it first: use theirs
            pass
        with self.engine.connect() as conn:
            return bytes.fromhex(conn.execute(query).scalar_one())

    def erasures(self) -> dict[str, datetime | None]:
        """Tombstone -> the latest answer time its erasure covered."""
        with self.engine.connect() as conn:
            return {
                row.digest: _aware(row.answers_until)
                for row in conn.execute(select(erasures.c.digest, erasures.c.answers_until))
            }

    def erasure(self, digest: str) -> Erasure | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(erasures).where(erasures.c.digest == digest)).first()
        if row is None:
            return None
        return Erasure(_aware(row.answers_until), _aware(row.erased_at) or datetime.now(UTC))

    def record_erasure(
        self, digest: str, answers_until: datetime | None, erased_at: datetime
    ) -> None:
        """Keep (or move forward) the tombstone of an erased address."""
        previous = self.erasure(digest)
        if previous is not None and previous.answers_until is not None:
            if answers_until is None or answers_until < previous.answers_until:
                answers_until = previous.answers_until
        with self.engine.begin() as conn:
            conn.execute(delete(erasures).where(erasures.c.digest == digest))
            conn.execute(
                insert(erasures).values(
                    digest=digest,
                    answers_until=answers_until.astimezone(UTC) if answers_until else None,
                    erased_at=erased_at.astimezone(UTC),
                )
            )

    # --- one person's ledger ---------------------------------------------------------------

    def ledger_rows(self, person_id: str, with_raw: bool = False) -> list[MessageRecord]:
        """Every ledger row of the person, any cohort, oldest first."""
        columns = [c for c in messages.c if c.name != "raw"]
        query = (
            select(*columns, messages.c.raw.is_not(None).label("kept"))
            .where(messages.c.person_id == person_id)
            .order_by(messages.c.created_at, messages.c.id)
        )
        if with_raw:
            query = query.add_columns(messages.c.raw)
        with self.engine.connect() as conn:
            return [
                MessageRecord(
                    id=row.id,
                    cohort=row.cohort,
                    person_id=row.person_id,
                    template=Template(row.template),
                    message_id=row.message_id,
                    state=row.state,
                    created_at=_aware(row.created_at),
                    updated_at=_aware(row.updated_at),
                    sent_at=_aware(row.sent_at),
                    attempts=row.attempts,
                    error=row.error,
                    raw=row.raw if with_raw else (b"" if row.kept else None),
                )
                for row in conn.execute(query)
            ]

    def runs_mentioning(self, needles: Sequence[str]) -> list[tuple[str, datetime | None, str]]:
        """Runs whose recorded error quotes one of `needles` (case-insensitive): id, start, error."""
        pattern = _pattern(needles)
        query = select(runs.c.id, runs.c.started_at, runs.c.error).where(runs.c.error.is_not(None))
        with self.engine.connect() as conn:
            return [
                (row.id, _aware(row.started_at), row.error)
                for row in conn.execute(query)
                if pattern.search(row.error or "")
            ]

    def forget(self, person_id: str, needles: Sequence[str]) -> tuple[int, int]:
        """Delete every ledger row of the person and mask `needles` in recorded run errors.

        Returns (messages deleted, run errors masked). The freed bytes are zeroed; `compact()`
        then takes them out of the file for good.
        """
        pattern = _pattern(needles)
        with self._writing() as conn:
            result = conn.execute(delete(messages).where(messages.c.person_id == person_id))
            deleted = result.rowcount or 0
            found = [
                (row.id, row.error)
                for row in conn.execute(
                    select(runs.c.id, runs.c.error).where(runs.c.error.is_not(None))
                )
                if pattern.search(row.error or "")
            ]
            for run_id, error in found:
                conn.execute(
                    update(runs)
                    .where(runs.c.id == run_id)
                    .values(error=pattern.sub(ERASED_MARK, error or ""))
                )
        return deleted, len(found)

    def cancel_unsent(self, cohort: str, person_ids: Iterable[str]) -> list[str]:
        """Delete the messages still waiting (pending, retry) for these people; their message ids.

        For people who withdrew their consent: what was queued for them is never sent. Deleted,
        not marked, so that if they consent again later they get the message then.
        """
        wanted = sorted(set(person_ids))
        if not wanted:
            return []
        where = (
            (messages.c.cohort == cohort)
            & messages.c.person_id.in_(wanted)
            & messages.c.state.in_(UNSENT)
        )
        with self._writing() as conn:
            found = [
                row.message_id for row in conn.execute(select(messages.c.message_id).where(where))
            ]
            if found:
                conn.execute(delete(messages).where(where))
        return found

    # --- retention ------------------------------------------------------------------------

    def purge(self, before: datetime) -> tuple[int, int]:
        """Drop the body and server reply of messages settled before `before` (the minimal row
        stays: person id, template, state, dates, so nothing is ever sent twice) and delete run
        records started before it. Returns (messages stripped, runs deleted)."""
        cutoff = before.astimezone(UTC)
        settled = func.coalesce(messages.c.sent_at, messages.c.updated_at)
        with self._writing() as conn:
            stripped = conn.execute(
                update(messages)
                .where(messages.c.state.in_(SETTLED))
                .where(settled < cutoff)
                .where(messages.c.raw.is_not(None) | messages.c.error.is_not(None))
                .values(raw=None, error=None)
            ).rowcount
            removed = conn.execute(
                delete(runs)
                .where(runs.c.started_at < cutoff)
                .where(runs.c.outcome != RunOutcome.RUNNING.value)
            ).rowcount
        return stripped or 0, removed or 0

    def message_ids(self) -> dict[str, bool]:
        """Every message id in the ledger -> whether its body is still kept."""
        query = select(messages.c.message_id, messages.c.raw.is_not(None).label("kept"))
        with self.engine.connect() as conn:
            return {row.message_id: bool(row.kept) for row in conn.execute(query)}

    def body_dropped(self, message_id: str) -> bool:
        """True when retention dropped this message's body (it can no longer be resent)."""
        query = select(messages.c.raw.is_(None)).where(messages.c.message_id == message_id)
        with self.engine.connect() as conn:
            return bool(conn.execute(query).scalar())

    # --- the file itself ------------------------------------------------------------------

    def checkpoint(self) -> bool:
        """SQLite: copy the WAL into the file and truncate it (old page images gone). False when
        another connection kept it from finishing (the next checkpoint completes it)."""
        if not self.sqlite:
            return True
        with self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
        return busy is None or busy[0] == 0

    def compact(self) -> bool:
        """Rebuild the database so deleted bytes leave the file: SQLite `VACUUM` and a truncating
        WAL checkpoint; PostgreSQL `VACUUM FULL` of the tables that held personal data."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            if self.sqlite:
                conn.exec_driver_sql("PRAGMA secure_delete = ON")
                conn.exec_driver_sql("VACUUM")
            elif self.engine.dialect.name == "postgresql":
                for table in (messages, runs, erasures):
                    conn.exec_driver_sql(f"VACUUM FULL {table.name}")
        return self.checkpoint()


def _pattern(needles: Sequence[str]) -> re.Pattern[str]:
    wanted = [re.escape(n) for n in needles if n]
    return re.compile("|".join(wanted) or r"(?!x)x", re.IGNORECASE)
