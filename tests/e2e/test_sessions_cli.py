"""The CLI after registration, on a real .xlsx and outbox: `sessions init`, a run with sessions,
`verify`, `preview` of the new templates (with their `.ics` and PDF)."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from pipeline.core.vocabulary import SESSION_HEADERS
from pipeline.entry.cli import main
from tests.support.builders import FORM_HEADERS, MEMBER_HEADERS, answer, member
from tests.support.scenario import CONFIG

CERTIFICATES = """
[certificates]
folder = "{tmp}/certificats"
require_staff_approval = false
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text((CONFIG + CERTIFICATES).format(tmp=tmp_path), encoding="utf-8")
    book = Workbook()
    form = book.active
    form.title = "Réponses au formulaire 1"
    for line in (FORM_HEADERS, answer("02/03/2026 09:00:00", "ana@lyon.fr", "Bernard", "Ana")):
        form.append(line)
    members = book.create_sheet("Adhérents")
    for line in (MEMBER_HEADERS, member("Ville de Lyon")):
        members.append(line)
    book.save(tmp_path / "wb.xlsx")
    return path


def test_sessions_init_creates_the_sheet_once(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Headers in order, a note on each, Format and Statut dropdowns; a second init refuses
    as a usage error (exit 2), changing nothing."""
    assert main(["sessions", "init", "--config", str(config)]) == 0
    sheet = load_workbook(config.parent / "wb.xlsx")["Sessions"]
    assert [c.value for c in sheet[1]] == list(SESSION_HEADERS)
    assert all(c.comment is not None and c.comment.text for c in sheet[1])
    lists = {str(v.sqref).split(":")[0]: v.formula1 for v in sheet.data_validations.dataValidation}
    assert "Rencontre" in lists["C2"] and "Annulée" in lists["H2"]
    assert sheet.column_dimensions["D"].number_format == "dd/mm/yyyy hh:mm"  # Début
    assert sheet.column_dimensions["E"].number_format == "dd/mm/yyyy hh:mm"  # Fin
    assert main(["sessions", "init", "--config", str(config)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_run_invites_and_certifies_then_verify(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A session typed by staff → an invitation with its .ics in the outbox; once held and
    marked, the certificate (no approval configured) with its PDF; `verify` finds the code."""
    assert main(["sessions", "init", "--config", str(config)]) == 0
    path = config.parent / "wb.xlsx"
    book = load_workbook(path)
    book["Sessions"].append(["S1", "Ouverture", "Rencontre", "20/05/2026 09:30",
                             "20/05/2026 12:30", "Paris", "", ""])  # fmt: skip
    book.save(path)
    assert main(["run", "--config", str(config), "--as-of", "2026-04-02T09:00"]) == 0
    outbox = config.parent / "outbox"
    invitations = [p for p in outbox.iterdir() if p.name.startswith("invitation_session")]
    assert len(invitations) == 1
    message = email.message_from_bytes(invitations[0].read_bytes(), policy=email.policy.default)
    assert any(p.get_filename() == "invitation-S1.ics" for p in message.iter_attachments())

    book = load_workbook(path)
    attendance = book["Émargement"]
    header = [c.value for c in attendance[1]]
    attendance.cell(row=2, column=header.index("S1") + 1, value="Présent")
    book.save(path)
    assert main(["run", "--config", str(config), "--as-of", "2026-05-21T09:00"]) == 0
    book = load_workbook(path)
    certificates = book["Certificats"]
    header = [c.value for c in certificates[1]]
    row = [c.value for c in certificates[2]]
    assert row[header.index("Document")] == "Certificat d'auditeur"
    code = row[header.index("Code de vérification")]
    assert (config.parent / "certificats" / f"{code}.pdf").exists()
    assert [p for p in outbox.iterdir() if p.name.startswith("certificat.")]
    capsys.readouterr()
    assert main(["verify", code.lower(), "--config", str(config)]) == 0
    said = capsys.readouterr().out
    assert "Certificat d'auditeur délivré à Ana Bernard" in said and "21 mai 2026" in said
    assert main(["verify", "DT26-0000-0000", "--config", str(config)]) == 1
    assert "inconnu" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("template", "attachment"),
    [("invitation_session", "invitation-S2.ics"), ("session_annulee", "annulation-S2.ics"),
     ("certificat", "certificat-auditeur-DT26-7K4M-Q9ZP.pdf"),
     ("attestation", "attestation-DT26-7K4M-Q9ZP.pdf")],
)  # fmt: skip
def test_preview_writes_the_attachment_too(
    config: Path, tmp_path: Path, template: str, attachment: str
) -> None:
    """`preview` renders the new templates with a sample session, and the document's PDF."""
    out = tmp_path / "apercu"
    assert main(["preview", template, "--config", str(config), "--out", str(out)]) == 0
    assert (out / attachment).stat().st_size > 0
    assert "Bonjour Camille" in (out / "body.txt").read_text(encoding="utf-8")


