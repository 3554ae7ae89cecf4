"""A run's named steps: lease heartbeat, clean stop on request, crashed runs, failure alerts."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Self
from zoneinfo import ZoneInfo

import pytest

import pipeline.app.delivery as delivery_module
from pipeline.adapters.mail.transport import OutboxTransport
from pipeline.adapters.state.store import StateStore
from pipeline.app.run import (
    BOUNDARY_STEPS,
    LOCK_LEASE,
    CrashHook,
    LeaseLostError,
    RunInterrupted,
    Runner,
)
from pipeline.config import AlertSettings, Settings
from pipeline.core.errors import LockHeldError, PipelineError, SheetError
from tests.support.builders import FORM_HEADERS, MEMBER_HEADERS, answer, member, settings
from tests.support.fakes import MemorySpreadsheet, RecordingTransport

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 3, 20, 10, 0, tzinfo=PARIS)
CANARY_NAMES = ("Zéphyrine", "Quasimodo-Canari")


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def tables(count: int = 3) -> dict[str, list[list[str]]]:
    answers = [
        answer(f"0{n + 1}/03/2026 09:00:00", f"p{n}@lyon.fr", CANARY_NAMES[n % 2], f"P{n}")
        for n in range(count)
    ]
    return {
        "Réponses au formulaire 1": [FORM_HEADERS, *answers],
        "Adhérents": [MEMBER_HEADERS, member("Ville de Lyon")],
    }


class World:
    def __init__(self, tmp: Path, alerts: str | None = None, url: str | None = None) -> None:
        base = settings(tmp)
        state = base.state.model_copy(update={"url": url or base.state.url})
        self.settings: Settings = base.model_copy(
            update={"alerts": AlertSettings(email=alerts), "state": state}
        )
        self.sheet = MemorySpreadsheet(tables())
        self.store = StateStore(self.settings.state.url)
        self.transport = RecordingTransport()
        self.clock = Clock()

    def runner(self, **kwargs: object) -> Runner:
        return Runner(
            self.settings, spreadsheet=self.sheet, transport=self.transport, store=self.store,
            clock=self.clock, **kwargs,  # type: ignore[arg-type]
        )  # fmt: skip

    def states(self) -> list[str]:
        return [
            e.state for e in sorted(self.store.ledger("Promotion 2026"), key=lambda e: e.person_id)
        ]


def test_a_run_passes_its_named_steps_in_order(tmp_path: Path) -> None:
    """recover, read, evaluate, queue, three sub-steps per message, plan, write, record, release."""
    world = World(tmp_path)
    steps: list[str] = []
    world.runner(on_step=steps.append).run(now=T0)
    per_message = ["send", "send.transport", "send.ledger"]
    assert steps == [
        "recover", "read", "evaluate", "queue", *per_message * 3,
        "plan", "write", "record", "release",
    ]  # fmt: skip


def test_messages_are_queued_by_slices_and_filed_by_chunks_once_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seven messages, slices of 2 to queue and chunks of 3 to file in an outbox: each queued and
    filed once, steps per chunk (send, a hand-over per message, send.ledger), all `sent`."""
    monkeypatch.setattr(delivery_module, "QUEUE_SLICE", 2)
    monkeypatch.setattr(delivery_module, "SEND_CHUNK", 3)
    world = World(tmp_path)
    world.sheet = MemorySpreadsheet(tables(7))
    world.transport = OutboxTransport(tmp_path / "outbox")  # type: ignore[assignment]
    steps: list[str] = []
    world.runner(on_step=steps.append).run(now=T0)
    sends = steps[steps.index("queue") + 1 : steps.index("plan")]
    chunk = ["send", *["send.transport"] * 3, "send.ledger"]
    assert sends == [*chunk, *chunk, "send", "send.transport", "send.ledger"]
    assert world.states() == ["sent"] * 7
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 7


