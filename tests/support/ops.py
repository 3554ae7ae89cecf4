"""Helpers for the operations tests: a workbook and config on disk, the real CLI as a process."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from openpyxl import Workbook, load_workbook
from sqlalchemy import update

from pipeline.adapters.state.store import StateStore, locks
from tests.support.builders import FORM_HEADERS, MEMBER_HEADERS, answer
from tests.support.scenario import CONFIG as SCENARIO_CONFIG
from tests.support.scenario import MEMBERS

ROOT = Path(__file__).resolve().parents[2]
RESPONSES = "Réponses au formulaire 1"
COHORT = "Promotion 2026"

# The scenario's config, with the state DB URL left to the caller (SQLite file or PostgreSQL).
CONFIG = SCENARIO_CONFIG.replace('"sqlite:///{tmp}/state.sqlite"', '"{state_url}"')
assert "{state_url}" in CONFIG


@dataclass
class Env:
    """A folder holding wb.xlsx, config.toml, outbox/ and (SQLite) state.sqlite."""

    tmp: Path

    @property
    def config(self) -> Path:
        return self.tmp / "config.toml"

    @property
    def book(self) -> Path:
        return self.tmp / "wb.xlsx"

    @property
    def outbox(self) -> Path:
        return self.tmp / "outbox"

    def state_url(self) -> str:
        text = self.config.read_text(encoding="utf-8")
        return text.split('url = "', 1)[1].split('"', 1)[0]

    def copy_to(self, other: Path) -> Env:
        """The same files in another folder (config paths rewritten); SQLite state only."""
        other.mkdir(parents=True, exist_ok=True)
        for path in [self.book, *self.tmp.glob("state.sqlite*")]:  # WAL: -wal and -shm too
            if path.exists():
                shutil.copy2(path, other / path.name)
        if self.outbox.exists():
            shutil.copytree(self.outbox, other / "outbox")
        text = self.config.read_text(encoding="utf-8").replace(str(self.tmp), str(other))
        (other / "config.toml").write_text(text, encoding="utf-8")
        return Env(other)


def make_env(
    tmp: Path,
    answers: Sequence[Sequence[str]],
    members: Sequence[Sequence[str]] = MEMBERS,
    extra: str = "",
    state_url: str | None = None,
) -> Env:
    tmp.mkdir(parents=True, exist_ok=True)
    env = Env(tmp)
    url = state_url or f"sqlite:///{tmp / 'state.sqlite'}"
    env.config.write_text(CONFIG.format(tmp=tmp, state_url=url) + extra, encoding="utf-8")
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = RESPONSES
    for row in [FORM_HEADERS, *answers]:
        sheet.append(list(row))
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    listing = workbook.create_sheet("Adhérents")
    for row in [MEMBER_HEADERS, *members]:
        listing.append(list(row))
    workbook.save(env.book)
    return env


def diplomates(
    *args: str, extra_env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`python -m pipeline ARGS` in a new process; stdout and stderr captured (JSON logs)."""
    env = {k: v for k, v in os.environ.items() if k != "DIPLOMATES_CRASH_AT"}
    env.update({"DIPLOMATES_LOG_FORMAT": "json", **(extra_env or {})})
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT,
    )  # fmt: skip


def sheets_of(book: Path, *names: str) -> dict[str, list[dict[str, object]]]:
    """Several sheets' rows (as dicts by header) from one load of the workbook."""
    workbook = load_workbook(book, read_only=True)
    try:
        return {name: _rows(workbook, name) for name in names}
    finally:
        workbook.close()


def rows_of(book: Path, name: str) -> list[dict[str, object]]:
    return sheets_of(book, name)[name]


def _rows(workbook: Workbook, name: str) -> list[dict[str, object]]:
    if name not in workbook.sheetnames:
        return []
    values = list(workbook[name].iter_rows(values_only=True))
    if not values:
        return []
    header = [str(h) if h is not None else "" for h in values[0]]
    return [dict(zip(header, row, strict=False)) for row in values[1:] if any(row)]


def outbox_messages(folder: Path) -> dict[str, EmailMessage]:
    """The outbox's .eml files by file name."""
    if not folder.exists():
        return {}
    found = {}
    for path in sorted(folder.glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        found[path.name] = parsed
    return found


def expire_lease(url: str) -> None:
    """Let the run lock's lease run out now, as if its (dead) holder's time had passed."""
    store = StateStore(url)
    try:
        with store.engine.begin() as conn:
            conn.execute(update(locks).values(expires_at=datetime(2000, 1, 1, tzinfo=UTC)))
    finally:
        store.close()


def edit_workbook(book: Path, edit: object) -> None:
    workbook = load_workbook(book)
    edit(workbook)  # type: ignore[operator]
    workbook.save(book)


# The crash harness's answers (tests/e2e/test_crash.py), also the deployment check's.
ANSWERS = [
    answer("02/03/2026 09:00:00", "ana@lyon.fr", "Bernard", "Ana"),
    answer("03/03/2026 09:00:00", "bruno@rennes.fr", "Morel", "Bruno", "Rennes", department="35"),
    answer("04/03/2026 09:00:00", "chloe@lyon.fr", "Faure", "Chloé", first_term="Non"),
    answer("05/03/2026 09:00:00", "dan@nulle-part.fr", "Lefèvre", "Dan", "Trifouilly-les-Oies"),
    answer("06/03/2026 09:00:00", "eve@rennes.fr", "Roux", "Ève", "Rennes", department="35",
           role="Agent·e territorial·e (non élu·e)", first_term="Non"),
    answer("07/03/2026 09:00:00", "pas-une-adresse", "Petit", "Gus"),
    answer("08/03/2026 09:00:00", "hana@lyon.fr", "Garnier", "Hana", consent=""),
]  # fmt: skip
