"""Sheets API calls, bytes and wall time per run, against the local Sheets API stand-in.

`python -m bench.google_calls` (from the repository root; `make bench` runs it too).

For 10, 1,000 and 10,000 form answers (`tools.demodata.generate`, seeded as Google Forms
keeps them: timestamps as date-time serials), a stand-in spreadsheet is seeded and the real
`Runner` runs twice on it through `GoogleSpreadsheet` (gspread and google-auth over HTTP on
127.0.0.1): a first run and an idle rerun. Then a naive gspread script writes the same people
and statuses the way such scripts usually do: `append_row` per person, `update_cell` per status
(and, on its rerun, `update_cell` per status again: it does not diff). Its `append_row` passes
`table_range="A1"`, gspread's advice for rows with blank cells: without it Google takes the
last block of connected cells for the table and shifts each new row to the right (gspread's
recorded cassette `test_append_row_with_empty_value` shows it; the stand-in does the same).

Figures come from the stand-in's request log (every HTTP request, retries included; the one
OAuth token request per run is left out), bytes as on the wire (request line, headers and body;
status line, headers and body). Wall time on 127.0.0.1 is only a floor: Google answers in
~100-300 ms per call and allows 60 requests per minute per user, so the call count is what
matters. The pipeline's client-side rate limiter and retry backoff get a clock whose sleep only
moves the clock (`NoWaitClock`): nothing waits, and what it would have waited is reported.

Sizes: `BENCH_GOOGLE_SIZES=10,1000,10000`. The naive script runs at most at
`BENCH_GOOGLE_NAIVE_MAX` answers (1,000 by default); beyond, its figures are extrapolated
linearly from the largest measured size and marked `~`.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from pipeline.adapters.google.spreadsheet import GoogleSpreadsheet, TokenBucket
from pipeline.adapters.sheets import Table
from pipeline.adapters.state.store import StateStore
from pipeline.app.run import Runner
from pipeline.config import Settings
from pipeline.core.model import WritePlan
from tests.support.sheets_standin import (
    Call,
    Cell,
    SheetsStandIn,
    serial,
    service_account,
)
from tools.demodata import MEMBERS_SHEET, RESPONSES_SHEET, generate

AS_OF = "2026-05-05T10:00:00+02:00"  # after the registration closed: every status is final
COHORT = "Promotion 2026"
STATUS = "Statut"
TIMESTAMP_FORMAT = "DATE_TIME dd/MM/yyyy HH:mm:ss"
GOOGLE_QUOTA_PER_MINUTE = 60


# --- the fakes the benchmark injects ------------------------------------------------------------


@dataclass
class NoWaitClock:
    """The rate limiter's and the backoff's clock and sleep: sleeping only moves this clock, so
    nothing waits, and `slept` says how long the client-side limiter would have waited."""

    now: float = 0.0
    slept: float = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


class DiscardTransport:
    """Mail transport that accepts every message and keeps nothing (mail is not measured)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None

    def send(self, message: EmailMessage, message_id: str) -> None:
        return None

    def send_raw(self, raw: bytes, message_id: str) -> None:
        return None


class Timed:
    """The backend with the time spent in its reads and writes added up."""

    def __init__(self, backend: GoogleSpreadsheet) -> None:
        self.backend = backend
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)  # time_zone, stats

    def describe(self) -> str:
        return self.backend.describe()

    def read(self, names: Sequence[str]) -> Mapping[str, Table]:
        start = time.perf_counter()
        try:
            return self.backend.read(names)
        finally:
            self.seconds += time.perf_counter() - start

    def write(self, plan: WritePlan) -> None:
        start = time.perf_counter()
        try:
            self.backend.write(plan)
        finally:
            self.seconds += time.perf_counter() - start


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Figures:
    calls: int
    sent: int  # bytes
    received: int
    seconds: float
    by_api: Counter[str] = field(default_factory=Counter)
    tokens: int = 0
    sheets_seconds: float | None = None  # of which in Sheets reads and writes (Runner only)
    estimated: bool = False

    def scaled(self, factor: float) -> Figures:
        return Figures(
            round(self.calls * factor),
            round(self.sent * factor),
            round(self.received * factor),
            self.seconds * factor,
            Counter({k: round(v * factor) for k, v in self.by_api.items()}),
            self.tokens,
            None,
            True,
        )


def figures(log: Sequence[Call], seconds: float, sheets_seconds: float | None = None) -> Figures:
    api = [c for c in log if c.api != "oauth.token"]
    return Figures(
        calls=len(api),
        sent=sum(c.bytes_in for c in api),
        received=sum(c.bytes_out for c in api),
        seconds=seconds,
        by_api=Counter(c.api for c in api),
        tokens=len(log) - len(api),
        sheets_seconds=sheets_seconds,
    )


