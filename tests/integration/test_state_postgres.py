"""The state layer (message ledger, run lock, runs) on SQLite and on a real PostgreSQL.

PostgreSQL tests start a throwaway cluster (tests/pg.py) and skip, saying why, where the server
binaries or the psycopg driver are missing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.adapters.state.store import StateStore
from pipeline.app.run import LOCK_LEASE, Runner
from pipeline.core.errors import LockHeldError, PipelineError
from pipeline.core.model import Template
from tests.support import pg
from tests.support.builders import FORM_HEADERS, MEMBER_HEADERS, answer, member, settings
from tests.support.fakes import MemorySpreadsheet, RecordingTransport

T0 = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
BACKENDS = ["sqlite", "postgresql"]


def make_url(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'state.sqlite'}"
    reason = pg.skip_reason()
    if reason:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    return pg.shared_cluster().create_database()


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return make_url(request.param, tmp_path)


@pytest.fixture
def store(url: str) -> Iterator[StateStore]:
    opened = StateStore(url)
    yield opened
    opened.close()


def item(
    person: str, template: Template = Template.ACCUSE_RECEPTION
) -> tuple[str, Template, str, bytes]:
    return (person, template, f"{template.value}.{person}", f"raw {person}".encode())


def test_a_message_is_queued_once_per_person_and_template(store: StateStore) -> None:
    """A second enqueue of the same (cohort, person, template) adds nothing; bodies round-trip."""
    assert store.enqueue("P", [item("DT-a"), item("DT-b")], T0) == 2
    assert store.enqueue("P", [item("DT-a"), item("DT-c")], T0) == 1
    queued = store.due("P", T0)
    assert [m.person_id for m in queued] == ["DT-a", "DT-b", "DT-c"]
    assert queued[0].raw == b"raw DT-a" and queued[0].attempts == 0
    assert store.enqueue("Q", [item("DT-a")], T0) == 1  # another cohort is another message


def test_ledger_states_move_as_delivery_goes(store: StateStore) -> None:
    """pending -> sending -> sent; retry waits for its time; sending found at start -> incertain."""
    store.enqueue("P", [item("DT-a"), item("DT-b"), item("DT-c"), item("DT-d")], T0)
    a, b, c, d = store.due("P", T0)
    for message in (a, b, c, d):
        store.mark_sending(message, T0)
    store.mark_sent(a, T0)
    store.mark_retry(b, T0, "451 greylisted", timedelta(minutes=5))
    store.mark_failed(c, T0, "550 no such user")
    assert store.due("P", T0 + timedelta(minutes=4)) == []
    assert [m.person_id for m in store.due("P", T0 + timedelta(minutes=5))] == ["DT-b"]
    assert store.recover_interrupted(T0) == 1  # d was left `sending`
    states = {e.person_id: e.state for e in store.ledger("P")}
    assert states == {"DT-a": "sent", "DT-b": "retry", "DT-c": "failed", "DT-d": "incertain"}
    sent = next(e for e in store.ledger("P") if e.person_id == "DT-a")
    assert sent.at == T0 and sent.at.tzinfo is not None
    assert store.count_by_state() == {"sent": 1, "retry": 1, "failed": 1, "incertain": 1}


def test_a_transport_that_can_tell_settles_interrupted_sends(store: StateStore) -> None:
    """Left `sending` by a crash: filed -> `sent` at the time of the attempt; not filed ->
    `pending` again with the attempt uncounted; no answer -> `incertain`. Chunks are marked in
    one go."""
    store.enqueue("P", [item("DT-a"), item("DT-b"), item("DT-c")], T0)
    queued = store.due("P", T0)
    store.mark_sending_many(queued, T0)
    answers = {"accuse_reception.DT-a": True, "accuse_reception.DT-b": False}
    later = T0 + timedelta(hours=1)
    assert store.recover_interrupted(later, answers.get) == 1  # DT-c: the transport can't tell
    entries = {e.person_id: e for e in store.ledger("P")}
    assert {p: e.state for p, e in entries.items()} == {
        "DT-a": "sent", "DT-b": "pending", "DT-c": "incertain",
    }  # fmt: skip
    assert entries["DT-a"].at == T0
    (again,) = store.due("P", later)
    assert (again.person_id, again.attempts) == ("DT-b", 0)
    store.mark_sending_many([again], later)
    store.mark_sent_many([again], later)
    assert {e.person_id: e.state for e in store.ledger("P")}["DT-b"] == "sent"
    assert store.sent_since(T0) == 2


def test_runs_are_recorded_with_outcome_and_counts(store: StateStore) -> None:
    """start/finish keep aware times and counts; a run left `running` is marked crashed."""
    first = store.start_run(T0, T0)
    store.finish_run(first, T0 + timedelta(seconds=3), "success", {"new": 2, "emails_sent": 2})
    crashed = store.start_run(T0 + timedelta(minutes=5), None)
    third = store.start_run(T0 + timedelta(minutes=10), None)
    assert store.mark_abandoned_runs(third) == [crashed]
    store.finish_run(third, T0 + timedelta(minutes=11), "failed", {}, "sheet missing")
    records = store.last_runs(10)
    assert [(r.id, r.outcome) for r in records] == [
        (third, "failed"), (crashed, "crashed"), (first, "success"),
    ]  # fmt: skip
    assert records[2].counts == {"emails_sent": 2, "new": 2}
    assert records[2].finished_at == T0 + timedelta(seconds=3) and records[0].error
    previous = store.previous_outcome(third)
    assert previous is not None and previous.id == first  # crashed runs are not outcomes


def test_the_lock_is_a_lease(store: StateStore) -> None:
    """Held -> LockHeldError naming the holder; renewed by its holder only; expired -> taken over."""
    store.acquire_lock("host:1:a", T0, LOCK_LEASE)
    with pytest.raises(LockHeldError, match="host:1:a"):
        store.acquire_lock("host:2:b", T0 + LOCK_LEASE - timedelta(seconds=1), LOCK_LEASE)
    assert store.renew_lock("host:1:a", T0 + timedelta(minutes=8), LOCK_LEASE)
    with pytest.raises(LockHeldError):  # the renewed lease reaches T0 + 18 min
        store.acquire_lock("host:2:b", T0 + timedelta(minutes=17), LOCK_LEASE)
    store.acquire_lock("host:2:b", T0 + timedelta(minutes=19), LOCK_LEASE)  # expired: taken
    assert not store.renew_lock("host:1:a", T0 + timedelta(minutes=19), LOCK_LEASE)
    store.release_lock("host:1:a")  # not the holder any more: releases nothing
    holder = store.lock_holder()
    assert holder is not None and holder[0] == "host:2:b"
    store.release_lock("host:2:b")
    assert store.lock_holder() is None


def race(stores: list[StateStore], now: datetime) -> tuple[list[int], list[BaseException]]:
    """Every store tries to take the lock at the same moment; returns winners and errors."""
    barrier = threading.Barrier(len(stores))
    winners: list[int] = []
    errors: list[BaseException] = []

    def contend(index: int) -> None:
        barrier.wait()
        try:
            stores[index].acquire_lock(f"racer:{index}", now, LOCK_LEASE)
            winners.append(index)
        except LockHeldError:
            pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return winners, errors


def test_simultaneous_acquirers_get_the_lock_exactly_once(url: str) -> None:
    """Eight connections race for the lock 15 times: each time exactly one wins."""
    stores = [StateStore(url) for _ in range(8)]
    try:
        for round_ in range(15):
            now = T0 + timedelta(hours=round_)  # every earlier lease has expired
            winners, errors = race(stores, now)
            assert errors == [] and len(winners) == 1, (round_, winners, errors)
            holder = stores[0].lock_holder()
            assert holder is not None and holder[0] == f"racer:{winners[0]}"
    finally:
        for opened in stores:
            opened.close()


def open_at_once(url: str, count: int) -> tuple[list[StateStore], list[BaseException]]:
    """`count` stores open the same database at the same moment; returns those opened and errors."""
    barrier = threading.Barrier(count)
    opened: list[StateStore] = []
    errors: list[BaseException] = []

    def open_store() -> None:
        barrier.wait()
        try:
            opened.append(StateStore(url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return opened, errors


@pytest.mark.parametrize("backend", BACKENDS)
def test_processes_opening_a_fresh_database_at_once_all_get_the_schema(
    tmp_path: Path, backend: str
) -> None:
    """Eight stores open the same empty database at the same moment (a scheduler, a cron run and a
    manual run started together), ten times over: none fails and every one can use the ledger."""
    for attempt in range(10):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        opened, errors = open_at_once(make_url(backend, folder), 8)
        try:
            assert errors == [], (attempt, errors)
            assert [s.enqueue("P", [item(f"DT-{i}")], T0) for i, s in enumerate(opened)] == [1] * 8
        finally:
            for store in opened:
                store.close()


def test_a_whole_run_keeps_its_state_on_the_backend(url: str, tmp_path: Path) -> None:
    """A run queues, sends and records; a rerun sends nothing and finds the lock free."""
    config = settings(tmp_path).model_copy(
        update={"state": settings(tmp_path).state.model_copy(update={"url": url})}
    )
    sheet = MemorySpreadsheet(
        {
            "Réponses au formulaire 1": [
                FORM_HEADERS,
                answer("02/03/2026 09:00:00", "a@lyon.fr", "Un", "Ann"),
                answer("03/03/2026 09:00:00", "b@lyon.fr", "Deux", "Bob"),
            ],
            "Adhérents": [MEMBER_HEADERS, member("Ville de Lyon")],
        }
    )
    transport = RecordingTransport()
    store = StateStore(url)
    try:
        at = datetime(2026, 3, 20, 10, 0, tzinfo=UTC)
        first = Runner(config, spreadsheet=sheet, transport=transport, store=store).run(now=at)
        again = Runner(config, spreadsheet=sheet, transport=transport, store=store).run(now=at)
        assert first.outcome == "success" and first.counts["emails_sent"] == 2
        assert again.outcome == "idle" and len(transport.sent) == 2
        assert [r.outcome for r in store.last_runs()] == ["idle", "success"]
        assert store.lock_holder() is None
    finally:
        store.close()


def test_postgres_password_can_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """state.url without a password + PGPASSWORD works (the Kubernetes recipe); without, a clear error."""
    reason = pg.skip_reason()
    if reason:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    cluster = pg.shared_cluster()
    url = cluster.url(password=False)
    monkeypatch.setenv("PGPASSWORD", pg.PASSWORD)
    StateStore(url).close()
    monkeypatch.setenv("PGPASSWORD", "wrong")
    with pytest.raises(PipelineError, match="cannot be opened") as caught:
        StateStore(url)
    assert pg.PASSWORD not in str(caught.value)
