"""Nothing lost, nothing sent twice, whatever happens around the pipeline (issue 11), through
the real CLI: a lost state DB, answers that vanish, inputs that look broken."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from tests.support.ops import Env, diplomates, make_env, outbox_messages, rows_of, sheets_of
from tests.support.scenario import ANSWERS, IDLE_2, INTEREST, LATE, OPENING, STAFF_EDITS, ZOE_LATE

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


def staff_cells(env: Env) -> tuple[list[dict[str, object]], Counter[str]]:
    """The cohort rows, and a count of what matters: rows, orphan staff cells, Inscrit·e."""
    rows = rows_of(env.book, COHORT)
    counts: Counter[str] = Counter()
    for row in rows:
        counts["rows"] += 1
        if (row.get("Décision CUF") or row.get("Notes CUF")) and not row.get("ID"):
            counts["orphans"] += 1
        counts["inscrits"] += row.get("Statut") == "Inscrit·e"
    return rows, counts


def journal_sent(env: Env) -> int:
    return sum(int(str(r["Courriels envoyés"] or 0)) for r in rows_of(env.book, "Journal"))


def staff_decide(env: Env) -> None:
    """Staff refuse Bruno and note something on Ana's row."""
    from openpyxl import load_workbook

    book = load_workbook(env.book)
    sheet = book[COHORT]
    header = [c.value for c in sheet[1]]
    mail, decision, notes = (header.index(h) + 1 for h in ("Courriel", "Décision CUF", "Notes CUF"))
    for row in range(2, sheet.max_row + 1):
        if sheet.cell(row, mail).value == "bruno@rennes.fr":
            sheet.cell(row, decision).value = "Refusé"
        if sheet.cell(row, mail).value == "ana@lyon.fr":
            sheet.cell(row, notes).value = "appelée le 3/4"
    book.save(env.book)


def edit_responses(env: Env, edit: str) -> None:
    from openpyxl import load_workbook

    book = load_workbook(env.book)
    sheet = book["Réponses au formulaire 1"]
    if edit == "insert-empty-email-column":
        sheet.insert_cols(2)
        sheet.cell(1, 2).value = "Adresse e-mail"
    elif edit == "remove-inserted-column":
        sheet.delete_cols(2)
    elif edit == "empty":
        sheet.delete_rows(2, sheet.max_row)
    book.save(env.book)


def started(tmp: Path) -> tuple[Env, list[dict[str, object]]]:
    env = make_env(tmp, ANSWERS)
    assert run(env, INTEREST)[0] == 0
    assert run(env, OPENING)[0] == 0
    staff_decide(env)
    assert run(env, STAFF_EDITS)[0] == 0
    rows, counts = staff_cells(env)
    assert counts["orphans"] == 0 and counts["inscrits"] == 3
    return env, rows