def seed_rows(rows: Sequence[Sequence[object]]) -> list[list[object]]:
    """Rows as Google Forms keeps them: timestamps as date-time serials, the rest as given."""
    return [
        [
            Cell(serial(value), number_format=TIMESTAMP_FORMAT)
            if isinstance(value, datetime)
            else value
            for value in row
        ]
        for row in rows
    ]


def settings_for(spreadsheet_id: str, key_file: Path, endpoint: str, folder: Path) -> Settings:
    return Settings.model_validate(
        {
            "spreadsheet": {
                "backend": "google",
                "key": spreadsheet_id,
                "credentials": str(key_file),
                "api_endpoint": endpoint,
            },
            "email": {
                "transport": "outbox",
                "outbox": str(folder / "outbox"),
                "sender": "diplomates@cites-unies-france.org",
                "reply_to": "diplomates@cites-unies-france.org",
            },
            "cohort": {
                "capacity": 60,
                "registration_opens": "2026-03-30T09:00:00+02:00",
                "registration_closes": "2026-04-30T23:59:59+02:00",
            },
            "programme": {"contact_email": "diplomates@cites-unies-france.org"},
            "state": {"url": f"sqlite:///{folder / 'state.sqlite'}"},
        }
    )


def run_pipeline(
    standin: SheetsStandIn, spreadsheet_id: str, settings: Settings, store: StateStore
) -> tuple[Figures, float]:
    """One real run; returns its figures and how long the rate limiter would have waited."""
    clock = NoWaitClock()
    bucket = TokenBucket(GoogleSpreadsheet.requests_per_minute, GoogleSpreadsheet.burst,
                         clock=clock, sleep=clock.sleep)  # fmt: skip
    backend = Timed(
        GoogleSpreadsheet.from_settings(
            settings.spreadsheet, environ={}, rate_limiter=bucket, sleep=clock.sleep, clock=clock
        )
    )
    runner = Runner(settings, spreadsheet=backend, transport=DiscardTransport(), store=store)
    before = len(standin.log)
    start = time.perf_counter()
    report = runner.run(now=datetime.fromisoformat(AS_OF))
    seconds = time.perf_counter() - start
    if report.outcome not in ("success", "idle"):
        raise SystemExit(f"benchmark run ended {report.outcome}")
    log = [c for c in standin.log[before:] if c.spreadsheet_id in (spreadsheet_id, None)]
    return figures(log, seconds, backend.seconds), clock.slept


def naive_client(key_file: Path, endpoint: str) -> Any:
    """A plain gspread client (no retries, no rate limit) whose URLs go to the stand-in."""
    import gspread
    from google.oauth2 import service_account as sa
    from gspread.http_client import HTTPClient

    class ToStandIn(HTTPClient):
        def request(self, method: str, endpoint_url: str, *args: Any, **kwargs: Any) -> Any:
            url = endpoint_url.replace("https://sheets.googleapis.com", endpoint, 1)
            return super().request(method, url, *args, **kwargs)

    credentials = sa.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
        str(key_file), scopes=["https://www.googleapis.com/auth/spreadsheets"]
    )
    return gspread.Client(credentials, http_client=ToStandIn)


def run_naive(
    standin: SheetsStandIn,
    spreadsheet_id: str,
    client: Any,
    people: Sequence[list[str]],
    header: list[str],
    first: bool,
) -> Figures:
    """What a hand-written gspread script does: read the answers, then one call per person."""
    before = len(standin.log)
    start = time.perf_counter()
    spreadsheet = client.open_by_key(spreadsheet_id)
    spreadsheet.worksheet(RESPONSES_SHEET).get_all_values()
    status_col = header.index(STATUS) + 1
    if first:
        sheet = spreadsheet.add_worksheet(COHORT, rows=1, cols=len(header))
        sheet.append_row(header)
        for row in people:
            values = ["" if i == status_col - 1 else v for i, v in enumerate(row)]
            sheet.append_row(values, table_range="A1")  # see the module docstring
    else:
        sheet = spreadsheet.worksheet(COHORT)
        sheet.get_all_values()
    for number, row in enumerate(people, start=2):
        sheet.update_cell(number, status_col, row[status_col - 1])
    seconds = time.perf_counter() - start
    log = [c for c in standin.log[before:] if c.spreadsheet_id in (spreadsheet_id, None)]
    return figures(log, seconds)


@dataclass
class Result:
    answers: int
    people: int
    first: Figures
    idle: Figures
    waited: float
    naive_first: Figures
    naive_idle: Figures
    chunks: int


