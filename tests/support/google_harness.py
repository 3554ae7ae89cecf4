"""Fixtures: a Sheets API stand-in on 127.0.0.1, a service account, and the Google backend on it.

`google_spreadsheet(sheets)` builds a `GoogleSpreadsheet` connected over real HTTP (gspread and
google-auth unchanged) to a fresh stand-in, seeded from a dict of sheet name → rows. Its clock
and sleep are fake, so backoff and rate limiting never wait on wall-clock time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pipeline.adapters.google.spreadsheet import GoogleSpreadsheet
from pipeline.adapters.sheets import Table, cell_text
from pipeline.config import SpreadsheetSettings

from .sheets_standin import ServiceAccount, SheetsStandIn, service_account


@dataclass
class FakeClock:
    """A monotonic clock that only moves when something sleeps on it."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class GoogleSheetsHarness:
    """Builds backends on the stand-in and shows what the stand-in holds."""

    standin: SheetsStandIn
    account: ServiceAccount
    directory: Path
    clock: FakeClock
    spreadsheet_id: str = ""
    backend: GoogleSpreadsheet | None = None

    def __call__(
        self,
        sheets: Mapping[str, Sequence[Sequence[object]]] | None = None,
        *,
        shared: bool = True,
        **options: Any,
    ) -> GoogleSpreadsheet:
        """A backend on a new spreadsheet holding `sheets` (name → rows of values)."""
        spreadsheet = self.standin.create_spreadsheet(
            sheets or {}, shared_with=[self.account.email] if shared else ["someone@example.org"]
        )
        self.spreadsheet_id = spreadsheet.id
        self.backend = self.connect(spreadsheet.id, **options)
        return self.backend

    @property
    def key_file(self) -> Path:
        path = self.directory / "service-account.json"
        if not path.exists():
            self.account.write_key_file(path, self.standin.token_uri)
        return path

    def settings(self, key: str | None = None) -> SpreadsheetSettings:
        return SpreadsheetSettings(
            backend="google",
            key=key or self.spreadsheet_id,
            credentials=self.key_file,
            api_endpoint=self.standin.url,
        )

    def connect(self, key: str, **options: Any) -> GoogleSpreadsheet:
        options.setdefault("sleep", self.clock.sleep)
        options.setdefault("clock", self.clock)
        return GoogleSpreadsheet.from_settings(self.settings(key), environ={}, **options)

    def values(self, sheet: str) -> Table:
        """The sheet's values as the stand-in holds them, as text (independent of the backend)."""
        found = self.standin.spreadsheets[self.spreadsheet_id].sheet(sheet)
        assert found is not None, f"no sheet {sheet!r}"
        return [[cell_text(value) for value in row] for row in found.table()]


@contextmanager
def google_harness(directory: Path) -> Iterator[GoogleSheetsHarness]:
    """The same harness outside this folder's fixtures (e.g. for the contract suite)."""
    account = service_account()
    with SheetsStandIn() as standin:
        standin.register(account)
        yield GoogleSheetsHarness(standin, account, directory, FakeClock())


@pytest.fixture(scope="session")
def sheets_account() -> ServiceAccount:
    """The service account the tests' key files belong to (its RSA key is made once)."""
    return service_account()


@pytest.fixture
def sheets_standin(sheets_account: ServiceAccount) -> Iterator[SheetsStandIn]:
    """A fresh stand-in, serving on 127.0.0.1 and a free port, knowing the service account."""
    standin = SheetsStandIn()
    standin.register(sheets_account)
    with standin:
        yield standin


@pytest.fixture
def google_spreadsheet(
    tmp_path: Path, sheets_standin: SheetsStandIn, sheets_account: ServiceAccount
) -> GoogleSheetsHarness:
    """Call it with {sheet name: rows} to get a `GoogleSpreadsheet` on a fresh stand-in."""
    return GoogleSheetsHarness(sheets_standin, sheets_account, tmp_path, FakeClock())
