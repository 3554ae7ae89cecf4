"""Crash safety, proven: SIGKILL a real `python -m pipeline run` at every named step in turn.

The hook `DIPLOMATES_CRASH_AT=<step>:<n>` (read by `Runner.checkpoint`, set only here) makes the
process SIGKILL itself the n-th time it reaches a step. For each crash point of two phases (the
interest phase, then the opening after staff edits), the harness kills a run there, reruns at
once (the kernel released the dead run's lock: no lease to wait out), and checks against a crash-free reference: every valid answer is in
the cohort sheet exactly once; every due message was sent exactly once (one file, one counted
attempt in the ledger); staff values are intact; the sheets equal the crash-free run's (after
random kills across several runs: a dry run finds nothing left to do). The outbox can say
whether a message was filed, so a kill between the hand-over and the ledger write is settled by
the rerun (`sent` or sent then) and nothing is ever left `incertain`; the SMTP scenario
(tests/e2e/test_smtp_scenario.py) covers the transport that cannot say, where it is.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from pipeline.adapters.state.schema import messages, runs
from pipeline.adapters.state.store import StateStore
from pipeline.app.run import Runner
from pipeline.config import load_settings
from tests.support.builders import answer
from tests.support.ops import (
    ANSWERS,
    COHORT,
    RESPONSES,
    Env,
    diplomates,
    edit_workbook,
    make_env,
    outbox_messages,
    rows_of,
    sheets_of,
)

PARIS = ZoneInfo("Europe/Paris")
AS_OF = {1: "2026-03-20T10:00", 2: "2026-04-02T09:00"}
VALID = {
    1: {"ana", "bruno", "chloe", "dan", "eve"},
    2: {"ana", "bruno", "chloe", "dan", "eve", "fanny"},
}
INNER_SEND = ("send.transport", "send.ledger")


def staff_edits(workbook: Workbook) -> None:
    """Between the phases: a note, a refusal, a staff column, and a new answer."""
    sheet = workbook[COHORT]
    header = [c.value for c in sheet[1]]
    col = {name: header.index(name) + 1 for name in header}
    sheet.cell(row=1, column=len(header) + 1, value="Suivi")
    for row in range(2, sheet.max_row + 1):
        address = sheet.cell(row=row, column=col["Courriel"]).value
        sheet.cell(row=row, column=len(header) + 1, value=f"suivi {address}")
        if address == "ana@lyon.fr":
            sheet.cell(row=row, column=col["Notes CUF"], value="appelée le 3/4")
        if address == "bruno@rennes.fr":
            sheet.cell(row=row, column=col["Décision CUF"], value="Refusé")
    workbook[RESPONSES].append(answer("01/04/2026 08:00:00", "fanny@lyon.fr", "Vidal", "Fanny"))


def run_in_process(env: Env, phase: int, on_step: Callable[[str], None] | None = None) -> None:
    settings = load_settings(env.config)
    now = datetime.fromisoformat(AS_OF[phase]).replace(tzinfo=PARIS)
    runner = Runner(settings, on_step=on_step)
    try:
        runner.run(now=now)
    finally:
        runner.store.close()


def crash_points(env: Env, phase: int, scratch: Path) -> list[tuple[str, int]]:
    """Every (step, n) a crash-free run of `phase` passes, from a recording of a copy."""
    copy = env.copy_to(scratch)
    seen: list[str] = []
    run_in_process(copy, phase, seen.append)
    return [(step, seen[: i + 1].count(step)) for i, step in enumerate(seen)]


@dataclass
class Ledger:
    rows: dict[tuple[str, str], tuple[str, int, str]]  # (person, template) -> state, attempts, id

    @classmethod
    def read(cls, env: Env) -> Ledger:
        store = StateStore(env.state_url())
        try:
            with store.engine.connect() as conn:
                query = select(
                    messages.c.person_id, messages.c.template, messages.c.state,
                    messages.c.attempts, messages.c.message_id,
                )  # fmt: skip
                found = {
                    (r.person_id, r.template): (r.state, r.attempts, r.message_id)
                    for r in conn.execute(query)
                }
        finally:
            store.close()
        return cls(found)


def run_outcomes(env: Env) -> list[str]:
    store = StateStore(env.state_url())
    try:
        with store.engine.connect() as conn:
            return [r.outcome for r in conn.execute(select(runs.c.outcome))]
    finally:
        store.close()


@dataclass
class Reference:
    """The crash-free result of a phase."""

    env: Env
    cohort: dict[str, dict[str, object]]
    review: set[tuple[object, object]]
    ledger: Ledger
    outbox: set[str]

    @classmethod
    def of(cls, env: Env) -> Reference:
        cohort = {str(r["ID"]): r for r in rows_of(env.book, COHORT)}
        review = {(r["Code motif"], r["Réf."]) for r in rows_of(env.book, "À vérifier")}
        return cls(env, cohort, review, Ledger.read(env), set(outbox_messages(env.outbox)))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Snapshots before each phase, the references after, and each phase's crash points."""
    base = tmp_path_factory.mktemp("crash")
    start = make_env(base / "s1", ANSWERS)
    points1 = crash_points(start, 1, base / "enum1")
    ref1_env = start.copy_to(base / "r1")
    run_in_process(ref1_env, 1)
    before2 = ref1_env.copy_to(base / "s2")
    edit_workbook(before2.book, staff_edits)
    points2 = crash_points(before2, 2, base / "enum2")
    ref2_env = before2.copy_to(base / "r2")
    run_in_process(ref2_env, 2)
    return {
        "snapshots": {1: start, 2: before2},
        "references": {1: Reference.of(ref1_env), 2: Reference.of(ref2_env)},
        "points": {1: points1, 2: points2},
        "base": base,
    }


