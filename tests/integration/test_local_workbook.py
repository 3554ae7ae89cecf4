"""The local workbook among the people who open it: round-trips, editors' lock files, a save that
lands mid-write, merged cells, the file's mode, temporary copies, files openpyxl cannot load."""

from __future__ import annotations

import os
import re
import stat
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.writer.excel import ExcelWriter

from pipeline.adapters.xlsx.workbook import (
    MAX_CELL,
    LocalWorkbook,
    WorkbookChangedError,
    escape,
    storable,
)
from pipeline.core.errors import SheetError
from pipeline.core.model import CellWrite, ColumnLayout, SheetLayout, SheetWrite, WritePlan

SHEET = "Feuille"


def make_book(path: Path, rows: list[list[str]] | None = None) -> LocalWorkbook:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = SHEET
    for row in rows or [["ID", "Valeur", "Notes CUF"], ["DT-1", "a", ""]]:
        sheet.append(row)
    workbook.save(path)
    return LocalWorkbook(path)


def plan(*cells: tuple[int, int, str]) -> WritePlan:
    writes = tuple(CellWrite(row, col, value) for row, col, value in cells)
    return WritePlan(sheets=(SheetWrite(sheet=SHEET, cells=writes),))


def cell(book: LocalWorkbook, row: int, col: int) -> str:
    table = book.read([SHEET])[SHEET]
    return table[row - 1][col - 1] if row <= len(table) and col <= len(table[row - 1]) else ""


PIECES = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6),
    st.sampled_from(["_x0042_", "_x005F_", "_x000D_", "_x005f_x0041_", "\r", "\x01", "\x1f"]),
)
TEXT = st.lists(PIECES, max_size=8).map("".join)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=TEXT)
@example(text="_x005F_x0042_")
@example(text="a\x01b\rc\x0bd")
def test_any_text_reads_back_as_written(tmp_path: Path, text: str) -> None:
    """Whatever text a run writes (control characters, literal `_xHHHH_`), the next read gives
    it back exactly, so the next plan finds nothing to change."""
    book = make_book(tmp_path / "wb.xlsx")
    book.read([SHEET])
    book.write(plan((2, 2, text)))
    assert cell(book, 2, 2) == text


def as_shared_string(path: Path, ref: str, stored: str) -> None:
    """Make cell `ref` (an inline string openpyxl wrote) a shared string stored as `stored`, as
    Excel and LibreOffice save text."""
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    sheet = files["xl/worksheets/sheet1.xml"].decode()
    start = sheet.index(f'<c r="{ref}"')
    end = sheet.index("</c>", start) + len("</c>")
    files["xl/worksheets/sheet1.xml"] = (
        sheet[:start] + f'<c r="{ref}" t="s"><v>0</v></c>' + sheet[end:]
    ).encode()
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    files["xl/sharedStrings.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{main}" count="1" uniqueCount="1">'
        f"<si><t>{stored}</t></si></sst>"
    ).encode()
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
    files["[Content_Types].xml"] = files["[Content_Types].xml"].replace(
        b"</Types>",
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{kind}"/></Types>'.encode(),
    )
    relation = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
    files["xl/_rels/workbook.xml.rels"] = files["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        f'<Relationship Id="rIdSS" Type="{relation}" Target="sharedStrings.xml"/>'
        "</Relationships>".encode(),
    )
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)


def test_a_literal_escape_in_a_staff_cell_survives_the_pipeline_saving_the_file(
    tmp_path: Path,
) -> None:
    """A staff cell holding `_x0042_` as text (shared string `_x005F_x0042_`, as Excel writes it)
    is still `_x0042_` after the pipeline saves the file (openpyxl alone turns it into `B`)."""
    path = tmp_path / "wb.xlsx"
    make_book(path, [["ID", "Valeur", "Notes CUF"], ["DT-1", "a", "placeholder"]])
    as_shared_string(path, "C2", "_x005F_x0042_")
    book = LocalWorkbook(path)
    assert cell(book, 2, 3) == "_x0042_"
    book.write(plan((2, 2, "autre chose")))  # openpyxl loads and saves the whole file
    assert cell(book, 2, 3) == "_x0042_" and cell(book, 2, 2) == "autre chose"
    book.write(plan((2, 2, "_x0042_ aussi")))  # the pipeline's own text, escaped as it must be
    assert cell(book, 2, 2) == "_x0042_ aussi"


