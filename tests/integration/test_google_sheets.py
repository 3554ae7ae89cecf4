"""The Google Sheets backend through gspread and google-auth, over HTTP, against the stand-in."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from pipeline.adapters.google.spreadsheet import (
    GoogleSpreadsheet,
    SheetMovedError,
    TokenBucket,
    spreadsheet_id,
)
from pipeline.config import SpreadsheetSettings
from pipeline.core.errors import ConfigError, SheetError
from pipeline.core.model import CellWrite, SheetWrite, WritePlan
from tests.support.google_harness import FakeClock, GoogleSheetsHarness
from tests.support.sheets_standin import Cell, serial, service_account

COHORT = "Promotion 2026"
HEADER = ["ID", "Nom", "Prénom", "Décision CUF", "Statut"]
PIPELINE = Path(__file__).resolve().parents[2] / "pipeline"


def cohort(count: int) -> list[list[object]]:
    """A cohort sheet: a header and `count` people, IDs p00001…"""
    rows: list[list[object]] = [list(HEADER)]
    rows += [
        [f"p{i:05d}", f"Nom{i}", f"Prénom{i}", "", "Intérêt enregistré"]
        for i in range(1, count + 1)
    ]
    return rows


def plan(
    sheet: str,
    *cells: tuple[int, int, str | int],
    create: bool = False,
    key_col: int | None = None,
    expected_keys: tuple[tuple[int, str], ...] = (),
) -> WritePlan:
    writes = tuple(CellWrite(row=r, col=c, value=v) for r, c, v in cells)
    return WritePlan(
        sheets=(
            SheetWrite(
                sheet=sheet,
                create=create,
                cells=writes,
                key_col=key_col,
                expected_keys=expected_keys,
            ),
        )
    )


def status_update(table: list[list[str]], status: str, new_people: int = 0) -> WritePlan:
    """What a run writes: Statut of every person (keyed by ID) and the rows of new people."""
    keys = tuple((row, line[0]) for row, line in enumerate(table, start=1) if row > 1 and line)
    cells = [(row, 5, status) for row, _key in keys]
    first_new = len(table) + 1
    for i in range(new_people):
        row = first_new + i
        cells += [(row, 1, f"n{i:05d}"), (row, 2, f"Nouveau{i}"), (row, 5, status)]
    journal = SheetWrite(
        sheet="Journal",
        create=True,
        cells=(CellWrite(row=1, col=1, value="Début"), CellWrite(row=2, col=1, value="2026-04-01")),
    )
    people = plan(COHORT, *cells, key_col=1, expected_keys=keys).sheets[0]
    return WritePlan(sheets=(people, journal))


def apis(harness: GoogleSheetsHarness) -> list[str]:
    return [call.api for call in harness.standin.calls()]


# --- reading ------------------------------------------------------------------------------------


def test_read_returns_every_cell_as_text(google_spreadsheet: GoogleSheetsHarness) -> None:
    """Reads give strings: serial timestamps, `01053`, TRUE, 42; a missing sheet is absent."""
    stamp = serial(datetime(2026, 3, 2, 10, 4, 5))
    backend = google_spreadsheet(
        {
            "Réponses au formulaire 1": [
                ["Horodateur", "Code", "Premier mandat", "Âge"],
                [Cell(stamp, number_format="DATE_TIME dd/MM/yyyy HH:mm:ss"), "01053", True, 42],
            ]
        }
    )
    tables = backend.read(["Réponses au formulaire 1", "Nulle part"])
    assert tables == {
        "Réponses au formulaire 1": [
            ["Horodateur", "Code", "Premier mandat", "Âge"],
            [repr(stamp), "01053", "TRUE", "42"],
        ]
    }
    assert backend.time_zone == "Europe/Paris"


@pytest.mark.parametrize("rows", [10, 1000])
def test_a_read_costs_two_calls_whatever_the_size(
    google_spreadsheet: GoogleSheetsHarness, rows: int
) -> None:
    """A read is one spreadsheets.get (fields limited) + one values:batchGet, 10 or 1,000 rows."""
    backend = google_spreadsheet({COHORT: cohort(rows), "Adhérents": [["Collectivité"]]})
    table = backend.read([COHORT, "Adhérents", "Journal"])[COHORT]
    assert len(table) == rows + 1
    assert apis(google_spreadsheet) == ["spreadsheets.get", "values.batchGet"]
    metadata = google_spreadsheet.standin.calls("spreadsheets.get")[0]
    assert metadata.path.endswith(google_spreadsheet.spreadsheet_id)
    assert backend.stats.requests == 2


def test_leading_zero_stays_text(google_spreadsheet: GoogleSheetsHarness) -> None:
    """`01053` reads back as `01053` and is written back as text, not as the number 1053."""
    backend = google_spreadsheet({"Adhérents": [["Collectivité", "SIREN"], ["Lyon", "01053"]]})
    assert backend.read(["Adhérents"])["Adhérents"][1] == ["Lyon", "01053"]
    backend.write(plan("Adhérents", (3, 2, "01053")))
    sheet = google_spreadsheet.standin.spreadsheets[google_spreadsheet.spreadsheet_id].sheet(
        "Adhérents"
    )
    assert sheet is not None and sheet.cell(3, 2) == Cell("01053")
    assert backend.read(["Adhérents"])["Adhérents"][2] == ["", "01053"]


# --- writing ------------------------------------------------------------------------------------


def test_write_then_read_round_trip(google_spreadsheet: GoogleSheetsHarness) -> None:
    """Cells written (new sheet and existing one) read back as text; other cells are untouched."""
    backend = google_spreadsheet({COHORT: cohort(3)})
    backend.write(
        WritePlan(
            sheets=(
                SheetWrite(
                    sheet=COHORT,
                    cells=(
                        CellWrite(row=2, col=5, value="Inscrit·e"),
                        CellWrite(row=3, col=6, value=7),
                    ),
                ),
                SheetWrite(
                    sheet="À vérifier",
                    create=True,
                    cells=(
                        CellWrite(row=1, col=1, value="Raison"),
                        CellWrite(row=2, col=1, value="hors_delai"),
                    ),
                ),
            )
        )
    )
    tables = backend.read([COHORT, "À vérifier"])
    assert tables["À vérifier"] == [["Raison"], ["hors_delai"]]
    assert tables[COHORT][1] == ["p00001", "Nom1", "Prénom1", "", "Inscrit·e"]
    assert tables[COHORT][2] == ["p00002", "Nom2", "Prénom2", "", "Intérêt enregistré", "7"]
    assert google_spreadsheet.values(COHORT) == tables[COHORT]


def test_formula_text_stays_text(google_spreadsheet: GoogleSheetsHarness) -> None:
    """`=1+1` is sent with valueInputOption RAW and stored as text, never as a formula."""
    backend = google_spreadsheet({COHORT: cohort(1)})
    backend.write(plan(COHORT, (2, 4, "=1+1"), (2, 2, "+33 6 12 34 56 78")))
    sheet = google_spreadsheet.standin.spreadsheets[google_spreadsheet.spreadsheet_id].sheet(COHORT)
    assert sheet is not None
    stored = sheet.cell(2, 4)
    assert stored == Cell("=1+1") and stored is not None and not stored.is_formula
    assert backend.read([COHORT])[COHORT][1][:4] == [
        "p00001",
        "+33 6 12 34 56 78",
        "Prénom1",
        "=1+1",
    ]
    body = json.loads(google_spreadsheet.standin.calls("values.batchUpdate")[0].body)
    assert body["valueInputOption"] == "RAW"


def test_empty_plan_makes_no_call(google_spreadsheet: GoogleSheetsHarness) -> None:
    """An empty plan (or one whose sheets have nothing to do) sends no request at all."""
    backend = google_spreadsheet({COHORT: cohort(2)})
    backend.write(WritePlan())
    backend.write(WritePlan(sheets=(SheetWrite(sheet=COHORT), SheetWrite(sheet="Journal"))))
    assert google_spreadsheet.standin.log == []  # not even a token request


@pytest.mark.parametrize("rows", [10, 1000])
def test_a_write_costs_the_same_calls_whatever_the_size(
    google_spreadsheet: GoogleSheetsHarness, rows: int
) -> None:
    """A write is metadata, key check, one batchUpdate, one values:batchUpdate: 10 or 1,000 rows."""
    backend = google_spreadsheet({COHORT: cohort(rows)})
    table = backend.read([COHORT])[COHORT]
    google_spreadsheet.standin.clear_log()
    backend.write(status_update(table, "Inscrit·e", new_people=rows))
    assert apis(google_spreadsheet) == [
        "spreadsheets.get",
        "values.batchGet",
        "spreadsheets.batchUpdate",
        "values.batchUpdate",
    ]
    after = backend.read([COHORT, "Journal"])
    assert len(after[COHORT]) == 2 * rows + 1
    assert {line[4] for line in after[COHORT][1:]} == {"Inscrit·e"}
    assert after["Journal"] == [["Début"], ["2026-04-01"]]


def test_contiguous_cells_travel_as_few_ranges(google_spreadsheet: GoogleSheetsHarness) -> None:
    """A block of 200 rows x 5 columns is one range; a lone cell elsewhere is another."""
    backend = google_spreadsheet({COHORT: cohort(1)})
    block = [(row, col, f"v{row}-{col}") for row in range(2, 202) for col in range(1, 6)]
    backend.write(plan(COHORT, *block, (300, 8, "seul")))
    body = json.loads(google_spreadsheet.standin.calls("values.batchUpdate")[0].body)
    assert [item["range"] for item in body["data"]] == [f"'{COHORT}'!A2:E201", f"'{COHORT}'!H300"]
    assert google_spreadsheet.values(COHORT)[200][:5] == [f"v201-{col}" for col in range(1, 6)]


def test_large_write_is_split_only_past_the_payload_limit(
    google_spreadsheet: GoogleSheetsHarness,
) -> None:
    """Past max_payload_bytes the values go in several values:batchUpdate calls, all written."""
    backend = google_spreadsheet({COHORT: cohort(1)}, max_payload_bytes=20_000)
    cells = [(row, col, f"valeur {row}-{col}") for row in range(2, 1002) for col in (1, 3)]
    backend.write(plan(COHORT, *cells))
    calls = google_spreadsheet.standin.calls("values.batchUpdate")
    assert len(calls) > 1 and all(len(call.body) <= 20_000 for call in calls)
    values = google_spreadsheet.values(COHORT)
    assert values[999][0] == "valeur 1000-1" and values[1000][2] == "valeur 1001-3"


def test_grid_grows_when_cells_pass_its_edge(google_spreadsheet: GoogleSheetsHarness) -> None:
    """Cells beyond the grid (row 1,500, column AD) get rows and columns appended first."""
    backend = google_spreadsheet({COHORT: cohort(1)})
    backend.write(plan(COHORT, (1500, 30, "loin")))
    body = json.loads(google_spreadsheet.standin.calls("spreadsheets.batchUpdate")[0].body)
    kinds = [next(iter(request)) for request in body["requests"]]
    assert kinds == ["appendDimension", "appendDimension"]
    assert google_spreadsheet.values(COHORT)[1499][29] == "loin"


def test_creating_an_existing_sheet_reuses_it(google_spreadsheet: GoogleSheetsHarness) -> None:
    """`create=True` on a sheet that exists (a rerun after a crash) adds nothing and writes."""
    backend = google_spreadsheet({"Journal": [["Début"]]})
    backend.write(plan("Journal", (2, 1, "2026-04-01"), create=True))
    assert "spreadsheets.batchUpdate" not in apis(google_spreadsheet)
    assert google_spreadsheet.values("Journal") == [["Début"], ["2026-04-01"]]


# --- staff editing during a run -------------------------------------------------------------------


def _sort_descending(harness: GoogleSheetsHarness, rows: int) -> None:
    harness.standin.reorder_rows_before(
        harness.spreadsheet_id, COHORT, list(range(rows + 1, 1, -1)), api="spreadsheets.get"
    )


def _insert_a_row(harness: GoogleSheetsHarness, rows: int) -> None:
    spreadsheet = harness.standin.spreadsheets[harness.spreadsheet_id]
    harness.standin.before(lambda: spreadsheet.insert_rows(COHORT, 3), api="spreadsheets.get")


def _type_in_the_next_empty_row(harness: GoogleSheetsHarness, rows: int) -> None:
    sheet = harness.standin.spreadsheets[harness.spreadsheet_id].sheet(COHORT)
    assert sheet is not None
    harness.standin.before(
        lambda: sheet.put(rows + 2, 1, Cell("ajout à la main")), api="spreadsheets.get"
    )


@pytest.mark.parametrize(
    "staff_action",
    [_sort_descending, _insert_a_row, _type_in_the_next_empty_row],
    ids=["sort", "insert", "type-below"],
)
def test_rows_moved_between_read_and_write_stop_the_write(
    google_spreadsheet: GoogleSheetsHarness,
    staff_action: Callable[[GoogleSheetsHarness, int], None],
) -> None:
    """Rows sorted, inserted or typed after the read raise SheetMovedError; nothing is written."""
    backend = google_spreadsheet({COHORT: cohort(5)})
    table = backend.read([COHORT])[COHORT]
    staff_action(google_spreadsheet, 5)
    with pytest.raises(SheetMovedError, match="reordered during the run.*next run will re-plan"):
        backend.write(status_update(table, "Inscrit·e", new_people=1))
    assert "values.batchUpdate" not in apis(google_spreadsheet)
    assert "spreadsheets.batchUpdate" not in apis(google_spreadsheet)
    after = google_spreadsheet.values(COHORT)
    people = [line for line in after[1:] if line and line[0].startswith("p")]
    assert len(people) == 5 and all(line[4] == "Intérêt enregistré" for line in people)
    # The caller re-reads and re-plans: the next write lands on the right rows.
    fresh = backend.read([COHORT])[COHORT]
    backend.write(status_update(fresh, "Inscrit·e", new_people=1))
    statuses = {line[0]: line[4] for line in backend.read([COHORT])[COHORT][1:] if line}
    assert all(statuses[f"p{i:05d}"] == "Inscrit·e" for i in range(1, 6))
    assert statuses["n00000"] == "Inscrit·e"
    if "ajout à la main" in statuses:  # the staff's row kept its ID; the new person went below
        assert [line[0] for line in google_spreadsheet.values(COHORT)][6:8] == [
            "ajout à la main",
            "n00000",
        ]


# --- failures -----------------------------------------------------------------------------------


def test_429_with_retry_after_is_survived(google_spreadsheet: GoogleSheetsHarness) -> None:
    """A 429 with Retry-After: 7 is retried after at least 7 s (fake clock), then succeeds."""
    backend = google_spreadsheet({COHORT: cohort(2)})
    google_spreadsheet.standin.fail(429, retry_after="7", api="values.batchGet")
    assert len(backend.read([COHORT])[COHORT]) == 3
    statuses = [c.status for c in google_spreadsheet.standin.calls("values.batchGet")]
    assert statuses == [429, 200]
    assert max(google_spreadsheet.clock.sleeps) >= 7


def test_503_is_survived(google_spreadsheet: GoogleSheetsHarness) -> None:
    """Two 503 on values:batchUpdate are retried with backoff and the cells are written once."""
    backend = google_spreadsheet({COHORT: cohort(2)})
    google_spreadsheet.standin.fail(503, times=2, api="values.batchUpdate")
    backend.write(plan(COHORT, (2, 5, "Inscrit·e")))
    statuses = [c.status for c in google_spreadsheet.standin.calls("values.batchUpdate")]
    assert statuses == [503, 503, 200]
    assert google_spreadsheet.values(COHORT)[1][4] == "Inscrit·e"
    first, second = google_spreadsheet.clock.sleeps[:2]
    assert 0.5 <= first <= 1 and 1 <= second <= 2  # jittered exponential backoff


def test_502_html_page_is_retried(google_spreadsheet: GoogleSheetsHarness) -> None:
    """A 502 from Google's front end (an HTML page, not JSON) is retried like a 503."""
    backend = google_spreadsheet({COHORT: cohort(2)})
    google_spreadsheet.standin.fail(502, api="spreadsheets.get")
    assert COHORT in backend.read([COHORT])


