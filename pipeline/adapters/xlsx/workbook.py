"""The embedded default backend: a local .xlsx workbook.

Read with python-calamine (a Rust reader, an order of magnitude faster than openpyxl on large
workbooks); written with openpyxl only when a plan has something to write, saved atomically.

Safe around the people who open the same file:
- a LibreOffice or Excel lock file beside the workbook (`.~lock.NAME#`, `~$NAME`) means someone
  has it open: nothing is written (their next save would overwrite ours), and the error names them;
- the file is checked again right before the new copy replaces it: a save that landed while
  openpyxl loaded and saved is never overwritten (`WorkbookChangedError`: the run re-plans);
- the new copy keeps the file's mode, and the temporary copy (full personal data) never stays
  behind: removed on any error, and a copy a killed run left is removed by the next write;
- merged cells over cells the pipeline writes are unmerged (openpyxl cannot write into them).

Values round-trip: text is stored as the xlsx format can hold it (`storable`: control characters
and literal `_xHHHH_` escaped, at most 32,767 characters) and reading applies the same cut, so
what a run plans to write equals what the next run reads, and reruns stay idle.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.adapters.sheets import Table, cell_text
from pipeline.adapters.xlsx.layout import (
    DATE_TIME_FORMAT,
    apply_column_style,
    apply_layout,
    column_styles,
    read_marks,
)
from pipeline.core.errors import SheetError, SheetMovedError
from pipeline.core.model import SheetLayout, WritePlan

MAX_CELL = 32_767  # characters an xlsx cell holds (Excel's limit; openpyxl cuts there)
# `_xHHHH_` is how the format escapes a character; a literal one is escaped by escaping its `_`.
# Every `_` that starts one is escaped, even one that also ends the escape before it.
_ESCAPE_LIKE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")
# Characters XML 1.0 cannot carry (and `\r`, which XML readers turn into `\n`): written `_xHHHH_`.
_UNWRITABLE = re.compile(r"[\x00-\x08\x0b-\x0d\x0e-\x1f\ufffe\uffff]")
_TEMP_PREFIX = ".diplomates-"  # + workbook name + "." + pid + "." + random + ".tmp"
# errno values that mean "this folder cannot take the file", an operator's problem, not a bug.
_DISK_ERRORS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EFBIG}


def escape(text: str) -> str:
    """Text as an xlsx cell stores it: literal `_xHHHH_` and unwritable characters escaped."""
    if "_x" in text:
        text = _ESCAPE_LIKE.sub("_x005F_", text)
    return _UNWRITABLE.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def storable(text: str) -> str:
    """The longest start of `text` a cell can hold once escaped (the whole text, nearly always)."""
    if len(text) <= MAX_CELL // 7 or len(escape(text)) <= MAX_CELL:  # 7: the longest escape
        return text
    low, high = 0, min(len(text), MAX_CELL)
    while low < high:  # longest prefix whose escaped form fits
        middle = (low + high + 1) // 2
        if len(escape(text[:middle])) <= MAX_CELL:
            low = middle
        else:
            high = middle - 1
    return text[:low]


class WorkbookChangedError(SheetMovedError):
    """The workbook file changed between this run's read and its write."""


def _stamp(path: Path) -> tuple[int, int, int]:
    info = path.stat()
    return info.st_mtime_ns, info.st_size, info.st_ino


def _editor_lock(path: Path) -> tuple[Path, str] | None:
    """A LibreOffice or Excel lock file beside the workbook, and who it names."""
    name = path.name
    candidates = [path.with_name(f".~lock.{name}#"), path.with_name(f"~${name}")]
    if len(name) > 2:
        candidates.append(path.with_name(f"~${name[2:]}"))  # Excel, on longer names
    for lock in candidates:
        try:
            data = lock.read_bytes()[:4096]
        except FileNotFoundError:
            continue
        except OSError:
            return lock, "someone"
        return lock, _lock_owner(lock, data)
    return None


def _lock_owner(lock: Path, data: bytes) -> str:
    """LibreOffice: `Name,os-user,host,date,profile;`. Excel: a length byte, then the name."""
    if lock.name.startswith(".~lock."):
        fields = data.decode("utf-8", "replace").split(",")
        name, user = fields[0].strip(), fields[1].strip() if len(fields) > 1 else ""
        host = fields[2].strip() if len(fields) > 2 else ""
        who = name or user
        if who and host:
            return f"{who} (on {host})"
        return who or "someone"
    if data and 0 < data[0] <= 53 and len(data) > data[0]:
        return data[1 : 1 + data[0]].decode("cp1252", "replace").strip() or "someone"
    return "someone"