def test_a_cell_longer_than_the_format_holds_reads_as_what_a_write_would_keep(
    tmp_path: Path,
) -> None:
    """A 50,000-character source cell reads as its first 32,767 characters: the value the sheet
    can hold, so a copy written elsewhere reads back equal (reruns stay idle)."""
    path = tmp_path / "wb.xlsx"
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = SHEET
    sheet.append(["ID", "Valeur", "Copie"])
    sheet.append(["DT-1", "", ""])
    long = "é" * 50_000
    sheet["B2"]._value = long  # past openpyxl's own cut, as another tool may write it
    sheet["B2"].data_type = "s"
    workbook.save(path)
    book = LocalWorkbook(path)
    source = book.read([SHEET])[SHEET][1][1]
    assert source == long[:MAX_CELL]
    book.write(plan((2, 3, source)))
    assert cell(book, 2, 3) == source
    escapes = "_x0041_" * 10_000  # 70,000 characters once escaped: the cut applies to that
    kept = storable(escapes)
    assert escapes.startswith(kept) and len(escape(kept)) <= MAX_CELL
    assert len(escape(escapes[: len(kept) + 1])) > MAX_CELL  # the longest start that fits


@pytest.mark.parametrize(
    ("lock_name", "content", "who"),
    [
        (".~lock.wb.xlsx#", b"Marie Curie,mcurie,poste-12,06.12.2026 10:15,file:///home/m;",
         "Marie Curie (on poste-12)"),
        ("~$wb.xlsx", bytes([6]) + b"Pierre" + b" " * 47, "Pierre"),
    ],
)  # fmt: skip
def test_an_editors_lock_file_stops_the_write_and_names_who_has_it_open(
    tmp_path: Path, lock_name: str, content: bytes, who: str
) -> None:
    """LibreOffice's `.~lock.NAME#` or Excel's `~$NAME` beside the workbook: preflight and write
    refuse with who has it open; the file is untouched."""
    book = make_book(tmp_path / "wb.xlsx")
    before = (tmp_path / "wb.xlsx").read_bytes()
    (tmp_path / lock_name).write_bytes(content)
    book.read([SHEET])
    with pytest.raises(SheetError, match=re.escape(f"open in LibreOffice or Excel by {who} ")):
        book.preflight()
    with pytest.raises(SheetError, match="delete the lock file"):
        book.write(plan((2, 2, "b")))
    assert (tmp_path / "wb.xlsx").read_bytes() == before
    (tmp_path / lock_name).unlink()
    book.write(plan((2, 2, "b")))
    assert cell(book, 2, 2) == "b"


