"""Applying a planned `SheetWrite` to a table of strings, as a backend would."""

from __future__ import annotations

from pipeline.core.model import SheetWrite


def apply(table: list[list[str]], change: SheetWrite) -> list[list[str]]:
    out = [list(r) for r in table]
    for cell in change.cells:
        while len(out) < cell.row:
            out.append([])
        row = out[cell.row - 1]
        while len(row) < cell.col:
            row.append("")
        row[cell.col - 1] = str(cell.value)
    return out
