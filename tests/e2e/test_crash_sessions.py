"""Crash safety after registration: SIGKILL a real run that sends session invitations and
issues certificates, at every step it passes in turn (`queue.document` is between writing a
PDF and queuing its email), then rerun: every session message and document exactly once, the
same PDFs under the same codes, the same `Certificats` as a crash-free run."""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from pipeline.adapters.state.store import StateStore, messages
from pipeline.app.run import Runner
from pipeline.config import load_settings
from pipeline.core.vocabulary import SESSION_HEADERS
from tests.support.builders import answer
from tests.support.ops import (
    Env,
    diplomates,
    edit_workbook,
    make_env,
    outbox_messages,
)

PARIS = ZoneInfo("Europe/Paris")
ANSWERS = [
    answer("02/03/2026 09:00:00", "ana@lyon.fr", "Bernard", "Ana"),
    answer("03/03/2026 09:00:00", "chloe@lyon.fr", "Faure", "Chloé", first_term="Non"),
    answer("06/03/2026 09:00:00", "eve@rennes.fr", "Roux", "Ève", "Rennes", department="35",
           role="Agent·e territorial·e (non élu·e)", first_term="Non"),
]  # fmt: skip
EXTRA = """
[certificates]
folder = "{tmp}/certificats"
require_staff_approval = false
issue_after = 2026-04-21T00:00:00+02:00
"""
PHASE = "2026-04-21T09:00"


def sessions(workbook: Workbook) -> None:
    sheet = workbook.create_sheet("Sessions")
    sheet.append(list(SESSION_HEADERS))
    sheet.append(["S1", "Ouverture", "Rencontre", "10/04/2026 09:30", "10/04/2026 12:30",
                  "Paris", "", ""])  # fmt: skip
    sheet.append(["S2", "Terrain", "Temps de terrain", "20/04/2026 09:30", "20/04/2026 17:00",
                  "Lyon", "", ""])  # fmt: skip


def marks_and_a_new_session(workbook: Workbook) -> None:
    sheet = workbook["Émargement"]
    header = [c.value for c in sheet[1]]
    for row in range(2, sheet.max_row + 1):
        for code in ("S1", "S2"):
            sheet.cell(row=row, column=header.index(code) + 1, value="Présent")
    workbook["Sessions"].append(["S3", "Suite", "Rencontre", "05/05/2026 09:30",
                                 "05/05/2026 12:30", "En ligne", "", ""])  # fmt: skip


def run(env: Env, as_of: str, on_step: object = None) -> None:
    runner = Runner(load_settings(env.config), on_step=on_step)  # type: ignore[arg-type]
    try:
        runner.run(now=datetime.fromisoformat(as_of).replace(tzinfo=PARIS))
    finally:
        runner.store.close()


def copy(env: Env, other: Path) -> Env:
    copied = env.copy_to(other)
    if (env.tmp / "certificats").exists():
        shutil.copytree(env.tmp / "certificats", other / "certificats")
    return copied


@dataclass
class Outcome:
    ledger: dict[tuple[str, str, str, str], tuple[str, int]]
    pdfs: set[str]
    outbox: set[str]

    @classmethod
    def of(cls, env: Env) -> Outcome:
        store = StateStore(env.state_url())
        try:
            with store.engine.connect() as conn:
                query = select(
                    messages.c.person_id, messages.c.template, messages.c.session,
                    messages.c.version, messages.c.state, messages.c.attempts,
                )  # fmt: skip
                ledger = {
                    (r.person_id, r.template, r.session, r.version): (r.state, r.attempts)
                    for r in conn.execute(query)
                }
        finally:
            store.close()
        folder = env.tmp / "certificats"
        pdfs = {p.name for p in folder.iterdir()} if folder.exists() else set()
        return cls(ledger, pdfs, set(outbox_messages(env.outbox)))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    base = tmp_path_factory.mktemp("crash-sessions")
    env = make_env(base / "start", ANSWERS, extra=EXTRA.format(tmp=base / "start"))
    run(env, "2026-04-02T09:00")
    edit_workbook(env.book, sessions)
    run(env, "2026-04-03T09:00")
    edit_workbook(env.book, marks_and_a_new_session)
    seen: list[str] = []
    run(copy(env, base / "enum"), PHASE, seen.append)
    reference = copy(env, base / "reference")
    run(reference, PHASE)
    points = [(step, seen[: i + 1].count(step)) for i, step in enumerate(seen)]
    return {"start": env, "reference": Outcome.of(reference), "points": points, "base": base}


def crash_then_rerun(world: dict[str, object], step: str, n: int) -> None:
    start: Env = world["start"]  # type: ignore[assignment]
    reference: Outcome = world["reference"]  # type: ignore[assignment]
    env = copy(start, world["base"] / f"{step}-{n}")  # type: ignore[operator]
    args = ("run", "--config", str(env.config), "--as-of", PHASE)
    killed = diplomates(*args, extra_env={"DIPLOMATES_CRASH_AT": f"{step}:{n}"})
    assert killed.returncode == -9, (step, n, killed.stderr[-500:])
    rerun = diplomates(*args)  # at once: a killed run's lock died with its process
    assert rerun.returncode == 0, (step, n, rerun.stderr[-1000:])
    outcome = Outcome.of(env)
    assert set(outcome.ledger) == set(reference.ledger), (step, n)
    assert all(state == "sent" and attempts == 1 for state, attempts in outcome.ledger.values())
    assert outcome.pdfs == reference.pdfs, (step, n)  # same codes, no second document
    assert outcome.outbox <= reference.outbox and len(outcome.outbox) == len(reference.outbox)


def test_a_kill_at_every_step_of_a_sessions_run(world: dict[str, object]) -> None:
    """Invitations to S3 and three certificates: a kill anywhere, a rerun, each exactly once."""
    points: list[tuple[str, int]] = world["points"]  # type: ignore[assignment]
    reference: Outcome = world["reference"]  # type: ignore[assignment]
    assert [p for p in points if p[0] == "queue.document"], "the run issues documents"
    templates = {key[1] for key in reference.ledger}
    assert {"invitation_session", "certificat", "attestation"} <= templates
    assert len(reference.pdfs) == 3
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        list(pool.map(lambda p: crash_then_rerun(world, *p), points))
