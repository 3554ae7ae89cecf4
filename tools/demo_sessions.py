"""`make demo` after registration: a `Sessions` sheet, attendance typed by staff, certificates.

Called by tools/demo.py on a fresh workbook, between runs, doing what staff would do in the
spreadsheet: create the sheet (`diplomates sessions init`), type five sessions (two
online), cancel one, mark attendance once sessions are held (one mark mistyped, which `À vérifier`
shows), validate the certificates. The runs in between send invitations, a reminder, the
cancellation, and the documents (PDFs under demo/out/certificats/).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from openpyxl import load_workbook

# (as-of of the run, what staff do just before it)
INVITATIONS = "2026-05-05T10:30"
REMINDER = "2026-05-11T10:00"
CERTIFICATES = "2026-06-24T09:00"
SENT = "2026-06-24T11:00"
LAST_RUN = SENT

SESSIONS = [
    ("S1", "Ouverture : l'action internationale des collectivités", "Rencontre",
     datetime(2026, 5, 12, 9, 30), datetime(2026, 5, 12, 17, 0),
     "Cités Unies France, 9 rue Christiani, 75018 Paris", "", ""),
    ("S2", "Diplomatie territoriale et diplomatie d'État", "Session de travail",
     datetime(2026, 5, 26, 14, 0), datetime(2026, 5, 26, 17, 0),
     "En ligne", "https://visio.example.org/diplomates-s2", ""),
    ("T1", "Temps de terrain : les institutions européennes à Bruxelles", "Temps de terrain",
     datetime(2026, 6, 9, 8, 0), datetime(2026, 6, 9, 18, 0),
     "Comité européen des régions, rue Belliard 101, 1040 Bruxelles", "", ""),
    ("S3", "Coopération décentralisée : monter un projet", "Session de travail",
     datetime(2026, 6, 16, 9, 30), datetime(2026, 6, 16, 12, 30),
     "En ligne", "https://visio.example.org/diplomates-s3", ""),
    ("S4", "Clôture et remise des certificats", "Rencontre",
     datetime(2026, 6, 23, 9, 30), datetime(2026, 6, 23, 12, 30),
     "Cités Unies France, 9 rue Christiani, 75018 Paris", "", ""),
]  # fmt: skip
HELD = ("S1", "S2", "T1", "S4")


def _header(sheet: object) -> list[str]:
    return [str(c.value or "") for c in sheet[1]]  # type: ignore[index]


def type_sessions(book: Path) -> None:
    """Staff type the sessions into the sheet `sessions init` made (dates as date cells)."""
    workbook = load_workbook(book)
    sheet = workbook["Sessions"]
    for row in SESSIONS:
        sheet.append(list(row))
        for col in (4, 5):
            sheet.cell(row=sheet.max_row, column=col).number_format = "dd/mm/yyyy hh:mm"
    workbook.save(book)


def cancel_s3(book: Path) -> None:
    """Staff cancel S3 (Statut `Annulée`): a cancellation goes to everyone invited."""
    workbook = load_workbook(book)
    sheet = workbook["Sessions"]
    header = _header(sheet)
    code, status = header.index("Session") + 1, header.index("Statut") + 1
    for row in range(2, sheet.max_row + 1):
        if sheet.cell(row=row, column=code).value == "S3":
            sheet.cell(row=row, column=status, value="Annulée")
    workbook.save(book)


def _mark(person_id: str, code: str) -> str:
    """A deterministic, realistic pattern: mostly present, some absences and excuses."""
    roll = hashlib.sha256(f"{person_id}|{code}".encode()).digest()[0]
    if roll < 200:
        return "Présent"
    return "Excusé" if roll < 228 else "Absent"


def mark_attendance(book: Path) -> None:
    """Staff fill `Émargement` for the sessions held; one mark is mistyped (`present`→`Présnt`)."""
    workbook = load_workbook(book)
    sheet = workbook["Émargement"]
    header = _header(sheet)
    id_col = header.index("ID") + 1
    cols = {code: header.index(code) + 1 for code in HELD if code in header}
    mistyped = False
    for row in range(2, sheet.max_row + 1):
        person_id = sheet.cell(row=row, column=id_col).value
        if not person_id:
            continue
        for code, col in cols.items():
            mark = _mark(str(person_id), code)
            if not mistyped and mark == "Présent" and code == "T1":
                mark, mistyped = "Présnt", True
            sheet.cell(row=row, column=col, value=mark)
    workbook.save(book)


def validate_certificates(book: Path) -> None:
    """Staff validate every document proposed, but refuse one."""
    workbook = load_workbook(book)
    sheet = workbook["Certificats"]
    header = _header(sheet)
    status, decision = header.index("Statut") + 1, header.index("Décision CUF") + 1
    refused = False
    for row in range(2, sheet.max_row + 1):
        if sheet.cell(row=row, column=status).value != "À valider":
            continue
        sheet.cell(row=row, column=decision, value="Valider" if refused else "Refuser")
        refused = True
    workbook.save(book)


def after_registration(run: Callable[[list[str]], int], config: Path, book: Path) -> int:
    """The runs after registration, with what staff do before each; 0 when all succeeded."""
    steps: list[tuple[str, Callable[[Path], None] | None]] = [
        (INVITATIONS, type_sessions),
        (REMINDER, cancel_s3),
        (CERTIFICATES, mark_attendance),
        (SENT, validate_certificates),
    ]
    for as_of, staff in steps:
        if staff is type_sessions:
            print("$ diplomates sessions init --config config/demo.toml")
            code = run(["sessions", "init", "--config", str(config)])
            if code:
                return code
        if staff is not None:
            print(f"# {staff.__doc__.splitlines()[0] if staff.__doc__ else 'staff edit'}")
            staff(book)
        print(f"$ diplomates run --config config/demo.toml --as-of {as_of}")
        code = run(["run", "--config", str(config), "--as-of", as_of])
        if code:
            return code
    return 0
