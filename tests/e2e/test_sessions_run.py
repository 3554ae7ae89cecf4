"""Runs from registration to certificate, as staff and time drive them: sessions, invitations,
a move, a cancellation, a departure, reminders, attendance with a mistake, certificates with
staff approval, reruns at every step — and nothing ever sent twice."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from pipeline.adapters.state.documents import DocumentStore
from pipeline.adapters.state.store import StateStore
from pipeline.app.run import Runner
from pipeline.config import CertificateSettings, Settings
from pipeline.core.text import fold
from pipeline.core.vocabulary import SESSION_HEADERS
from tests.support.builders import FORM_HEADERS, MEMBER_HEADERS, answer, member, settings
from tests.support.fakes import MemorySpreadsheet, RecordingTransport

PARIS = ZoneInfo("Europe/Paris")
COHORT = "Promotion 2026"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


class World:
    def __init__(self, tmp: Path) -> None:
        base: Settings = settings(tmp)
        self.settings = base.model_copy(
            update={"certificates": CertificateSettings(folder=tmp / "certificats")}
        )
        answers = [
            answer("01/03/2026 09:00:00", "p0@lyon.fr", "Martin", "Camille"),
            answer("02/03/2026 09:00:00", "p1@lyon.fr", "Durand", "Louis"),
            answer("03/03/2026 09:00:00", "p2@lyon.fr", "Petit", "Inès",
                   role="Agent·e territorial·e (non élu·e)"),
            answer("04/03/2026 09:00:00", "p3@lyon.fr", "Moreau", "Zoé"),
        ]  # fmt: skip
        self.sheet = MemorySpreadsheet(
            {
                "Réponses au formulaire 1": [FORM_HEADERS, *answers],
                "Adhérents": [MEMBER_HEADERS, member("Ville de Lyon", aliases="Lyon")],
            }
        )
        self.store = StateStore(self.settings.state.url)
        self.transport = RecordingTransport()
        self.seen = 0

    def run(self, when: datetime) -> list[EmailMessage]:
        """One run at `when`; the messages it sent."""
        Runner(
            self.settings, spreadsheet=self.sheet, transport=self.transport, store=self.store,
            clock=lambda: when,
        ).run(now=when)  # fmt: skip
        new = self.transport.sent[self.seen :]
        self.seen = len(self.transport.sent)
        return new

    def table(self, name: str) -> list[list[str]]:
        return self.sheet.tables[name]

    def column(self, name: str, header: str) -> int:
        return [fold(h) for h in self.table(name)[0]].index(fold(header))

    def row_of(self, name: str, person_email: str) -> list[str]:
        pid = self.pid(person_email)
        col = self.column(name, "ID")
        return next(r for r in self.table(name)[1:] if len(r) > col and r[col] == pid)

    def pid(self, person_email: str) -> str:
        cohort = self.table(COHORT)
        col = [fold(h) for h in cohort[0]].index("courriel")
        return next(r[0] for r in cohort[1:] if r[col] == person_email)

    def cell(self, name: str, person_email: str, header: str) -> str:
        row = self.row_of(name, person_email)
        col = self.column(name, header)
        return row[col] if col < len(row) else ""

    def type(self, name: str, person_email: str, header: str, value: str) -> None:
        row = self.row_of(name, person_email)
        col = self.column(name, header)
        while len(row) <= col:
            row.append("")
        row[col] = value


def kinds(messages: list[EmailMessage]) -> Counter[tuple[str, str]]:
    return Counter((str(m["X-CUF-Template"]), str(m["To"])) for m in messages)


def templates(messages: list[EmailMessage]) -> Counter[str]:
    return Counter(str(m["X-CUF-Template"]) for m in messages)


def ics(message: EmailMessage) -> Calendar:
    part = next(p for p in message.iter_attachments() if p.get_content_type() == "text/calendar")
    return Calendar.from_ical(part.get_payload(decode=True))


def session_row(
    code: str, start: str, end: str, place: str = "Paris", status: str = ""
) -> list[str]:
    return [code, f"Séance {code}", "Rencontre", start, end, place, "", status]


def test_a_promotion_from_registration_to_certificate(tmp_path: Path) -> None:
    """Every step of SPEC's "After registration", with reruns: the right messages, once."""
    world = World(tmp_path)
    # Registration: three places for the élu·es, Inès waits; no Sessions sheet: nothing more.
    sent = world.run(at("2026-04-02T09:00"))
    assert templates(sent)["inscription_confirmee"] == 3
    assert "Émargement" not in world.sheet.tables

    # Staff create Sessions: everyone Inscrit·e is invited to each session, once.
    world.sheet.tables["Sessions"] = [
        list(SESSION_HEADERS),
        session_row("S1", "20/05/2026 09:30", "20/05/2026 12:30"),
        session_row("S2", "03/06/2026 09:30", "03/06/2026 17:00"),
        session_row("S3", "17/06/2026 09:30", "17/06/2026 12:30"),
        session_row("", "18/06/2026 09:30", "18/06/2026 12:30"),  # no code: À vérifier
    ]
    sent = world.run(at("2026-04-03T09:00"))
    assert templates(sent) == {"invitation_session": 9}
    first = {str(m["To"]): ics(m) for m in sent if "séance S2" in str(m["Subject"])}
    assert world.run(at("2026-04-03T10:00")) == []
    attendance = world.table("Émargement")
    assert attendance[0][:8] == ["ID", "Nom", "Prénom", "Collectivité adhérente", "Éligibilité",
                                 "S1", "S2", "S3"]  # fmt: skip
    assert len([r for r in attendance[1:] if r and r[0]]) == 3
    review = world.table("À vérifier")
    assert any("session_invalide" in r for r in review)

    # S2 moves: one change per invited person, same UID, higher SEQUENCE.
    world.sheet.tables["Sessions"][2][5] = "Lyon, Hôtel de ville"
    sent = world.run(at("2026-04-10T09:00"))
    assert templates(sent) == {"session_modifiee": 3}
    for message in sent:
        new = ics(message).walk("VEVENT")[0]
        old = first[str(message["To"])].walk("VEVENT")[0]
        assert new["UID"] == old["UID"] and new["SEQUENCE"] > old["SEQUENCE"]
        assert str(new["LOCATION"]) == "Lyon, Hôtel de ville"
    assert world.run(at("2026-04-10T10:00")) == []

    # S3 is cancelled: METHOD CANCEL to the invited, once.
    world.sheet.tables["Sessions"][3][7] = "Annulée"
    sent = world.run(at("2026-04-11T09:00"))
    assert templates(sent) == {"session_annulee": 3}
    assert all(ics(m)["METHOD"] == "CANCEL" for m in sent)
    assert world.run(at("2026-04-11T10:00")) == []

    # Louis withdraws: his sessions to come are cancelled; Inès (not an élue, so she was
    # waiting behind the élu·es) takes the place and is invited to what is still to come (S2 at
    # its current version), not to the cancelled S3.
    world.type(COHORT, "p1@lyon.fr", "Décision CUF", "Désisté")
    sent = world.run(at("2026-04-12T09:00"))
    assert kinds(sent) == {
        ("session_annulee", "p1@lyon.fr"): 2,
        ("place_liberee", "p2@lyon.fr"): 1,
        ("invitation_session", "p2@lyon.fr"): 2,
    }
    s2 = next(
        ics(m) for m in sent if "séance S2" in str(m["Subject"]) and str(m["To"]) == "p2@lyon.fr"
    )
    assert s2.walk("VEVENT")[0]["SEQUENCE"] == 1
    assert world.run(at("2026-04-12T10:00")) == []

    # Reminders: J-7 then J-1 for S1, each once, to the three people invited.
    sent = world.run(at("2026-05-14T08:00"))
    assert templates(sent) == {"rappel_session": 3}
    assert world.run(at("2026-05-15T08:00")) == []
    sent = world.run(at("2026-05-19T10:00"))
    assert templates(sent) == {"rappel_session": 3}
    assert "demain" in str(sent[0]["Subject"])
    assert world.run(at("2026-05-20T10:00")) == []  # S1 has started: nothing

    # Attendance typed by staff, with a mistake.
    world.type("Émargement", "p0@lyon.fr", "S1", "Présent")
    world.type("Émargement", "p2@lyon.fr", "S1", "présent")
    world.type("Émargement", "p3@lyon.fr", "S1", "P")
    sent = world.run(at("2026-05-21T09:00"))
    assert world.cell("Émargement", "p0@lyon.fr", "Présences") == "1 / 1"
    assert world.cell("Émargement", "p3@lyon.fr", "Présences") == "0 / 1"
    assert world.cell("Émargement", "p0@lyon.fr", "S1") == "Présent"  # staff's cell untouched
    assert any("emargement_invalide" in r for r in world.table("À vérifier"))
    assert "Certificats" not in world.sheet.tables  # not before the last session ended

    # S2 (the last planned session) ends: certificates are decided, staff approval awaited.
    world.type("Émargement", "p0@lyon.fr", "S2", "Présent")
    world.type("Émargement", "p2@lyon.fr", "S2", "Absent")
    world.type("Émargement", "p3@lyon.fr", "S2", "Présent")
    sent = world.run(at("2026-06-03T18:00"))
    assert templates(sent) == {}
    assert world.cell("Certificats", "p0@lyon.fr", "Statut") == "À valider"
    assert world.cell("Certificats", "p0@lyon.fr", "Document") == "Certificat d'auditeur"
    assert world.cell("Certificats", "p2@lyon.fr", "Statut") == "Non atteint"
    assert world.cell("Certificats", "p3@lyon.fr", "Statut") == "Non atteint"
    assert world.cell("Certificats", "p2@lyon.fr", "Taux") == "50 %"
    with pytest.raises(StopIteration):
        world.row_of("Certificats", "p1@lyon.fr")  # left: no row, no document
    code = world.cell("Certificats", "p0@lyon.fr", "Code de vérification")
    assert code.startswith("DT26-")

    # Staff validate: the certificate goes out once, with its PDF; a rerun sends nothing.
    world.type("Certificats", "p0@lyon.fr", "Décision CUF", "Valider")
    sent = world.run(at("2026-06-04T09:00"))
    assert kinds(sent) == {("certificat", "p0@lyon.fr"): 1}
    (pdf,) = [p for p in sent[0].iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_payload(decode=True).startswith(b"%PDF-")
    assert (tmp_path / "certificats" / f"{code}.pdf").exists()
    assert world.cell("Certificats", "p0@lyon.fr", "Statut") == "Envoyé"
    assert world.run(at("2026-06-04T10:00")) == []
    assert world.cell("Certificats", "p0@lyon.fr", "Code de vérification") == code

    # Zoé's mistaken mark is fixed: she reaches 2 / 2 and awaits approval too.
    world.type("Émargement", "p3@lyon.fr", "S1", "Présent")
    world.run(at("2026-06-05T09:00"))
    assert world.cell("Certificats", "p3@lyon.fr", "Statut") == "À valider"
    assert not any("emargement_invalide" in r for r in world.table("À vérifier") if any(r))

    documents = DocumentStore(world.store, tmp_path / "certificats")
    found = documents.lookup(code)
    assert found is not None and found.full_name == "Camille Martin" and found.kind == "certificat"
    board = world.table("Tableau de bord")
    assert ["S1 : présences", "3"] in board or ["S1 : présences", 3] in board

    # Nothing was ever sent twice (person, template, subject).
    every = Counter(
        (str(m["To"]), str(m["X-CUF-Template"]), str(m["Subject"])) for m in world.transport.sent
    )
    assert max(every.values()) == 1


def test_losing_the_state_db_sends_no_session_message_twice(tmp_path: Path) -> None:
    """A new, empty state DB: `Courriels envoyés` rebuilds the session ledger (sessions and
    versions included), so nobody is invited again; a later change still goes out once."""
    world = World(tmp_path)
    world.run(at("2026-04-02T09:00"))
    world.sheet.tables["Sessions"] = [
        list(SESSION_HEADERS),
        session_row("S1", "20/05/2026 09:30", "20/05/2026 12:30"),
    ]
    assert templates(world.run(at("2026-04-03T09:00"))) == {"invitation_session": 3}
    world.sheet.tables["Sessions"][1][5] = "Lyon"
    assert templates(world.run(at("2026-04-04T09:00"))) == {"session_modifiee": 3}
    world.store = StateStore(f"sqlite:///{tmp_path / 'new-state.sqlite'}")  # the DB is lost
    world.settings = world.settings.model_copy(
        update={"state": world.settings.state.model_copy(
            update={"url": f"sqlite:///{tmp_path / 'new-state.sqlite'}"})}
    )  # fmt: skip
    assert world.run(at("2026-04-05T09:00")) == []
    rebuilt = {(e.template.value, e.session, e.version) for e in world.store.ledger(COHORT)}
    assert ("session_modifiee", "S1", "v2") in rebuilt and (
        "invitation_session",
        "S1",
        "v1",
    ) in rebuilt
    world.sheet.tables["Sessions"][1][5] = "Marseille"
    assert templates(world.run(at("2026-04-06T09:00"))) == {"session_modifiee": 3}


def test_someone_back_after_a_cancellation_is_invited_again_once(tmp_path: Path) -> None:
    """Désisté (cancellation sent), then Inscrit·e again before Début: one new invitation, same
    UID, SEQUENCE above the cancellation's; reruns and a second departure send nothing twice."""
    world = World(tmp_path)
    cohort = world.settings.cohort.model_copy(update={"capacity": 10})
    world.settings = world.settings.model_copy(update={"cohort": cohort})
    world.run(at("2026-04-02T09:00"))
    world.sheet.tables["Sessions"] = [
        list(SESSION_HEADERS), session_row("S1", "20/05/2026 09:30", "20/05/2026 12:30")
    ]  # fmt: skip
    sent = world.run(at("2026-04-03T09:00"))
    invitation = next(ics(m) for m in sent if str(m["To"]) == "p1@lyon.fr").walk("VEVENT")[0]

    world.type(COHORT, "p1@lyon.fr", "Décision CUF", "Désisté")
    sent = world.run(at("2026-04-10T09:00"))
    assert kinds(sent) == {("session_annulee", "p1@lyon.fr"): 1}
    cancel = ics(sent[0]).walk("VEVENT")[0]
    assert world.run(at("2026-04-10T10:00")) == []

    world.type(COHORT, "p1@lyon.fr", "Décision CUF", "")  # staff take the departure back
    sent = world.run(at("2026-04-12T09:00"))
    assert kinds(sent) == {("invitation_session", "p1@lyon.fr"): 1}
    again = ics(sent[0])
    event = again.walk("VEVENT")[0]
    assert str(again["METHOD"]) == "REQUEST"
    assert event["UID"] == invitation["UID"] == cancel["UID"]
    assert event["SEQUENCE"] > cancel["SEQUENCE"] >= invitation["SEQUENCE"]
    assert "Invitation S1 v1.2 12/04/2026" in world.cell(COHORT, "p1@lyon.fr", "Courriels envoyés")
    assert world.run(at("2026-04-12T10:00")) == []
    assert world.run(at("2026-04-20T10:00")) == []

    # Leaves again, comes back again: each step once, each under its own key.
    world.type(COHORT, "p1@lyon.fr", "Décision CUF", "Désisté")
    assert kinds(world.run(at("2026-04-21T09:00"))) == {("session_annulee", "p1@lyon.fr"): 1}
    world.type(COHORT, "p1@lyon.fr", "Décision CUF", "")
    sent = world.run(at("2026-04-22T09:00"))
    assert kinds(sent) == {("invitation_session", "p1@lyon.fr"): 1}
    assert ics(sent[0]).walk("VEVENT")[0]["SEQUENCE"] > event["SEQUENCE"]
    assert world.run(at("2026-04-22T10:00")) == []
    board = world.table("Tableau de bord")
    assert ["S1 : invitations", 4] in board or ["S1 : invitations", "4"] in board