def test_a_staff_save_landing_while_openpyxl_saves_is_never_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone saves the workbook while the run's copy is being written: the run's copy is
    dropped (WorkbookChangedError), their save stays, no temporary copy is left."""
    path = tmp_path / "wb.xlsx"
    book = make_book(path)
    book.read([SHEET])
    original = ExcelWriter.save
    staff_saved: list[bool] = []

    def save_then_staff_saves(self: ExcelWriter) -> None:
        original(self)
        if not staff_saved:  # once: the staff's own save goes through here too
            staff_saved.append(True)
            staff = load_workbook(path)
            staff[SHEET]["C2"] = "note de l'équipe"
            staff.save(path)

    monkeypatch.setattr(ExcelWriter, "save", save_then_staff_saves)
    with pytest.raises(WorkbookChangedError):
        book.write(plan((2, 2, "b")))
    monkeypatch.undo()
    assert cell(book, 2, 3) == "note de l'équipe" and cell(book, 2, 2) == "a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wb.xlsx"]


def test_merged_cells_over_pipeline_cells_are_unmerged_and_written(tmp_path: Path) -> None:
    """Staff merged B2:C3 (over a pipeline cell) and E1:F1 elsewhere: the write unmerges only the
    first and writes; the other merge stays."""
    path = tmp_path / "wb.xlsx"
    make_book(path, [["ID", "Valeur", "Notes CUF", "X", "Y", "Z"], ["DT-1", "a", "", "", "", ""],
                     ["DT-2", "b", "", "", "", ""]])  # fmt: skip
    workbook = load_workbook(path)
    workbook[SHEET].merge_cells("B2:C3")
    workbook[SHEET].merge_cells("E1:F1")
    workbook.save(path)
    book = LocalWorkbook(path)
    book.read([SHEET])
    book.write(plan((2, 2, "nouveau"), (3, 2, "autre")))
    assert cell(book, 2, 2) == "nouveau" and cell(book, 3, 2) == "autre"
    merged = [str(r) for r in load_workbook(path)[SHEET].merged_cells.ranges]
    assert merged == ["E1:F1"]


def test_the_file_keeps_its_mode_and_no_temporary_copy_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mode 0640 stays 0640; a save that fails leaves no temporary copy; a copy a killed run
    left (its process gone) is removed by the next write."""
    path = tmp_path / "wb.xlsx"
    book = make_book(path)
    os.chmod(path, 0o640)
    dead = tmp_path / ".diplomates-wb.xlsx.999999999.abcd.tmp"  # no such process
    dead.write_bytes(b"personal data")
    book.read([SHEET])
    book.write(plan((2, 2, "b")))
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert not dead.exists()

    def broken(self: ExcelWriter) -> None:
        self._archive.writestr("half", b"a workbook")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ExcelWriter, "save", broken)
    with pytest.raises(SheetError, match="No space left on device"):
        book.write(plan((2, 2, "c")))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wb.xlsx"]


def damaged(path: Path, part: str, old: bytes, new: bytes) -> None:
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    assert old in files[part], part
    files[part] = files[part].replace(old, new, 1)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)


@pytest.mark.parametrize(
    ("part", "old", "new"),
    [
        ("xl/worksheets/sheet1.xml", b"<t>a</t>", b"<t>a\x01b</t>"),  # a raw control byte
        ("xl/styles.xml", b'rgb="FF000000"', b'rgb="rouge"'),  # a colour that is not one
    ],
    ids=["control-byte", "bad-colour"],
)
def test_a_workbook_openpyxl_cannot_load_fails_preflight_with_the_fix(
    tmp_path: Path, part: str, old: bytes, new: bytes
) -> None:
    """A file calamine reads but openpyxl cannot load: preflight says so (resave it), clearly."""
    path = tmp_path / "wb.xlsx"
    make_book(path)
    workbook = load_workbook(path)
    workbook[SHEET]["D1"].font = Font(color="FF000000")
    workbook.save(path)
    damaged(path, part, old, new)
    book = LocalWorkbook(path)
    book.read([SHEET])
    with pytest.raises(SheetError, match="cannot be opened for writing by openpyxl.*save it again"):
        book.preflight()


def test_a_layout_over_merged_header_cells_unmerges_them_instead_of_crashing(
    tmp_path: Path,
) -> None:
    """Staff merged A1:B1; a layout styling B1's header (fill, note) unmerges it and applies."""
    path = tmp_path / "wb.xlsx"
    make_book(path)
    workbook = load_workbook(path)
    workbook[SHEET].merge_cells("A1:B1")
    workbook.save(path)
    book = LocalWorkbook(path)
    book.read([SHEET])
    header = ColumnLayout(col=2, width=12, header_fill="DDEBF7", header_font="1F3864", note="n")
    layout = SheetLayout(rows=10, width=3, owned_cols=(2,), columns=(header,), mark="m")
    book.write(WritePlan(sheets=(SheetWrite(sheet=SHEET, layout=layout),)))
    sheet = load_workbook(path)[SHEET]
    assert not sheet.merged_cells.ranges and sheet["B1"].comment is not None
