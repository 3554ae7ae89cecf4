"""The stand-in's `values:append` finds the table to extend as Google does."""

from __future__ import annotations

from tests.support.sheets_standin import Spreadsheet

RAW = {"valueInputOption": ["RAW"]}


def sheet_with_gaps() -> Spreadsheet:
    spreadsheet = Spreadsheet("1standin", "Essai", first_sheet=None)
    spreadsheet.add_sheet("Feuille", [["ID", "Statut", "Rang"], ["p1", "", "1"], ["p2", "", ""]])
    return spreadsheet


def test_append_to_a1_extends_the_table_holding_a1() -> None:
    """A one-cell range names the table's start: rows land below it, in column A, gaps or not."""
    spreadsheet = sheet_with_gaps()
    for _ in range(3):
        reply = spreadsheet.values_append("Feuille!A1", RAW, {"values": [["p", "", "z"]]})
    assert reply["tableRange"] == "Feuille!A1:C5"
    assert reply["updates"]["updatedRange"] == "Feuille!A6:C6"


def test_append_to_the_sheet_extends_the_last_block() -> None:
    """A whole-sheet range extends the last block of connected cells (Google's recorded quirk)."""
    spreadsheet = Spreadsheet("1standin", "Essai", first_sheet=None)
    spreadsheet.add_sheet("Feuille", [["a", "", "c"]])
    reply = spreadsheet.values_append("Feuille", RAW, {"values": [["a", "", "c"]]})
    assert reply["tableRange"] == "Feuille!C1"
    assert reply["updates"]["updatedRange"] == "Feuille!C2:E2"
