"""The Spreadsheet port's contract, run against every backend."""

from __future__ import annotations

from pipeline.core.model import CellWrite, SheetWrite, WritePlan
from tests.support.backends import Factory

SEED = {
    "Réponses au formulaire 1": [
        ["Horodateur", "Téléphone"],
        ["02/03/2026 10:00:00", "0612345678"],
    ],
    "Adhérents": [["Collectivité", "SIREN"], ["Lyon", "01053"]],
}


def plan(sheet: str, *cells: tuple[int, int, str | int], create: bool = False) -> WritePlan:
    writes = tuple(CellWrite(row=r, col=c, value=v) for r, c, v in cells)
    return WritePlan(sheets=(SheetWrite(sheet=sheet, create=create, cells=writes),))


def test_reads_named_sheets_as_strings(backend: Factory) -> None:
    """Named sheets come back as rows of strings; a missing sheet is absent, not an error."""
    sheet = backend(SEED)
    tables = sheet.read(["Adhérents", "Réponses au formulaire 1", "Nulle part"])
    assert set(tables) == {"Adhérents", "Réponses au formulaire 1"}
    assert tables["Adhérents"][1] == ["Lyon", "01053"]
    assert tables["Réponses au formulaire 1"][1][1] == "0612345678"


def test_creates_sheets_and_writes_cells(backend: Factory) -> None:
    """A plan creates a missing sheet and its cells read back as written (numbers as text)."""
    sheet = backend(SEED)
    sheet.read(["Adhérents"])
    sheet.write(
        plan("Promotion 2026", (1, 1, "ID"), (1, 2, "Rang"), (2, 1, "DT-1"), (2, 2, 3), create=True)
    )
    table = sheet.read(["Promotion 2026"])["Promotion 2026"]
    assert table[0][:2] == ["ID", "Rang"] and table[1][:2] == ["DT-1", "3"]


def test_formula_text_stays_text(backend: Factory) -> None:
    """A value starting with = + - @ is stored and read back as that text, never evaluated."""
    sheet = backend(SEED)
    sheet.read(["Adhérents"])
    values = ["=1+1", "+33 6 12", "-2", "@SUM(A1)"]
    sheet.write(plan("Adhérents", *[(3, i + 1, v) for i, v in enumerate(values)]))
    assert sheet.read(["Adhérents"])["Adhérents"][2][:4] == values


def test_empty_string_clears_a_cell(backend: Factory) -> None:
    """Writing "" empties a cell."""
    sheet = backend(SEED)
    sheet.read(["Adhérents"])
    sheet.write(plan("Adhérents", (2, 2, "")))
    row = sheet.read(["Adhérents"])["Adhérents"][1]
    assert row[0] == "Lyon" and (len(row) < 2 or row[1] == "")


def test_untouched_cells_survive_a_write(backend: Factory) -> None:
    """Cells outside the plan keep their values, in the written sheet and in the others."""
    sheet = backend(SEED)
    sheet.read(["Adhérents"])
    sheet.write(plan("Adhérents", (2, 3, "note")))
    tables = sheet.read(list(SEED))
    assert tables["Adhérents"][1][:3] == ["Lyon", "01053", "note"]
    assert tables["Réponses au formulaire 1"] == SEED["Réponses au formulaire 1"]
