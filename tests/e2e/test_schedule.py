"""`diplomates schedule` as real processes: one run at a time across processes, clean SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from pipeline.adapters.state.schema import messages, runs
from pipeline.adapters.state.store import StateStore
from pipeline.app.run import LOCK_LEASE
from pipeline.core.errors import LockHeldError
from tests.support import pg
from tests.support.builders import answer
from tests.support.ops import (
    COHORT,
    RESPONSES,
    ROOT,
    Env,
    diplomates,
    edit_workbook,
    make_env,
    outbox_messages,
    rows_of,
)

FAST = "\n[schedule]\ninterval_minutes = 0.02\nstop_timeout_seconds = 20\n"  # every 1.2 s


def answers(count: int) -> list[list[str]]:
    return [
        answer(f"{1 + n % 28:02d}/03/2026 09:{n % 60:02d}:00", f"p{n}@lyon.fr", f"Nom{n}", "Ana")
        for n in range(count)
    ]


class Process:
    """A `python -m pipeline …` child whose stderr lines are collected as they come."""

    def __init__(self, *args: str, extra_env: dict[str, str] | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if k != "DIPLOMATES_CRASH_AT"}
        env.update({"DIPLOMATES_LOG_FORMAT": "json", **(extra_env or {})})
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "pipeline", *args], cwd=ROOT, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()

    def count(self, text: str) -> int:
        with self.changed:
            return sum(text in line for line in self.lines)

    def wait_for(self, ready: Callable[[], bool], timeout: float) -> None:
        """Block until `ready()` after some new line, or fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not ready():
                left = deadline - time.monotonic()
                assert left > 0 and self.popen.poll() is None, "".join(self.lines[-20:])
                self.changed.wait(left)

    def wait_for_new_line(self, timeout: float) -> None:
        with self.changed:
            seen = len(self.lines)
        self.wait_for(lambda: len(self.lines) > seen, timeout)

    def stop(self, timeout: float = 30) -> tuple[int, float]:
        """SIGTERM, then wait for the exit; returns (exit code, seconds it took)."""
        tick = time.monotonic()
        self.popen.send_signal(signal.SIGTERM)
        code = self.popen.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return code, time.monotonic() - tick

    @property
    def stderr(self) -> str:
        with self.changed:
            return "".join(self.lines)


@pytest.fixture
def spawn() -> Iterator[Callable[..., Process]]:
    """Start `python -m pipeline …` children; any still alive at the end is killed."""
    started: list[Process] = []

    def start(*args: str) -> Process:
        started.append(Process(*args))
        return started[-1]

    yield start
    for process in started:
        if process.popen.poll() is None:
            process.popen.kill()
            process.popen.wait(timeout=30)


def recorded_runs(url: str) -> list[tuple[str, datetime, datetime | None, str]]:
    """(id, start, end, outcome) of every run in the state DB, by start."""
    store = StateStore(url)
    try:
        with store.engine.connect() as conn:
            query = select(runs.c.id, runs.c.started_at, runs.c.finished_at, runs.c.outcome)
            found = [(r.id, r.started_at, r.finished_at, r.outcome) for r in conn.execute(query)]
    finally:
        store.close()
    return sorted(found, key=lambda r: r[1])


def add_answers(env: Env, first: int) -> None:
    def edit(workbook: Workbook) -> None:
        for row in answers(first + 3)[first:]:
            workbook[RESPONSES].append(row)

    edit_workbook(env.book, edit)


def with_lock(env: Env, watched: Process, action: Callable[[], None]) -> None:
    """Take the run lock as a person doing maintenance would (retrying after each log line
    while a run holds it), do `action`, release."""
    store = StateStore(env.state_url())
    try:
        for _ in range(200):
            try:
                store.acquire_lock("test:staff", datetime.now(UTC), LOCK_LEASE)
            except LockHeldError:
                watched.wait_for_new_line(timeout=60)
                continue
            try:
                action()
            finally:
                store.release_lock("test:staff")
            return
        raise AssertionError("never got the lock")
    finally:
        store.close()


def ledger(url: str) -> list[tuple[str, int]]:
    store = StateStore(url)
    try:
        with store.engine.connect() as conn:
            query = select(messages.c.state, messages.c.attempts).order_by(messages.c.id)
            return [(r.state, r.attempts) for r in conn.execute(query)]
    finally:
        store.close()


