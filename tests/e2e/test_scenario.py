"""The whole CLI on a workbook, over several runs, as staff and time drive it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.core.people import person_id
from pipeline.entry.cli import main
from tests.support.scenario import (
    CONFIG,
    Scenario,
    WorkbookView,
    outbox,
    people,
    records,
    staff_edit,
    write_workbook,
)

__all__ = ["CONFIG", "by_email", "rows_of", "staff_edit", "write_workbook"]


def rows_of(path: Path, name: str) -> list[dict[str, object]]:
    return records(WorkbookView(path), name)


def by_email(path: Path) -> dict[str, dict[str, object]]:
    return people(WorkbookView(path))


@pytest.fixture
def env(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(tmp=tmp_path), encoding="utf-8")
    write_workbook(tmp_path / "wb.xlsx")
    return tmp_path, config


def run(config: Path, as_of: str) -> int:
    return main(["run", "--config", str(config), "--as-of", as_of])


def test_staff_and_time_scenario(env: tuple[Path, Path]) -> None:
    """Interest phase, opening, staff edits and sorting, idle reruns and a late answer, per SPEC."""
    tmp, config = env
    Scenario(WorkbookView(tmp / "wb.xlsx"), lambda as_of: run(config, as_of), tmp).play()


def test_dry_run_touches_nothing(
    env: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """`--dry-run` prints the planned changes and leaves the workbook, outbox and ledger alone."""
    tmp, config = env
    stamp = (tmp / "wb.xlsx").stat().st_mtime_ns
    assert main(["run", "--config", str(config), "--dry-run", "--as-of", "2026-04-02T09:00"]) == 0
    out = capsys.readouterr().out
    assert (
        "sheet 'Promotion 2026' (new sheet)" in out and "message accuse_reception: 7 to send" in out
    )
    assert (tmp / "wb.xlsx").stat().st_mtime_ns == stamp and outbox(tmp) == []
    # each message: template, person ID, masked address; each cell: row key, column, old -> new
    ana = person_id("ana@lyon.fr")
    assert f"accuse_reception       {ana:14} a…@lyon.fr" in out
    assert f"{ana:14} Statut: '' → 'Inscrit·e'" in out
    assert f"{ana:14} Nom: '' → 'B…'" in out and "Bernard" not in out and "ana@" not in out
    assert run(config, "2026-03-20T10:00") == 0 and len(outbox(tmp)) == 8
    capsys.readouterr()
    assert main(["run", "--config", str(config), "--dry-run", "--as-of", "2026-03-20T10:05"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == ["  nothing"]  # idle: nothing listed


def test_bad_config_exits_2_with_one_paragraph(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown key and a wrong type are named with the file and the fix; exit code 2."""
    config = tmp_path / "bad.toml"
    config.write_text(
        CONFIG.format(tmp=tmp_path).replace("capacity = 3", "capacity = 'trois'\ncolour = 1"),
        encoding="utf-8",
    )
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert str(config) in err and "cohort.capacity" in err and "cohort.colour" in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_missing_sheet_is_a_clear_error(
    env: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A renamed member sheet stops the run with exit 1 and names the config key to fix."""
    tmp, config = env
    staff_edit(tmp / "wb.xlsx", lambda wb: setattr(wb["Adhérents"], "title", "Membres"))
    assert run(config, "2026-03-20T10:00") == 1
    err = capsys.readouterr().err
    assert "sheet 'Adhérents' not found" in err and "[sheets].members" in err


def test_staff_see_dates_words_and_notes(env: tuple[Path, Path]) -> None:
    """Dates are real date-time cells shown JJ/MM/AAAA HH:MM, `Motif` is in words with its code
    beside it, `Explication` wraps, header notes explain their own column; a rerun is idle."""
    from datetime import datetime

    from openpyxl import load_workbook

    tmp, config = env
    assert run(config, "2026-03-20T10:00") == 0
    stamp = (tmp / "wb.xlsx").stat().st_mtime_ns
    assert run(config, "2026-03-20T10:05") == 0
    assert (tmp / "wb.xlsx").stat().st_mtime_ns == stamp  # reading date cells back: no change
    book = load_workbook(tmp / "wb.xlsx")
    for sheet, headers in (("Promotion 2026", ("Première réponse", "Dernière réponse")),
                           ("Journal", ("Début", "Fin"))):  # fmt: skip
        cols = {c.value: c.column for c in book[sheet][1]}
        for header in headers:
            cell = book[sheet].cell(row=2, column=cols[header])
            assert isinstance(cell.value, datetime) and cell.number_format == "DD/MM/YYYY HH:MM"
    review = book["À vérifier"]
    cols = {c.value: c.column for c in review[1]}
    motifs = {
        review.cell(row=r, column=cols["Code motif"]).value: review.cell(row=r, column=cols["Motif"]).value
        for r in range(2, review.max_row + 1)
    }  # fmt: skip
    assert motifs["email_invalide"] == "Adresse e-mail invalide"
    assert motifs["doublon_probable"] == "Doublon probable"
    assert review.cell(row=2, column=cols["Explication"]).alignment.wrap_text
    notes = [c.comment.text for c in book["Promotion 2026"][1] if c.comment]
    assert len(set(notes)) == len(notes)  # each column its own note
