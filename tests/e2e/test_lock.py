"""The run lock is held by the operating system: a killed run never blocks the next one.

SQLite: `flock` on a file beside the state DB; PostgreSQL (a throwaway cluster, tests/pg.py): a
session advisory lock. A SIGKILLed `python -m pipeline run` is followed at once by another: it
runs, exits 0 and sends what the first did not, once. A live holder still means exit 3, named.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.adapters.state.store import StateStore
from tests.support import pg
from tests.support.builders import answer
from tests.support.ops import Env, diplomates, make_env, outbox_messages

ANSWERS = [
    answer("02/03/2026 09:00:00", "ana@lyon.fr", "Bernard", "Ana"),
    answer("03/03/2026 09:00:00", "bruno@rennes.fr", "Morel", "Bruno", "Rennes", department="35"),
    answer("04/03/2026 09:00:00", "chloe@lyon.fr", "Faure", "Chloé", first_term="Non"),
]  # fmt: skip
AS_OF = "2026-03-20T10:00"


def state_url(backend: str, tmp: Path) -> str | None:
    if backend == "sqlite":
        return None
    reason = pg.skip_reason()
    if reason:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    return pg.shared_cluster().create_database()


def sent_per_message(env: Env) -> Counter[str]:
    """(recipient, template) pairs in the outbox, one count per file."""
    return Counter(f"{m['To']}|{m['X-CUF-Template']}" for m in outbox_messages(env.outbox).values())


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_killed_run_is_followed_at_once_by_one_that_sends_the_rest_once(
    tmp_path: Path, backend: str
) -> None:
    """SIGKILL after the first message is filed; an immediate rerun exits 0 and sends the rest once."""
    env = make_env(tmp_path, ANSWERS, state_url=state_url(backend, tmp_path))
    args = ("run", "--config", str(env.config), "--as-of", AS_OF)
    killed = diplomates(*args, extra_env={"DIPLOMATES_CRASH_AT": "send.transport:2"})
    assert killed.returncode == -9, killed.stderr[-800:]
    assert len(outbox_messages(env.outbox)) == 1  # one filed, two not yet
    status = diplomates("status", "--config", str(env.config))
    assert status.returncode == 0 and "a run that was killed; the next run clears it" in (
        status.stdout
    ), status.stdout
    rerun = diplomates(*args)
    assert rerun.returncode == 0, rerun.stderr[-1500:]
    counts = sent_per_message(env)
    assert len(counts) == 3 and set(counts.values()) == {1}, counts
    assert diplomates(*args).returncode == 0 and sent_per_message(env) == counts


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_live_holder_means_exit_3_naming_it_and_status_shows_it(
    tmp_path: Path, backend: str
) -> None:
    """A live process holds the lock (even past its lease): a run exits 3, names it, does nothing."""
    env = make_env(tmp_path, ANSWERS, state_url=state_url(backend, tmp_path))
    holder = StateStore(env.state_url())
    try:
        long_ago = datetime.now(UTC) - timedelta(hours=2)  # its lease ran out long ago
        holder.acquire_lock("ops-host:4242:abc123", long_ago, timedelta(minutes=10))
        blocked = diplomates("run", "--config", str(env.config), "--as-of", AS_OF)
        status = diplomates("status", "--config", str(env.config))
    finally:
        holder.close()
    assert blocked.returncode == 3, blocked.stderr[-800:]
    assert "another run is in progress (ops-host:4242:abc123, alive" in blocked.stderr
    assert not env.outbox.exists() or not outbox_messages(env.outbox)
    assert "lock: held by ops-host:4242:abc123 (alive: it holds " in status.stdout, status.stdout
    after = diplomates("run", "--config", str(env.config), "--as-of", AS_OF)  # holder gone
    assert after.returncode == 0 and len(outbox_messages(env.outbox)) == 3, after.stderr[-800:]