def state_url(backend: str, tmp: Path) -> str | None:
    if backend == "sqlite":
        return None
    reason = pg.skip_reason()
    if reason:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    return pg.shared_cluster().create_database()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_schedulers_and_a_manual_run_never_overlap(
    tmp_path: Path,
    backend: str,
    spawn: Callable[..., Process],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Started at once on one state DB: recorded runs are disjoint, mails go once, SIGTERM exits 0."""
    env = make_env(tmp_path, answers(60), extra=FAST, state_url=state_url(backend, tmp_path))
    config = str(env.config)
    first = spawn("schedule", "--config", config)
    second = spawn("schedule", "--config", config)
    manual = spawn("run", "--config", config)
    schedulers = (first, second)
    for scheduler in schedulers:  # each has completed a run of its own (others skipped)
        scheduler.wait_for(lambda s=scheduler: s.count('"run finished"') >= 1, timeout=120)  # type: ignore[misc]
    for round_ in range(2):  # staff add answers, holding the lock like a run would
        with_lock(env, first, lambda n=round_: add_answers(env, 100 + 10 * n))  # type: ignore[misc]
        done = first.count('"outcome": "success"') + second.count('"outcome": "success"')
        first.wait_for(
            lambda d=done: (
                first.count('"outcome": "success"') + second.count('"outcome": "success"') > d
            ),  # type: ignore[misc]
            timeout=120,
        )
    manual_code = manual.popen.wait(timeout=120)
    manual.reader.join(timeout=10)
    stops = [scheduler.stop() for scheduler in schedulers]
    assert [code for code, _ in stops] == [0, 0], [s.stderr[-2000:] for s in schedulers]
    assert max(took for _, took in stops) < 20
    assert manual_code in (0, 3), manual.stderr[-2000:]
    if manual_code == 3:
        assert "another run is in progress" in manual.stderr
    recorded = recorded_runs(env.state_url())
    assert len(recorded) >= 4 and all(o in ("success", "idle", "interrupted") for *_, o in recorded)
    for (_, _, end, _), (_, start, _, _) in zip(recorded, recorded[1:], strict=False):
        assert end is not None and end <= start, "two runs overlapped"
    journal = rows_of(env.book, "Journal")  # minutes only: the state DB has the exact times
    assert len(journal) >= 3
    assert {str(r["Exécution"]) for r in journal} <= {run_id for run_id, *_ in recorded}
    sent = ledger(env.state_url())
    assert len(sent) >= 66 and set(sent) == {("sent", 1)}  # each message handed over once
    assert len(outbox_messages(env.outbox)) == len(sent)
    skipped = sum(s.count("run skipped: another run holds the lock") for s in schedulers)
    with capsys.disabled():
        print(
            f"\n[overlap {backend}] {len(recorded)} runs, disjoint; {skipped} scheduled runs "
            f"skipped on the lock; manual run exit {manual_code}; SIGTERM->exit "
            f"{max(t for _, t in stops):.2f} s; journal rows {len(journal)}"
        )


def run_log_steps(text: str) -> list[str]:
    return [line for line in text.splitlines() if '"run stopped on request"' in line]


@pytest.mark.parametrize("command", ["schedule", "run"])
def test_sigterm_mid_send_finishes_those_messages_and_exits_0(tmp_path: Path, command: str) -> None:
    """SIGTERM while the outbox files a chunk of messages: the chunk is filed and recorded, the
    run stops at the next step boundary (before writing the sheets), exits 0; the next run
    writes the sheets and sends nothing again."""
    env: Env = make_env(tmp_path, answers(6), extra=FAST)
    args = (command, "--config", str(env.config))
    if command == "run":
        args += ("--as-of", "2026-03-20T10:00")
    tick = time.monotonic()
    done = diplomates(*args, extra_env={"DIPLOMATES_CRASH_AT": "send.transport:2:TERM"}, timeout=60)
    took = time.monotonic() - tick
    assert done.returncode == 0, done.stderr[-2000:]
    queued = ledger(env.state_url())  # 6 acknowledgements (+ placements when run "now")
    assert len(queued) >= 6 and set(queued) == {("sent", 1)}
    assert len(outbox_messages(env.outbox)) == len(queued)
    assert run_log_steps(done.stderr), done.stderr[-2000:]
    (record,) = recorded_runs(env.state_url())
    assert record[3] == "interrupted"
    assert COHORT not in load_workbook(env.book, read_only=True).sheetnames  # not written yet
    store = StateStore(env.state_url())
    assert store.lock_holder() is None
    store.close()
    assert took < 30
    again = diplomates("run", "--config", str(env.config), "--as-of", "2026-03-20T10:05")
    assert again.returncode == 0
    assert ledger(env.state_url()) == queued
    assert len(outbox_messages(env.outbox)) == len(queued)
    assert len(rows_of(env.book, COHORT)) == 6