def _load(path: Path) -> Any:
    """openpyxl's workbook with shared strings kept as stored (openpyxl drops the `x005F_` of an
    escaped `_`: a literal `_x0042_` would come back as the character B once saved)."""
    from openpyxl.reader.excel import ExcelReader

    class RawStrings(ExcelReader):  # type: ignore[misc]
        def read_strings(self) -> None:
            from openpyxl.cell.text import Text
            from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS
            from openpyxl.xml.functions import iterparse

            found = self.package.find(SHARED_STRINGS)
            if found is None:
                return
            tag = f"{{{SHEET_MAIN_NS}}}si"
            strings: list[str] = []
            with self.archive.open(found.PartName[1:]) as source:
                for _, node in iterparse(source):
                    if node.tag == tag:
                        strings.append(Text.from_tree(node).content)
                        node.clear()
            self.shared_strings = strings

    reader = RawStrings(str(path))
    reader.read()
    return reader.wb


class LocalWorkbook:
    time_zone: str | None = None  # a workbook file has none: the programme's zone applies

    def __init__(self, path: Path) -> None:
        self.path = path
        self._read_stamp: tuple[int, int, int] | None = None
        self._marks: dict[str, str] = {}
        self._loaded: tuple[tuple[int, int, int], Any] | None = None  # preflight's openpyxl copy

    def describe(self) -> str:
        return f"workbook {self.path}"

    def _missing(self) -> SheetError:
        return SheetError(
            f"workbook {self.path} not found; check spreadsheet.workbook in the config file "
            "(for the demo, `make demo` generates it)"
        )

    def read(self, names: Sequence[str]) -> Mapping[str, Table]:
        from python_calamine import CalamineWorkbook

        if not self.path.exists():
            raise self._missing()
        self._read_stamp = _stamp(self.path)
        self._loaded = None
        try:
            workbook = CalamineWorkbook.from_path(str(self.path))
        except Exception as exc:  # calamine raises its own error types for damaged files
            raise SheetError(f"workbook {self.path} cannot be read: {exc}") from None
        try:
            present = set(workbook.sheet_names)
            self._marks = read_marks(self.path)
            tables: dict[str, Table] = {}
            for name in names:
                if name not in present:
                    continue
                rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
                tables[name] = [[storable(cell_text(v)) for v in row] for row in rows]
            return tables
        finally:
            workbook.close()

    def layout_marks(self) -> Mapping[str, str]:
        return dict(self._marks)

    # --- before anything is sent ----------------------------------------------------------

    def preflight(self) -> None:
        """Check that a write can succeed, before the run sends anything (emails leave before
        sheets are written): nobody has the file open in LibreOffice or Excel, the folder takes
        a new copy, openpyxl can load the file (the copy it loads is kept for the write)."""
        if not self.path.exists():
            raise self._missing()
        self._check_editors()
        self._remove_leftovers()
        self._check_folder()
        stamp = _stamp(self.path)
        self._loaded = (stamp, self._open())

    def _check_editors(self) -> None:
        found = _editor_lock(self.path)
        if found is None:
            return
        lock, who = found
        raise SheetError(
            f"workbook {self.path} is open in LibreOffice or Excel by {who} (lock file {lock}); "
            "nothing was sent or written, because their next save would overwrite this run's. "
            "Ask them to close it, then run again. If nobody has it open (an editor that "
            "crashed), delete the lock file."
        )

    def _check_folder(self) -> None:
        """The folder takes a new copy of the workbook: writable, and room for about two."""
        folder = self.path.parent
        try:
            handle, probe = tempfile.mkstemp(prefix=self._temp_prefix(), suffix=".tmp", dir=folder)
            os.close(handle)
            os.unlink(probe)
            free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
        except OSError as exc:
            raise self._disk_error(exc) from None
        need = 2 * self.path.stat().st_size + (1 << 20)
        if free < need:
            raise self._disk_error(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))

    def _disk_error(self, exc: OSError) -> SheetError:
        why = exc.strerror or type(exc).__name__
        return SheetError(
            f"workbook {self.path} cannot be saved: its folder {self.path.parent} refuses a new "
            f"copy ({why}); nothing was written. Free some space or make the folder writable "
            "by the user running the pipeline (the workbook is saved as a new file, then renamed)."
        )

    def _open(self) -> Any:
        try:
            return _load(self.path)
        except OSError as exc:
            raise SheetError(f"workbook {self.path} cannot be opened: {exc.strerror}") from None
        except Exception as exc:  # openpyxl's parser and style errors: a damaged or odd file
            said = " ".join(str(exc).replace(str(self.path), "the file").split())
            raise SheetError(
                f"workbook {self.path} cannot be opened for writing by openpyxl "
                f"({type(exc).__name__}: {said[:160]}); nothing was sent or written. Open it "
                "in LibreOffice or Excel and save it again as .xlsx (that repairs a stray control "
                "character or a bad colour), then run again."
            ) from None

    def _temp_prefix(self) -> str:
        return f"{_TEMP_PREFIX}{self.path.name}.{os.getpid()}."

    def _remove_leftovers(self) -> None:
        """Temporary copies a killed run left (full personal data): its process is gone."""
        for temp in self.path.parent.glob(f"{_TEMP_PREFIX}{self.path.name}.*.tmp"):
            pid = temp.name[len(_TEMP_PREFIX) + len(self.path.name) + 1 :].split(".", 1)[0]
            if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
                continue
            temp.unlink(missing_ok=True)

    # --- the write ------------------------------------------------------------------------

    def write(self, plan: WritePlan) -> None:
        if plan.empty:
            return
        if not self.path.exists():
            raise self._missing()
        self._check_editors()
        self._remove_leftovers()
        if self._read_stamp is not None and _stamp(self.path) != self._read_stamp:
            raise self._changed()
        loaded, self._loaded = self._loaded, None
        if loaded is not None and loaded[0] == _stamp(self.path):
            workbook = loaded[1]
        else:
            workbook = self._open()
        for change in plan.sheets:
            if change.empty:
                continue
            if change.sheet in workbook.sheetnames:
                sheet = workbook[change.sheet]
            else:
                sheet = workbook.create_sheet(change.sheet)
            _unmerge(sheet, {(w.row, w.col) for w in change.cells})
            styles = column_styles(sheet)
            for write in change.cells:
                cell = sheet.cell(row=write.row, column=write.col)
                if write.value == "":
                    cell.value = None
                elif isinstance(write.value, str):
                    cell.value = escape(storable(write.value))
                    cell.data_type = "s"  # text, never a formula, whatever it starts with
                elif isinstance(write.value, datetime):
                    cell.value = write.value
                    cell.number_format = DATE_TIME_FORMAT
                else:
                    cell.value = write.value
                if write.row > 1 and write.col in styles:
                    apply_column_style(cell, styles[write.col])
            if change.layout is not None:
                _unmerge(sheet, _styled_cells(change.layout))
                apply_layout(sheet, change.layout)
        self._save(workbook)

    def _changed(self) -> WorkbookChangedError:
        return WorkbookChangedError(
            f"workbook {self.path} was modified by someone else during the run; nothing was "
            "written. Run again: the next run starts from the new content."
        )

    def _save(self, workbook: Any) -> None:
        """Save to a temporary copy beside the file, check the file did not change meanwhile,
        then rename the copy over it (keeping the file's mode)."""
        folder = self.path.parent
        try:
            handle, temp = tempfile.mkstemp(prefix=self._temp_prefix(), suffix=".tmp", dir=folder)
        except OSError as exc:
            raise self._disk_error(exc) from None
        os.close(handle)
        try:
            try:
                _save_workbook(workbook, temp)
                info = self.path.stat()
                os.chmod(temp, stat.S_IMODE(info.st_mode))
                if os.geteuid() == 0:
                    os.chown(temp, info.st_uid, info.st_gid)
            except OSError as exc:
                if exc.errno in _DISK_ERRORS:
                    raise self._disk_error(exc) from None
                raise
            # A save by someone else that landed while openpyxl loaded and saved: theirs stays.
            self._check_editors()
            if self._read_stamp is not None and _stamp(self.path) != self._read_stamp:
                raise self._changed()
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        self._read_stamp = _stamp(self.path)


