"""The staff-and-time scenario, backend-neutral: its data, what staff do, what must come out.

Staff see and touch the spreadsheet between runs through a `StaffView` (read a sheet as rows,
rewrite its rows as sorting, deleting or adding a column does, append a form answer). One view
works on the .xlsx with openpyxl (`WorkbookView`, here); the other on the Sheets API stand-in's
state (`tests/e2e/test_scenario_google.py`). `Scenario` drives the CLI through the phases and
asserts the same results whatever the view.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from openpyxl import Workbook, load_workbook

from tests.support.builders import FORM_HEADERS, MEMBER_HEADERS, answer, member

FORM = "Réponses au formulaire 1"
MEMBERS_SHEET = "Adhérents"
COHORT = "Promotion 2026"
REVIEW = "À vérifier"
JOURNAL = "Journal"

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
CHLOE_AGAIN = answer("03/04/2026 08:00:00", " Chloe@Lyon.FR ", "Faure", "Chloé",
                     first_term="Non", phone="07 81 23 45 67")  # fmt: skip
ZOE_LATE = answer("02/05/2026 11:00:00", "zoe@lyon.fr", "Vidal", "Zoé")

INTEREST, IDLE_1, OPENING = "2026-03-20T10:00", "2026-03-20T10:05", "2026-04-02T09:00"
STAFF_EDITS, IDLE_2, LATE = "2026-04-03T10:00", "2026-04-03T10:10", "2026-05-05T10:00"

Row = list[object]


class StaffView(Protocol):
    """The spreadsheet as staff see and change it between runs (never through the pipeline)."""

    def table(self, sheet: str) -> list[Row]:
        """Every row of `sheet`, header first, each as wide as the widest (None when empty)."""
        ...

    def rewrite(self, sheet: str, header: Row, rows: list[Row]) -> None:
        """Replace the header and every row below it (sorting, deleting a row, a new column)."""
        ...

    def append(self, sheet: str, row: list[str]) -> None:
        """A form answer arrives: a new row below the last one."""
        ...

    def formula_cells(self) -> list[str]:
        """Every cell, in any sheet, that holds a formula (`sheet!row:col`)."""
        ...

    def fingerprint(self) -> object:
        """Changes whenever anything writes to the spreadsheet."""
        ...


def records(view: StaffView, sheet: str) -> list[dict[str, object]]:
    """The non-empty rows of `sheet` as {header: value}."""
    values = view.table(sheet)
    header = [str(h) for h in values[0]]
    return [dict(zip(header, row, strict=False)) for row in values[1:] if any(row)]


def people(view: StaffView) -> dict[str, dict[str, object]]:
    """The cohort sheet's rows by e-mail address."""
    return {str(r["Courriel"]): r for r in records(view, COHORT) if r["Courriel"]}


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


# --- the .xlsx view ------------------------------------------------------------------------------


