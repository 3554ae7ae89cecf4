"""Planning the Sheets calls of a write, pure: no I/O, nothing imported from gspread's client.

What the spreadsheet holds (`Metadata`, read by the adapter) and what the plan wants
(`SheetWrite`s) become request bodies: one `spreadsheets.batchUpdate` (new sheets with ids chosen
here, grid growth, layouts), then `values:batchUpdate` ValueRanges grouped into rectangles and
split into bodies of at most about `max_payload_bytes`. A1 notation comes from `gspread.utils`.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gspread.utils import rowcol_to_a1

from pipeline.adapters.google.layout import Existing, layout_requests
from pipeline.core.model import CellWrite, SheetWrite
from pipeline.core.sheetplan import serial

Value = str | int | float  # a cell as the API takes it (a date-time as its serial number)

NEW_SHEET_ROWS = 1000  # Google's own default grid for a new sheet
NEW_SHEET_COLUMNS = 26


@dataclass(frozen=True)
class SheetInfo:
    """One sheet as `spreadsheets.get` described it: id, grid size, layout mark."""

    sheet_id: int
    rows: int
    columns: int
    layout: Existing = Existing()  # the layout mark, and what a new layout would replace


@dataclass(frozen=True)
class Metadata:
    """The spreadsheet as the metadata call found it: sheets by title, and its time zone."""

    sheets: dict[str, SheetInfo]
    time_zone: str | None


def quote(title: str) -> str:
    """A sheet title as an A1 range prefix: always quoted, quotes doubled."""
    return "'" + title.replace("'", "''") + "'"


def column_letters(col: int) -> str:
    """`A`, `Z`, `AA`, … for column 1, 26, 27, …"""
    if col < 1:
        raise ValueError(f"column numbers start at 1, got {col}")
    return a1(1, col)[:-1]


def a1(row: int, col: int) -> str:
    """`B3` for row 3, column 2 (gspread.utils.rowcol_to_a1, with our error)."""
    if row < 1:
        raise ValueError(f"row numbers start at 1, got {row}")
    if col < 1:
        raise ValueError(f"column numbers start at 1, got {col}")
    return str(rowcol_to_a1(row, col))


def merge(sheets: Iterable[SheetWrite]) -> list[SheetWrite]:
    """Non-empty sheet writes, one per sheet name, in plan order (a repeated name is merged)."""
    merged: dict[str, SheetWrite] = {}
    for sheet in sheets:
        if sheet.empty:
            continue
        before = merged.get(sheet.sheet)
        if before is None:
            merged[sheet.sheet] = sheet
            continue
        merged[sheet.sheet] = SheetWrite(
            sheet=sheet.sheet,
            create=before.create or sheet.create,
            cells=before.cells + sheet.cells,
            key_col=before.key_col if before.key_col is not None else sheet.key_col,
            expected_keys=before.expected_keys + sheet.expected_keys,
            layout=sheet.layout if sheet.layout is not None else before.layout,
        )
    return list(merged.values())


def batch_requests(sheets: Sequence[SheetWrite], meta: Metadata) -> list[dict[str, Any]]:
    """The write's one batchUpdate: structure first, then the layouts."""
    ids = new_sheet_ids(sheets, meta)
    requests = structure_requests(sheets, meta, ids)
    for sheet in sheets:
        if sheet.layout is None:
            continue
        info = meta.sheets.get(sheet.sheet)
        sheet_id = info.sheet_id if info is not None else ids[sheet.sheet]
        before = info.layout if info is not None else Existing()
        requests += layout_requests(sheet_id, sheet.layout, before)
    return requests


def new_sheet_ids(sheets: Sequence[SheetWrite], meta: Metadata) -> dict[str, int]:
    """Ids for the sheets this batch adds with a layout: its requests must name the new sheet.

    Derived from the title (stable across a retried batch), never one already in use.
    """
    taken = {info.sheet_id for info in meta.sheets.values()}
    ids: dict[str, int] = {}
    for sheet in sheets:
        if sheet.layout is None or sheet.sheet in meta.sheets:
            continue
        candidate = zlib.crc32(sheet.sheet.encode("utf-8")) % (2**31 - 2) + 1
        while candidate in taken:
            candidate = candidate % (2**31 - 2) + 1
        taken.add(candidate)
        ids[sheet.sheet] = candidate
    return ids