def test_people_whose_answers_vanish_keep_their_row_and_come_back_to_it(tmp_path: Path) -> None:
    """Empty email column inserted, answers emptied, --as-of earlier: rows kept, marked, listed;
    when answers return: no new row, refusal kept, capacity held, nothing mailed twice."""
    env, before = started(tmp_path / "w")
    ids = sorted(str(r["ID"]) for r in before)
    for edit, as_of, undo in (
        ("insert-empty-email-column", IDLE_2, "remove-inserted-column"),
        ("empty", IDLE_2, None),
        (None, "2026-03-05T09:30", None),  # a replay that sees only the first three answers
    ):
        saved = env.book.read_bytes()
        if edit:
            edit_responses(env, edit)
        code, said = run(env, as_of, "--force")
        assert code == 0, said
        rows, counts = staff_cells(env)
        assert sorted(str(r["ID"]) for r in rows) == ids and counts["orphans"] == 0
        assert counts["inscrits"] <= 3
        marked = [r for r in rows if r["Réponses"] == "0 (absent du formulaire)"]
        assert marked
        listed = {
            str(r["ID"])
            for r in rows_of(env.book, "À vérifier")
            if r["Code motif"] == "absent_du_formulaire"
        }
        assert listed == {str(r["ID"]) for r in marked}
        by_mail = {str(r["Courriel"]): r for r in rows}
        assert by_mail["ana@lyon.fr"]["Notes CUF"] == "appelée le 3/4"
        assert by_mail["bruno@rennes.fr"]["Décision CUF"] == "Refusé"
        if undo:
            edit_responses(env, undo)
        elif edit == "empty":
            restored = env.book.read_bytes()
            assert restored != saved
            from openpyxl import load_workbook

            old = load_workbook(__import__("io").BytesIO(saved))["Réponses au formulaire 1"]
            book = load_workbook(env.book)
            sheet = book["Réponses au formulaire 1"]
            for values in old.iter_rows(min_row=2, values_only=True):
                sheet.append(list(values))
                for cell in sheet[sheet.max_row]:
                    if isinstance(cell.value, str):
                        cell.data_type = "s"  # Ivan's name starts with "=": text, as typed
            book.save(env.book)
        code, said = run(env, LATE, "--force")
        assert code == 0, said
        rows, counts = staff_cells(env)
        assert sorted(str(r["ID"]) for r in rows) == ids and counts["orphans"] == 0
        assert counts["inscrits"] <= 3
        assert not [r for r in rows if r["Réponses"] == "0 (absent du formulaire)"]
        by_mail = {str(r["Courriel"]): r for r in rows}
        assert by_mail["bruno@rennes.fr"]["Statut"] == "Refusé·e"
    sent = pairs(env.outbox)
    assert max(sent.values()) == 1 and journal_sent(env) == sum(sent.values())


def test_broken_inputs_stop_the_run_before_it_sends_or_writes(tmp_path: Path) -> None:
    """Member list blanked, answers emptied, a clock set back: exit 1, one paragraph, 0 emails,
    the workbook untouched; --force goes on."""
    env, _ = started(tmp_path / "w")
    mails = files(env.outbox)
    from openpyxl import load_workbook

    book = load_workbook(env.book)
    book["Adhérents"].delete_rows(2, book["Adhérents"].max_row)
    book["Réponses au formulaire 1"].append(ZOE_LATE)  # someone new, who must not be told "non"
    book.save(env.book)
    for as_of, says in ((LATE, "holds no member"), ("2026-04-01T10:00", "earlier than the last")):
        saved = env.book.read_bytes()
        code, said = run(env, as_of)
        assert code == 1, said
        assert says in said and "--force" in said
        assert "zoe" not in said.lower()
        assert env.book.read_bytes() == saved and files(env.outbox) == mails
    saved = env.book.read_bytes()
    dry = diplomates("run", "--config", str(env.config), "--as-of", LATE, "--dry-run")
    assert dry.returncode == 0 and "sanity guard would refuse" in dry.stdout, dry.stdout
    assert env.book.read_bytes() == saved and files(env.outbox) == mails
    edit_responses(env, "empty")
    saved = env.book.read_bytes()
    code, said = run(env, LATE)
    assert code == 1 and "holds no answer" in said, said
    assert env.book.read_bytes() == saved and files(env.outbox) == mails
    status = diplomates("status", "--config", str(env.config))
    assert "failed" in status.stdout and "inputs look wrong" in status.stdout
    journal = sheets_of(env.book, "Journal")["Journal"]
    assert all(r["Résultat"] == "Succès" for r in journal)


def test_a_deleted_header_row_puts_no_answer_in_errors(tmp_path: Path) -> None:
    """Row 1 of the answers deleted: exit 1; stderr, JSON log, runs.error and status name the
    sheet and row, never the answer now in row 1."""
    env = make_env(tmp_path / "w", ANSWERS)
    from openpyxl import load_workbook

    book = load_workbook(env.book)
    book["Réponses au formulaire 1"].delete_rows(1)
    book.save(env.book)
    done = diplomates("run", "--config", str(env.config), "--as-of", INTEREST)
    status = diplomates("status", "--config", str(env.config))
    assert done.returncode == 1
    said = done.stdout + done.stderr + status.stdout + status.stderr
    assert "Réponses au formulaire 1" in said and "row 1" in said
    for value in ("ana@lyon.fr", "Bernard", "06 12 34 56 78", "Ville de Lyon", "02/03/2026"):
        assert value not in said, value
