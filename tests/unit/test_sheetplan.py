"""The sheet planner: minimal keyed writes that never touch staff cells or move them."""

from __future__ import annotations

import random
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.core.errors import SheetError
from pipeline.core.sheetplan import plan_append, plan_grid, plan_keyed, read_stamp, serial
from tests.support.sheets import apply

HEADERS = ("ID", "Nom", "Statut", "Décision CUF", "Notes CUF")
OWNED = ("ID", "Nom", "Statut")


def rows(n: int, status: str = "Inscrit·e") -> list[dict[str, str | int]]:
    return [{"ID": f"P{i}", "Nom": f"Nom {i}", "Statut": status} for i in range(n)]


def test_new_sheet_gets_headers_and_rows() -> None:
    """A missing sheet is created with every header, staff columns included, then the rows."""
    change = plan_keyed("C", None, HEADERS, OWNED, rows(2), key="ID")
    table = apply([], change)
    assert change.create and table[0] == list(HEADERS)
    assert table[1][:3] == ["P0", "Nom 0", "Inscrit·e"] and len(table) == 3


def test_rerun_plans_nothing() -> None:
    """Planning again against what the first plan wrote gives no write at all."""
    table = apply([], plan_keyed("C", None, HEADERS, OWNED, rows(5), key="ID"))
    again = plan_keyed("C", table, HEADERS, OWNED, rows(5), key="ID")
    assert again.cells == () and not again.create


@given(st.integers(1, 30), st.randoms(use_true_random=False), st.integers(0, 3))
def test_staff_values_follow_their_person_through_sorting(
    n: int, rnd: random.Random, extra_cols: int
) -> None:
    """Sorted rows and added staff columns: updates land on the right person, staff cells intact."""
    table = apply([], plan_keyed("C", None, HEADERS, OWNED, rows(n), key="ID"))
    for i, row in enumerate(table[1:]):
        row += [f"note {row[0]}"] if i % 2 else []
    table[0] = table[0] + [f"Staff {k}" for k in range(extra_cols)]
    body = table[1:]
    rnd.shuffle(body)
    table = [table[0], *body]
    before = {r[0]: r[3:] for r in table[1:]}
    change = plan_keyed("C", table, HEADERS, OWNED, rows(n, "Liste d'attente"), key="ID")
    after = apply(table, change)
    assert all(c.col in (1, 2, 3) for c in change.cells)
    for row in after[1:]:
        assert row[2] == "Liste d'attente" and row[1] == f"Nom {row[0][1:]}"
        assert row[3:] == before[row[0]]
    assert dict(change.expected_keys) == {i + 2: r[0] for i, r in enumerate(body)}


def test_reordered_columns_are_found_by_name() -> None:
    """Staff moved columns around: values go under the right header."""
    table = [["Statut", "Notes CUF", "ID", "Nom"], ["Ancien", "ok", "P0", "Nom 0"]]
    after = apply(table, plan_keyed("C", table, HEADERS, OWNED, rows(1), key="ID"))
    assert after[1] == ["Inscrit·e", "ok", "P0", "Nom 0"]


def test_deleted_row_comes_back_and_deleted_column_is_restored() -> None:
    """A row staff deleted is appended again; a deleted owned column comes back at the end."""
    table = [["ID", "Décision CUF"], ["P0", "Refusé"]]
    after = apply(table, plan_keyed("C", table, HEADERS, OWNED, rows(2), key="ID"))
    assert after[0] == ["ID", "Décision CUF", "Nom", "Statut"]
    assert after[1] == ["P0", "Refusé", "Nom 0", "Inscrit·e"]
    assert after[2] == ["P1", "", "Nom 1", "Inscrit·e"]


def test_new_rows_never_land_on_a_row_holding_staff_text() -> None:
    """A row with only a staff note is not reused; an entirely empty row is."""
    table = [list(HEADERS), ["", "", "", "", "note orpheline"], ["", "", "", "", ""], ["P9", "x"]]
    change = plan_keyed("C", table, HEADERS, OWNED, rows(1), key="ID", clear_stale=False)
    after = apply(table, change)
    assert after[1][4] == "note orpheline" and after[1][0] == ""
    assert after[2][:3] == ["P0", "Nom 0", "Inscrit·e"]


def test_stale_rows_are_cleared_in_owned_columns_only() -> None:
    """A key no longer wanted loses its owned cells; its staff cells stay."""
    table = [list(HEADERS), ["P0", "Nom 0", "Inscrit·e", "Accepté", "note"]]
    after = apply(table, plan_keyed("C", table, HEADERS, OWNED, [], key="ID"))
    assert after[1] == ["", "", "", "Accepté", "note"]


def test_missing_key_column_stops_with_a_clear_error() -> None:
    """A sheet with content but no ID column is not written: the error says how to fix it."""
    with pytest.raises(SheetError, match="no 'ID' column"):
        plan_keyed("C", [["Nom"], ["x"]], HEADERS, OWNED, rows(1), key="ID")


def test_grid_writes_only_differences_and_clears_leftovers() -> None:
    """A pipeline-owned grid writes changed cells and blanks what no longer exists."""
    table = [["A", "1"], ["B", "2"], ["C", "3"]]
    change = plan_grid("D", table, [["A", 1], ["B", 5]])
    assert [(c.row, c.col, c.value) for c in change.cells] == [(2, 2, 5), (3, 1, ""), (3, 2, "")]
    assert plan_grid("D", [["A", "1"]], [["A", 1]]).cells == ()


def test_append_goes_under_the_last_used_row() -> None:
    """A journal row is added after the last non-empty row, with headers on a new sheet."""
    first = plan_append("J", None, ("Début", "Fin"), ("a", "b"))
    assert first.create and [c.row for c in first.cells] == [1, 1, 2, 2]
    later = plan_append("J", [["Début", "Fin"], ["a", "b"], ["", ""]], ("Début", "Fin"), ("c", "d"))
    assert [(c.row, c.value) for c in later.cells] == [(3, "c"), (3, "d")]


STAMP = datetime(2026, 3, 2, 10, 4, 5)


@pytest.mark.parametrize(
    ("current", "rewritten"),
    [
        ("2026-03-02T10:04:05", False),  # the local workbook reads a date-time cell back as ISO
        (repr(serial(STAMP)), False),  # Google reads it back as a serial number
        ("46083.41950231482", False),  # a serial rounded by another writer, same second
        ("02/03/2026 10:04", True),  # the old text form: rewritten once as a real date-time
        ("2026-03-02T10:04:06", True),
        ("", True),
    ],
)
def test_date_time_cells_compare_as_date_times(current: str, rewritten: bool) -> None:
    """A date-time cell read back as ISO text or a serial is not rewritten; text or another time is."""
    table = [["ID", "Première réponse"], ["DT-1", current]]
    change = plan_keyed("S", table, ("ID", "Première réponse"), ("ID", "Première réponse"),
                        [{"ID": "DT-1", "Première réponse": STAMP}], key="ID")  # fmt: skip
    assert bool(change.cells) is rewritten
    grid = plan_grid("G", [[current]], [[STAMP]])
    assert bool(grid.cells) is rewritten


def test_read_stamp_refuses_what_is_not_a_date_time() -> None:
    """Text, an aware ISO time, NaN and infinity read as no date-time."""
    for text in ("Oui", "2026-03-02T10:04:05+01:00", "nan", "inf", "1e308"):
        assert read_stamp(text) is None
