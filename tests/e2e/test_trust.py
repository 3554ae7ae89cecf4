"""Nothing lost, nothing sent twice, whatever happens around the pipeline (issue 11), through
the real CLI: a lost state DB, answers that vanish, inputs that look broken."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from tests.e2e.ops import Env, diplomates, make_env, outbox_messages, rows_of
from tests.e2e.scenario import ANSWERS, IDLE_2, INTEREST, LATE, OPENING, STAFF_EDITS, ZOE_LATE

COHORT = "Promotion 2026"


def run(env: Env, as_of: str, *more: str) -> tuple[int, str]:
    done = diplomates("run", "--config", str(env.config), "--as-of", as_of, *more)
    return done.returncode, done.stdout + done.stderr


def pairs(folder: Path) -> Counter[tuple[str, str]]:
    """(recipient, template) of every file in an outbox."""
    return Counter(
        (str(m["To"]).lower(), str(m["X-CUF-Template"])) for m in outbox_messages(folder).values()
    )


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.eml"))} if folder.exists() else {}


def drop_state(env: Env) -> None:
    for path in env.tmp.glob("state.sqlite*"):
        path.unlink()


def append_answer(env: Env, values: list[str]) -> None:
    from openpyxl import load_workbook

    book = load_workbook(env.book)
    book["Réponses au formulaire 1"].append(values)
    book.save(env.book)


def test_a_lost_state_db_sends_nothing_again(tmp_path: Path) -> None:
    """State DB deleted between runs, then outbox gone too: 0 resends; new answers still mailed."""
    env = make_env(tmp_path / "w", ANSWERS)
    assert run(env, INTEREST)[0] == 0
    assert run(env, OPENING)[0] == 0
    before = files(env.outbox)
    sent = pairs(env.outbox)
    assert sent and max(sent.values()) == 1

    drop_state(env)  # a new pod without its volume: the outbox and the sheet remain
    code, said = run(env, STAFF_EDITS)
    assert code == 0, said
    assert files(env.outbox) == before  # not one file written again
    assert "did not know" in said and "state.url" in said
    journal = rows_of(env.book, "Journal")
    assert journal[-1]["Courriels envoyés"] == 0
    assert journal[-1]["Courriels retrouvés"] == sum(sent.values())

    drop_state(env)  # and this time the outbox is gone too: the sheet alone must do
    shutil.move(env.outbox, tmp_path / "old-outbox")
    code, said = run(env, IDLE_2)
    assert code == 0, said
    assert files(env.outbox) == {}
    append_answer(env, ZOE_LATE)
    assert run(env, LATE)[0] == 0
    assert pairs(env.outbox) == Counter({("zoe@lyon.fr", "accuse_reception"): 1})
    shown = {str(r["Courriel"]): str(r["Courriels envoyés"]) for r in rows_of(env.book, COHORT)}
    assert shown["ana@lyon.fr"].startswith("Accusé de réception ")
    assert "Inscription confirmée" in shown["ana@lyon.fr"]
