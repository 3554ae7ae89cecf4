"""The staff-and-time scenario through the CLI on the Google backend, against the Sheets stand-in.

The config says `backend = "google"`, `api_endpoint` is the stand-in on 127.0.0.1 and the service
account key file's `token_uri` points there too: gspread and google-auth run unchanged over real
HTTP. Staff act on the stand-in's state directly, as they would in the browser. The same
`Scenario` as on the local workbook runs here, plus what only Google can show: API calls per
run, no formula cell, rows shuffled between a run's read and its write, 429 and 503 replies.

The only thing replaced in the CLI is the backend's sleep and clock (a fake clock), so retries
and the rate limiter never wait on wall-clock time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from pipeline.adapters.sheets import cell_text
from pipeline.core.people import person_id
from pipeline.core.sheetplan import read_stamp
from pipeline.entry.cli import main
from tests.support.discovery import problems, request_schema
from tests.support.google_world import (
    READ,
    WRITE_APIS,
    World,
    consistent_rows,
    google_world,
    is_key_check,
    rotate,
)
from tests.support.scenario import (
    COHORT,
    CONFIG,
    IDLE_1,
    IDLE_2,
    INTEREST,
    JOURNAL,
    LATE,
    OPENING,
    STAFF_EDITS,
    Scenario,
    WorkbookView,
    outbox,
    people,
    records,
    sent,
    write_workbook,
)
from tests.support.sheets_standin import Cell

DATE_TIMES = ("Première réponse", "Dernière réponse")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The scenario's data in a stand-in spreadsheet shared with the service account, and a
    config pointing the CLI there (key given as the URL pasted from a browser)."""
    with google_world(tmp_path, monkeypatch) as opened:
        yield opened


def test_staff_and_time_scenario_on_google_sheets(world: World) -> None:
    """Scenario via the CLI on Google: constant calls, no formula, sort re-planned, 429/503 ok."""
    scenario, runs, standin = world.scenario(), world.runs, world.standin

    scenario.interest()
    scenario.idle(IDLE_1)

    # Staff sort the cohort sheet after the run read it, before it writes: the run re-plans.
    order_hook = standin.before(rotate(world, COHORT), api="values.batchGet", match=is_key_check)
    scenario.opening()
    assert order_hook.hits == 1
    consistent_rows(world.view)

    # Google answers 429 (Retry-After: 3) to the read and 503 to the write: both retried.
    standin.fail(429, retry_after="3", api="values.batchGet")
    standin.fail(503, api="values.batchUpdate")
    scenario.staff_edits()
    consistent_rows(world.view)

    scenario.idle(IDLE_2)
    scenario.late_answer()
    scenario.nothing_dropped()
    consistent_rows(world.view)

    # Calls: reads are one metadata call and one batchGet; a writing run adds the write's
    # metadata call, the key check and one values:batchUpdate (plus one batchUpdate creating the
    # sheets on the first run, which has no key to check). Idle runs write nothing.
    first = ["spreadsheets.get", "values.batchGet", "spreadsheets.get",
             "spreadsheets.batchUpdate", "values.batchUpdate"]  # fmt: skip
    later = ["spreadsheets.get", "values.batchGet", "spreadsheets.get", "values.batchGet",
             "values.batchUpdate"]  # fmt: skip
    assert runs.apis(INTEREST) == first
    assert runs.apis(STAFF_EDITS) == runs.apis(LATE) == later
    assert len(first) == len(later) == 5
    assert runs.apis(IDLE_1, status=None) == runs.apis(IDLE_2, status=None) == READ
    assert runs.apis(OPENING) == later[:4] + later  # one re-read and re-plan after the sort
    assert all(count == 1 for count in runs.tokens.values())  # one token per run

    # The faults were really served, and retried after the time Google asked for.
    statuses = [(c.api, c.status) for c in runs.calls[STAFF_EDITS] if c.status != 200]
    assert statuses == [("values.batchGet", 429), ("values.batchUpdate", 503)]
    assert len(world.clock.sleeps) == 2 and world.clock.sleeps[0] >= 3  # Retry-After: 3

    # Every write was RAW, in batches; nothing went cell by cell.
    writes = [c for calls in runs.calls.values() for c in calls if c.api in WRITE_APIS]
    assert {c.api for c in writes} == {"spreadsheets.batchUpdate", "values.batchUpdate"}
    for call in writes:
        if call.api == "values.batchUpdate":
            assert json.loads(call.body)["valueInputOption"] == "RAW"

    # No formula anywhere; the formula-like name is stored as text.
    assert world.view.formula_cells() == []
    ivan = world.view.stored_row(COHORT, person_id("ivan@lyon.fr"))
    assert Cell("=cmd|' /C calc'!A0") in ivan and not any(cell.is_formula for cell in ivan)


