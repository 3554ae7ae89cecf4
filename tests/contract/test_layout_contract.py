"""Sheet layouts on every backend: applied with the run's one write, kept, replaced, never noisy.

A run formats its sheets when it creates them or when their layout changed (columns moved);
an idle rerun writes nothing, formatting included. What each backend really stores is checked
in its own terms: the .xlsx through openpyxl, Google through what the stand-in received.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from pipeline.adapters.sheets import Spreadsheet
from pipeline.adapters.state.store import StateStore
from pipeline.adapters.xlsx.layout import marks_of
from pipeline.adapters.xlsx.workbook import LocalWorkbook
from pipeline.app.run import Runner
from pipeline.core.model import Decision
from pipeline.core.vocabulary import COHORT_HEADERS
from tests.support.backends import Factory
from tests.support.backends import _local as local_factory
from tests.support.builders import FORM_HEADERS, MEMBER_HEADERS, answer, member, settings
from tests.support.fakes import MemorySpreadsheet, RecordingTransport
from tests.support.google_harness import GoogleSheetsHarness, google_harness
from tests.support.sheets_standin import Sheet
from tests.support.sheets_standin.cells import raw_cell

PARIS = ZoneInfo("Europe/Paris")
OPENING = datetime(2026, 4, 2, 9, 0, tzinfo=PARIS)
COHORT, REVIEW, DASHBOARD, JOURNAL = "Promotion 2026", "À vérifier", "Tableau de bord", "Journal"
OUTPUTS = (COHORT, REVIEW, DASHBOARD, JOURNAL)
WRITE_APIS = ("spreadsheets.batchUpdate", "values.batchUpdate")
DECISION_COL = COHORT_HEADERS.index("Décision CUF") + 1  # O
STATUS_COL = COHORT_HEADERS.index("Statut") + 1  # M
ELIGIBILITY_COL = COHORT_HEADERS.index("Éligibilité") + 1  # L

SEED = {
    "Réponses au formulaire 1": [
        FORM_HEADERS,
        answer("02/03/2026 09:00:00", "ana@lyon.fr", "Bernard", "Ana"),
        answer("03/03/2026 09:00:00", "bob@rennes.fr", "Morel", "Bob", "Rennes", department="35"),
        answer("04/03/2026 09:00:00", "cy@nulle.fr", "Faure", "Cy", "Trifouilly", kind="Autre"),
        answer("05/03/2026 09:00:00", "pas-une-adresse", "Petit", "Gus"),
    ],
    "Adhérents": [MEMBER_HEADERS, member("Ville de Lyon"), member("Rennes", dep="35")],
}


class Desk:
    """One backend under test, the runs made on it and what staff do to it by hand."""

    def __init__(self, factory: Factory, tmp: Path) -> None:
        self.factory = factory
        self.sheet: Spreadsheet = factory(SEED)
        self.settings = settings(tmp, capacity=1)
        self.store = StateStore(self.settings.state.url)
        self.transport = RecordingTransport()

    def run(self, now: datetime) -> Any:
        runner = Runner(
            self.settings, spreadsheet=self.sheet, transport=self.transport, store=self.store,
            clock=lambda: now,
        )  # fmt: skip
        return runner.run(now=now)

    @property
    def google(self) -> GoogleSheetsHarness | None:
        return self.factory if isinstance(self.factory, GoogleSheetsHarness) else None

    def stand_in_sheet(self, name: str) -> Sheet:
        assert self.google is not None
        found = self.google.standin.spreadsheets[self.google.spreadsheet_id].sheet(name)
        assert found is not None
        return found

    def fingerprint(self) -> object:
        """Changes whenever the backend is written to."""
        if isinstance(self.sheet, LocalWorkbook):
            return self.sheet.path.stat().st_mtime_ns
        if isinstance(self.sheet, MemorySpreadsheet):
            return self.sheet.writes
        assert self.google is not None
        calls = self.google.standin.calls(spreadsheet_id=self.google.spreadsheet_id)
        return sum(1 for call in calls if call.api in WRITE_APIS)

    def table(self, name: str) -> list[list[str]]:
        return [list(row) for row in self.sheet.read([name])[name]]

    def type_in(self, name: str, row: int, col: int, value: str) -> None:
        """A staff member types a value in a cell."""
        if isinstance(self.sheet, MemorySpreadsheet):
            line = self.sheet.tables[name][row - 1]
            line += [""] * (col - len(line))
            line[col - 1] = value
        elif isinstance(self.sheet, LocalWorkbook):
            workbook = load_workbook(self.sheet.path)
            workbook[name].cell(row=row, column=col).value = value
            workbook.save(self.sheet.path)
        else:
            self.stand_in_sheet(name).put(row, col, raw_cell(value))

    def insert_column(self, name: str, col: int, title: str) -> None:
        """A staff member inserts a column of their own at `col` and titles it."""
        if isinstance(self.sheet, MemorySpreadsheet):
            for number, line in enumerate(self.sheet.tables[name]):
                line.insert(col - 1, title if number == 0 else "")
        elif isinstance(self.sheet, LocalWorkbook):
            workbook = load_workbook(self.sheet.path)
            workbook[name].insert_cols(col)
            workbook[name].cell(row=1, column=col).value = title
            workbook.save(self.sheet.path)
        else:
            sheet = self.stand_in_sheet(name)
            assert self.google is not None
            spreadsheet = self.google.standin.spreadsheets[self.google.spreadsheet_id]
            spreadsheet._do_insertDimension(
                {
                    "range": {
                        "sheetId": sheet.sheet_id,
                        "dimension": "COLUMNS",
                        "startIndex": col - 1,
                        "endIndex": col,
                    }
                }
            )
            sheet.put(1, col, raw_cell(title))


@pytest.fixture
def desk(backend: Factory, tmp_path: Path) -> Desk:
    """Each backend in turn (memory, local workbook, Google on the stand-in)."""
    return Desk(backend, tmp_path)


@pytest.fixture
def local_desk(tmp_path: Path) -> Desk:
    return Desk(local_factory(tmp_path), tmp_path)


@pytest.fixture
def google_desk(tmp_path: Path) -> Iterator[Desk]:
    with google_harness(tmp_path) as harness:
        yield Desk(harness, tmp_path)


def row_of(table: list[list[str]], email: str) -> int:
    col = table[0].index("Courriel")
    return next(
        n for n, line in enumerate(table, start=1) if len(line) > col and line[col] == email
    )


# --- every backend -------------------------------------------------------------------------------


def test_a_first_run_formats_every_output_sheet_and_an_idle_rerun_writes_nothing(
    desk: Desk,
) -> None:
    """The first run stores a layout mark on each output sheet; the next run writes nothing."""
    first = desk.run(OPENING)
    assert first.wrote and {w.sheet for w in first.plan.sheets if w.layout} == set(OUTPUTS)
    desk.sheet.read(list(OUTPUTS))
    marks = desk.sheet.layout_marks()
    assert {name: marks.get(name) for name in OUTPUTS} == {
        w.sheet: w.layout.mark for w in first.plan.sheets if w.layout
    }
    before = desk.fingerprint()
    again = desk.run(OPENING + timedelta(minutes=5))
    assert again.outcome == "idle" and again.plan.empty
    assert desk.fingerprint() == before


def test_staff_values_survive_a_moved_column_and_its_new_layout(desk: Desk) -> None:
    """Staff decide, note and insert a column: the cohort layout is applied again, the staff
    values stay where they were typed, and the run after that is idle."""
    first = desk.run(OPENING)
    table = desk.table(COHORT)
    ana = row_of(table, "ana@lyon.fr")
    desk.type_in(COHORT, ana, DECISION_COL, Decision.REFUSE.value)
    desk.type_in(COHORT, ana, DECISION_COL + 1, "appelée le 3/4")
    desk.insert_column(COHORT, STATUS_COL, "Suivi")
    second = desk.run(OPENING + timedelta(hours=1))
    relaid = {w.sheet: w.layout for w in second.plan.sheets if w.layout is not None}
    assert list(relaid) == [COHORT]
    old = next(w.layout for w in first.plan.sheets if w.sheet == COHORT)
    assert old is not None and relaid[COHORT].mark != old.mark
    assert relaid[COHORT].dropdowns[0].col == DECISION_COL + 1  # moved right by the new column
    table = desk.table(COHORT)
    row = dict(zip(table[0], table[row_of(table, "ana@lyon.fr") - 1], strict=False))
    assert (row["Décision CUF"], row["Notes CUF"], row["Statut"]) == (
        "Refusé", "appelée le 3/4", "Refusé·e",
    )  # fmt: skip
    before = desk.fingerprint()
    assert desk.run(OPENING + timedelta(hours=2)).plan.empty and desk.fingerprint() == before


# --- the local workbook, as openpyxl reads it ----------------------------------------------------


def test_the_workbook_shows_the_layout(local_desk: Desk) -> None:
    """Frozen panes, filter, decision dropdown, colours, notes, warnings and dashboard charts."""
    desk = local_desk
    assert isinstance(desk.sheet, LocalWorkbook)
    desk.run(OPENING)
    workbook = load_workbook(desk.sheet.path)
    cohort = workbook[COHORT]
    assert cohort.freeze_panes == "D2" and cohort.auto_filter.ref == "A1:T1000"
    validations = {dv.type: dv for dv in cohort.data_validations.dataValidation}
    dropdown = validations["list"]
    assert str(dropdown.sqref) == "O2:O1000" and dropdown.errorStyle == "stop"
    assert dropdown.formula1 == '"Accepté,Refusé,Liste d\'attente,Désisté"'
    assert dropdown.prompt.startswith("Accepté : place confirmée")
    warning = validations["textLength"]
    assert warning.errorStyle == "warning" and "O2" not in str(warning.sqref)
    assert {"A1:T1", "A2:N1000", "Q2:T1000"} == {str(r) for r in warning.sqref.ranges}
    colours = {str(cf.sqref): cf.rules for cf in cohort.conditional_formatting}
    assert set(colours) == {"L2:L1000", "M2:M1000"}
    inscrit = next(r for r in colours["M2:M1000"] if r.formula == ['"Inscrit·e"'])
    assert inscrit.dxf.fill.fgColor.rgb == "FF276B2C"
    assert (
        cohort["A1"].fill.fgColor.rgb == "FFD9E2F3" and cohort["O1"].fill.fgColor.rgb == "FFFFE699"
    )
    assert "Rempli automatiquement" in cohort["A1"].comment.text
    assert "équipe CUF" in cohort["O1"].comment.text
    assert cohort.column_dimensions["T"].width > cohort.column_dimensions["N"].width
    board = workbook[DASHBOARD]
    kinds = sorted(type(chart).__name__ for chart in board._charts)
    assert kinds == ["BarChart", "PieChart"]
    assert set(marks_of(workbook)) == set(OUTPUTS)


def test_a_new_layout_replaces_the_old_one_in_the_workbook(local_desk: Desk) -> None:
    """Applied again after a column moved: one dropdown, on the new column; as many colour rules
    and warnings as before; a validation staff put on their own column is kept."""
    desk = local_desk
    assert isinstance(desk.sheet, LocalWorkbook)
    desk.run(OPENING)
    path = desk.sheet.path
    desk.insert_column(COHORT, STATUS_COL, "Suivi")
    workbook = load_workbook(path)
    from openpyxl.worksheet.datavalidation import DataValidation

    theirs = DataValidation(type="list", formula1='"oui,non"')
    theirs.add("M2:M50")
    workbook[COHORT].add_data_validation(theirs)
    workbook.save(path)
    desk.run(OPENING + timedelta(hours=1))
    cohort = load_workbook(path)[COHORT]
    lists = {str(dv.sqref): dv.formula1 for dv in cohort.data_validations.dataValidation}
    assert lists["P2:P1000"].startswith('"Accepté') and lists["M2:M50"] == '"oui,non"'
    assert len(cohort.data_validations.dataValidation) == 3  # ours (list, warning) and theirs
    assert {str(cf.sqref) for cf in cohort.conditional_formatting} == {"L2:L1000", "N2:N1000"}
    assert cohort.freeze_panes == "D2" and cohort.auto_filter.ref == "A1:U1000"


# --- Google Sheets, as the stand-in received it --------------------------------------------------


def batch_requests(desk: Desk, since: int = 0) -> list[dict[str, Any]]:
    assert desk.google is not None
    calls = desk.google.standin.calls("spreadsheets.batchUpdate")[since:]
    return [request for call in calls for request in json.loads(call.body)["requests"]]


def test_google_gets_the_layout_within_the_one_write_batch(google_desk: Desk) -> None:
    """One spreadsheets.batchUpdate carries sheets and layouts, one values:batchUpdate the
    cells; the stand-in then holds the frozen panes, filter, dropdown, colours, protections,
    charts and marks."""
    desk = google_desk
    desk.run(OPENING)
    assert desk.google is not None
    apis = [c.api for c in desk.google.standin.calls(spreadsheet_id=desk.google.spreadsheet_id)]
    assert apis.count("spreadsheets.batchUpdate") == 1 and apis.count("values.batchUpdate") == 1
    kinds = {next(iter(request)) for request in batch_requests(desk)}
    assert kinds >= {
        "addSheet", "updateSheetProperties", "setBasicFilter", "updateDimensionProperties",
        "updateCells", "repeatCell", "setDataValidation", "addConditionalFormatRule",
        "addProtectedRange", "addChart", "createDeveloperMetadata",
    }  # fmt: skip
    cohort = desk.stand_in_sheet(COHORT)
    grid = cohort.properties["gridProperties"]
    assert (grid["frozenRowCount"], grid["frozenColumnCount"]) == (1, 3)
    decor = cohort.decor
    assert decor.basic_filter is not None
    assert decor.basic_filter["range"]["endColumnIndex"] == len(COHORT_HEADERS)
    rule = decor.validations[(2, DECISION_COL)]
    assert rule["condition"] == {
        "type": "ONE_OF_LIST",
        "values": [{"userEnteredValue": d.value} for d in Decision],
    }
    assert rule["strict"] and rule["inputMessage"].startswith("Décision de l'équipe CUF")
    assert (1000, DECISION_COL) in decor.validations and (2, STATUS_COL) not in decor.validations
    columns = {r["ranges"][0]["startColumnIndex"] + 1 for r in decor.conditional_formats}
    assert columns == {STATUS_COL, ELIGIBILITY_COL}
    assert all(p["warningOnly"] for p in decor.protected_ranges)
    assert len(decor.protected_ranges) == 3
    assert "Rempli automatiquement" in decor.notes[(1, 1)]
    assert decor.formats[(1, DECISION_COL)]["backgroundColorStyle"] == {
        "rgbColor": {"red": 1.0, "green": 0.902, "blue": 0.6},
    }  # fmt: skip
    assert decor.columns[len(COHORT_HEADERS)]["pixelSize"] > decor.columns[1]["pixelSize"]
    board = desk.stand_in_sheet(DASHBOARD).decor
    assert sorted(next(k for k in c["spec"] if k != "title") for c in board.charts) == [
        "basicChart", "pieChart",
    ]  # fmt: skip
    for name in OUTPUTS:
        (mark,) = desk.stand_in_sheet(name).decor.developer_metadata
        assert mark["metadataKey"] == "diplomates.layout"


def test_google_replaces_the_old_layout_and_keeps_what_staff_added(google_desk: Desk) -> None:
    """After a column move: the old protections, colour rules and dropdown are replaced, not
    doubled; the mark is updated in place; a colour rule staff put on their column stays."""
    desk = google_desk
    desk.run(OPENING)
    cohort = desk.stand_in_sheet(COHORT)
    counts = (len(cohort.decor.conditional_formats), len(cohort.decor.protected_ranges))
    first_mark = dict(cohort.decor.developer_metadata[0])
    desk.insert_column(COHORT, STATUS_COL, "Suivi")
    theirs = {
        "ranges": [{"sheetId": cohort.sheet_id, "startColumnIndex": STATUS_COL - 1,
                    "endColumnIndex": STATUS_COL}],
        "booleanRule": {"condition": {"type": "NOT_BLANK"}, "format": {"textFormat": {"bold": True}}},
    }  # fmt: skip
    cohort.decor.conditional_formats.append(theirs)
    assert desk.google is not None
    done = len(desk.google.standin.calls("spreadsheets.batchUpdate"))
    desk.run(OPENING + timedelta(hours=1))
    kinds = [next(iter(r)) for r in batch_requests(desk, done)]
    assert kinds.count("deleteProtectedRange") == counts[1]
    assert "createDeveloperMetadata" not in kinds and "updateDeveloperMetadata" in kinds
    decor = cohort.decor
    assert len(decor.conditional_formats) == counts[0] + 1  # ours again, and theirs
    # The staff column splits the header and the pipeline data in two runs each: 2 + 3 ranges.
    assert len(decor.protected_ranges) == 5 and counts[1] == 3
    assert theirs in decor.conditional_formats
    assert (2, DECISION_COL + 1) in decor.validations and (2, DECISION_COL) not in decor.validations
    (mark,) = decor.developer_metadata
    assert mark["metadataId"] == first_mark["metadataId"]
    assert mark["metadataValue"] != first_mark["metadataValue"]
