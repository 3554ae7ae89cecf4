"""After registration at scale: 500 people × 12 sessions (invitations, reminders, attendance),
then 500 certificates (seconds per PDF). Each run in its own process (wall time, peak RSS).
Figures, not assertions."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from bench.pipeline_runs import measure

PEOPLE = int(os.environ.get("BENCH_SESSION_PEOPLE", "500"))
SESSIONS = 12
CONFIG = """
[spreadsheet]
backend = "local"
workbook = "{dir}/bench.xlsx"
[email]
outbox = "{dir}/outbox"
sender = "diplomates@cites-unies-france.org"
reply_to = "diplomates@cites-unies-france.org"
[cohort]
capacity = {people}
registration_opens = 2026-03-30T09:00:00+02:00
registration_closes = 2026-04-30T23:59:59+02:00
[programme]
contact_email = "diplomates@cites-unies-france.org"
[certificates]
folder = "{dir}/certificats"
require_staff_approval = false
[state]
url = "sqlite:///{dir}/state.sqlite"
"""
FORM = [
    "Horodateur", "Adresse e-mail", "Nom", "Prénom", "Collectivité", "Type de collectivité",
    "Département", "Fonction", "Premier mandat", "Délégation aux relations internationales",
    "Téléphone", "Commentaire", "Consentement",
]  # fmt: skip
FIRST = ["Camille", "Louis", "Inès", "Zoé", "Hugo", "Léa", "Jules", "Chloé", "Nathan", "Manon"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"]
START = datetime(2026, 9, 8, 9, 30)


def workbook(path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    form = book.active
    form.title = "Réponses au formulaire 1"
    form.append(FORM)
    for i in range(PEOPLE):
        form.append([
            f"{1 + i % 28:02d}/03/2026 {8 + i % 10:02d}:{i % 60:02d}:00", f"elu{i}@lyon.fr",
            f"{LAST[i % len(LAST)]}-{i}", FIRST[i % len(FIRST)], "Ville de Lyon", "Commune",
            "69", "Maire" if i % 4 else "Agent·e territorial·e (non élu·e)", "Oui", "Oui", "",
            "", "J'accepte",
        ])  # fmt: skip
    members = book.create_sheet("Adhérents")
    members.append(["Collectivité", "Type", "Département", "SIREN", "Autres noms", "Adhésion"])
    members.append(["Ville de Lyon", "Commune", "69", "", "Lyon", "Active"])
    book.save(path)


def add_sessions(path: Path) -> None:
    from openpyxl import load_workbook

    book = load_workbook(path)
    sheet = book.create_sheet("Sessions")
    sheet.append(["Session", "Titre", "Format", "Début", "Fin", "Lieu", "Lien", "Statut"])
    for n in range(SESSIONS):
        start = START + timedelta(days=7 * n)
        sheet.append([f"S{n + 1}", f"Séance {n + 1}", "Rencontre", start,
                      start + timedelta(hours=3), "Paris", "", ""])  # fmt: skip
    book.save(path)


def mark_all(path: Path) -> None:
    from openpyxl import load_workbook

    book = load_workbook(path)
    sheet = book["Émargement"]
    header = [c.value for c in sheet[1]]
    cols = [header.index(f"S{n + 1}") + 1 for n in range(SESSIONS)]
    for row in range(2, sheet.max_row + 1):
        for col in cols:
            sheet.cell(row=row, column=col, value="Présent")
    book.save(path)


def count(outbox: Path, prefix: str) -> int:
    return sum(1 for p in outbox.glob(f"{prefix}.*.eml"))


def pdf_rate(n: int) -> float:
    """Seconds per PDF, in this process, renderer built once (what a run does)."""
    from zoneinfo import ZoneInfo

    from pipeline.adapters.pdf import DocumentFacts, DocumentRenderer
    from pipeline.config import ProgrammeSettings
    from pipeline.core.model import Template

    renderer = DocumentRenderer(ProgrammeSettings(contact_email="d@cites-unies-france.org"))
    sessions = tuple(f"Séance {i} ({8 + i} septembre 2026)" for i in range(1, 13))
    started = time.perf_counter()
    for i in range(n):
        renderer.render(
            DocumentFacts(
                Template.CERTIFICAT,
                f"{FIRST[i % 10]} {LAST[i % 8]}-{i}",
                "Ville de Lyon",
                "Promotion 2026",
                f"DT26-{i:04d}-TEST",
                12,
                12,
                "36 h",
                sessions,
                datetime(2026, 12, 1, tzinfo=ZoneInfo("Europe/Paris")),
            )  # fmt: skip
        )
    return (time.perf_counter() - started) / n


def main() -> None:
    print(f"== sessions: {PEOPLE} people x {SESSIONS} sessions, then {PEOPLE} certificates")
    with tempfile.TemporaryDirectory(prefix="diplomates-bench-sessions-") as folder:
        directory = Path(folder)
        config = directory / "bench.toml"
        config.write_text(CONFIG.format(dir=directory, people=PEOPLE), encoding="utf-8")
        book = directory / "bench.xlsx"
        outbox = directory / "outbox"
        workbook(book)

        def run(as_of: str) -> tuple[float, float]:
            return measure([sys.executable, "-m", "pipeline", "run", "--config", str(config),
                            "--as-of", as_of])  # fmt: skip

        seconds, mb = run("2026-04-02T09:00")
        print(f"registration: {count(outbox, 'inscription_confirmee')} confirmations "
              f"in {seconds:.1f} s ({mb:.0f} MB)")  # fmt: skip
        add_sessions(book)
        seconds, mb = run("2026-06-01T09:00")
        invitations = count(outbox, "invitation_session")
        print(f"invitations: {invitations} messages (.ics each) in {seconds:.1f} s, "
              f"{seconds / max(invitations, 1) * 1000:.1f} ms each, peak {mb:.0f} MB")  # fmt: skip
        seconds, mb = run("2026-06-01T09:10")
        print(f"idle rerun with sessions: {seconds:.1f} s ({mb:.0f} MB)")
        seconds, mb = run("2026-09-02T09:00")
        print(f"reminders J-7: {count(outbox, 'rappel_session')} messages in {seconds:.1f} s "
              f"({mb:.0f} MB)")  # fmt: skip
        mark_all(book)
        seconds, mb = run("2026-12-01T09:00")
        documents = len(list((directory / "certificats").glob("*.pdf")))
        print(f"certificates in a run: {documents} PDFs + emails in {seconds:.1f} s, "
              f"{seconds / max(documents, 1):.3f} s per document, peak {mb:.0f} MB")  # fmt: skip
    per_pdf = pdf_rate(PEOPLE)
    print(f"PDF rendering alone: {per_pdf:.3f} s per PDF over {PEOPLE} (target < 0.2 s)")


if __name__ == "__main__":
    main()