def check_invariants(env: Env, phase: int, reference: Reference, strict: bool) -> int:
    """The properties of the module docstring; returns how many messages are incertain.

    `strict`: a single crash, so at most one message may be incertain and everything else must
    equal the crash-free reference exactly.
    """
    sheets = sheets_of(env.book, COHORT, "À vérifier")
    cohort = sheets[COHORT]
    ids = [str(r["ID"]) for r in cohort]
    assert len(ids) == len(set(ids)), "a person appears twice in the cohort sheet"
    local_parts = {str(r["Courriel"]).split("@")[0] for r in cohort}
    assert local_parts == VALID[phase], "a valid answer is missing or extra"
    ledger = Ledger.read(env)
    assert set(ledger.rows) == set(reference.ledger.rows), "a due message was lost or added"
    assert {state for state, _, _ in ledger.rows.values()} <= {"sent", "incertain"}
    assert all(attempts == 1 for _, attempts, _ in ledger.rows.values()), "a message was resent"
    files = set(outbox_messages(env.outbox))
    for state, _, message_id in ledger.rows.values():
        if state == "sent":
            assert f"{message_id}.eml" in files, "a message marked sent is not in the outbox"
    assert files <= reference.outbox, "an unexpected message left"
    assert not list(env.outbox.glob(".sending-*")) if env.outbox.exists() else True
    incertain = [k for k, (state, _, _) in ledger.rows.items() if state == "incertain"]
    incertain_people = {person for person, _ in incertain}
    review_rows = sheets["À vérifier"]
    review = {(r["Code motif"], r["Réf."]) for r in review_rows}
    flagged = {str(r["ID"]) for r in review_rows if r["Code motif"] == "envoi_incertain"}
    assert flagged == incertain_people, "an incertain send is not shown to staff"
    if phase == 2:
        by_mail = {str(r["Courriel"]): r for r in cohort}
        assert by_mail["ana@lyon.fr"]["Notes CUF"] == "appelée le 3/4"
        assert by_mail["bruno@rennes.fr"]["Décision CUF"] == "Refusé"
        for address, row in by_mail.items():
            if address.split("@")[0] in VALID[1]:  # fanny came after the staff edits
                assert row["Suivi"] == f"suivi {address}", address
    if strict:
        assert len(incertain) <= 1
        assert {motif for motif, _ in review - reference.review} <= {"envoi_incertain"}
        assert reference.review <= review
        for row in cohort:
            expected = reference.cohort[str(row["ID"])]
            for column, value in expected.items():
                if column == "Courriels envoyés" and str(row["ID"]) in incertain_people:
                    continue
                assert row.get(column) == value, (row["ID"], column)
    else:  # no reference to compare with: a further run must find nothing left to do
        args = ("run", "--config", str(env.config), "--as-of", AS_OF[phase], "--dry-run")
        settled = diplomates(*args)
        assert settled.returncode == 0 and "Would change:\n  nothing" in settled.stdout, (
            settled.stdout
        )
    return len(incertain)


