"""The state DB's schema, in one place: every table any module reads or writes, created once.

`StateStore` calls `create_schema` when it opens a database: missing tables are created (a
database made by an earlier version gains the tables it lacks), serialized against other
processes opening the same fresh database. No other module declares or creates a table.

Tables: `runs` (one row per run), `messages` (the ledger: one row per message, see
`store.py`), `locks` (who holds the run lock), `erasures` (tombstones of erased people) and
`privacy_keys` (the salt of those tombstones and the secret of document codes; see
`privacy.py`), `documents` (issued certificates; see `documents.py`).
"""

from __future__ import annotations

from datetime import UTC, datetime

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
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine

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
    # Session templates (core/sessions.py): the session's code, the version (`v2`, `J-7`) and
    # the session's fingerprint; empty for the registration templates.
    Column("session", String(40), nullable=False, server_default=""),
    Column("version", String(40), nullable=False, server_default=""),
    Column("detail", String(64), nullable=False, server_default=""),
    UniqueConstraint(
        "cohort", "person_id", "template", "session", "version", name="one_message_per_key"
    ),
)
UNIQUE_KEY = ["cohort", "person_id", "template", "session", "version"]
# The columns a state DB made by the first version lacks; `_migrate` adds them.
_ADDED_COLUMNS = (("session", 40), ("version", 40), ("detail", 64))

locks = Table(
    "locks",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("holder", String(100), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

erasures = Table(
    "erasures",
    metadata,
    Column("digest", String(64), primary_key=True),  # HMAC-SHA256(salt, normalized address)
    Column("answers_until", DateTime(timezone=True)),  # latest answer erased; later ones are new
    Column("erased_at", DateTime(timezone=True), nullable=False),
)

# Issued certificates and attestations (`adapters/state/documents.py`, `diplomates verify`).
documents = Table(
    "documents",
    metadata,
    Column("code", String(20), primary_key=True),
    Column("cohort", String(200), nullable=False),
    Column("person_id", String(40), nullable=False),
    Column("kind", String(40), nullable=False),  # certificat | attestation
    Column("full_name", String(400), nullable=False),
    Column("authority", String(400), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("file", String(1000), nullable=False),
    Column("erased_at", DateTime(timezone=True)),
)

privacy_keys = Table(
    "privacy_keys",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", String(128), nullable=False),
)


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything here is stored in UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# The key of the PostgreSQL advisory lock that serializes schema creation: any constant that every
# process of this project agrees on.
_SCHEMA_LOCK_KEY = 0x44495031  # "DIP1"


def create_schema(engine: Engine) -> None:
    """Create the tables once, even when several processes open a fresh database at the same moment
    (a scheduler, a cron run and a manual run started together). `create_all` checks, then creates:
    two processes racing between the two steps both create, and one fails ("duplicate key ...
    pg_type", "table runs already exists"). So creation is serialized: PostgreSQL by a transaction-
    scoped advisory lock (its DDL is transactional, so the next process sees every table or none),
    SQLite by one `BEGIN IMMEDIATE` transaction around the whole creation."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            metadata.create_all(conn)
            _migrate(conn)
        return
    if engine.dialect.name != "sqlite":
        metadata.create_all(engine)
        return
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        legacy = driver.isolation_level  # type: ignore[union-attr]
        driver.isolation_level = None  # type: ignore[union-attr]  # we say BEGIN and COMMIT
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                metadata.create_all(conn)
                _migrate(conn)
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
        finally:
            driver.isolation_level = legacy  # type: ignore[union-attr]


def _migrate(conn: Connection) -> None:
    """Bring a state DB made by an earlier version up to this schema, in the schema lock.

    The first version keyed messages by (cohort, person, template); sessions add the session
    and its version to the key. PostgreSQL: add the columns (default empty) and swap the unique
    constraint. SQLite cannot drop a table constraint: the table is rebuilt, rows copied as
    they are (ids kept), in the same transaction.
    """
    present = {c["name"] for c in inspect(conn).get_columns("messages")}
    if all(name in present for name, _ in _ADDED_COLUMNS):
        return
    if conn.dialect.name == "postgresql":
        for name, size in _ADDED_COLUMNS:
            if name not in present:
                conn.execute(
                    text(
                        f"ALTER TABLE messages ADD COLUMN {name} VARCHAR({size}) "
                        "NOT NULL DEFAULT ''"
                    )
                )
        conn.execute(
            text("ALTER TABLE messages DROP CONSTRAINT IF EXISTS one_message_per_template")
        )
        conn.execute(
            text(
                "ALTER TABLE messages ADD CONSTRAINT one_message_per_key UNIQUE "
                "(cohort, person_id, template, session, version)"
            )
        )
        return
    kept = [c.name for c in messages.c if c.name in present]
    conn.exec_driver_sql("ALTER TABLE messages RENAME TO messages_before_sessions")
    messages.create(conn)
    old = Table("messages_before_sessions", MetaData(), autoload_with=conn)
    conn.execute(insert(messages).from_select(kept, select(*(old.c[name] for name in kept))))
    conn.exec_driver_sql("DROP TABLE messages_before_sessions")
