"""The embedded default backend: a local .xlsx workbook.

Read with python-calamine (a Rust reader, an order of magnitude faster than openpyxl on large
workbooks); written with openpyxl only when a plan has something to write, saved atomically.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from pipeline.adapters.sheets import Table, cell_text
from pipeline.adapters.xlsx.layout import apply_layout, read_marks
from pipeline.core.errors import SheetError, SheetMovedError
from pipeline.core.model import WritePlan


class WorkbookChangedError(SheetMovedError):
    """The workbook file changed between this run's read and its write."""


class LocalWorkbook:
    time_zone: str | None = None  # a workbook file has none: the programme's zone applies

    def __init__(self, path: Path) -> None:
        self.path = path
        self._read_stamp: int | None = None
        self._marks: dict[str, str] = {}

    def describe(self) -> str:
        return f"workbook {self.path}"

    def _missing(self) -> SheetError:
        return SheetError(
            f"workbook {self.path} not found; check spreadsheet.workbook in the config file "
            "(for the demo, `make demo` generates it)"
        )

    def read(self, names: Sequence[str]) -> Mapping[str, Table]:
        from python_calamine import CalamineWorkbook

        if not self.path.exists():
            raise self._missing()
        self._read_stamp = self.path.stat().st_mtime_ns
        try:
            workbook = CalamineWorkbook.from_path(str(self.path))
        except Exception as exc:  # calamine raises its own error types for damaged files
            raise SheetError(f"workbook {self.path} cannot be read: {exc}") from None
        try:
            present = set(workbook.sheet_names)
            self._marks = read_marks(self.path)
            tables: dict[str, Table] = {}
            for name in names:
                if name not in present:
                    continue
                rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
                tables[name] = [[cell_text(v) for v in row] for row in rows]
            return tables
        finally:
            workbook.close()

    def layout_marks(self) -> Mapping[str, str]:
        return dict(self._marks)

    def write(self, plan: WritePlan) -> None:
        if plan.empty:
            return
        from openpyxl import load_workbook

        if not self.path.exists():
            raise self._missing()
        if self._read_stamp is not None and self.path.stat().st_mtime_ns != self._read_stamp:
            raise WorkbookChangedError(
                f"workbook {self.path} was modified by someone else during the run; nothing was "
                "written. Run again: the next run starts from the new content."
            )
        workbook = load_workbook(self.path)
        for change in plan.sheets:
            if change.empty:
                continue
            if change.sheet in workbook.sheetnames:
                sheet = workbook[change.sheet]
            else:
                sheet = workbook.create_sheet(change.sheet)
            for write in change.cells:
                cell = sheet.cell(row=write.row, column=write.col)
                if write.value == "":
                    cell.value = None
                elif isinstance(write.value, str):
                    cell.value = write.value
                    cell.data_type = "s"  # text, never a formula, whatever it starts with
                else:
                    cell.value = write.value
            if change.layout is not None:
                apply_layout(sheet, change.layout)
        folder = self.path.parent
        handle, temp = tempfile.mkstemp(prefix=".diplomates-", suffix=".xlsx", dir=folder)
        os.close(handle)
        try:
            workbook.save(temp)
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        self._read_stamp = self.path.stat().st_mtime_ns
