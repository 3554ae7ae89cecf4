"""A run whose write finds the rows moved (staff sorted the sheet) re-reads and re-plans once."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.adapters.state.store import StateStore
from pipeline.app.run import Runner
from pipeline.core.errors import SheetMovedError
from pipeline.core.model import WritePlan
from pipeline.core.people import person_id
from tests.support.builders import FORM_HEADERS, MEMBER_HEADERS, answer, member, settings
from tests.support.fakes import MemorySpreadsheet, RecordingTransport

PARIS = ZoneInfo("Europe/Paris")
INTEREST = datetime(2026, 3, 20, 10, 0, tzinfo=PARIS)
OPENING = datetime(2026, 4, 2, 9, 0, tzinfo=PARIS)
COHORT = "Promotion 2026"


class SortedDuringRun(MemorySpreadsheet):
    """Before each of the next `moves` writes to the cohort sheet, staff reverse its rows; the
    write then refuses, as the Google backend does when the key column no longer matches."""

    def __init__(self, tables: dict[str, list[list[str]]]) -> None:
        super().__init__(tables)
        self.moves = 0

    def write(self, plan: WritePlan) -> None:
        if self.moves and any(s.sheet == COHORT for s in plan.sheets):
            self.moves -= 1
            header, *rows = self.tables[COHORT]
            self.tables[COHORT] = [header, *reversed(rows)]
            raise SheetMovedError(f"sheet '{COHORT}' was reordered during the run")
        super().write(plan)


def world(tmp: Path) -> tuple[Runner, SortedDuringRun]:
    tmp.mkdir(exist_ok=True)
    answers = [
        answer(f"0{n + 1}/03/2026 09:00:00", f"p{n}@lyon.fr", f"Nom{n}", f"P{n}", first_term=term)
        for n, term in enumerate(["Oui", "Non", "Oui", "Non", "Oui"])
    ]
    sheet = SortedDuringRun(
        {
            "Réponses au formulaire 1": [FORM_HEADERS, *answers],
            "Adhérents": [MEMBER_HEADERS, member("Ville de Lyon")],
        }
    )
    config = settings(tmp)
    runner = Runner(
        config,
        spreadsheet=sheet,
        transport=RecordingTransport(),
        store=StateStore(config.state.url),
    )
    return runner, sheet


def cohort(sheet: MemorySpreadsheet) -> dict[str, dict[str, str]]:
    header, *rows = sheet.tables[COHORT]
    found = {}
    for row in rows:
        values = dict(zip(header, row, strict=False))
        assert values["ID"] == person_id(values["Courriel"]), values  # the row is one person's
        found[values["Courriel"]] = values
    return found


def test_one_move_is_replanned_and_written_on_the_right_rows(tmp_path: Path) -> None:
    """After a move, the run re-reads, re-plans and writes each status on its own person's row."""
    runner, sheet = world(tmp_path)
    runner.run(now=INTEREST)
    reference_runner, reference = world(tmp_path / "ref")
    reference_runner.run(now=INTEREST)
    reference_runner.run(now=OPENING)
    sheet.moves, reads = 1, sheet.reads
    report = runner.run(now=OPENING)
    assert report.outcome == "success" and sheet.moves == 0
    assert sheet.reads == reads + 2  # the run's read and the re-read
    statuses = {k: v["Statut"] for k, v in cohort(sheet).items()}
    assert statuses == {k: v["Statut"] for k, v in cohort(reference).items()}
    assert list(statuses.values()).count("Inscrit·e") == 3


def test_a_second_move_fails_the_run_with_the_error(tmp_path: Path) -> None:
    """Rows moved again during the re-plan: the run fails with SheetMovedError, cohort untouched."""
    runner, sheet = world(tmp_path)
    runner.run(now=INTEREST)
    before = {k: v["Statut"] for k, v in cohort(sheet).items()}
    sheet.moves = 2
    with pytest.raises(SheetMovedError, match="reordered during the run"):
        runner.run(now=OPENING)
    assert runner.report is not None and runner.report.outcome == "failed"
    assert {k: v["Statut"] for k, v in cohort(sheet).items()} == before
