"""Every Spreadsheet backend, seeded from a dict of sheet name -> rows, for the contract suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from openpyxl import Workbook

from pipeline.adapters.sheets import Spreadsheet
from pipeline.adapters.xlsx.workbook import LocalWorkbook
from tests.support.fakes import MemorySpreadsheet
from tests.support.google_harness import google_harness

Seed = Mapping[str, list[list[str]]]
Factory = Callable[[Seed], Spreadsheet]


def _local(tmp_path: Path) -> Factory:
    def make(tables: Seed) -> Spreadsheet:
        path = tmp_path / "contract.xlsx"
        workbook = Workbook()
        first = True
        for name, rows in tables.items():
            sheet = workbook.active if first else workbook.create_sheet(name)
            assert sheet is not None
            sheet.title = name
            first = False
            for row in rows:
                sheet.append(row)
            for cells in sheet.iter_rows():
                for cell in cells:
                    if isinstance(cell.value, str):
                        cell.data_type = "s"
        workbook.save(path)
        return LocalWorkbook(path)

    return make


@pytest.fixture(params=["memory", "local", "google"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """Each backend in turn; `google` is gspread over real HTTP to the local Sheets stand-in."""
    if request.param == "memory":
        yield lambda tables: MemorySpreadsheet(tables)
    elif request.param == "local":
        yield _local(tmp_path)
    else:
        with google_harness(tmp_path) as harness:
            yield harness