def test_same_results_as_the_local_workbook(world: World, tmp_path: Path) -> None:
    """Cohort, review and journal outcomes and the emails are the same on Google as on .xlsx."""
    world.scenario().play()
    local_dir = tmp_path / "local"
    local_dir.mkdir()
    (local_dir / "config.toml").write_text(CONFIG.format(tmp=local_dir), encoding="utf-8")
    write_workbook(local_dir / "wb.xlsx")
    local = WorkbookView(local_dir / "wb.xlsx")

    def run_local(as_of: str) -> int:
        return main(["run", "--config", str(local_dir / "config.toml"), "--as-of", as_of])

    Scenario(local, run_local, local_dir).play()

    def cell(header: str, value: object) -> object:
        if header in DATE_TIMES:  # a date-time cell: a serial on Google, a datetime in .xlsx
            return read_stamp(cell_text(value))
        return value if value != "" else None

    def normal(rows: Mapping[str, Mapping[str, object]]) -> dict[str, dict[str, object]]:
        return {k: {h: cell(h, v) for h, v in r.items()} for k, r in rows.items()}

    assert normal(people(world.view)) == normal(people(local))
    review = {str(r["Réf."]): r for r in records(world.view, "À vérifier")}
    review_local = {str(r["Réf."]): r for r in records(local, "À vérifier")}
    assert normal(review) == normal(review_local)
    skip = {"Début", "Fin", "Exécution"}  # wall-clock times and run ids

    def journal(view: Any) -> list[dict[str, object]]:
        return [{h: v for h, v in r.items() if h not in skip} for r in records(view, JOURNAL)]

    assert journal(world.view) == journal(local)
    assert sent(world.tmp) == sent(local_dir)
    assert len(outbox(world.tmp)) == len(outbox(local_dir))


def test_rows_moved_twice_fail_the_run_clearly(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second sort during the re-plan fails the run clearly, cohort untouched; next run is ok."""
    scenario = world.scenario()
    scenario.interest()
    statuses = {k: v["Statut"] for k, v in people(world.view).items()}
    world.standin.before(rotate(world, COHORT), times=2, api="values.batchGet", match=is_key_check)
    capsys.readouterr()
    assert world.runs(OPENING) == 1
    err = capsys.readouterr().err
    assert "reordered during the run" in err and "nothing was written" in err
    assert {k: v["Statut"] for k, v in people(world.view).items()} == statuses
    written = [
        item["range"]
        for call in world.runs.calls[OPENING]
        if call.api == "values.batchUpdate"
        for item in json.loads(call.body)["data"]
    ]
    assert written and all(r.startswith(f"'{JOURNAL}'!") for r in written)  # the failure row
    assert [r["Résultat"] for r in records(world.view, JOURNAL)] == ["Succès", "Échec"]
    consistent_rows(world.view)
    scenario.opening()  # the next run re-plans from the new order
    consistent_rows(world.view)


def test_every_request_is_valid_by_the_discovery_document(world: World) -> None:
    """Every batchUpdate body the scenario sends passes Google's discovery document: known
    fields, enum values and types, and no field the document marks deprecated."""
    world.scenario().play()
    writes = [
        call
        for calls in world.runs.calls.values()
        for call in calls
        if call.api in ("spreadsheets.batchUpdate", "values.batchUpdate")
    ]
    assert {call.api for call in writes} == {"spreadsheets.batchUpdate", "values.batchUpdate"}
    for call in writes:
        assert problems(json.loads(call.body), request_schema(call.api)) == []


def test_the_discovery_check_sees_deprecated_and_unknown_fields() -> None:
    """The checker flags a deprecated colour field, an unknown field and a bad enum value."""
    body = {
        "requests": [
            {
                "repeatCell": {
                    "range": {"sheetId": 1},
                    "cell": {"userEnteredFormat": {"backgroundColor": {"red": 1.0}}},
                    "fields": "userEnteredFormat(backgroundColor)",
                }
            },
            {"setBasicFilter": {"filter": {"range": {"sheetId": 1}, "colour": 1}}},
            {"updateDimensionProperties": {"range": {"dimension": "DIAGONAL"}, "fields": "x"}},
        ]
    }
    found = problems(body, request_schema("spreadsheets.batchUpdate"))
    assert len(found) == 3
    assert "backgroundColor: deprecated" in found[0]
    assert "colour: no such field" in found[1] and "DIAGONAL" in found[2]


def test_a_lost_state_db_sends_nothing_again_on_google(world: World) -> None:
    """State DB and outbox gone between runs on Google Sheets: the sheet's `Courriels envoyés`
    alone rebuilds the ledger; nothing is sent again, and the Journal counts what was found."""
    import shutil

    scenario = world.scenario()
    scenario.interest()
    scenario.opening()
    before = sent(world.tmp)
    for path in world.tmp.glob("state.sqlite*"):
        path.unlink()
    shutil.move(world.tmp / "outbox", world.tmp / "outbox-old")
    assert world.runs(IDLE_2) == 0
    assert outbox(world.tmp) == []
    journal = records(world.view, JOURNAL)
    assert int(str(journal[-1]["Courriels retrouvés"])) == len(before)
    assert int(str(journal[-1]["Courriels envoyés"])) == 0
