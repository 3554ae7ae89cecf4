"""The CLI when its surroundings misbehave: full or read-only folders, files open in an editor,
merged cells, damaged files, values the xlsx format stores its own way. Each failure is one clear
paragraph and exit code 1, never "unexpected X at file:line", and a write that cannot succeed
stops the run before any email leaves. "Full" and "read-only" are real: tiny tmpfs mounts (root
with mount rights, as in CI; skipped with the reason elsewhere); the same errors are also
injected at the adapter boundary in tests that always run.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from sqlalchemy import event

from pipeline.adapters.state.store import StateStore
from pipeline.app.run import Runner
from pipeline.config import load_settings
from pipeline.core.errors import MailError, PipelineError, SheetError
from tests.support.builders import answer
from tests.support.ops import (
    COHORT,
    RESPONSES,
    Env,
    diplomates,
    edit_workbook,
    make_env,
    outbox_messages,
    rows_of,
)

PARIS = ZoneInfo("Europe/Paris")
ANSWERS = [
    answer("02/03/2026 09:00:00", "ana@lyon.fr", "Bernard", "Ana"),
    answer("03/03/2026 09:00:00", "bruno@rennes.fr", "Morel", "Bruno", "Rennes", department="35"),
]  # fmt: skip
INTEREST, OPENING = "2026-03-20T10:00", "2026-04-02T09:00"


def run(env: Env, as_of: str = INTEREST) -> subprocess.CompletedProcess[str]:
    return diplomates("run", "--config", str(env.config), "--as-of", as_of)


def add_answer(env: Env, email: str = "chloe@lyon.fr") -> None:
    row = answer("05/03/2026 09:00:00", email, "Faure", "Chloé")
    edit_workbook(env.book, lambda workbook: workbook[RESPONSES].append(row))


def sent(env: Env) -> Counter[str]:
    return Counter(f"{m['To']}|{m['X-CUF-Template']}" for m in outbox_messages(env.outbox).values())


def clear_failure(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 1, (done.returncode, done.stderr[-1500:])
    assert "unexpected" not in done.stderr and "Traceback" not in done.stderr, done.stderr[-1500:]
    for word in words:
        assert word in done.stderr, (word, done.stderr[-1500:])


def journal_results(env: Env) -> list[object]:
    return [row["Résultat"] for row in rows_of(env.book, "Journal")]


@contextlib.contextmanager
def tiny_fs(where: Path, size: str = "256k", fill: int = 0) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `where`, with `fill` bytes already taken; skips the test
    where mounting is not allowed (not root, or a container without the right)."""
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip() or 'mount failed'}")
    try:
        if fill:
            with contextlib.suppress(OSError):
                (where / ".filler").write_bytes(bytes(fill))
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def read_only(where: Path) -> None:
    done = subprocess.run(["mount", "-o", "remount,ro", str(where)], check=False)
    assert done.returncode == 0


def moved(env: Env, old: str, new: Path) -> None:
    """Point the config's `old` path (inside env.tmp) at `new`."""
    text = env.config.read_text(encoding="utf-8")
    assert f"{env.tmp}/{old}" in text
    env.config.write_text(text.replace(f"{env.tmp}/{old}", str(new)), encoding="utf-8")


# --- values round-trip -------------------------------------------------------------------------


def test_long_cells_and_literal_escapes_leave_every_rerun_idle(tmp_path: Path) -> None:
    """A 50,000-character name and a name typed `_x0042_` (stored `_x005F_x0042_`, as Excel and
    Google write it): the first run writes, every rerun finds nothing to do."""
    env = make_env(tmp_path, ANSWERS)

    def hostile(workbook: Workbook) -> None:
        sheet = workbook[RESPONSES]
        sheet["C2"]._value = "Bernard" * 7_200  # 50,400 characters, past openpyxl's own cut
        sheet["D3"] = "_x005F_x0042_"

    edit_workbook(env.book, hostile)
    first = run(env)
    assert first.returncode == 0 and "2 new" in first.stdout, first.stderr[-800:]
    for _ in range(2):
        again = run(env)
        assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout
    people = {row["Courriel"]: row for row in rows_of(env.book, COHORT)}
    assert len(str(people["ana@lyon.fr"]["Nom"])) <= 32_767


# --- the workbook --------------------------------------------------------------------------------