def test_400_is_not_retried(google_spreadsheet: GoogleSheetsHarness) -> None:
    """A 400 is sent once, never retried, and becomes a SheetError."""
    backend = google_spreadsheet({COHORT: cohort(2)})
    google_spreadsheet.standin.fail(400, times=5, api="values.batchGet")
    with pytest.raises(SheetError, match="HTTP 400"):
        backend.read([COHORT])
    assert len(google_spreadsheet.standin.calls("values.batchGet")) == 1
    assert google_spreadsheet.clock.sleeps == []


def test_dropped_connection_is_retried(google_spreadsheet: GoogleSheetsHarness) -> None:
    """A connection closed without a reply is retried and the write completes."""
    backend = google_spreadsheet({COHORT: cohort(2)})
    google_spreadsheet.standin.drop_connection(api="values.batchUpdate")
    backend.write(plan(COHORT, (3, 5, "Liste d'attente")))
    statuses = [c.status for c in google_spreadsheet.standin.calls("values.batchUpdate")]
    assert statuses == [0, 200]
    assert google_spreadsheet.values(COHORT)[2][4] == "Liste d'attente"


def test_reply_lost_after_add_sheet_is_recovered(google_spreadsheet: GoogleSheetsHarness) -> None:
    """An addSheet applied whose reply was lost is not repeated into an error: the write ends."""
    backend = google_spreadsheet({COHORT: cohort(1)})
    google_spreadsheet.standin.drop_connection(after=True, api="spreadsheets.batchUpdate")
    backend.write(plan("Journal", (1, 1, "Début"), create=True))
    spreadsheet = google_spreadsheet.standin.spreadsheets[google_spreadsheet.spreadsheet_id]
    assert [s.title for s in spreadsheet.sheets] == [COHORT, "Journal"]
    assert google_spreadsheet.values("Journal") == [["Début"]]


