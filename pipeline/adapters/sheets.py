"""The Spreadsheet port: what every backend (local workbook, Google Sheets) offers a run.

Backends return every cell as a string (never a guessed type), padded by nothing: rows may be
ragged and trailing empty cells may be missing. Timestamps come back as ISO 8601 text
(`2026-03-02T10:04:05`, local time) or as Sheets serial numbers (`46083.41950`); both parse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Protocol

from pipeline.core.model import WritePlan

Table = list[list[str]]


class Spreadsheet(Protocol):
    @property
    def time_zone(self) -> str | None:
        """The spreadsheet's own time zone (an IANA name such as `Europe/Paris`), in which form
        timestamps without an offset are read; None when the backend has none (a workbook file):
        the programme's zone applies. Google Sheets reports it with every `read`."""
        ...

    def read(self, names: Sequence[str]) -> Mapping[str, Table]:
        """Read the named sheets in one batch; a sheet that does not exist is absent from the result."""
        ...

    def write(self, plan: WritePlan) -> None:
        """Apply the whole plan in one batch (create missing sheets, write cells as text, apply
        the layouts it carries and store each layout's mark with its sheet)."""
        ...

    def layout_marks(self) -> Mapping[str, str]:
        """The layout mark stored with each sheet, as the last `read` found them (sheet name ->
        mark; a sheet without a mark is absent). Costs no extra call."""
        ...

    def describe(self) -> str:
        """A short human description for messages, e.g. `workbook demo/out/demo.xlsx`."""
        ...


def cell_text(value: object) -> str:
    """Turn a cell value from a reader into the string the core expects."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec="seconds")
    return str(value)