def test_export_and_erase_cover_sessions_sheets_and_documents(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """export lists the Émargement and Certificats rows and the document; erase clears those
    rows (staff marks included), deletes the PDF, and the code then verifies as erased."""
    import json

    assert main(["sessions", "init", "--config", str(config)]) == 0
    path = config.parent / "wb.xlsx"
    book = load_workbook(path)
    book["Sessions"].append(["S1", "Ouverture", "Rencontre", "20/05/2026 09:30",
                             "20/05/2026 12:30", "Paris", "", ""])  # fmt: skip
    book.save(path)
    assert main(["run", "--config", str(config), "--as-of", "2026-04-02T09:00"]) == 0
    book = load_workbook(path)
    header = [c.value for c in book["Émargement"][1]]
    book["Émargement"].cell(row=2, column=header.index("S1") + 1, value="Présent")
    book.save(path)
    assert main(["run", "--config", str(config), "--as-of", "2026-05-21T09:00"]) == 0
    capsys.readouterr()
    assert main(["export", "ana@lyon.fr", "--config", str(config), "--format", "json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    sheets = {r["sheet"] for r in exported["cohort_rows"]}
    assert {"Promotion 2026", "Émargement", "Certificats"} <= sheets
    (document,) = exported["documents"]
    code = document["code"]
    pdf = config.parent / "certificats" / f"{code}.pdf"
    assert document["file"] == str(pdf) and pdf.exists()

    assert main(["erase", "ana@lyon.fr", "--config", str(config), "--yes"]) == 0
    assert not pdf.exists()
    book = load_workbook(path)
    for sheet in ("Émargement", "Certificats"):
        values = [c.value for row in book[sheet].iter_rows(min_row=2) for c in row]
        assert not any(values), sheet
    capsys.readouterr()
    assert main(["verify", code, "--config", str(config)]) == 0
    assert "effacé" in capsys.readouterr().out
    assert main(["run", "--config", str(config), "--as-of", "2026-05-21T10:00"]) == 0
    assert not pdf.exists()


@pytest.mark.parametrize("purging", ["purge", "run"])
def test_retention_purge_deletes_certificate_pdfs_and_calendar_copies(
    config: Path, capsys: pytest.CaptureFixture[str], purging: str
) -> None:
    """Past `privacy.retention_days` (by `purge` or by a run), a certificate's PDF leaves the
    folder and its code verifies as erased, as with `erase`; no `.ics` copy is left; a later
    run makes no new PDF and sends nothing."""
    from pipeline.adapters.state.privacy import PrivacyState
    from pipeline.adapters.state.store import StateStore
    from pipeline.config import load_settings

    with open(config, "a", encoding="utf-8") as handle:
        handle.write("[privacy]\nretention_days = 30\n")
    assert main(["sessions", "init", "--config", str(config)]) == 0
    path = config.parent / "wb.xlsx"
    book = load_workbook(path)
    book["Sessions"].append(["S1", "Ouverture", "Rencontre", "20/05/2026 09:30",
                             "20/05/2026 12:30", "Paris", "", ""])  # fmt: skip
    book.save(path)
    assert main(["run", "--config", str(config), "--as-of", "2026-04-02T09:00"]) == 0
    book = load_workbook(path)
    header = [c.value for c in book["Émargement"][1]]
    book["Émargement"].cell(row=2, column=header.index("S1") + 1, value="Présent")
    book.save(path)
    assert main(["run", "--config", str(config), "--as-of", "2026-05-21T09:00"]) == 0
    (pdf,) = (config.parent / "certificats").glob("DT26-*.pdf")
    code = pdf.stem
    outbox = config.parent / "outbox"

    def purge(when: str) -> None:
        if purging == "purge":
            assert main(["purge", "--config", str(config), "--as-of", when]) == 0
        else:
            assert main(["run", "--config", str(config), "--as-of", when]) == 0

    purge("2026-06-10T09:00")  # issued 21/05, kept 30 days: still there
    assert pdf.exists()
    capsys.readouterr()
    assert main(["verify", code, "--config", str(config)]) == 0
    assert "Ana Bernard" in capsys.readouterr().out

    purge("2026-06-25T09:00")
    assert not pdf.exists()
    capsys.readouterr()
    assert main(["verify", code, "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "effacé" in out and "Ana" not in out
    leftovers = [p.name for p in outbox.iterdir() if b"BEGIN:VCALENDAR" in p.read_bytes()]
    assert leftovers == []
    state = PrivacyState(StateStore(load_settings(config).state.url))
    assert not any(state.message_ids().values())  # no message copy (.ics, PDF) kept
    left = sorted(outbox.iterdir())
    assert main(["run", "--config", str(config), "--as-of", "2026-06-26T09:00"]) == 0
    assert not pdf.exists()
    assert sorted(outbox.iterdir()) == left  # nothing sent again


def test_dry_run_makes_no_secret_and_sends_nothing(config: Path) -> None:
    """`run --dry-run` with sessions: nothing queued, no file, no verification secret stored."""
    from pipeline.adapters.state.documents import DocumentStore
    from pipeline.adapters.state.store import StateStore

    assert main(["sessions", "init", "--config", str(config)]) == 0
    path = config.parent / "wb.xlsx"
    book = load_workbook(path)
    book["Sessions"].append(["S1", "Ouverture", "Rencontre", "20/05/2026 09:30",
                             "20/05/2026 12:30", "Paris", "", ""])  # fmt: skip
    book.save(path)
    args = ["run", "--config", str(config), "--as-of", "2026-04-02T09:00", "--dry-run"]
    assert main(args) == 0
    assert not (config.parent / "outbox").exists() or not list((config.parent / "outbox").iterdir())
    store = StateStore(f"sqlite:///{config.parent / 'state.sqlite'}")
    assert DocumentStore(store, config.parent / "certificats").secret(create=False) is None
    assert store.ledger("Promotion 2026") == []