def test_the_lease_is_renewed_at_each_step_through_a_long_run(tmp_path: Path) -> None:
    """Each step takes 4 min (3.6 x the lease in all): no rival ever gets the lock meanwhile
    (the file lock holds it; the lease row, which `status` shows, is renewed all along)."""
    world = World(tmp_path)
    rival = StateStore(world.settings.state.url)
    expiries: list[datetime] = []

    def slow_step(step: str) -> None:
        if step in BOUNDARY_STEPS:  # inner steps are within one send: instants
            world.clock.now += timedelta(minutes=4)
        holder = world.store.lock_holder()
        assert holder is not None
        expiries.append(holder[1])
        with pytest.raises(LockHeldError):
            rival.acquire_lock("rival", world.clock.now, LOCK_LEASE)

    report = world.runner(on_step=slow_step).run(now=T0)
    assert report.outcome == "success"
    assert world.clock.now - T0 > 3 * LOCK_LEASE
    assert expiries == sorted(expiries) and expiries[-1] > T0 + 3 * LOCK_LEASE
    assert world.store.lock_holder() is None  # released at the end


def test_a_run_that_lost_its_lease_stops_and_leaves_the_sheet_alone(tmp_path: Path) -> None:
    """Lease only (an in-memory state DB: no file to lock): a step outlives the lease, another
    run takes over: the next step raises, nothing written."""
    shared = f"sqlite:///file:lease-{tmp_path.name}?mode=memory&cache=shared&uri=true"
    world = World(tmp_path, url=shared)
    rival = StateStore(shared)
    assert world.store.lock_alive() is None  # neither flock nor PostgreSQL: the lease decides

    def stall(step: str) -> None:
        if step == "plan":
            world.clock.now += LOCK_LEASE + timedelta(minutes=1)
            rival.acquire_lock("rival", world.clock.now, LOCK_LEASE)

    with pytest.raises(LeaseLostError):
        world.runner(on_step=stall).run(now=T0)
    assert world.sheet.writes == 0  # not even a Journal row: the sheet is the rival's now
    holder = world.store.lock_holder()
    assert holder is not None and holder[0] == "rival"  # the loser did not release it
    assert world.store.last_runs(1)[0].outcome == "failed"


def test_a_stop_request_mid_send_finishes_that_message_then_ends_the_run(tmp_path: Path) -> None:
    """Stop between a send and its ledger write: that one recorded sent (Journal: Interrompu), rest wait."""
    world = World(tmp_path)
    stop = threading.Event()
    seen: list[str] = []

    def ask_stop(step: str) -> None:
        seen.append(step)
        if step == "send.ledger":
            stop.set()

    with pytest.raises(RunInterrupted) as caught:
        world.runner(on_step=ask_stop, stop=stop).run(now=T0)
    assert caught.value.step == "send" and caught.value.exit_code == 0
    assert world.states() == ["sent", "pending", "pending"] and len(world.transport.sent) == 1
    assert world.store.lock_holder() is None
    assert world.store.last_runs(1)[0].outcome == "interrupted"
    journal = world.sheet.tables["Journal"]  # the one write: a Journal row for the sent mail
    assert world.sheet.writes == 1 and "Promotion 2026" not in world.sheet.tables
    assert (
        journal[1][2] == "Interrompu" and journal[1][journal[0].index("Courriels envoyés")] == "1"
    )
    world.runner().run(now=T0 + timedelta(minutes=5))  # the next run carries on
    assert world.states() == ["sent"] * 3 and len(world.transport.sent) == 3


def test_runs_killed_earlier_are_marked_crashed(tmp_path: Path) -> None:
    """A run left `running` (its process was killed) is `crashed` once the next run holds the lock."""
    world = World(tmp_path)
    dead = world.store.start_run(T0 - timedelta(minutes=5), None)
    report = world.runner().run(now=T0)
    outcomes = {r.id: r.outcome for r in world.store.last_runs()}
    assert outcomes == {dead: "crashed", report.run_id: "success"}