def structure_requests(
    sheets: Sequence[SheetWrite], meta: Metadata, ids: Mapping[str, int] | None = None
) -> list[dict[str, Any]]:
    """addSheet for missing sheets, appendDimension where cells or a layout's data ranges fall
    outside the grid."""
    requests: list[dict[str, Any]] = []
    for sheet in sheets:
        layout = sheet.layout
        rows = max([cell.row for cell in sheet.cells] + [layout.rows if layout else 1])
        columns = max([cell.col for cell in sheet.cells] + [layout.width if layout else 1])
        if layout is not None:
            columns = max([columns] + [c.anchor_col for c in layout.charts])
        info = meta.sheets.get(sheet.sheet)
        if info is None:
            properties: dict[str, Any] = {
                "title": sheet.sheet,
                "gridProperties": {
                    "rowCount": max(rows, NEW_SHEET_ROWS),
                    "columnCount": max(columns, NEW_SHEET_COLUMNS),
                },
            }
            if ids and sheet.sheet in ids:
                properties["sheetId"] = ids[sheet.sheet]
            requests.append({"addSheet": {"properties": properties}})
            continue
        for dimension, needed, have in (
            ("ROWS", rows, info.rows),
            ("COLUMNS", columns, info.columns),
        ):
            if needed > have:
                requests.append(
                    {
                        "appendDimension": {
                            "sheetId": info.sheet_id,
                            "dimension": dimension,
                            "length": needed - have,
                        }
                    }
                )
    return requests


def value_ranges(title: str, cells: Sequence[CellWrite], limit: int) -> list[dict[str, Any]]:
    """Contiguous cells grouped into rectangles, each one ValueRange (later writes win).

    A date-time goes as its serial number (RAW); the layout gives its column a DATE_TIME format.
    """
    grid: dict[tuple[int, int], Value] = {}
    for cell in cells:
        a1(cell.row, cell.col)  # validates the coordinates
        value = cell.value
        grid[(cell.row, cell.col)] = serial(value) if isinstance(value, datetime) else value
    runs: list[tuple[int, int, int]] = []  # (first column, last column, row)
    by_row: dict[int, list[int]] = {}
    for row, col in grid:
        by_row.setdefault(row, []).append(col)
    for row, cols in by_row.items():
        cols.sort()
        start = previous = cols[0]
        for col in cols[1:]:
            if col != previous + 1:
                runs.append((start, previous, row))
                start = col
            previous = col
        runs.append((start, previous, row))
    runs.sort()
    blocks: list[tuple[int, int, int, int]] = []  # (first row, last row, first col, last col)
    for first_col, last_col, row in runs:
        if blocks:
            top, bottom, left, right = blocks[-1]
            if (left, right) == (first_col, last_col) and row == bottom + 1:
                blocks[-1] = (top, row, left, right)
                continue
        blocks.append((row, row, first_col, last_col))
    blocks.sort()
    ranges: list[dict[str, Any]] = []
    for top, bottom, left, right in blocks:
        ranges.extend(block_ranges(title, grid, top, bottom, left, right, limit))
    return ranges


def block_ranges(
    title: str,
    grid: Mapping[tuple[int, int], Value],
    top: int,
    bottom: int,
    left: int,
    right: int,
    limit: int,
) -> list[dict[str, Any]]:
    """One ValueRange for the block, split by rows when it alone would pass the payload limit."""
    value_range = {
        "range": f"{quote(title)}!{a1(top, left)}"
        + ("" if (top, left) == (bottom, right) else f":{a1(bottom, right)}"),
        "values": [
            [grid[(row, col)] for col in range(left, right + 1)] for row in range(top, bottom + 1)
        ],
    }
    if top == bottom or len(compact(value_range)) <= limit // 2:
        return [value_range]
    middle = (top + bottom) // 2
    return block_ranges(title, grid, top, middle, left, right, limit) + block_ranges(
        title, grid, middle + 1, bottom, left, right, limit
    )


def chunks(data: list[dict[str, Any]], limit: int) -> list[list[dict[str, Any]]]:
    """Split the ValueRanges into request bodies of at most about `limit` bytes (one if it fits)."""
    chunks: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for value_range in data:
        weight = len(compact(value_range)) + 1
        if current and size + weight > limit:
            chunks.append(current)
            current, size = [], 0
        current.append(value_range)
        size += weight
    if current:
        chunks.append(current)
    return chunks


def compact(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
