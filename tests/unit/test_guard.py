"""The sanity guard's shares: many people vanishing or changing eligibility stop the run."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.adapters.state.store import StateStore
from pipeline.app.run import Runner
from pipeline.core.errors import InputsRefusedError
from tests.support.builders import FORM_HEADERS, MEMBER_HEADERS, answer, member, settings
from tests.support.fakes import MemorySpreadsheet, RecordingTransport

PARIS = ZoneInfo("Europe/Paris")
OPENING = datetime(2026, 4, 2, 9, 0, tzinfo=PARIS)
FORM, MEMBERS = "Réponses au formulaire 1", "Adhérents"


def world(tmp: Path, people: int = 25) -> tuple[Runner, MemorySpreadsheet, RecordingTransport]:
    answers = [
        answer(f"{n % 28 + 1:02d}/03/2026 09:00:00", f"p{n}@lyon.fr", f"Nom{n}", f"P{n}")
        for n in range(people)
    ]
    sheet = MemorySpreadsheet(
        {FORM: [FORM_HEADERS, *answers], MEMBERS: [MEMBER_HEADERS, member("Ville de Lyon")]}
    )
    config = settings(tmp, capacity=10)
    transport = RecordingTransport()
    runner = Runner(
        config, spreadsheet=sheet, transport=transport, store=StateStore(config.state.url)
    )
    return runner, sheet, transport


def test_a_fifth_of_the_cohort_vanishing_is_refused_then_forced(tmp_path: Path) -> None:
    """6 of 25 answers gone (24 % > 20 %): refused, nothing written or sent; --force goes on."""
    runner, sheet, transport = world(tmp_path)
    runner.run(now=OPENING)
    sheet.tables[FORM] = sheet.tables[FORM][:-6]
    before, sent = [list(r) for r in sheet.tables["Promotion 2026"]], len(transport.sent)
    with pytest.raises(InputsRefusedError, match="6 of the 25 people"):
        runner.run(now=OPENING + timedelta(minutes=5))
    assert sheet.tables["Promotion 2026"] == before and len(transport.sent) == sent
    report = runner.run(now=OPENING + timedelta(minutes=10), force=True)
    assert report.outcome == "success" and report.guarded


def test_a_few_vanishing_is_an_ordinary_day(tmp_path: Path) -> None:
    """5 of 25 (20 %, not more): the run goes on."""
    runner, sheet, _ = world(tmp_path)
    runner.run(now=OPENING)
    sheet.tables[FORM] = sheet.tables[FORM][:-5]
    assert runner.run(now=OPENING + timedelta(minutes=5)).guarded == []


def test_many_eligibility_changes_are_refused(tmp_path: Path) -> None:
    """The member renamed so nobody matches: every Éligibilité would change: refused."""
    runner, sheet, _ = world(tmp_path)
    runner.run(now=OPENING)
    sheet.tables[MEMBERS] = [MEMBER_HEADERS, member("Trifouilly-les-Oies", dep="01")]
    with pytest.raises(InputsRefusedError, match="Éligibilité of 25 of 25"):
        runner.run(now=OPENING + timedelta(minutes=5))