def test_slow_reply_times_out_and_is_retried(google_spreadsheet: GoogleSheetsHarness) -> None:
    """A reply slower than the read timeout is abandoned and the call retried."""
    backend = google_spreadsheet({COHORT: cohort(2)}, read_timeout=0.2)
    google_spreadsheet.standin.slow(3.0, api="values.batchGet")
    assert len(backend.read([COHORT])[COHORT]) == 3
    assert backend.stats.retries == 1


def test_retries_are_bounded(google_spreadsheet: GoogleSheetsHarness) -> None:
    """A 503 that never ends gives up after max_attempts with a clear message, nothing written."""
    backend = google_spreadsheet({COHORT: cohort(2)})
    google_spreadsheet.standin.fail(503, times=100)
    with pytest.raises(SheetError, match="HTTP 503.*after 5 attempts.*nothing was written"):
        backend.write(plan(COHORT, (2, 5, "Inscrit·e")))
    assert len(google_spreadsheet.standin.calls()) == 5
    assert sum(google_spreadsheet.clock.sleeps) <= 4 * GoogleSpreadsheet.backoff_max


def test_unreachable_endpoint_is_retried_then_explained(
    google_spreadsheet: GoogleSheetsHarness,
) -> None:
    """A refused connection is retried, then the message names the endpoint to check."""
    google_spreadsheet({COHORT: cohort(1)})
    settings = google_spreadsheet.settings().model_copy(
        update={"api_endpoint": "http://127.0.0.1:9"}
    )
    clock = google_spreadsheet.clock
    backend = GoogleSpreadsheet.from_settings(settings, environ={}, sleep=clock.sleep, clock=clock)
    with pytest.raises(
        SheetError, match=r"cannot reach the Google Sheets API at http://127\.0\.0\.1:9"
    ):
        backend.read([COHORT])
    assert backend.stats.requests == 5 and backend.stats.retries == 4