class BrokenTransport(RecordingTransport):
    def __enter__(self) -> Self:
        raise OSError("mail relay down")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None


def alerts(transport: RecordingTransport) -> list[EmailMessage]:
    return [m for m in transport.sent if m["X-CUF-Alert"]]


def fail_run(world: World, at: datetime) -> None:
    world.clock.now = at
    with pytest.raises(SheetError):
        world.runner().run(now=at)


def test_a_failed_run_emails_one_short_alert_without_personal_data(tmp_path: Path) -> None:
    """Members sheet gone: one alert to alerts.email with run id and error, no participant data."""
    world = World(tmp_path, alerts="exploitation@cites-unies-france.org")
    world.runner().run(now=T0)  # a good run first: names and addresses are in the ledger
    del world.sheet.tables["Adhérents"]
    fail_run(world, T0 + timedelta(minutes=5))
    (alert,) = alerts(world.transport)
    run_id = world.store.last_runs(1)[0].id
    body = alert.get_content()
    assert alert["To"] == "exploitation@cites-unies-france.org"
    assert run_id in str(alert["Subject"]) and run_id in body
    assert "Adhérents" in body and "read" in body and alert["Auto-Submitted"] == "auto-generated"
    raw = alert.as_string()
    for canary in (*CANARY_NAMES, "p0@lyon.fr", "p1@lyon.fr", "Lyon"):
        assert canary not in raw


def test_alerts_go_once_a_day_while_failures_repeat(tmp_path: Path) -> None:
    """Second failure the same day: no alert; next day: one; after a success: one again."""
    world = World(tmp_path, alerts="exploitation@cites-unies-france.org")
    del world.sheet.tables["Adhérents"]
    fail_run(world, T0)
    fail_run(world, T0 + timedelta(minutes=5))
    assert len(alerts(world.transport)) == 1
    fail_run(world, T0 + timedelta(days=1))
    assert len(alerts(world.transport)) == 2
    world.sheet.tables["Adhérents"] = tables()["Adhérents"]
    world.clock.now = T0 + timedelta(days=1, minutes=5)
    world.runner().run(now=world.clock.now)
    del world.sheet.tables["Adhérents"]
    fail_run(world, T0 + timedelta(days=1, minutes=10))
    assert len(alerts(world.transport)) == 3


def test_an_alert_that_cannot_be_sent_does_not_hide_the_error(tmp_path: Path) -> None:
    """The transport is down too: the run still fails with its own SheetError."""
    world = World(tmp_path, alerts="exploitation@cites-unies-france.org")
    world.transport = BrokenTransport()
    del world.sheet.tables["Adhérents"]
    fail_run(world, T0)
    assert world.store.last_runs(1)[0].outcome == "failed"


def test_no_alert_without_alerts_email(tmp_path: Path) -> None:
    """alerts.email unset: a failed run sends nothing."""
    world = World(tmp_path)
    del world.sheet.tables["Adhérents"]
    fail_run(world, T0)
    assert world.transport.sent == []


@pytest.mark.parametrize(
    ("spec", "step", "count"),
    [("send:2", "send", 2), ("write:1:KILL", "write", 1), ("send.ledger:3:TERM", "send.ledger", 3)],
)
def test_the_crash_hook_reads_step_and_count(spec: str, step: str, count: int) -> None:
    """DIPLOMATES_CRASH_AT=<step>:<n>[:KILL|TERM] names a step and its n-th passage."""
    hook = CrashHook(spec)
    assert (hook.step, hook.count) == (step, count)
    hook.reached("read", None)  # another step: nothing happens
    assert hook.seen == 0


@pytest.mark.parametrize("spec", ["nowhere:1", "send", "send:x", "send:1:HUP"])
def test_a_malformed_crash_hook_is_refused(spec: str) -> None:
    """A typo in the harness's variable fails loudly instead of silently never crashing."""
    with pytest.raises(PipelineError, match="DIPLOMATES_CRASH_AT"):
        CrashHook(spec)
