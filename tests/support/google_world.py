"""The staff-and-time scenario's world on the Google backend: the scenario's data in a Sheets
stand-in spreadsheet shared with a service account, a config pointing the CLI there, a view of
the stand-in's cells as staff see them, and the CLI runs with the API calls each one made.

Shared by the end-to-end tests that run the CLI against Google (scenario, personal data).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.adapters.google.spreadsheet import GoogleSpreadsheet
from pipeline.core.people import person_id
from pipeline.entry.cli import main
from tests.support.builders import FORM_HEADERS, MEMBER_HEADERS
from tests.support.google_harness import FakeClock, GoogleSheetsHarness, google_harness
from tests.support.scenario import (
    ANSWERS,
    COHORT,
    CONFIG,
    FORM,
    MEMBERS,
    MEMBERS_SHEET,
    Row,
    Scenario,
    records,
)
from tests.support.sheets_standin import Call, Cell, Request, Sheet, SheetsStandIn, serial
from tests.support.sheets_standin import cells as stored

ANSWERS_FORMAT = "DATE_TIME dd/MM/yyyy HH:mm:ss"  # how Google Forms shows its Horodateur
READ = ["spreadsheets.get", "values.batchGet"]
WRITE_APIS = {
    "spreadsheets.batchUpdate",
    "values.batchUpdate",
    "values.update",
    "values.append",
    "values.clear",
    "values.batchClear",
}
GOOGLE_SECTION = """
[spreadsheet]
backend = "google"
key = "https://docs.google.com/spreadsheets/d/{key}/edit#gid=0"
credentials = "{credentials}"
api_endpoint = "{endpoint}"
"""


def form_cell(value: object) -> object:
    """An answer as Google Forms stores it: the timestamp a date-time serial, a number typed
    alone a number (`35`, `0612345678` -> 612345678), anything else text (even `=...`)."""
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.strptime(value, "%d/%m/%Y %H:%M:%S")
    except ValueError:
        pass
    else:
        return Cell(serial(moment), number_format=ANSWERS_FORMAT)
    if value.isdigit():
        return Cell(float(value))
    return value


def typed_cell(value: object) -> Cell | None:
    """A value staff typed in the browser (USER_ENTERED: `69` becomes a number)."""
    return stored.user_entered_cell(value)


@dataclass
class GoogleView:
    """Staff working in the browser: reads and edits go to the stand-in's state, not the API."""

    standin: SheetsStandIn
    spreadsheet_id: str

    def sheet(self, name: str) -> Sheet:
        found = self.standin.spreadsheets[self.spreadsheet_id].sheet(name)
        assert found is not None, f"no sheet {name!r}"
        return found

    def table(self, sheet: str) -> list[Row]:
        with self.standin.lock:
            values = self.sheet(sheet).table()
        width = max((len(row) for row in values), default=0)
        return [
            [None if v == "" else v for v in row] + [None] * (width - len(row)) for row in values
        ]

    def rewrite(self, sheet: str, header: Row, rows: list[Row]) -> None:
        with self.standin.lock:
            target = self.sheet(sheet)
            target.rows = {}
            self.standin.spreadsheets[self.spreadsheet_id].fill(target, [header, *rows])

    def append(self, sheet: str, row: list[str]) -> None:
        with self.standin.lock:
            target = self.sheet(sheet)
            below = max(target.rows, default=0) + 1
            self.standin.spreadsheets[self.spreadsheet_id].fill(
                target, [[form_cell(value) for value in row]], top=below
            )

    def formula_cells(self) -> list[str]:
        with self.standin.lock:
            return [
                f"{sheet.title}!{r}:{c}"
                for sheet in self.standin.spreadsheets[self.spreadsheet_id].sheets
                for r, line in sheet.rows.items()
                for c, cell in line.items()
                if cell.is_formula
            ]

    def fingerprint(self) -> object:
        calls = self.standin.calls(spreadsheet_id=self.spreadsheet_id)
        return sum(1 for call in calls if call.api in WRITE_APIS)

    def stored_row(self, sheet: str, key: str) -> list[Cell]:
        """The cells of the row whose first cell is `key`, as the stand-in stores them."""
        with self.standin.lock:
            for line in self.sheet(sheet).rows.values():
                first = line.get(1)
                if first is not None and first.value == key:
                    return [line[c] for c in sorted(line)]
        raise AssertionError(f"no row {key!r} in {sheet!r}")