def _save_workbook(workbook: Any, path: str) -> None:
    """openpyxl's `save_workbook`, closing its zip archive itself when a write fails (a full
    disk): left open, the archive would fail again when collected and print a traceback. Then
    the copy is flushed to disk before it replaces the workbook."""
    from datetime import UTC, datetime
    from zipfile import ZIP_DEFLATED, ZipFile

    from openpyxl.writer.excel import ExcelWriter

    archive = ZipFile(path, "w", ZIP_DEFLATED, allowZip64=True)
    try:
        workbook.properties.modified = datetime.now(UTC).replace(tzinfo=None)
        ExcelWriter(workbook, archive).save()  # closes the archive when all went well
    finally:
        try:
            archive.close()  # a no-op once closed; after a failure, releases the file
        except (OSError, ValueError):
            pass  # the failure that brought us here is the one to report
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _unmerge(sheet: Any, targets: set[tuple[int, int]]) -> None:
    """Unmerge the merged ranges that cover a cell about to be written (openpyxl cannot write
    into the covered cells of a merge); other merges, staff's own, stay."""
    if not targets or not sheet.merged_cells.ranges:
        return
    for merged in list(sheet.merged_cells.ranges):
        rows = range(merged.min_row, merged.max_row + 1)
        cols = range(merged.min_col, merged.max_col + 1)
        if any(row in rows and col in cols for row, col in targets):
            sheet.unmerge_cells(merged.coord)


def _styled_cells(layout: SheetLayout) -> set[tuple[int, int]]:
    """The cells a layout styles one by one: its column headers and its styled areas."""
    cells = {(1, column.col) for column in layout.columns}
    for style in layout.styles:
        area = style.area
        for row in range(area.top, area.bottom + 1):
            cells.update((row, col) for col in range(area.left, area.right + 1))
    return cells


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
