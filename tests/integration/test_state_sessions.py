"""The ledger keyed by session and version, on SQLite and PostgreSQL, and the migration of a
state DB made by the previous version (messages keyed by cohort, person, template only)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from pipeline.adapters.state.store import QueueItem, StateStore
from pipeline.core.model import Template
from tests.support import pg

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)

OLD_SCHEMA = """
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, cohort VARCHAR(200) NOT NULL,
    person_id VARCHAR(40) NOT NULL, template VARCHAR(40) NOT NULL,
    message_id VARCHAR(200) NOT NULL, state VARCHAR(20) NOT NULL,
    created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL, sent_at TIMESTAMP,
    attempts INTEGER NOT NULL, next_attempt_at TIMESTAMP, error TEXT, raw BLOB,
    CONSTRAINT one_message_per_template UNIQUE (cohort, person_id, template)
)
"""


def make_url(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'state.sqlite'}"
    reason = pg.skip_reason()
    if reason:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    return pg.shared_cluster().create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    opened = StateStore(make_url(request.param, tmp_path))
    yield opened
    opened.close()


def session_item(person: str, code: str, version: str, template: Template) -> QueueItem:
    return QueueItem(person, template, f"{template.value}.{person}.{code}.{version}", b"x",
                     session=code, version=version, detail="fp")  # fmt: skip


def test_session_messages_are_queued_once_per_session_and_version(store: StateStore) -> None:
    """Same person and template: one per (session, version); a repeat adds nothing."""
    inv = Template.INVITATION_SESSION
    first = [session_item("DT-a", "S1", "v1", inv), session_item("DT-a", "S2", "v1", inv)]
    assert store.enqueue("P", first, T0) == 2
    again = [session_item("DT-a", "S1", "v1", inv), session_item("DT-a", "S1", "v2", inv)]
    assert store.enqueue("P", again, T0) == 1
    ledger = {(e.session, e.version, e.detail) for e in store.ledger("P")}
    assert ledger == {("S1", "v1", "fp"), ("S2", "v1", "fp"), ("S1", "v2", "fp")}


def test_registration_messages_keep_their_once_per_template_key(store: StateStore) -> None:
    """A plain 4-tuple item still queues once per person and template."""
    plain = ("DT-a", Template.ACCUSE_RECEPTION, "accuse.DT-a", b"x")
    assert store.enqueue("P", [plain], T0) == 1
    assert store.enqueue("P", [plain], T0) == 0


def test_old_sqlite_state_db_is_migrated_in_place(tmp_path: Path) -> None:
    """A state DB of the previous version gets the new columns; its rows and ids stay, and the
    old key still forbids a second registration message."""
    path = tmp_path / "old.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql(OLD_SCHEMA)
        conn.execute(
            text(
                "INSERT INTO messages (id, cohort, person_id, template, message_id, state, "
                "created_at, updated_at, sent_at, attempts) VALUES (7, 'P', 'DT-a', "
                "'accuse_reception', 'm1', 'sent', '2026-03-01 10:00:00', "
                "'2026-03-01 10:00:00', '2026-03-01 10:00:00', 1)"
            )
        )
    engine.dispose()
    store = StateStore(f"sqlite:///{path}")
    columns = {c["name"] for c in inspect(store.engine).get_columns("messages")}
    assert {"session", "version", "detail"} <= columns
    (entry,) = store.ledger("P")
    assert (entry.person_id, entry.template, entry.state, entry.session) == (
        "DT-a", Template.ACCUSE_RECEPTION, "sent", "",
    )  # fmt: skip
    assert store.enqueue("P", [("DT-a", Template.ACCUSE_RECEPTION, "m2", b"x")], T0) == 0
    item = session_item("DT-a", "S1", "v1", Template.INVITATION_SESSION)
    assert store.enqueue("P", [item], T0) == 1
    store.close()
    reopened = StateStore(f"sqlite:///{path}")  # a second open finds nothing to migrate
    assert len(reopened.ledger("P")) == 2
    reopened.close()