# --- clear errors ------------------------------------------------------------------------------


def test_403_names_the_service_account(google_spreadsheet: GoogleSheetsHarness) -> None:
    """Not shared with the service account: the message names its address and says to share."""
    backend = google_spreadsheet({COHORT: cohort(1)}, shared=False)
    with pytest.raises(SheetError) as caught:
        backend.read([COHORT])
    message = str(caught.value)
    assert google_spreadsheet.account.email in message
    assert "HTTP 403" in message and "Share the spreadsheet with" in message
    assert len(google_spreadsheet.standin.calls()) == 1  # a 403 is not retried


def test_404_says_to_check_the_key(google_spreadsheet: GoogleSheetsHarness) -> None:
    """A wrong id: the message says the spreadsheet is not found and to check spreadsheet.key."""
    google_spreadsheet({COHORT: cohort(1)})
    backend = google_spreadsheet.connect("1NoSuchSpreadsheetAnywhere")
    with pytest.raises(SheetError, match="1NoSuchSpreadsheetAnywhere not found.*spreadsheet.key"):
        backend.read([COHORT])


def test_disabled_api_says_to_enable_it(google_spreadsheet: GoogleSheetsHarness) -> None:
    """SERVICE_DISABLED: the message says the Sheets API is disabled and gives the link."""
    backend = google_spreadsheet({COHORT: cohort(1)})
    google_spreadsheet.standin.disable_api()
    with pytest.raises(SheetError, match="Sheets API is disabled.*console.developers.google.com"):
        backend.read([COHORT])


