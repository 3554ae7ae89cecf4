"""The run lock: one run at a time, held by the operating system where it can be.

`flock` on a file beside a SQLite state DB, a session advisory lock on PostgreSQL (released when
the connection drops): a killed run's lock is gone the moment the process dies. The `locks` row
stays as the holder's name for `status` and error messages, and is the lock itself (a lease,
renewed by the run, taken over once expired) only where neither applies (an in-memory SQLite).
`StateStore` takes these methods from `LockHolder`.
"""

from __future__ import annotations

import os
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from pipeline.adapters.state.schema import aware as _aware
from pipeline.adapters.state.schema import locks
from pipeline.adapters.state.schema import utc as _utc
from pipeline.core.errors import LockHeldError, PipelineError


class LockHolder:
    """The lock methods of `StateStore` (its `engine`; `_held`: lock name -> (holder, OS lock))."""

    engine: Engine
    _held: dict[str, tuple[str, OsLock]]

    def _os_lock(self, name: str) -> OsLock | None:
        dialect = self.engine.dialect.name
        if dialect == "postgresql":
            return _PgSessionLock(self.engine, _lock_key(name))
        if dialect != "sqlite":
            return None
        path = sqlite_file(self.engine)
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


# The PostgreSQL advisory lock keys of the run locks: a constant high half ("DIP2") and the
# lock's name; distinct from the schema lock's key.
_LOCK_KEY_BASE = 0x44495032 << 32
_PG_LOCK_WAIT = "1s"


def _lock_key(name: str) -> int:
    return _LOCK_KEY_BASE | zlib.crc32(name.encode())


def sqlite_file(engine: Engine) -> Path | None:
    """The file of a SQLite database, or None for an in-memory one."""
    database = engine.url.database
    if not database or database == ":memory:" or engine.url.query.get("mode") == "memory":
        return None
    if database.startswith("file:"):  # a URI filename (`?uri=true`)
        if "mode=memory" in database:
            return None
        database = database[len("file:") :].split("?", 1)[0]
    return Path(database)


class OsLock(Protocol):
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
