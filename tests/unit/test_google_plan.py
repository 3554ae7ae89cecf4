"""The Google backend's request planning, pure: A1 ranges, rectangles, payload splits, new sheets."""

from __future__ import annotations

import json

import pytest

from pipeline.adapters.google.plan import (
    NEW_SHEET_COLUMNS,
    NEW_SHEET_ROWS,
    Metadata,
    SheetInfo,
    a1,
    chunks,
    column_letters,
    compact,
    merge,
    new_sheet_ids,
    quote,
    structure_requests,
    value_ranges,
)
from pipeline.core.model import CellWrite, SheetLayout, SheetWrite

LIMIT = 2_000_000


def cells(*coordinates: tuple[int, int]) -> tuple[CellWrite, ...]:
    return tuple(CellWrite(row, col, f"r{row}c{col}") for row, col in coordinates)


def meta(**sheets: SheetInfo) -> Metadata:
    return Metadata(dict(sheets), "Europe/Paris")


def test_a1_notation_matches_the_sheets_columns() -> None:
    """Columns 1, 26, 27, 702, 703 are A, Z, AA, ZZ, AAA; rows and columns start at 1."""
    assert [column_letters(c) for c in (1, 26, 27, 702, 703)] == ["A", "Z", "AA", "ZZ", "AAA"]
    assert a1(3, 28) == "AB3"
    with pytest.raises(ValueError, match="row numbers start at 1"):
        a1(0, 1)
    with pytest.raises(ValueError, match="column numbers start at 1"):
        column_letters(0)


def test_sheet_titles_are_always_quoted_with_quotes_doubled() -> None:
    """`L'équipe` becomes `'L''équipe'`, so any title is a valid range prefix."""
    assert quote("L'équipe") == "'L''équipe'"
    assert quote("Promotion 2026") == "'Promotion 2026'"


def test_contiguous_cells_become_one_rectangle() -> None:
    """A 2 x 2 block is one ValueRange `A1:B2`; a lone cell elsewhere is a range of its own."""
    ranges = value_ranges("S", cells((1, 1), (1, 2), (2, 1), (2, 2), (5, 4)), LIMIT)
    assert ranges == [
        {"range": "'S'!A1:B2", "values": [["r1c1", "r1c2"], ["r2c1", "r2c2"]]},
        {"range": "'S'!D5", "values": [["r5c4"]]},
    ]


def test_a_later_write_of_the_same_cell_wins() -> None:
    """Two writes of B2 in one sheet write: the second value is sent."""
    twice = (CellWrite(2, 2, "old"), CellWrite(2, 2, "new"))
    assert value_ranges("S", twice, LIMIT) == [{"range": "'S'!B2", "values": [["new"]]}]


def test_a_block_past_the_payload_limit_is_split_by_rows() -> None:
    """A block heavier than half the limit is cut into row ranges that cover it exactly once."""
    block = tuple(CellWrite(row, 1, "x" * 100) for row in range(1, 41))
    ranges = value_ranges("S", block, limit=1_000)
    assert len(ranges) > 1
    rows = [value for r in ranges for value in r["values"]]
    assert rows == [["x" * 100]] * 40
    assert all(len(compact(r)) <= 1_000 // 2 or len(r["values"]) == 1 for r in ranges)


def test_value_ranges_are_packed_into_bodies_under_the_limit() -> None:
    """Each body stays under the limit; all ranges are sent once, in order; one body if it fits."""
    data = [{"range": f"'S'!A{i}", "values": [["y" * 50]]} for i in range(1, 31)]
    parts = chunks(data, limit=500)
    assert [r for part in parts for r in part] == data
    assert all(sum(len(compact(r)) + 1 for r in part) <= 500 for part in parts)
    assert chunks(data, limit=LIMIT) == [data]


def test_compact_json_keeps_accents_unescaped() -> None:
    """The body is UTF-8 JSON without spaces or \\u escapes (payload size is measured on it)."""
    assert compact({"a": ["é", 1]}) == '{"a":["é",1]}'.encode()
    assert json.loads(compact({"a": ["é", 1]})) == {"a": ["é", 1]}


def test_writes_to_one_sheet_are_merged_and_empty_ones_dropped() -> None:
    """Two writes of one sheet become one (cells and expected keys kept); an empty write goes."""
    first = SheetWrite("S", cells=cells((2, 1)), key_col=1, expected_keys=((2, "A"),))
    second = SheetWrite("S", create=True, cells=cells((3, 1)), expected_keys=((3, "B"),))
    merged = merge([first, SheetWrite("Empty"), second])
    assert merged == [
        SheetWrite(
            "S", create=True, cells=first.cells + second.cells, key_col=1,
            expected_keys=((2, "A"), (3, "B")),
        )
    ]  # fmt: skip


def test_a_missing_sheet_is_added_at_least_googles_default_size() -> None:
    """addSheet for a sheet not in the metadata: 1000 x 26 unless the cells need more."""
    requests = structure_requests([SheetWrite("New", create=True, cells=cells((1, 30)))], meta())
    assert requests == [
        {
            "addSheet": {
                "properties": {
                    "title": "New",
                    "gridProperties": {"rowCount": NEW_SHEET_ROWS, "columnCount": 30},
                }
            }
        }
    ]
    assert NEW_SHEET_COLUMNS == 26


def test_a_grid_too_small_is_grown_by_the_missing_rows_and_columns() -> None:
    """appendDimension by exactly what the cells need past the current grid; none when it fits."""
    grid = meta(S=SheetInfo(sheet_id=7, rows=10, columns=3))
    grow = structure_requests([SheetWrite("S", cells=cells((12, 5)))], grid)
    assert grow == [
        {"appendDimension": {"sheetId": 7, "dimension": "ROWS", "length": 2}},
        {"appendDimension": {"sheetId": 7, "dimension": "COLUMNS", "length": 2}},
    ]
    assert structure_requests([SheetWrite("S", cells=cells((10, 3)))], grid) == []


def test_new_sheet_ids_are_stable_and_never_taken() -> None:
    """An id for each new sheet with a layout: the same for a retried batch, never one in use."""
    layout = SheetLayout(rows=10, width=3)
    wanted = [SheetWrite("Tableau de bord", create=True, layout=layout)]
    first = new_sheet_ids(wanted, meta())
    assert first == new_sheet_ids(wanted, meta())
    taken = first["Tableau de bord"]
    other = new_sheet_ids(wanted, meta(Old=SheetInfo(sheet_id=taken, rows=1, columns=1)))
    assert other["Tableau de bord"] != taken
    assert new_sheet_ids([SheetWrite("No layout", create=True)], meta()) == {}