@dataclass
class Runs:
    """Runs the CLI and keeps, per run, the API calls the stand-in logged."""

    config: Path
    standin: SheetsStandIn
    spreadsheet_id: str
    calls: dict[str, list[Call]] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)

    def __call__(self, as_of: str) -> int:
        before = len(self.standin.calls(spreadsheet_id=self.spreadsheet_id))
        tokens = len(self.standin.calls("oauth.token"))
        code = main(["run", "--config", str(self.config), "--as-of", as_of])
        self.calls[as_of] = self.standin.calls(spreadsheet_id=self.spreadsheet_id)[before:]
        self.tokens[as_of] = len(self.standin.calls("oauth.token")) - tokens
        return code

    def apis(self, as_of: str, status: int | None = 200) -> list[str]:
        return [c.api for c in self.calls[as_of] if status is None or c.status == status]


@dataclass
class World:
    harness: GoogleSheetsHarness
    view: GoogleView
    runs: Runs
    clock: FakeClock
    tmp: Path

    @property
    def standin(self) -> SheetsStandIn:
        return self.harness.standin

    def scenario(self) -> Scenario:
        return Scenario(self.view, self.runs, self.tmp)


@contextmanager
def google_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The scenario's data in a stand-in spreadsheet shared with the service account, and a
    config pointing the CLI there (key given as the URL pasted from a browser)."""
    clock = FakeClock()
    build = GoogleSpreadsheet.from_settings.__func__  # type: ignore[attr-defined]

    def with_fake_clock(cls: type, settings: Any, **options: Any) -> GoogleSpreadsheet:
        options.setdefault("sleep", clock.sleep)
        options.setdefault("clock", clock)
        backend: GoogleSpreadsheet = build(cls, settings, **options)
        return backend

    monkeypatch.setattr(GoogleSpreadsheet, "from_settings", classmethod(with_fake_clock))
    with google_harness(tmp_path) as harness:
        standin = harness.standin
        spreadsheet = standin.create_spreadsheet(
            {
                FORM: [FORM_HEADERS, *[[form_cell(v) for v in row] for row in ANSWERS]],
                MEMBERS_SHEET: [[typed_cell(v) for v in row] for row in [MEMBER_HEADERS, *MEMBERS]],
            },
            shared_with=[harness.account.email],
        )
        harness.spreadsheet_id = spreadsheet.id
        local = CONFIG.format(tmp=tmp_path)
        section = GOOGLE_SECTION.format(
            key=spreadsheet.id, credentials=harness.key_file, endpoint=standin.url
        )
        config = tmp_path / "config.toml"
        config.write_text(
            section + local[local.index("[email]") :],
            encoding="utf-8",
        )
        runs = Runs(config, standin, spreadsheet.id)
        yield World(harness, GoogleView(standin, spreadsheet.id), runs, clock, tmp_path)


def is_key_check(request: Request) -> bool:
    """The write's `values:batchGet` of the key columns (ranges like `'Promotion 2026'!A2:A9`)."""
    return any("!" in r for r in request.query.get("ranges", []))


def rotate(world: World, sheet: str) -> Callable[[], None]:
    """Staff sorting `sheet` in the browser: every data row moves one place up, the first last."""
    spreadsheet = world.standin.spreadsheets[world.harness.spreadsheet_id]

    def action() -> None:
        last = max(world.view.sheet(sheet).rows)
        spreadsheet.reorder_rows(sheet, [*range(3, last + 1), 2])

    return action


def consistent_rows(view: GoogleView) -> None:
    """Every cohort row's ID is the one of its own e-mail address: nothing landed elsewhere."""
    for row in records(view, COHORT):
        if row["Courriel"]:
            assert row["ID"] == person_id(str(row["Courriel"])), row