def test_merged_cells_over_pipeline_cells_never_crash_a_run(tmp_path: Path) -> None:
    """Staff merged pipeline cells and headers of the cohort sheet: the next run that writes or
    formats there unmerges them and succeeds; the run after it is idle."""
    env = make_env(tmp_path, ANSWERS)
    assert run(env).returncode == 0

    def merge(workbook: Workbook) -> None:
        sheet = workbook[COHORT]
        header = [c.value for c in sheet[1]]
        status = header.index("Statut") + 1
        sheet.merge_cells(start_row=2, start_column=status, end_row=3, end_column=status + 1)
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=2)  # ID and Nom
        del sheet.defined_names["_diplomates_layout"]  # so the layout is applied again

    edit_workbook(env.book, merge)
    opening = run(env, OPENING)  # statuses change when registration opens
    assert opening.returncode == 0, opening.stderr[-1500:]
    assert run(env, OPENING).stdout.count("nothing to do") == 1
    statuses = {row["Courriel"]: row["Statut"] for row in rows_of(env.book, COHORT)}
    assert all(statuses.values()), statuses


@pytest.mark.parametrize(
    ("lock", "content", "who"),
    [(".~lock.wb.xlsx#", "Marie Curie,mcurie,poste-12,06.12.2026 10:15,file:///m;", "Marie Curie"),
     ("~$wb.xlsx", "\x06Pierre" + " " * 47, "Pierre")],
    ids=["libreoffice", "excel"],
)  # fmt: skip
def test_a_workbook_open_in_an_editor_stops_the_run_before_any_email(
    tmp_path: Path, lock: str, content: str, who: str
) -> None:
    """An editor's lock file beside the workbook: exit 1 naming who has it open, no email sent,
    the file untouched; once closed, the next run sends the waiting email once."""
    env = make_env(tmp_path, ANSWERS)
    assert run(env).returncode == 0
    before = sent(env)
    add_answer(env)
    (tmp_path / lock).write_text(content, encoding="latin-1")
    snapshot = env.book.read_bytes()
    blocked = run(env)
    clear_failure(blocked, who, "nothing was sent or written")
    assert sent(env) == before and env.book.read_bytes() == snapshot
    (tmp_path / lock).unlink()
    assert run(env).returncode == 0
    after = sent(env)
    assert after - before == Counter({"chloe@lyon.fr|accuse_reception": 1})
    assert set(after.values()) == {1}


