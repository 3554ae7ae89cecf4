"""How the output sheets look (core/layout.py) and the dashboard's content, as pure data."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from itertools import combinations
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline.core.cohort import (
    UPDATED,
    evaluate,
    plan_outputs,
)
from pipeline.core.layout import (
    AUTO_NOTE,
    ELIGIBILITY_COLOURS,
    MIN_ROWS,
    PIPELINE_HEADER,
    STAFF_HEADER,
    STATUS_COLOURS,
    cohort_layout,
    dashboard_layout,
    layout_rows,
    review_layout,
    with_layout,
)
from pipeline.core.model import Decision, Eligibility, SheetLayout, SheetWrite, Status
from pipeline.core.vocabulary import COHORT_HEADERS, REVIEW_HEADERS
from tests.support.builders import FORM_HEADERS, MEMBER_HEADERS, answer, member, settings
from tests.support.sheets import apply

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 4, 2, 9, 0, tzinfo=PARIS)
HEADER = list(COHORT_HEADERS)


def col(name: str, header: list[str] = HEADER) -> int:
    return header.index(name) + 1


def lightness(colour: str) -> float:
    """CIELAB L* of an sRGB colour "RRGGBB"."""
    return 116 * luminance(colour) ** (1 / 3) - 16


def luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_pipeline_and_staff_columns_look_different() -> None:
    """Pipeline headers are blue with the note "rempli automatiquement"; staff headers yellow."""
    layout = cohort_layout(HEADER, 10)
    columns = {c.col: c for c in layout.columns}
    for name in ("ID", "Statut", "Courriels envoyés"):
        assert (columns[col(name)].header_fill, columns[col(name)].header_font) == PIPELINE_HEADER
        assert "Rempli automatiquement" in columns[col(name)].note
    for name in ("Décision CUF", "Notes CUF"):
        assert (columns[col(name)].header_fill, columns[col(name)].header_font) == STAFF_HEADER
        assert "équipe CUF" in columns[col(name)].note and columns[col(name)].note != AUTO_NOTE
    assert sorted(columns) == list(range(1, len(HEADER) + 1))


def test_decision_dropdown_offers_exactly_the_allowed_decisions() -> None:
    """`Décision CUF` gets one dropdown holding exactly the Decision values, with French help."""
    (dropdown,) = cohort_layout(HEADER, 10).dropdowns
    assert dropdown.col == col("Décision CUF")
    assert dropdown.values == ("Accepté", "Refusé", "Liste d'attente", "Désisté")
    assert set(dropdown.values) == {d.value for d in Decision}
    assert "Laissez vide" in dropdown.help and "Accepté" in dropdown.error
    assert len(dropdown.help) <= 255 and len(dropdown.title) <= 32  # Excel's limits


def test_status_and_eligibility_get_colours() -> None:
    """Statut and Éligibilité cells are coloured by value: green Inscrit·e, red Refusé·e, …"""
    rules = {
        rule.col: {c.text: c for c in rule.colours} for rule in cohort_layout(HEADER, 5).colours
    }
    status, eligibility = rules[col("Statut")], rules[col("Éligibilité")]
    assert set(status) == {s.value for s in Status} - {Status.INTERET.value}
    assert set(eligibility) == {e.value for e in Eligibility}
    assert status["Inscrit·e"].fill == "276B2C" and status["Refusé·e"].fill == "E8837E"
    assert status["Liste d'attente"].fill == "FFE699" and status["Non éligible"].fill == "D9D9D9"
    assert status["À vérifier"].bold and status["À vérifier"].fill == "F7B267"


def test_colours_stay_readable_for_colour_blind_people() -> None:
    """Every text/fill pair has contrast ≥ 4.5:1 and key states differ in lightness by ≥ 5 L*."""
    layout = cohort_layout(HEADER, 5)
    pairs = [(c.fill, c.font) for rule in layout.colours for c in rule.colours]
    pairs += [PIPELINE_HEADER, STAFF_HEADER]
    assert all(contrast(fill, font) >= 4.5 for fill, font in pairs), pairs
    key = ["Inscrit·e", "Refusé·e", "À vérifier", "Non éligible", "Liste d'attente"]
    levels = [lightness(STATUS_COLOURS[name][0]) for name in key]
    assert all(abs(a - b) >= 5 for a, b in combinations(levels, 2)), levels
    eligibility = [lightness(fill) for fill, _, _ in ELIGIBILITY_COLOURS.values()]
    assert all(abs(a - b) >= 5 for a, b in combinations(eligibility, 2)), eligibility


def test_header_row_and_identity_columns_are_frozen_with_a_filter() -> None:
    """Row 1 and the leading ID, Nom, Prénom columns are frozen; the filter spans the header."""
    layout = cohort_layout(HEADER, 10)
    assert (layout.frozen_rows, layout.frozen_cols) == (1, 3)
    assert layout.header_filter and layout.width == len(HEADER)
    moved = ["Nom", "ID", *HEADER[2:]]
    assert cohort_layout(moved, 10).frozen_cols == 0  # ID is no longer first: nothing to freeze


def test_layout_follows_columns_by_name_and_leaves_staff_columns_alone() -> None:
    """Moved and inserted columns: widths, colours, dropdown follow their header; a staff
    column gets no look of ours and no protection."""
    header = HEADER[:5] + ["Suivi téléphonique"] + HEADER[5:]
    header.remove("Statut")
    header.append("Statut")
    layout = cohort_layout(header, 10)
    widths = {c.col: c.width for c in layout.columns}
    assert widths[col("Statut", header)] == 17 and widths[col("Courriel", header)] == 32
    assert {rule.col for rule in layout.colours} == {
        col("Statut", header),
        col("Éligibilité", header),
    }
    assert layout.dropdowns[0].col == col("Décision CUF", header)
    staff_col = col("Suivi téléphonique", header)
    assert staff_col not in layout.owned_cols and staff_col not in widths
    assert all(not (a.left <= staff_col <= a.right) for a in layout.protected)


def test_protection_warns_on_pipeline_cells_only() -> None:
    """Header row and pipeline columns are protected (warning only); staff cells are not."""
    layout = cohort_layout(HEADER, 10)
    protected = {
        (row, c)
        for area in layout.protected
        for row in (area.top, area.bottom)
        for c in range(area.left, area.right + 1)
    }
    decision, notes = col("Décision CUF"), col("Notes CUF")
    assert (1, decision) in protected and (1, notes) in protected  # the header row: all of it
    assert (2, decision) not in protected and (layout.rows, notes) not in protected
    assert (2, col("Statut")) in protected and (layout.rows, col("ID")) in protected
    assert "[diplomates]" in layout.protection_note


def test_mark_changes_when_columns_move_not_when_data_changes() -> None:
    """Same columns: same mark; a moved or inserted column, or data outgrowing the formatted
    rows, changes it; a staff column appended at the end does not."""
    mark = cohort_layout(HEADER, 10).mark
    assert mark.startswith("dt-layout-") and cohort_layout(HEADER, 400).mark == mark
    assert cohort_layout(HEADER + ["Suivi"], 10).mark == mark
    assert cohort_layout(HEADER[:3] + ["Suivi"] + HEADER[3:], 10).mark != mark
    assert cohort_layout(HEADER[1:] + HEADER[:1], 10).mark != mark
    assert cohort_layout(HEADER, 501).mark != mark and layout_rows(501) == 2 * MIN_ROWS
    assert review_layout(list(REVIEW_HEADERS), 10).mark != mark


def test_layout_is_attached_only_when_the_stored_mark_differs() -> None:
    """A write carries the layout for a sheet without a mark or with another mark, not else."""
    layout = cohort_layout(HEADER, 10)
    write = SheetWrite(sheet="Promotion 2026")
    assert with_layout(write, layout, {}).layout == layout
    assert with_layout(write, layout, {"Promotion 2026": "dt-layout-old"}).layout == layout
    assert with_layout(write, layout, {"Promotion 2026": layout.mark}).layout is None
    assert with_layout(write, layout, {"Promotion 2026": layout.mark}).empty


# --- plan_outputs and the dashboard --------------------------------------------------------------


def world(tmp: Path) -> tuple[dict[str, list[list[str]]], object]:
    form = [
        answer("02/03/2026 09:00:00", "ana@lyon.fr", "Bernard", "Ana"),
        answer("03/03/2026 09:00:00", "bob@rennes.fr", "Morel", "Bob", "Rennes", department="35"),
        answer("04/03/2026 09:00:00", "cy@lyon.fr", "Faure", "Cy", first_term="Non"),
        answer("05/03/2026 09:00:00", "dee@nulle.fr", "Lefèvre", "Dee", "Trifouilly", kind="Autre",
               department="29"),
        answer("06/03/2026 09:00:00", "eve@lyon.fr", "Roux", "Ève"),
    ]  # fmt: skip
    tables = {
        "Réponses au formulaire 1": [FORM_HEADERS, *form],
        "Adhérents": [MEMBER_HEADERS, member("Ville de Lyon"), member("Rennes", dep="35")],
    }
    return tables, settings(tmp, capacity=3)


def outputs(
    tables: dict[str, list[list[str]]], config: object, **options: object
) -> list[SheetWrite]:
    cohort = tables.get("Promotion 2026")
    evaluation = evaluate(
        tables["Réponses au formulaire 1"],
        tables["Adhérents"],
        cohort,
        [],
        config,
        NOW,  # type: ignore[arg-type]
    )
    return plan_outputs(evaluation, [], tables, config, **options)  # type: ignore[arg-type]


def applied(tables: dict[str, list[list[str]]], writes: list[SheetWrite]) -> dict[str, str]:
    marks = {}
    for write in writes:
        tables[write.sheet] = apply(tables.get(write.sheet, []), write)
        if write.layout is not None:
            marks[write.sheet] = write.layout.mark
    return marks


def test_first_plan_carries_layouts_and_an_idle_replan_carries_nothing(tmp_path: Path) -> None:
    """New sheets come with their layouts; planned again over the result: nothing at all."""
    tables, config = world(tmp_path)
    first = outputs(tables, config, stamp="02/04/2026 09:00")
    assert all(isinstance(w.layout, SheetLayout) and w.create for w in first)
    marks = applied(tables, first)
    again = outputs(tables, config, marks=marks, stamp="02/04/2026 09:05")
    assert all(w.empty for w in again), [w.sheet for w in again if not w.empty]


def test_a_moved_column_brings_its_sheet_layout_back(tmp_path: Path) -> None:
    """Staff insert a column before Statut: only the cohort sheet's layout is planned again,
    with the colours on the Statut column's new place."""
    tables, config = world(tmp_path)
    marks = applied(tables, outputs(tables, config, stamp="02/04/2026 09:00"))
    at = tables["Promotion 2026"][0].index("Statut")
    for line in tables["Promotion 2026"]:
        line.insert(at, "Suivi" if line is tables["Promotion 2026"][0] else "")
    again = outputs(tables, config, marks=marks, stamp="02/04/2026 09:05")
    layouts = {w.sheet: w.layout for w in again if w.layout is not None}
    assert list(layouts) == ["Promotion 2026"]
    assert {rule.col for rule in layouts["Promotion 2026"].colours} >= {at + 2}