def bench(answers: int, members: int, naive_max: int, measured: dict[int, Result]) -> Result:
    account = service_account()
    responses, member_rows = generate(answers, members, seed=7)
    with (
        tempfile.TemporaryDirectory(prefix="diplomates-bench-google-") as folder,
        SheetsStandIn(require_auth=True) as standin,
    ):
        directory = Path(folder)
        standin.register(account)
        key_file = account.write_key_file(directory / "service-account.json", standin.token_uri)
        seeded = {RESPONSES_SHEET: seed_rows(responses), MEMBERS_SHEET: seed_rows(member_rows)}
        spreadsheet = standin.create_spreadsheet(seeded, shared_with=[account.email])
        settings = settings_for(spreadsheet.id, key_file, standin.url, directory)
        store = StateStore(settings.state.url)
        first, waited_first = run_pipeline(standin, spreadsheet.id, settings, store)
        idle, waited_idle = run_pipeline(standin, spreadsheet.id, settings, store)
        cohort = spreadsheet.sheet(COHORT)
        assert cohort is not None
        table = [[str(v) for v in row] for row in cohort.table()]
        header, people = table[0], [row + [""] * (len(table[0]) - len(row)) for row in table[1:]]
        chunks = first.by_api["values.batchUpdate"]

        if answers <= naive_max:
            naive = standin.create_spreadsheet(
                {RESPONSES_SHEET: seed_rows(responses)}, shared_with=[account.email]
            )
            client = naive_client(key_file, standin.url)
            naive_first = run_naive(standin, naive.id, client, people, header, first=True)
            naive_idle = run_naive(standin, naive.id, client, people, header, first=False)
        else:
            largest = max(n for n in measured if n <= naive_max)
            base = measured[largest]
            factor = len(people) / base.people
            naive_first = base.naive_first.scaled(factor)
            naive_idle = base.naive_idle.scaled(factor)
    return Result(
        answers, len(people), first, idle, waited_first + waited_idle, naive_first, naive_idle,
        chunks,
    )  # fmt: skip


# --- printing ----------------------------------------------------------------------------------


def size(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f} MB"
    if count >= 1_000:
        return f"{count / 1_000:.0f} kB"
    return f"{count} B"


def line(label: str, f: Figures) -> str:
    mark = "~" if f.estimated else " "
    sheets = f" (Sheets I/O {f.sheets_seconds:6.2f} s)" if f.sheets_seconds is not None else ""
    quota = f.calls / GOOGLE_QUOTA_PER_MINUTE
    return (
        f"    {label:<22}{mark}{f.calls:>6} calls  sent {size(f.sent):>8}  received "
        f"{size(f.received):>8}  {f.seconds:7.2f} s{sheets}  quota time >= {quota:6.1f} min"
    )


def ratio(naive: Figures, ours: Figures) -> str:
    calls = naive.calls / ours.calls if ours.calls else float("inf")
    sent = naive.sent / ours.sent if ours.sent else float("inf")
    return f"naive / pipeline: {calls:,.0f}x calls, {sent:,.1f}x bytes sent"


def report(result: Result) -> None:
    print(
        f"  {result.answers:,} answers -> {result.people:,} people in '{COHORT}' "
        f"(first run wrote {result.chunks} values:batchUpdate chunk(s) of <= 2 MB)"
    )
    print(line("pipeline first run", result.first))
    print(line("pipeline idle rerun", result.idle))
    print(line("naive first run", result.naive_first))
    print(line("naive rerun", result.naive_idle))
    print("      first run " + ratio(result.naive_first, result.first))
    print("      rerun     " + ratio(result.naive_idle, result.idle))
    apis = ", ".join(f"{api} {n}" for api, n in sorted(result.first.by_api.items()))
    idle_apis = ", ".join(f"{api} {n}" for api, n in sorted(result.idle.by_api.items()))
    print(f"      pipeline calls, first run: {apis}; idle rerun: {idle_apis}")
    if result.waited:
        print(f"      (the client-side rate limiter would have waited {result.waited:.1f} s)")


def main() -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_GOOGLE_SIZES", "10,1000,10000").split(",")]
    naive_max = int(os.environ.get("BENCH_GOOGLE_NAIVE_MAX", "1000"))
    print(
        "== Google Sheets API calls per run, against the local stand-in (127.0.0.1; the real API "
        "adds ~100-300 ms per call and allows 60 calls/min/user)"
    )
    print(
        "   client-side rate limiter and backoff: waiting disabled (a no-op clock and sleep are "
        "injected); 'quota time' = calls / 60 per minute; one OAuth token request per run not "
        "counted"
    )
    print(
        "   pipeline wall time = the whole real run (evaluation, rendering and queueing every "
        "email, state DB); 'Sheets I/O' = time in the backend's read and write. The stand-in "
        "copies a sheet on every write, so naive wall times grow faster here than on Google"
    )
    measured: dict[int, Result] = {}
    for answers in sorted(sizes):
        result = bench(answers, 1000, naive_max, measured)
        measured[answers] = result
        report(result)
    if any(n > naive_max for n in sizes):
        print(
            f"   ~ naive figures above {naive_max:,} answers are extrapolated linearly (per person) "
            f"from the {naive_max:,}-answer measurement, not measured (20,000+ HTTP calls)"
        )


if __name__ == "__main__":
    main()
