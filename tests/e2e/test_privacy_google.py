"""Access export and erasure on the Google backend (the Sheets API stand-in), after the
staff-and-time scenario: the same guarantees as on the workbook, plus rows sorted by staff
between the erasure's read and its write."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.core.people import person_id
from pipeline.entry.cli import main
from tests.support.google_world import (
    World,
    consistent_rows,
    google_world,
    is_key_check,
    rotate,
)
from tests.support.scenario import (
    COHORT,
    FORM,
    outbox,
    people,
    sent,
)

CHLOE = "chloe@lyon.fr"
SECRETS = (CHLOE, "Chloé", "Faure", person_id(CHLOE))


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The scenario's spreadsheet on the stand-in and a config pointing the CLI there."""
    with google_world(tmp_path, monkeypatch) as opened:
        yield opened


def held(world: World, skip_form: bool) -> list[str]:
    """Where a secret of Chloé's remains: stand-in cells of every sheet, state DB, outbox."""
    found = []
    with world.standin.lock:
        sheets = [s.title for s in world.standin.spreadsheets[world.harness.spreadsheet_id].sheets]
    for title in sheets:
        if skip_form and title == FORM:
            continue
        text = "\n".join(str(v) for row in world.view.table(title) for v in row if v is not None)
        found += [f"{title}: {s}" for s in SECRETS if s.lower() in text.lower()]
    files = [*world.tmp.glob("state.sqlite*"), *(world.tmp / "outbox").glob("*")]
    for path in files:
        blob = path.read_bytes().lower()
        found += [f"{path.name}: {s}" for s in SECRETS if s.lower().encode() in blob]
    return found


@pytest.mark.parametrize("include_source", [False, True], ids=["tombstone", "source-cleared"])
def test_export_and_erasure_on_google_sheets(
    world: World, capsys: pytest.CaptureFixture[str], include_source: bool
) -> None:
    """Export complete; erasure survives a sort mid-write; nothing of Chloé left; no comeback."""
    world.scenario().play()
    config = str(world.runs.config)
    capsys.readouterr()
    assert main(["export", CHLOE, "--config", config, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [a["row"] for a in doc["form_answers"]] == [4, 14]
    assert doc["cohort_rows"][0]["values"]["Suivi"] == "suivi Chloé"
    assert len(doc["messages"]) == 3 and "Google" in doc["sources"]["cohort_rows"]
    assert held(world, skip_form=False)

    flags = ["--include-source"] if include_source else []
    sort = world.standin.before(rotate(world, COHORT), api="values.batchGet", match=is_key_check)
    assert main(["erase", CHLOE, "--config", config, "--yes", *flags]) == 0
    out = capsys.readouterr().out
    assert sort.hits == 1  # staff sorted between the erasure's read and write: re-read once
    assert "check: no output sheet cell" in out and "Google Form itself" in out
    assert held(world, skip_form=not include_source) == []
    consistent_rows(world.view)
    form = world.view.table(FORM)
    assert str(form[14][1]).strip() == "zoe@lyon.fr"  # no row moved
    assert (not any(form[3]) and not any(form[13])) == include_source

    assert world.runs("2026-05-06T10:00") == 0
    assert CHLOE not in people(world.view) and CHLOE not in {to for to, _ in sent(world.tmp)}
    assert ("ivan@lyon.fr", "place_liberee") in sent(world.tmp)
    assert held(world, skip_form=not include_source) == []
    assert len(outbox(world.tmp)) == 14  # 16 sent in the scenario, 3 hers gone, Ivan's new
    consistent_rows(world.view)