def test_missing_tab_on_write_says_what_to_fix(google_spreadsheet: GoogleSheetsHarness) -> None:
    """Writing to a sheet that is gone (and not to be created) names it and the config section."""
    backend = google_spreadsheet({COHORT: cohort(1)})
    with pytest.raises(SheetError, match=r"sheet 'Adhérents' not found.*\[sheets\]"):
        backend.write(plan("Adhérents", (2, 1, "x")))
    assert apis(google_spreadsheet) == ["spreadsheets.get"]


def test_key_content_never_appears_in_errors_or_logs(
    google_spreadsheet: GoogleSheetsHarness, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A damaged key, or a key Google refuses, gives a message without any of the key's content."""
    google_spreadsheet({COHORT: cohort(1)})
    caplog.set_level(logging.DEBUG)
    damaged = tmp_path / "damaged.json"
    info = google_spreadsheet.account.key_file_info(google_spreadsheet.standin.token_uri)
    info["private_key"] = (
        "-----BEGIN PRIVATE KEY-----\nTOPSECRETMATERIAL\n-----END PRIVATE KEY-----\n"
    )
    damaged.write_text(json.dumps(info), encoding="utf-8")
    damaged.chmod(0o644)
    settings = google_spreadsheet.settings().model_copy(update={"credentials": damaged})
    with pytest.raises(SheetError) as caught:
        GoogleSpreadsheet.from_settings(settings, environ={})
    assert "TOPSECRET" not in str(caught.value) and caught.value.__cause__ is None
    assert "chmod 600" in caplog.text  # the loose file mode is reported

    stranger = service_account("intrus@autre-projet.iam.gserviceaccount.com", "autre-projet")
    refused = stranger.write_key_file(
        tmp_path / "refused.json", google_spreadsheet.standin.token_uri
    )
    settings = google_spreadsheet.settings().model_copy(update={"credentials": refused})
    backend = GoogleSpreadsheet.from_settings(
        settings, environ={}, sleep=google_spreadsheet.clock.sleep, clock=google_spreadsheet.clock
    )
    with pytest.raises(SheetError, match="could not get an access token") as refusal:
        backend.read([COHORT])
    secret = stranger.private_key_pem()
    body = secret.splitlines()[1]
    for text in (str(refusal.value), caplog.text):
        assert "PRIVATE KEY" not in text and body not in text


# --- configuration -----------------------------------------------------------------------------


def test_key_may_be_the_browser_url(google_spreadsheet: GoogleSheetsHarness) -> None:
    """spreadsheet.key may be the whole URL pasted from the browser."""
    google_spreadsheet({COHORT: cohort(1)})
    url = f"https://docs.google.com/spreadsheets/d/{google_spreadsheet.spreadsheet_id}/edit#gid=0"
    assert spreadsheet_id(url) == google_spreadsheet.spreadsheet_id
    backend = google_spreadsheet.connect(url)
    assert backend.spreadsheet_id == google_spreadsheet.spreadsheet_id
    assert COHORT in backend.read([COHORT])
    with pytest.raises(ConfigError, match="neither a spreadsheet id nor a Google Sheets URL"):
        spreadsheet_id("mon classeur")


def test_key_file_from_the_environment(google_spreadsheet: GoogleSheetsHarness) -> None:
    """Without spreadsheet.credentials, GOOGLE_APPLICATION_CREDENTIALS names the key file."""
    google_spreadsheet({COHORT: cohort(1)})
    settings = google_spreadsheet.settings().model_copy(update={"credentials": None})
    environ = {"GOOGLE_APPLICATION_CREDENTIALS": str(google_spreadsheet.key_file)}
    clock = google_spreadsheet.clock
    backend = GoogleSpreadsheet.from_settings(
        settings, environ=environ, sleep=clock.sleep, clock=clock
    )
    assert backend.service_account_email == google_spreadsheet.account.email
    assert COHORT in backend.read([COHORT])


def test_no_credentials_at_all_says_where_the_key_goes(
    google_spreadsheet: GoogleSheetsHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No key file and no application-default credentials: the message names both settings."""
    from google.auth.compute_engine import _metadata

    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setattr(_metadata, "is_on_gce", lambda *args, **kwargs: False)
    settings = SpreadsheetSettings(backend="google", key="1AbCdEf")
    with pytest.raises(SheetError, match="spreadsheet.credentials.*GOOGLE_APPLICATION_CREDENTIALS"):
        GoogleSpreadsheet.from_settings(settings, environ={})


def test_describe_names_the_spreadsheet_and_endpoint(
    google_spreadsheet: GoogleSheetsHarness,
) -> None:
    """describe() gives the id, the non-default endpoint and the service account."""
    backend = google_spreadsheet({COHORT: cohort(1)})
    text = backend.describe()
    assert google_spreadsheet.spreadsheet_id in text and google_spreadsheet.standin.url in text
    assert google_spreadsheet.account.email in text


# --- rate limit ----------------------------------------------------------------------------------


def test_token_bucket_stays_under_60_requests_a_minute() -> None:
    """The default bucket never lets 60 requests through in any 60 s window, on a fake clock."""
    clock = FakeClock()
    bucket = TokenBucket(clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(300):
        bucket.acquire()
        stamps.append(clock.now)
    busiest = max(sum(1 for t in stamps if start <= t < start + 60) for start in stamps)
    assert busiest < 60
    assert stamps[:10] == [stamps[0]] * 10  # a run's handful of calls goes through at once


def test_backend_requests_pass_through_the_rate_limiter(
    google_spreadsheet: GoogleSheetsHarness,
) -> None:
    """With a bucket of 6 a minute and burst 1, a read's second call waits 10 s (fake clock)."""
    clock = google_spreadsheet.clock
    bucket = TokenBucket(per_minute=6, burst=1, clock=clock, sleep=clock.sleep)
    backend = google_spreadsheet({COHORT: cohort(1)}, rate_limiter=bucket)
    backend.read([COHORT])
    assert clock.sleeps == [pytest.approx(10.0)]


# --- safe values, statically ---------------------------------------------------------------------


def test_pipeline_never_uses_unsafe_write_calls() -> None:
    """No `update_cell(`, `update_acell` or `USER_ENTERED` anywhere in pipeline/."""
    banned = re.compile(r"update_cell\(|update_acell|USER_ENTERED")
    found = [
        f"{path.relative_to(PIPELINE.parent)}:{number}: {line.strip()}"
        for path in sorted(PIPELINE.rglob("*"))
        if path.is_file() and path.suffix in (".py", ".toml", ".txt", ".md", ".cfg", ".ini", "")
        for number, line in enumerate(
            path.read_text(encoding="utf-8", errors="replace").splitlines(), 1
        )
        if banned.search(line)
    ]
    assert found == []