def crash_then_rerun(world: dict[str, object], phase: int, step: str, n: int) -> tuple[int, float]:
    snapshots: dict[int, Env] = world["snapshots"]  # type: ignore[assignment]
    references: dict[int, Reference] = world["references"]  # type: ignore[assignment]
    base: Path = world["base"]  # type: ignore[assignment]
    tick = time.monotonic()
    env = snapshots[phase].copy_to(base / f"p{phase}-{step}-{n}")
    args = ("run", "--config", str(env.config), "--as-of", AS_OF[phase])
    killed = diplomates(*args, extra_env={"DIPLOMATES_CRASH_AT": f"{step}:{n}"})
    assert killed.returncode == -9, (step, n, killed.returncode, killed.stderr[-500:])
    rerun = diplomates(*args)  # at once: a killed run's lock died with its process
    assert rerun.returncode == 0, (step, n, rerun.stderr[-1000:])
    incertain = check_invariants(env, phase, references[phase], strict=True)
    assert incertain == 0, (step, n)
    outcomes = run_outcomes(env)
    assert "running" not in outcomes
    assert outcomes.count("crashed") == (0 if step == "release" else 1), (step, n, outcomes)
    return incertain, time.monotonic() - tick


@pytest.mark.parametrize("phase", [1, 2])
def test_a_kill_at_every_step_loses_and_doubles_nothing(
    world: dict[str, object], phase: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each crash point of the phase in turn: SIGKILL there, rerun, every invariant holds."""
    points: list[tuple[str, int]] = world["points"][phase]  # type: ignore[index]
    steps = {step for step, _ in points}
    assert steps >= {"recover", "read", "evaluate", "queue", "send", *INNER_SEND, "plan"}
    assert steps >= {"write", "record", "release"}
    references: dict[int, Reference] = world["references"]  # type: ignore[assignment]
    snapshots: dict[int, Env] = world["snapshots"]  # type: ignore[assignment]
    before = snapshots[phase].outbox
    filed_before = len(outbox_messages(before)) if before.exists() else 0
    sent_in_phase = len(references[phase].outbox) - filed_before
    sends = [step for step, _ in points].count("send.transport")
    assert sends == sent_in_phase > 0, "a kill before each message's hand-over"
    tick = time.monotonic()
    workers = max(2, os.cpu_count() or 2)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda p: crash_then_rerun(world, phase, *p), points))
    elapsed = time.monotonic() - tick
    with capsys.disabled():
        print(
            f"\n[crash harness] phase {phase}: {len(points)} crash points exercised, "
            f"{sum(i for i, _ in results)} incertain, "
            f"{elapsed:.1f} s wall ({max(t for _, t in results):.1f} s slowest point)"
        )


def random_history(world: dict[str, object], seed: int) -> tuple[int, int]:
    """Both phases with random kills until a run completes; returns (kills, runs)."""
    snapshots: dict[int, Env] = world["snapshots"]  # type: ignore[assignment]
    references: dict[int, Reference] = world["references"]  # type: ignore[assignment]
    points: dict[int, list[tuple[str, int]]] = world["points"]  # type: ignore[assignment]
    base: Path = world["base"]  # type: ignore[assignment]
    rng = random.Random(seed)
    env = snapshots[1].copy_to(base / f"random-{seed}")
    kills = runs_done = 0
    for phase in (1, 2):
        if phase == 2:
            edit_workbook(env.book, staff_edits)
        args = ("run", "--config", str(env.config), "--as-of", AS_OF[phase])
        for attempt in range(10):  # until a run completes (its crash point unreached)
            crash = rng.choice(points[phase]) if attempt < 8 and rng.random() < 0.8 else None
            extra = {"DIPLOMATES_CRASH_AT": f"{crash[0]}:{crash[1]}"} if crash else {}
            done = diplomates(*args, extra_env=extra)
            runs_done += 1
            if done.returncode == 0:
                break
            assert done.returncode == -9, done.stderr[-800:]
            kills += 1  # the next attempt starts at once: the dead run holds no lock
        check_invariants(env, phase, references[phase], strict=False)
    return kills, runs_done


def test_kills_at_random_points_across_many_runs(world: dict[str, object]) -> None:
    """Random kills (reruns too), each rerun at once, until each phase settles; nothing doubled."""
    seeds = (1, 2, 3, 4)
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        results = list(pool.map(lambda seed: random_history(world, seed), seeds))
    kills = sum(k for k, _ in results)
    assert kills >= 8, "the random schedule should have killed several runs"
    print(
        f"[crash harness] random: {kills} kills across {sum(r for _, r in results)} runs, "
        f"{len(seeds)} seeds"
    )
