"""The whole CLI on a workbook, over several runs, as staff and time drive it."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from pipeline.cli import main
from tests.builders import FORM_HEADERS, MEMBER_HEADERS, answer, member

CONFIG = """
[spreadsheet]
backend = "local"
workbook = "{tmp}/wb.xlsx"
[email]
outbox = "{tmp}/outbox"
sender = "diplomates@cites-unies-france.org"
reply_to = "contact@cites-unies-france.org"
[cohort]
capacity = 3
registration_opens = 2026-03-30T09:00:00+02:00
registration_closes = 2026-04-30T23:59:59+02:00
[programme]
contact_email = "diplomates@cites-unies-france.org"
[state]
url = "sqlite:///{tmp}/state.sqlite"
"""

ANSWERS = [
    answer("02/03/2026 09:00:00", "ana@lyon.fr", "Bernard", "Ana", role="Adjointe au maire"),
    answer("03/03/2026 09:00:00", "bruno@rennes.fr", "Morel", "Bruno", "Rennes", department="35"),
    answer("04/03/2026 09:00:00", "chloe@lyon.fr", "Faure", "Chloé", first_term="Non"),
    answer("05/03/2026 09:00:00", "dan@nulle-part.fr", "Lefèvre", "Dan", "Trifouilly-les-Oies"),
    answer("06/03/2026 09:00:00", "eve@rennes.fr", "Roux", "Ève", "Rennes", department="35",
           role="Agent·e territorial·e (non élu·e)", first_term="Non"),
    answer("07/03/2026 09:00:00", "pas-une-adresse", "Petit", "Gus"),
    answer("08/03/2026 09:00:00", "hana@lyon.fr", "Garnier", "Hana", consent=""),
    answer("09/03/2026 09:00:00", "ivan@lyon.fr", "=cmd|' /C calc'!A0", "Ivan", first_term="Non"),
    answer("10/03/2026 09:00:00", "jade@lyon.fr", "Bernard", "Ana"),  # same name, other address
    answer("11/03/2026 09:00:00", "kim@lyon.fr", "Mercier", "Kim", role="Conseillère déléguée"),
    ["", "", "", "", "", "", "", "", "", "", "", "", ""],
    answer("bientôt", "leo@lyon.fr", "Blanc", "Léo"),
]  # fmt: skip
MEMBERS = [member("Ville de Lyon"), member("Rennes", dep="35", aliases="Ville de Rennes")]


def write_workbook(path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Réponses au formulaire 1"
    for row in [FORM_HEADERS, *ANSWERS]:
        sheet.append(row)
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # as Google Forms stores answers: text, even `=...`
    members = workbook.create_sheet("Adhérents")
    for row in [MEMBER_HEADERS, *MEMBERS]:
        members.append(row)
    workbook.save(path)


def rows_of(path: Path, name: str) -> list[dict[str, object]]:
    sheet = load_workbook(path)[name]
    values = list(sheet.iter_rows(values_only=True))
    header = [str(h) for h in values[0]]
    return [dict(zip(header, row, strict=False)) for row in values[1:] if any(row)]


def by_email(path: Path) -> dict[str, dict[str, object]]:
    return {str(r["Courriel"]): r for r in rows_of(path, "Promotion 2026") if r["Courriel"]}


def outbox(tmp: Path) -> list[email.message.EmailMessage]:
    folder = tmp / "outbox"
    if not folder.exists():
        return []
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in sorted(folder.glob("*.eml"))
    ]


def sent(tmp: Path) -> list[tuple[str, str]]:
    return sorted((str(m["To"]), str(m["X-CUF-Template"])) for m in outbox(tmp))


def staff_edit(path: Path, edit: object) -> None:
    workbook = load_workbook(path)
    edit(workbook)  # type: ignore[operator]
    workbook.save(path)


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
    book = tmp / "wb.xlsx"

    # 1. Interest phase: everyone valid is registered, rejected rows are listed, one mail each.
    assert run(config, "2026-03-20T10:00") == 0
    people = by_email(book)
    assert set(people) == {
        "ana@lyon.fr", "bruno@rennes.fr", "chloe@lyon.fr", "dan@nulle-part.fr", "eve@rennes.fr",
        "ivan@lyon.fr", "jade@lyon.fr", "kim@lyon.fr",
    }  # fmt: skip
    assert people["ana@lyon.fr"]["Statut"] == "Intérêt enregistré"
    assert people["ana@lyon.fr"]["Éligibilité"] == "Certificat"
    assert people["eve@rennes.fr"]["Éligibilité"] == "Sessions"
    assert people["dan@nulle-part.fr"]["Statut"] == "Non éligible"
    assert people["kim@lyon.fr"]["Éligibilité"] == "À vérifier"
    review = rows_of(book, "À vérifier")
    reasons = sorted((r["Motif"], r["Ligne"]) for r in review)
    assert reasons == [
        ("consentement_absent", 8), ("doublon_probable", 2), ("doublon_probable", 10),
        ("email_invalide", 7), ("fonction_inconnue", 11), ("horodateur_invalide", 13),
    ]  # fmt: skip
    consent_row = next(r for r in review if r["Motif"] == "consentement_absent")
    assert not consent_row["Personne"] and not consent_row["Collectivité (saisie)"]
    templates = dict(sent(tmp))
    assert templates.pop("dan@nulle-part.fr") == "non_eligible"
    assert set(templates.values()) == {"accuse_reception"} and len(templates) == 7
    ivan = load_workbook(book)["Promotion 2026"]
    formula_cells = [c for row in ivan.iter_rows() for c in row if c.data_type == "f"]
    assert formula_cells == [] and people["ivan@lyon.fr"]["Nom"] == "=cmd|' /C calc'!A0"

    # 2. An idle rerun writes nothing and sends nothing.
    stamp = book.stat().st_mtime_ns
    assert run(config, "2026-03-20T10:05") == 0
    assert book.stat().st_mtime_ns == stamp and len(outbox(tmp)) == 8

    # 3. Opening: 3 places by rank (Certificat, new élu·es, earliest), the rest wait.
    assert run(config, "2026-04-02T09:00") == 0
    people = by_email(book)
    status = {k: v["Statut"] for k, v in people.items()}
    assert [k for k, v in sorted(status.items()) if v == "Inscrit·e"] == [
        "ana@lyon.fr", "bruno@rennes.fr", "jade@lyon.fr",
    ]  # fmt: skip
    assert status["chloe@lyon.fr"] == status["ivan@lyon.fr"] == "Liste d'attente"
    assert status["eve@rennes.fr"] == "Liste d'attente"
    assert people["chloe@lyon.fr"]["Rang"] == 4 and people["ivan@lyon.fr"]["Rang"] == 5
    assert ("ana@lyon.fr", "inscription_confirmee") in sent(tmp)
    assert ("chloe@lyon.fr", "liste_attente") in sent(tmp)

    # 4. Staff refuse Bruno, note Ana, add a column, type a bad decision, sort, delete Eve's row;
    #    Chloé resubmits with a new phone number and a differently cased address.
    def edit(workbook: Workbook) -> None:
        sheet = workbook["Promotion 2026"]
        header = [c.value for c in sheet[1]]
        col = {name: header.index(name) + 1 for name in header}
        rows = [list(r) for r in sheet.iter_rows(min_row=2, values_only=True)]
        sheet.cell(row=1, column=len(header) + 1, value="Suivi")
        for values in rows:
            values.append(f"suivi {values[col['Prénom'] - 1]}")
            if values[col["Courriel"] - 1] == "bruno@rennes.fr":
                values[col["Décision CUF"] - 1] = "Refusé"
            if values[col["Courriel"] - 1] == "ana@lyon.fr":
                values[col["Notes CUF"] - 1] = "appelée le 3/4"
            if values[col["Courriel"] - 1] == "kim@lyon.fr":
                values[col["Décision CUF"] - 1] = "peut-être"
        rows = [r for r in rows if r[col["Courriel"] - 1] != "eve@rennes.fr"]
        rows.sort(key=lambda r: str(r[col["Nom"] - 1]), reverse=True)
        sheet.delete_rows(2, sheet.max_row)
        for values in rows:
            sheet.append(values)
        form = workbook["Réponses au formulaire 1"]
        form.append(answer("03/04/2026 08:00:00", " Chloe@Lyon.FR ", "Faure", "Chloé",
                           first_term="Non", phone="07 81 23 45 67"))  # fmt: skip

    staff_edit(book, edit)
    assert run(config, "2026-04-03T10:00") == 0
    people = by_email(book)
    assert people["bruno@rennes.fr"]["Statut"] == "Refusé·e"
    assert people["bruno@rennes.fr"]["Décision CUF"] == "Refusé"
    assert people["chloe@lyon.fr"]["Statut"] == "Inscrit·e"
    assert people["chloe@lyon.fr"]["Réponses"] == 2
    assert people["chloe@lyon.fr"]["Téléphone"] == "+33 7 81 23 45 67"
    assert people["ana@lyon.fr"]["Notes CUF"] == "appelée le 3/4"
    assert people["ana@lyon.fr"]["Suivi"] == "suivi Ana"
    assert people["kim@lyon.fr"]["Décision CUF"] == "peut-être"
    assert people["eve@rennes.fr"]["Statut"] == "Liste d'attente"  # the deleted row is back
    assert any(r["Motif"] == "decision_invalide" for r in rows_of(book, "À vérifier"))
    mails = sent(tmp)
    assert ("chloe@lyon.fr", "place_liberee") in mails
    assert ("chloe@lyon.fr", "inscription_confirmee") not in mails
    assert len(mails) == len(set(mails))  # nothing sent twice

    # 5. Idle again: not a byte written.
    stamp = book.stat().st_mtime_ns
    assert run(config, "2026-04-03T10:10") == 0
    assert book.stat().st_mtime_ns == stamp

    # 6. A late answer: Hors délai, acknowledged, listed for staff.
    def late(workbook: Workbook) -> None:
        workbook["Réponses au formulaire 1"].append(
            answer("02/05/2026 11:00:00", "zoe@lyon.fr", "Vidal", "Zoé")
        )

    staff_edit(book, late)
    assert run(config, "2026-05-05T10:00") == 0
    people = by_email(book)
    assert people["zoe@lyon.fr"]["Statut"] == "Hors délai"
    assert ("zoe@lyon.fr", "accuse_reception") in sent(tmp)
    assert any(r["Motif"] == "hors_delai" for r in rows_of(book, "À vérifier"))

    # Nothing dropped: every non-blank source row is in the cohort sheet or in À vérifier.
    review_rows = {r["Ligne"] for r in rows_of(book, "À vérifier")}
    form = list(load_workbook(book)["Réponses au formulaire 1"].iter_rows(values_only=True))
    cohort_emails = set(by_email(book))
    for number, values in enumerate(form[1:], start=2):
        if not any(values):
            continue
        address = str(values[1]).strip().lower()
        assert address in cohort_emails or number in review_rows, number
    journal = rows_of(book, "Journal")
    assert [r["Résultat"] for r in journal] == ["Succès"] * 4


def test_dry_run_touches_nothing(
    env: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """`--dry-run` prints the planned changes and leaves the workbook, outbox and ledger alone."""
    tmp, config = env
    stamp = (tmp / "wb.xlsx").stat().st_mtime_ns
    assert main(["run", "--config", str(config), "--dry-run", "--as-of", "2026-04-02T09:00"]) == 0
    out = capsys.readouterr().out
    assert "sheet 'Promotion 2026' (new sheet)" in out and "email accuse_reception: 7" in out
    assert (tmp / "wb.xlsx").stat().st_mtime_ns == stamp and outbox(tmp) == []
    assert run(config, "2026-03-20T10:00") == 0 and len(outbox(tmp)) == 8


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
