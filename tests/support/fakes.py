"""Fakes over mocks: an in-memory spreadsheet and a recording mail transport."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from types import TracebackType
from typing import Self

from pipeline.adapters.sheets import Table
from pipeline.core.model import SheetLayout, WritePlan


class MemorySpreadsheet:
    """The Spreadsheet port over a dict of tables; counts reads and writes, keeps layouts."""

    def __init__(
        self, tables: Mapping[str, Table] | None = None, time_zone: str | None = None
    ) -> None:
        self.time_zone = time_zone  # as Google Sheets reports its own; None: a workbook's
        self.tables: dict[str, Table] = {k: [list(r) for r in v] for k, v in (tables or {}).items()}
        self.layouts: dict[str, SheetLayout] = {}  # the last layout applied to each sheet
        self.reads = 0
        self.writes = 0

    def layout_marks(self) -> Mapping[str, str]:
        return {name: layout.mark for name, layout in self.layouts.items() if name in self.tables}

    def describe(self) -> str:
        return "memory spreadsheet"

    def read(self, names: Sequence[str]) -> Mapping[str, Table]:
        self.reads += 1
        return {n: [list(r) for r in self.tables[n]] for n in names if n in self.tables}

    def write(self, plan: WritePlan) -> None:
        if plan.empty:
            return
        self.writes += 1
        for change in plan.sheets:
            table = self.tables.setdefault(change.sheet, [])
            if change.layout is not None:
                self.layouts[change.sheet] = change.layout
            for cell in change.cells:
                while len(table) < cell.row:
                    table.append([])
                row = table[cell.row - 1]
                while len(row) < cell.col:
                    row.append("")
                row[cell.col - 1] = str(cell.value)


class RecordingTransport:
    """Keeps every message it is asked to send."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None

    def send(self, message: EmailMessage, name: str) -> None:
        self.sent.append(message)
