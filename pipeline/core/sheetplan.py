"""Desired output tables -> the minimal cell writes against what the sheets hold now.

Rows are keyed (the `ID` column for the cohort, `Réf.` for `À vérifier`), columns found by folded
header name, so staff may sort rows, reorder or add columns. Only the columns a plan owns are ever
written; a row whose key vanished gets its owned cells cleared, and a new row never lands in a row
that still holds anything (a staff note without a key, for instance).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from pipeline.core.errors import SheetError
from pipeline.core.model import Cell, CellWrite, SheetWrite
from pipeline.core.text import fold

Table = Sequence[Sequence[str]]


SERIAL_EPOCH = datetime(1899, 12, 30)  # day 0 of spreadsheet serial date-times


def as_text(value: Cell | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


def serial(moment: datetime) -> float:
    """A naive date-time as a spreadsheet serial number (days since 30/12/1899)."""
    return (moment - SERIAL_EPOCH) / timedelta(days=1)


def read_stamp(text: str) -> datetime | None:
    """A date-time cell as a backend reads it back (ISO text or a serial number), to the second."""
    text = text.strip()
    try:
        moment = SERIAL_EPOCH + timedelta(days=float(text))
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        if moment.tzinfo is not None:
            return None
    except OverflowError:
        return None
    return (moment + timedelta(microseconds=500_000)).replace(microsecond=0)


def same(current: str, desired: Cell | None) -> bool:
    """Does the cell read as `current` already hold `desired`? A date-time compares as one
    (a backend reads it back as ISO text or a serial number), anything else as text."""
    if isinstance(desired, datetime):
        return read_stamp(current) == desired.replace(microsecond=0)
    return current == as_text(desired)


def _cell(table: Table, row: int, col: int) -> str:
    """0-based access that tolerates ragged rows."""
    if row >= len(table) or col >= len(table[row]):
        return ""
    return table[row][col]


def header_index(header: Sequence[str]) -> dict[str, int]:
    """Folded header -> first 0-based column holding it."""
    index: dict[str, int] = {}
    for col, name in enumerate(header):
        index.setdefault(fold(name), col)
    return index


def _last_used_row(table: Table) -> int:
    """Number of rows up to the last one holding anything (0 for an empty sheet)."""
    for row in range(len(table) - 1, -1, -1):
        if any(c.strip() for c in table[row]):
            return row + 1
    return 0


def plan_keyed(
    sheet: str,
    current: Table | None,
    headers: Sequence[str],
    owned: Sequence[str],
    rows: Sequence[Mapping[str, Cell]],
    key: str,
    clear_stale: bool = True,
) -> SheetWrite:
    """Cell writes that make `sheet` hold `rows` in its `owned` columns, keyed by column `key`.

    `headers` is the full layout of a new sheet (staff columns included); `owned` the columns
    this plan writes. Existing rows are matched by key; the first row with a key wins.
    """
    writes: list[CellWrite] = []
    if current is None or _last_used_row(current) == 0:
        table: Table = current or []
        columns = {fold(h): i for i, h in enumerate(headers)}
        writes.extend(CellWrite(row=1, col=i + 1, value=h) for i, h in enumerate(headers))
        key_col = columns[fold(key)]
        targets = [(name, columns[fold(name)] + 1) for name in owned]
        for offset, values in enumerate(rows):
            writes.extend(
                CellWrite(row=offset + 2, col=col, value=values[name])
                for name, col in targets
                if as_text(values.get(name)) != ""
            )
        return SheetWrite(
            sheet=sheet, create=current is None, cells=tuple(writes), key_col=key_col + 1
        )

    table = current
    header = list(table[0])
    columns = header_index(header)
    if fold(key) not in columns:
        raise SheetError(
            f"sheet '{sheet}' has no '{key}' column: rows cannot be matched to people, so nothing "
            f"was written. Restore the '{key}' column (undo, or the sheet's version history), or "
            f"rename the sheet so that the next run creates a fresh '{sheet}'."
        )
    next_col = len(header)
    for name in owned:  # owned columns staff deleted come back at the end
        if fold(name) not in columns:
            columns[fold(name)] = next_col
            writes.append(CellWrite(row=1, col=next_col + 1, value=name))
            next_col += 1
    key_col = columns[fold(key)]
    width = max(next_col, max((len(r) for r in table), default=0))

    existing: dict[str, int] = {}
    for row in range(1, len(table)):
        value = _cell(table, row, key_col).strip()
        if value and value not in existing:
            existing[value] = row
    expected: dict[int, str] = {}
    wanted = {as_text(values[key]) for values in rows}

    free = [
        row
        for row in range(1, _last_used_row(table))
        if not any(_cell(table, row, c).strip() for c in range(width))
    ]
    append_at = max(_last_used_row(table), 1)
    owned_cols = [(name, columns[fold(name)]) for name in owned]

    for values in rows:
        row_key = as_text(values[key])
        found = existing.get(row_key)
        if found is None:
            if free:
                target = free.pop(0)
            else:
                target, append_at = append_at, append_at + 1
            writes.extend(
                CellWrite(row=target + 1, col=col + 1, value=values[name])
                for name, col in owned_cols
                if as_text(values.get(name)) != ""
            )
            continue
        row = found
        changed = [
            CellWrite(row=row + 1, col=col + 1, value=values[name])
            for name, col in owned_cols
            if not same(_cell(table, row, col), values.get(name))
        ]
        if changed:
            expected[row + 1] = row_key
            writes.extend(changed)
    if clear_stale:
        for row_key, row in existing.items():
            if row_key in wanted:
                continue
            cleared = [
                CellWrite(row=row + 1, col=col + 1, value="")
                for _, col in owned_cols
                if _cell(table, row, col) != ""
            ]
            if cleared:
                expected[row + 1] = row_key
                writes.extend(cleared)
    return SheetWrite(
        sheet=sheet,
        cells=tuple(writes),
        key_col=key_col + 1,
        expected_keys=tuple(sorted(expected.items())),
    )


def plan_grid(sheet: str, current: Table | None, grid: Sequence[Sequence[Cell]]) -> SheetWrite:
    """Writes that make a fully pipeline-owned sheet show `grid` (and nothing beyond it)."""
    writes: list[CellWrite] = []
    table: Table = current or []
    height = max(len(grid), len(table))
    for row in range(height):
        want = grid[row] if row < len(grid) else ()
        have_width = len(table[row]) if row < len(table) else 0
        for col in range(max(len(want), have_width)):
            desired = want[col] if col < len(want) else ""
            if not same(_cell(table, row, col), desired):
                value: Cell = want[col] if col < len(want) else ""
                writes.append(CellWrite(row=row + 1, col=col + 1, value=value))
    return SheetWrite(sheet=sheet, create=current is None, cells=tuple(writes))


def plan_append(
    sheet: str, current: Table | None, headers: Sequence[str], values: Sequence[Cell]
) -> SheetWrite:
    """Append one row under the last used row, creating the sheet with its headers if needed."""
    writes: list[CellWrite] = []
    if current is None or _last_used_row(current) == 0:
        writes.extend(CellWrite(row=1, col=i + 1, value=h) for i, h in enumerate(headers))
        row = 2
        columns = {fold(h): i for i, h in enumerate(headers)}
    else:
        columns = header_index(current[0])
        row = _last_used_row(current) + 1
        next_col = len(current[0])
        for name in headers:
            if fold(name) not in columns:
                columns[fold(name)] = next_col
                writes.append(CellWrite(row=1, col=next_col + 1, value=name))
                next_col += 1
    writes.extend(
        CellWrite(row=row, col=columns[fold(name)] + 1, value=value)
        for name, value in zip(headers, values, strict=True)
    )
    return SheetWrite(sheet=sheet, create=current is None, cells=tuple(writes))
