"""Applying a planned `SheetWrite` to a table of strings, as a backend would."""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.core.model import CellWrite, SheetWrite
from pipeline.core.sheetplan import as_text


def put(table: list[list[str]], cells: Iterable[CellWrite]) -> None:
    """Write the cells into `table` in place, growing rows and columns as needed."""
    for cell in cells:
        while len(table) < cell.row:
            table.append([])
        row = table[cell.row - 1]
        while len(row) < cell.col:
            row.append("")
        row[cell.col - 1] = as_text(cell.value)  # a date-time as a workbook reads it back


def apply(table: list[list[str]], change: SheetWrite) -> list[list[str]]:
    """A copy of `table` with the change's cells written."""
    out = [list(r) for r in table]
    put(out, change.cells)
    return out