@pytest.mark.parametrize(
    ("part", "old", "new"),
    [("xl/worksheets/sheet1.xml", b"<t>Bernard</t>", b"<t>Ber\x01nard</t>"),
     ("xl/styles.xml", b'rgb="FF', b'rgb="zz')],
    ids=["control-byte", "bad-colour"],
)  # fmt: skip
def test_a_workbook_openpyxl_cannot_load_stops_the_run_before_any_email(
    tmp_path: Path, part: str, old: bytes, new: bytes
) -> None:
    """A raw control byte in a cell, a colour that is not one: exit 1, the fix (save it again in
    LibreOffice or Excel), and no email sent although answers are new."""
    import zipfile

    env = make_env(tmp_path, ANSWERS)

    def coloured(workbook: Workbook) -> None:  # a header in a colour, as staff may have set
        from openpyxl.styles import Font

        workbook[RESPONSES]["A1"].font = Font(color="FF000000")

    edit_workbook(env.book, coloured)
    with zipfile.ZipFile(env.book) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    assert old in files[part], files[part][:500]
    files[part] = files[part].replace(old, new, 1)
    with zipfile.ZipFile(env.book, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    failed = run(env)
    clear_failure(failed, "cannot be opened for writing by openpyxl", "save it again")
    assert sent(env) == Counter()


def test_a_read_only_workbook_folder_stops_the_run_before_any_email(tmp_path: Path) -> None:
    """The workbook's folder is mounted read-only: exit 1 naming the folder and why; no email."""
    env = make_env(tmp_path, ANSWERS)
    with tiny_fs(tmp_path / "ro", "2m") as folder:
        shutil.copy2(env.book, folder / "wb.xlsx")
        moved(env, "wb.xlsx", folder / "wb.xlsx")
        read_only(folder)
        failed = run(env)
        clear_failure(failed, "refuses a new copy (Read-only file system)")
        assert sent(env) == Counter()


def test_a_full_workbook_folder_stops_the_run_before_any_email(tmp_path: Path) -> None:
    """The workbook's folder has no room for a new copy: exit 1 (no space), no email sent."""
    env = make_env(tmp_path, ANSWERS)
    size = env.book.stat().st_size
    with tiny_fs(tmp_path / "full", "256k", fill=256 * 1024 - size - 8 * 1024) as folder:
        shutil.copy2(env.book, folder / "wb.xlsx")
        moved(env, "wb.xlsx", folder / "wb.xlsx")
        failed = run(env)
        clear_failure(failed, "No space left on device")
        assert sent(env) == Counter()


# --- the outbox ----------------------------------------------------------------------------------


@pytest.mark.parametrize("trouble", ["full", "read-only"])
def test_an_outbox_that_refuses_files_fails_the_run_clearly_and_loses_nothing(
    tmp_path: Path, trouble: str
) -> None:
    """A full or read-only outbox folder: exit 1 naming it and why (never exit 0 with `Succès`);
    once fixed, each message is filed exactly once."""
    env = make_env(tmp_path, ANSWERS)
    with tiny_fs(env.outbox, "256k", fill=250 * 1024 if trouble == "full" else 0) as folder:
        if trouble == "read-only":
            read_only(folder)
        failed = run(env)
        why = "No space left on device" if trouble == "full" else "Read-only file system"
        clear_failure(failed, "outbox folder", why)
        assert "Succès" not in journal_results(env)
    done = run(env)  # the real (empty, writable) folder again
    assert done.returncode == 0, done.stderr[-800:]
    assert sent(env) == Counter({"ana@lyon.fr|accuse_reception": 1,
                                 "bruno@rennes.fr|accuse_reception": 1})  # fmt: skip


def test_an_outbox_filling_up_mid_run_stops_it_and_the_next_run_files_the_rest_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC on the second file (injected at the adapter boundary, after preflight passed): the
    run fails with MailError; the next run files what was not filed, each message once."""
    env = make_env(tmp_path, ANSWERS + [answer("04/03/2026 09:00:00", "chloe@lyon.fr")])
    settings = load_settings(env.config)
    real = Path.write_bytes
    calls = {"n": 0}

    def filling(self: Path, data: bytes) -> int:  # type: ignore[override]
        if self.parent == env.outbox and self.name.startswith(".sending-"):
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", filling)
    now = datetime.fromisoformat(INTEREST).replace(tzinfo=PARIS)
    runner = Runner(settings)
    with pytest.raises(MailError, match="outbox folder .*No space left on device"):
        runner.run(now=now)
    runner.store.close()
    monkeypatch.undo()
    assert len(outbox_messages(env.outbox)) == 1
    assert run(env).returncode == 0
    counts = sent(env)
    assert len(counts) == 3 and set(counts.values()) == {1}, counts


# --- the state database --------------------------------------------------------------------------


def test_a_damaged_state_database_is_one_clear_paragraph(tmp_path: Path) -> None:
    """A state DB file that is not a database: exit 1, says it is damaged and how to recover."""
    env = make_env(tmp_path, ANSWERS)
    (tmp_path / "state.sqlite").write_bytes(b"not a database " * 500)
    failed = run(env)
    clear_failure(failed, "state database", "damaged", "Restore the last backup")
    assert sent(env) == Counter()
    status = diplomates("status", "--config", str(env.config))
    clear_failure(status, "damaged")


def test_a_full_state_database_fails_the_run_clearly(tmp_path: Path) -> None:
    """SQLite says "database or disk is full" (its page limit reached): PipelineError saying the
    disk is full and that nothing is sent twice, never an unexpected OperationalError."""
    env = make_env(tmp_path, ANSWERS)
    settings = load_settings(env.config)
    store = StateStore(settings.state.url)
    with store.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

    @event.listens_for(store.engine, "connect")
    def tiny(connection: object, _record: object) -> None:
        connection.execute(f"PRAGMA max_page_count = {pages}")  # type: ignore[attr-defined]

    store.engine.dispose()  # new connections get the limit
    now = datetime.fromisoformat(INTEREST).replace(tzinfo=PARIS)
    with pytest.raises(PipelineError, match="disk holding it is full") as caught:
        Runner(settings, store=store).run(now=now)
    assert "sends nothing twice" in str(caught.value)
    store.close()


def test_a_full_state_database_disk_is_one_clear_paragraph(tmp_path: Path) -> None:
    """The state DB on a real full disk (a tiny tmpfs): exit 1, "the disk holding it is full"."""
    env = make_env(tmp_path, ANSWERS)
    with tiny_fs(tmp_path / "db", "256k") as folder:
        moved(env, "state.sqlite", folder / "state.sqlite")
        assert diplomates("status", "--config", str(env.config)).returncode == 0  # schema made
        with contextlib.suppress(OSError):
            (folder / f".filler-{uuid.uuid4().hex}").write_bytes(bytes(1 << 20))
        failed = run(env)
        clear_failure(failed, "state database", "the disk holding it is full")


# --- the same refusals injected at the adapter boundary (run everywhere, mount or not) -----------


def refuse(code: int) -> OSError:
    return OSError(code, os.strerror(code))


@pytest.mark.parametrize("code", [errno.EROFS, errno.ENOSPC])
def test_a_workbook_folder_refusing_the_new_copy_stops_the_run_before_any_email(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    """The workbook's folder refuses the temporary copy (read-only, full; injected): the run
    raises SheetError naming why, before sending anything."""
    env = make_env(tmp_path, ANSWERS)
    real = tempfile.mkstemp

    def refusing(*args: object, **kwargs: object) -> tuple[int, str]:
        if Path(str(kwargs.get("dir", ""))) == tmp_path:
            raise refuse(code)
        return real(*args, **kwargs)  # type: ignore[call-overload,no-any-return]

    monkeypatch.setattr(tempfile, "mkstemp", refusing)
    runner = Runner(load_settings(env.config))
    with pytest.raises(SheetError, match=f"refuses a new copy \\({os.strerror(code)}\\)"):
        runner.run(now=datetime.fromisoformat(INTEREST).replace(tzinfo=PARIS))
    runner.store.close()
    assert sent(env) == Counter()


@pytest.mark.parametrize("code", [errno.EROFS, errno.ENOSPC])
def test_an_outbox_refusing_files_stops_the_run_before_any_email(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    """The outbox folder refuses files (read-only, full; injected): MailError before any send,
    and the messages stay queued for the next run."""
    env = make_env(tmp_path, ANSWERS)
    import pipeline.adapters.mail.transport as mail_module

    def refusing(path: object, *args: object, **kwargs: object) -> object:
        if Path(str(path)).parent == env.outbox:
            raise refuse(code)
        return open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(mail_module, "open", refusing, raising=False)
    runner = Runner(load_settings(env.config))
    with pytest.raises(MailError, match=f"refuses files \\({os.strerror(code)}\\)"):
        runner.run(now=datetime.fromisoformat(INTEREST).replace(tzinfo=PARIS))
    states = Counter(m.state for m in runner.store.find_messages())
    runner.store.close()
    assert sent(env) == Counter() and states == Counter({"pending": 2})


def test_a_staff_save_during_the_write_is_kept_and_the_run_writes_over_it_once_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A staff note saved while the run's copy is being written: the run drops its copy, re-reads,
    re-plans and writes again; both the note and the run's rows are in the file."""
    from openpyxl import load_workbook
    from openpyxl.writer.excel import ExcelWriter

    env = make_env(tmp_path, ANSWERS)
    assert run(env).returncode == 0
    add_answer(env)
    original = ExcelWriter.save
    saved: list[bool] = []

    def staff_saves_meanwhile(self: ExcelWriter) -> None:
        original(self)
        if not saved:
            saved.append(True)
            staff = load_workbook(env.book)
            sheet = staff[COHORT]
            notes = [c.value for c in sheet[1]].index("Notes CUF") + 1
            sheet.cell(row=2, column=notes, value="rappeler lundi")
            staff.save(env.book)

    monkeypatch.setattr(ExcelWriter, "save", staff_saves_meanwhile)
    runner = Runner(load_settings(env.config))
    report = runner.run(now=datetime.fromisoformat(INTEREST).replace(tzinfo=PARIS))
    runner.store.close()
    monkeypatch.undo()
    assert report.outcome == "success" and saved
    rows = rows_of(env.book, COHORT)
    assert {r["Courriel"] for r in rows} == {"ana@lyon.fr", "bruno@rennes.fr", "chloe@lyon.fr"}
    assert "rappeler lundi" in [r["Notes CUF"] for r in rows]