def test_dashboard_counts_by_status_eligibility_kind_and_region(tmp_path: Path) -> None:
    """Key figures, then counts by Statut, Éligibilité, type and région (from the département)."""
    tables, config = world(tmp_path)
    applied(tables, outputs(tables, config, stamp="02/04/2026 09:00"))
    board = {line[0]: line[1] for line in tables["Tableau de bord"] if len(line) > 1}
    assert board[UPDATED] == "02/04/2026 09:00"
    assert board["Personnes"] == "5" and board["Places"] == "3"
    assert board["Places restantes"] == "0" and board["Liste d'attente"] == "1"
    assert board["Inscrit·e"] == "3" and board["Non éligible"] == "1"
    assert board["Certificat"] == "4" and board["Non adhérente"] == "1"
    assert board["Commune"] == "4" and board["Autre"] == "1"
    assert board["Auvergne-Rhône-Alpes"] == "3" and board["Bretagne"] == "2"


def test_dashboard_date_moves_only_when_a_run_changes_something(tmp_path: Path) -> None:
    """An idle run keeps the shown date; a run that changes sheets or sends mail shows its own."""
    tables, config = world(tmp_path)
    marks = applied(tables, outputs(tables, config, stamp="02/04/2026 09:00"))
    idle = outputs(tables, config, marks=marks, stamp="02/04/2026 09:05")
    assert all(w.empty for w in idle)
    mailed = outputs(tables, config, marks=marks, stamp="02/04/2026 09:10", activity=True)
    (board,) = [w for w in mailed if not w.empty]
    assert [c.value for c in board.cells] == ["02/04/2026 09:10"] and board.layout is None
    tables["Réponses au formulaire 1"].append(answer("07/03/2026 09:00:00", "fay@lyon.fr"))
    busy = outputs(tables, config, marks=marks, stamp="02/04/2026 09:15")
    board = next(w for w in busy if w.sheet == "Tableau de bord")
    assert "02/04/2026 09:15" in [c.value for c in board.cells]


def test_dashboard_charts_read_the_status_and_eligibility_sections(tmp_path: Path) -> None:
    """The bar chart spans every Statut row, the pie every Éligibilité row; counts don't move
    them, so the dashboard's layout mark is the same whatever the data."""
    tables, config = world(tmp_path)
    writes = outputs(tables, config, stamp="02/04/2026 09:00")
    board = next(w for w in writes if w.sheet == "Tableau de bord")
    grid = apply([], board)
    assert board.layout is not None
    bar, pie = board.layout.charts
    assert (bar.kind, pie.kind) == ("bar", "pie")
    assert [grid[r - 1][0] for r in range(bar.first_row, bar.last_row + 1)] == [
        s.value for s in Status
    ]
    assert [grid[r - 1][0] for r in range(pie.first_row, pie.last_row + 1)] == [
        e.value for e in Eligibility
    ]
    other = [line + [] for line in grid] + [["Région imaginaire", "7"]]
    assert dashboard_layout(other).mark == dashboard_layout(grid).mark
    assert replace(board.layout, mark="") != board.layout
