"""Driver errors an operator must act on (a full, read-only, damaged or unreachable state DB),
as what they mean and what to do, in one paragraph (never "unexpected OperationalError")."""

from __future__ import annotations

import sqlite3

NEARLY_FULL = 1 << 20  # bytes free under which an I/O error is taken for a full disk
_NOTHING_LOST = (
    "the run stopped; the ledger keeps what was sent before (SQLite commits are durable), so the "
    "next run sends nothing twice"
)
# (text in SQLite's message, or PostgreSQL SQLSTATE prefix) -> what it means and what to do
SQLITE_TROUBLE = (
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
PG_TROUBLE = (
    ("53", "the PostgreSQL server is out of resources (disk full, memory or connections). "
     "Ask its administrator; " + _NOTHING_LOST),
    ("08", "the connection to PostgreSQL failed. Check that the server runs and state.url; "
     + _NOTHING_LOST),
    ("57P", "the PostgreSQL server is shutting down or cancelled the query; " + _NOTHING_LOST),
    ("25006", "the PostgreSQL database is read-only (a standby?). Point state.url at the "
     "primary; " + _NOTHING_LOST),
)  # fmt: skip


def trouble(error: BaseException | None) -> str | None:
    """What a driver error means for an operator, when it is one they must act on."""
    if error is None:
        return None
    said = str(error).lower()
    for marker, meaning in SQLITE_TROUBLE:
        if isinstance(error, sqlite3.Error) and marker in said:
            return meaning
    state = getattr(error, "sqlstate", None)
    if isinstance(state, str):
        for prefix, meaning in PG_TROUBLE:
            if state.startswith(prefix):
                return meaning
    return None