def write_workbook(path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = FORM
    for row in [FORM_HEADERS, *ANSWERS]:
        sheet.append(row)
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # as Google Forms stores answers: text, even `=...`
    members = workbook.create_sheet(MEMBERS_SHEET)
    for row in [MEMBER_HEADERS, *MEMBERS]:
        members.append(row)
    workbook.save(path)


def staff_edit(path: Path, edit: Callable[[Workbook], object]) -> None:
    workbook = load_workbook(path)
    edit(workbook)
    workbook.save(path)


@dataclass
class WorkbookView:
    """Staff editing the .xlsx in a spreadsheet program (openpyxl, values as stored)."""

    path: Path

    def table(self, sheet: str) -> list[Row]:
        return [list(row) for row in load_workbook(self.path)[sheet].iter_rows(values_only=True)]

    def rewrite(self, sheet: str, header: Row, rows: list[Row]) -> None:
        def edit(workbook: Workbook) -> None:
            target = workbook[sheet]
            for col, value in enumerate(header, start=1):
                target.cell(row=1, column=col, value=value)
            target.delete_rows(2, target.max_row)
            for values in rows:
                target.append(values)

        staff_edit(self.path, edit)

    def append(self, sheet: str, row: list[str]) -> None:
        staff_edit(self.path, lambda workbook: workbook[sheet].append(row))

    def formula_cells(self) -> list[str]:
        workbook = load_workbook(self.path)
        return [
            f"{sheet.title}!{cell.row}:{cell.column}"
            for sheet in workbook.worksheets
            for row in sheet.iter_rows()
            for cell in row
            if cell.data_type == "f"
        ]

    def fingerprint(self) -> object:
        return self.path.stat().st_mtime_ns


# --- the scenario --------------------------------------------------------------------------------


def sort_and_edit(header: Row, rows: list[Row]) -> tuple[Row, list[Row]]:
    """Staff refuse Bruno, note Ana, add a column, type a bad decision, sort, delete Eve's row."""
    col = {str(name): index for index, name in enumerate(header)}
    rows = [list(values) for values in rows]
    for values in rows:
        values.append(f"suivi {values[col['Prénom']]}")
        if values[col["Courriel"]] == "bruno@rennes.fr":
            values[col["Décision CUF"]] = "Refusé"
        if values[col["Courriel"]] == "ana@lyon.fr":
            values[col["Notes CUF"]] = "appelée le 3/4"
        if values[col["Courriel"]] == "kim@lyon.fr":
            values[col["Décision CUF"]] = "peut-être"
    rows = [r for r in rows if r[col["Courriel"]] != "eve@rennes.fr"]
    rows.sort(key=lambda r: str(r[col["Nom"]]), reverse=True)
    return [*header, "Suivi"], rows


@dataclass
class Scenario:
    """The CLI over several runs as staff and time drive it (per SPEC), on any `StaffView`."""

    view: StaffView
    run: Callable[[str], int]  # --as-of -> exit code
    tmp: Path  # holds the outbox

    def interest(self) -> None:
        """1. Interest phase: everyone valid is registered, rejected rows listed, one mail each."""
        assert self.run(INTEREST) == 0
        found = people(self.view)
        assert set(found) == {
            "ana@lyon.fr", "bruno@rennes.fr", "chloe@lyon.fr", "dan@nulle-part.fr",
            "eve@rennes.fr", "ivan@lyon.fr", "jade@lyon.fr", "kim@lyon.fr",
        }  # fmt: skip
        assert found["ana@lyon.fr"]["Statut"] == "Intérêt enregistré"
        assert found["ana@lyon.fr"]["Éligibilité"] == "Certificat"
        assert found["eve@rennes.fr"]["Éligibilité"] == "Sessions"
        assert found["dan@nulle-part.fr"]["Statut"] == "Non éligible"
        assert found["kim@lyon.fr"]["Éligibilité"] == "À vérifier"
        review = records(self.view, REVIEW)
        reasons = sorted((r["Code motif"], r["Ligne"]) for r in review)
        assert reasons == [
            ("consentement_absent", 8), ("doublon_probable", 2), ("doublon_probable", 10),
            ("email_invalide", 7), ("fonction_inconnue", 11), ("horodateur_invalide", 13),
        ]  # fmt: skip
        consent_row = next(r for r in review if r["Code motif"] == "consentement_absent")
        assert consent_row["Motif"] == "Consentement absent"
        assert not consent_row["Personne"] and not consent_row["Collectivité (saisie)"]
        templates = dict(sent(self.tmp))
        assert templates.pop("dan@nulle-part.fr") == "non_eligible"
        assert set(templates.values()) == {"accuse_reception"} and len(templates) == 7
        assert self.view.formula_cells() == []
        assert found["ivan@lyon.fr"]["Nom"] == "=cmd|' /C calc'!A0"

    def idle(self, as_of: str) -> None:
        """2. and 5. An idle rerun writes nothing and sends nothing."""
        stamp, mails = self.view.fingerprint(), len(outbox(self.tmp))
        assert self.run(as_of) == 0
        assert self.view.fingerprint() == stamp and len(outbox(self.tmp)) == mails

    def opening(self) -> None:
        """3. Opening: 3 places by rank (Certificat, new élu·es, earliest), the rest wait."""
        assert self.run(OPENING) == 0
        found = people(self.view)
        status = {k: v["Statut"] for k, v in found.items()}
        assert [k for k, v in sorted(status.items()) if v == "Inscrit·e"] == [
            "ana@lyon.fr", "bruno@rennes.fr", "jade@lyon.fr",
        ]  # fmt: skip
        assert status["chloe@lyon.fr"] == status["ivan@lyon.fr"] == "Liste d'attente"
        assert status["eve@rennes.fr"] == "Liste d'attente"
        assert found["chloe@lyon.fr"]["Rang"] == 4 and found["ivan@lyon.fr"]["Rang"] == 5
        assert ("ana@lyon.fr", "inscription_confirmee") in sent(self.tmp)
        assert ("chloe@lyon.fr", "liste_attente") in sent(self.tmp)

    def staff_edits(self) -> None:
        """4. Staff edit and sort the cohort sheet; Chloé resubmits (new phone, other casing)."""
        rows = self.view.table(COHORT)
        header, body = sort_and_edit(rows[0], rows[1:])
        self.view.rewrite(COHORT, header, body)
        self.view.append(FORM, CHLOE_AGAIN)
        assert self.run(STAFF_EDITS) == 0
        found = people(self.view)
        assert found["bruno@rennes.fr"]["Statut"] == "Refusé·e"
        assert found["bruno@rennes.fr"]["Décision CUF"] == "Refusé"
        assert found["chloe@lyon.fr"]["Statut"] == "Inscrit·e"
        assert found["chloe@lyon.fr"]["Réponses"] == 2
        assert found["chloe@lyon.fr"]["Téléphone"] == "+33 7 81 23 45 67"
        assert found["ana@lyon.fr"]["Notes CUF"] == "appelée le 3/4"
        assert found["ana@lyon.fr"]["Suivi"] == "suivi Ana"
        assert found["kim@lyon.fr"]["Décision CUF"] == "peut-être"
        assert found["eve@rennes.fr"]["Statut"] == "Liste d'attente"  # the deleted row is back
        assert any(r["Code motif"] == "decision_invalide" for r in records(self.view, REVIEW))
        mails = sent(self.tmp)
        assert ("chloe@lyon.fr", "place_liberee") in mails
        assert ("chloe@lyon.fr", "inscription_confirmee") not in mails
        assert len(mails) == len(set(mails))  # nothing sent twice

    def late_answer(self) -> None:
        """6. A late answer: Hors délai, acknowledged, listed for staff."""
        self.view.append(FORM, ZOE_LATE)
        assert self.run(LATE) == 0
        found = people(self.view)
        assert found["zoe@lyon.fr"]["Statut"] == "Hors délai"
        assert ("zoe@lyon.fr", "accuse_reception") in sent(self.tmp)
        assert any(r["Code motif"] == "hors_delai" for r in records(self.view, REVIEW))

    def nothing_dropped(self) -> None:
        """Every non-blank source row is in the cohort sheet or in À vérifier; 4 journal rows."""
        review_rows = {r["Ligne"] for r in records(self.view, REVIEW)}
        form = self.view.table(FORM)
        cohort_emails = set(people(self.view))
        for number, values in enumerate(form[1:], start=2):
            if not any(values):
                continue
            address = str(values[1]).strip().lower()
            assert address in cohort_emails or number in review_rows, number
        journal = records(self.view, JOURNAL)
        assert [r["Résultat"] for r in journal] == ["Succès"] * 4

    def play(self) -> None:
        """The whole scenario, in order."""
        self.interest()
        self.idle(IDLE_1)
        self.opening()
        self.staff_edits()
        self.idle(IDLE_2)
        self.late_answer()
        self.nothing_dropped()
